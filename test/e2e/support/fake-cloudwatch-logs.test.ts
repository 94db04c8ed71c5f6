// Proves the fake CloudWatch Logs speaks the wire protocol the real AWS SDK client expects, faults included.
import t from 'tap';
import {
  AccessDeniedException,
  CloudWatchLogsClient,
  CloudWatchLogsServiceException,
  FilterLogEventsCommand,
  InvalidParameterException,
  ResourceNotFoundException,
  ServiceUnavailableException,
  SessionStreamingException,
  SessionTimeoutException,
  StartLiveTailCommand,
  ThrottlingException,
  paginateDescribeLogGroups,
  paginateFilterLogEvents,
  type CloudWatchLogsClientConfig,
  type FilterLogEventsCommandOutput,
  type StartLiveTailCommandInput,
  type StartLiveTailResponseStream,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  startFakeCloudWatchLogs,
  type FakeCloudWatchLogs,
  type FakeCloudWatchLogsOptions,
} from '../../support/fake-cloudwatch-logs/index.ts';

/** The slice of a tap test the helpers need. */
interface Scope {
  teardown(fn: () => unknown): void;
  equal(found: unknown, wanted: unknown): unknown;
}

const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);
const HOUR = 3_600_000;

function trailRecord(eventName: string, eventTime: number, id: string): string {
  return JSON.stringify({
    eventVersion: '1.08',
    eventSource: 'kms.amazonaws.com',
    eventName,
    eventTime: new Date(eventTime).toISOString(),
    eventID: id,
    recipientAccountId: '123456789012',
    awsRegion: 'us-east-1',
  });
}

async function startFake(t: Scope, options: FakeCloudWatchLogsOptions = {}): Promise<FakeCloudWatchLogs> {
  const fake = await startFakeCloudWatchLogs(options);
  t.teardown(() => fake.close());
  return fake;
}

function clientFor(t: Scope, fake: FakeCloudWatchLogs, config: CloudWatchLogsClientConfig = {}): CloudWatchLogsClient {
  const client = new CloudWatchLogsClient({
    endpoint: fake.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' },
    disableHostPrefix: true,
    maxAttempts: 1,
    ...config,
  });
  t.teardown(() => client.destroy());
  return client;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error('expected a rejection');
}

/**
 * A pattern selecting one CloudTrail eventName. test/support/filter-pattern-matcher.ts evaluates JSON
 * patterns; the fake's substring fallback (used only when that file is absent) evaluates terms.
 */
function eventNamePattern(fake: FakeCloudWatchLogs, eventName: string): string {
  return fake.api.filterPatternSource === 'substring-fallback'
    ? `"${eventName}"`
    : `{ $.eventName = "${eventName}" }`;
}

const ids = (events: FilterLogEventsCommandOutput['events']): string[] =>
  (events ?? []).map((e) => (JSON.parse(e.message ?? '{}') as { eventID: string }).eventID);

t.test('paginateFilterLogEvents returns every matching event, in order, across empty pages', async (t) => {
  const fake = await startFake(t, { seed: 7, filter: { scanChunk: 4 }, faults: { emptyPageRate: 0.25 } });
  const client = clientFor(t, fake);
  fake.api.createLogGroup('trail');
  // Three streams, timestamps deliberately appended out of order.
  for (let i = 0; i < 60; i++) {
    const ts = T0 + ((i * 37) % 60) * 1000;
    const name = i % 3 === 0 ? 'ScheduleKeyDeletion' : 'Decrypt';
    fake.api.putLogEvents('trail', `stream-${i % 3}`, [
      { timestamp: ts, message: trailRecord(name, ts, `e${i}`), ingestionTime: ts + 300_000 },
    ]);
  }
  const pages: FilterLogEventsCommandOutput[] = [];
  for await (const page of paginateFilterLogEvents(
    { client, pageSize: 3 },
    { logGroupName: 'trail', filterPattern: eventNamePattern(fake, 'ScheduleKeyDeletion') },
  )) {
    pages.push(page);
  }
  const got = pages.flatMap((p) => p.events ?? []);
  const expected = fake.api.events('trail').filter((e) => e.message.includes('ScheduleKeyDeletion'));
  t.equal(got.length, 20);
  t.same(
    got.map((e) => e.eventId),
    expected.map((e) => e.eventId),
    'same events, sorted by timestamp then ingestion time',
  );
  t.ok(
    pages.some((p) => (p.events ?? []).length === 0 && p.nextToken !== undefined),
    'some pages were empty yet continued',
  );
  t.ok(pages.every((p) => (p.events ?? []).length <= 3), 'limit respected');
  t.equal(pages.at(-1)?.nextToken, undefined, 'the last page has no nextToken');
  t.notOk('searchedLogStreams' in (pages[0] ?? {}) && pages[0]?.searchedLogStreams, 'searchedLogStreams omitted');
  t.equal(fake.api.callCount('FilterLogEvents'), pages.length, 'one call per page, counted');
});

t.test('startTime and endTime select on the event timestamp, both inclusive as documented', async (t) => {
  const fake = await startFake(t);
  const client = clientFor(t, fake);
  const { arn } = fake.api.createLogGroup('trail');
  fake.api.putLogEvents(
    'trail',
    's',
    [0, 1, 2, 3, 4].map((i) => ({ timestamp: T0 + i * 1000, message: trailRecord('CreateKey', T0 + i * 1000, `w${i}`) })),
  );
  const window = await client.send(
    new FilterLogEventsCommand({ logGroupIdentifier: arn, startTime: T0 + 1000, endTime: T0 + 3000 }),
  );
  t.same(ids(window.events), ['w1', 'w2', 'w3'], 'ARN identifier accepted; start and end inclusive');
  const open = await client.send(new FilterLogEventsCommand({ logGroupName: 'trail', startTime: T0 + 3500 }));
  t.same(ids(open.events), ['w4']);

  fake.api.setFilterSettings({ endTimeInclusive: false });
  const exclusive = await client.send(
    new FilterLogEventsCommand({ logGroupName: 'trail', startTime: T0 + 1000, endTime: T0 + 3000 }),
  );
  t.same(ids(exclusive.events), ['w1', 'w2'], 'exclusive end is a switch, for testing both readings');

  const both = await rejection(
    client.send(new FilterLogEventsCommand({ logGroupName: 'trail', logGroupIdentifier: arn })),
  );
  t.ok(both instanceof InvalidParameterException, 'name and identifier together are rejected');
});

t.test('the filter pattern is applied by a pluggable compiler', async (t) => {
  const fake = await startFake(t);
  const client = clientFor(t, fake);
  fake.api.createLogGroup('trail');
  fake.api.putLogEvents('trail', 's', [
    { timestamp: T0, message: trailRecord('ScheduleKeyDeletion', T0, 'a') },
    { timestamp: T0 + 1, message: trailRecord('CreateAlias', T0 + 1, 'b') },
    { timestamp: T0 + 2, message: trailRecord('ScheduleKeyDeletion', T0 + 2, 'c') },
  ]);
  const pattern = eventNamePattern(fake, 'ScheduleKeyDeletion');
  const matched = await client.send(new FilterLogEventsCommand({ logGroupName: 'trail', filterPattern: pattern }));
  t.same(ids(matched.events), ['a', 'c']);
  t.comment(`default filter pattern evaluator: ${fake.api.filterPatternSource}`);
  const requests = fake.api.requests('FilterLogEvents');
  t.match(requests[0]?.input, { logGroupName: 'trail', filterPattern: pattern }, 'requests recorded');

  const custom = await startFake(t, {
    compileFilterPattern: (pattern) => {
      if (pattern === 'broken') throw new Error('Unexpected token');
      return (message) => message.endsWith(pattern);
    },
  });
  const customClient = clientFor(t, custom);
  custom.api.createLogGroup('g');
  custom.api.putLogEvents('g', 's', [
    { timestamp: T0, message: 'x-1' },
    { timestamp: T0, message: 'x-2' },
  ]);
  t.equal(custom.api.filterPatternSource, 'option');
  const out = await customClient.send(new FilterLogEventsCommand({ logGroupName: 'g', filterPattern: '2' }));
  t.same(out.events?.map((e) => e.message), ['x-2']);
  const bad = await rejection(customClient.send(new FilterLogEventsCommand({ logGroupName: 'g', filterPattern: 'broken' })));
  t.ok(bad instanceof InvalidParameterException, 'InvalidParameterException');
  t.match(bad.message, /Unexpected token/);
  const long = await rejection(
    customClient.send(new FilterLogEventsCommand({ logGroupName: 'g', filterPattern: 'x'.repeat(1025) })),
  );
  t.ok(long instanceof InvalidParameterException, 'patterns over 1024 characters are rejected');
});

t.test('late events: visible to a later window query by event timestamp, missed behind a cursor', async (t) => {
  const fake = await startFake(t);
  const client = clientFor(t, fake);
  fake.api.createLogGroup('trail');
  const window = { logGroupName: 'trail', startTime: T0, endTime: T0 + 10 * 60_000 };
  fake.api.putLogEvents('trail', 's', [
    { timestamp: T0 + 10_000, message: trailRecord('DisableKey', T0 + 10_000, 'on-time'), ingestionTime: T0 + 310_000 },
  ]);
  t.same(ids((await client.send(new FilterLogEventsCommand(window))).events), ['on-time']);

  // Delivered three hours after it happened.
  fake.api.putLogEvents('trail', 's', [
    { timestamp: T0 + 5_000, message: trailRecord('PutKeyPolicy', T0 + 5_000, 'late'), ingestionTime: T0 + 3 * HOUR },
  ]);
  const reread = await client.send(new FilterLogEventsCommand(window));
  t.same(ids(reread.events), ['late', 'on-time'], 're-reading the window finds it, sorted by event time');
  t.same(reread.events?.map((e) => e.ingestionTime), [T0 + 3 * HOUR, T0 + 310_000]);
  const byIngestion = await client.send(
    new FilterLogEventsCommand({ logGroupName: 'trail', startTime: T0 + 3 * HOUR - 60_000 }),
  );
  t.same(ids(byIngestion.events), [], 'a window around its ingestion time does not select it');

  // A pagination already past the late event's position does not go back for it.
  fake.api.createLogGroup('paged');
  fake.api.putLogEvents(
    'paged',
    's',
    Array.from({ length: 10 }, (_, i) => ({ timestamp: T0 + (i + 1) * 1000, message: trailRecord('CreateGrant', 0, `p${i + 1}`) })),
  );
  const first = await client.send(new FilterLogEventsCommand({ logGroupName: 'paged', limit: 5 }));
  t.same(ids(first.events), ['p1', 'p2', 'p3', 'p4', 'p5']);
  fake.api.putLogEvents('paged', 's', [{ timestamp: T0 + 2500, message: trailRecord('RevokeGrant', 0, 'behind') }]);
  const rest = await client.send(
    new FilterLogEventsCommand({ logGroupName: 'paged', limit: 5, nextToken: first.nextToken }),
  );
  t.same(ids(rest.events), ['p6', 'p7', 'p8', 'p9', 'p10']);
  const again = await client.send(new FilterLogEventsCommand({ logGroupName: 'paged' }));
  t.equal(again.events?.length, 11, 'a fresh read includes it');
});

t.test('errors deserialize to the SDK typed exceptions with their HTTP status', async (t) => {
  const fake = await startFake(t);
  const client = clientFor(t, fake);
  fake.api.createLogGroup('trail');
  fake.api.putLogEvents('trail', 's', [1, 2, 3].map((i) => ({ timestamp: T0 + i, message: `m${i}` })));
  const query = (): Promise<FilterLogEventsCommandOutput> =>
    client.send(new FilterLogEventsCommand({ logGroupName: 'trail' }));

  fake.api.failNext('FilterLogEvents', 'throttle');
  const throttled = await rejection(query());
  t.ok(throttled instanceof ThrottlingException, 'ThrottlingException');
  t.equal(throttled.name, 'ThrottlingException');
  t.match(throttled, { $metadata: { httpStatusCode: 400 }, $fault: 'client', message: 'Rate exceeded' });

  fake.api.failNext('FilterLogEvents', 'service-unavailable');
  const unavailable = await rejection(query());
  t.ok(unavailable instanceof ServiceUnavailableException, 'ServiceUnavailableException');
  t.match(unavailable, { $metadata: { httpStatusCode: 503 }, $fault: 'server' });

  fake.api.failNext('FilterLogEvents', 'internal-failure');
  const internal = await rejection(query());
  t.ok(internal instanceof CloudWatchLogsServiceException, 'unmodeled error: the service base exception');
  t.match(internal, { name: 'InternalFailure', $metadata: { httpStatusCode: 500 } });

  fake.api.setFaults({ accessDenied: true, operations: ['FilterLogEvents'] });
  const denied = await rejection(query());
  t.ok(denied instanceof AccessDeniedException, 'AccessDeniedException');
  t.match(denied.message, /logs:FilterLogEvents/);
  fake.api.clearFaults();

  const missing = await rejection(client.send(new FilterLogEventsCommand({ logGroupName: 'nope' })));
  t.ok(missing instanceof ResourceNotFoundException, 'ResourceNotFoundException');
  t.match(missing, { $metadata: { httpStatusCode: 400 }, message: 'The specified log group does not exist.' });

  const page = await client.send(new FilterLogEventsCommand({ logGroupName: 'trail', limit: 1 }));
  fake.api.expireNextTokens();
  const expired = await rejection(
    client.send(new FilterLogEventsCommand({ logGroupName: 'trail', limit: 1, nextToken: page.nextToken })),
  );
  t.ok(expired instanceof InvalidParameterException, 'InvalidParameterException');
  t.match(expired.message, /nextToken has expired/);
  const forged = await rejection(
    client.send(new FilterLogEventsCommand({ logGroupName: 'trail', nextToken: 'not-a-token' })),
  );
  t.ok(forged instanceof InvalidParameterException, 'InvalidParameterException');

  const next = await client.send(new FilterLogEventsCommand({ logGroupName: 'trail', limit: 1 }));
  fake.api.deleteLogGroup('trail');
  const deleted = await rejection(
    client.send(new FilterLogEventsCommand({ logGroupName: 'trail', limit: 1, nextToken: next.nextToken })),
  );
  t.ok(deleted instanceof ResourceNotFoundException, 'a group deleted mid-pagination');

  const wrongRegion = clientFor(t, fake, { region: 'eu-west-1' });
  const scope = await rejection(wrongRegion.send(new FilterLogEventsCommand({ logGroupName: 'x' })));
  t.match(scope, { name: 'InvalidSignatureException', $metadata: { httpStatusCode: 400 } });

  t.match(fake.api.counters()['FilterLogEvents'], {
    errors: { ThrottlingException: 1, ServiceUnavailableException: 1, InternalFailure: 1, AccessDeniedException: 1 },
  });
});

t.test('with retries a 50% throttle still completes; a call quota throttles the excess', async (t) => {
  // Seed 8 throttles 4 of the 7 calls, twice in a row once: retried, yet the SDK's backoff stays short.
  const fake = await startFake(t, { seed: 8, faults: { throttleRate: 0.5 } });
  const client = clientFor(t, fake, { maxAttempts: 5 });
  fake.api.createLogGroup('trail');
  fake.api.putLogEvents('trail', 's', Array.from({ length: 12 }, (_, i) => ({ timestamp: T0 + i, message: `m${i}` })));
  let events = 0;
  for await (const page of paginateFilterLogEvents({ client, pageSize: 4 }, { logGroupName: 'trail' })) {
    events += page.events?.length ?? 0;
  }
  t.equal(events, 12);
  const counters = fake.api.counters()['FilterLogEvents'];
  t.ok((counters?.errors['ThrottlingException'] ?? 0) > 0, `throttled ${counters?.errors['ThrottlingException']} times`);
  t.equal(counters?.ok, 3);

  fake.api.clearFaults();
  fake.api.setFaults({ quotaPerSecond: { FilterLogEvents: 3 } });
  const burst = await Promise.allSettled(
    Array.from({ length: 5 }, () => clientFor(t, fake).send(new FilterLogEventsCommand({ logGroupName: 'trail' }))),
  );
  t.equal(burst.filter((r) => r.status === 'fulfilled').length, 3);
  t.ok(
    burst.every((r) => r.status === 'fulfilled' || r.reason instanceof ThrottlingException),
    'the rest are ThrottlingException',
  );
});

t.test('a dropped connection surfaces as a network error; slow responses are slow', async (t) => {
  const fake = await startFake(t);
  fake.api.createLogGroup('trail');
  const client = clientFor(t, fake);
  fake.api.failNext('FilterLogEvents', 'drop-connection');
  const dropped = await rejection(client.send(new FilterLogEventsCommand({ logGroupName: 'trail' })));
  t.notOk(dropped instanceof CloudWatchLogsServiceException, 'not a service error');
  t.match(`${(dropped as { code?: string }).code} ${dropped.message}`, /ECONNRESET|EPIPE|socket hang up/);
  t.equal(fake.api.counters()['FilterLogEvents']?.dropped, 1);

  const retrying = clientFor(t, fake, { maxAttempts: 3 });
  fake.api.failNext('FilterLogEvents', 'drop-connection');
  const recovered = await retrying.send(new FilterLogEventsCommand({ logGroupName: 'trail' }));
  t.equal(recovered.$metadata.attempts, 2, 'the SDK retries a reset connection');

  fake.api.setFaults({ delayMs: 250 });
  const started = performance.now();
  await client.send(new FilterLogEventsCommand({ logGroupName: 'trail' }));
  t.ok(performance.now() - started >= 240, 'delayed');
});

t.test('DescribeLogGroups filters by prefix and paginates', async (t) => {
  const fake = await startFake(t);
  const client = clientFor(t, fake);
  for (const name of ['org-trail-a', 'org-trail-b', 'org-trail-c', 'other']) fake.api.createLogGroup(name);
  fake.api.createLogGroup('org-trail-x', { accountId: '210987654321' });
  const names: string[] = [];
  const arns: string[] = [];
  for await (const page of paginateDescribeLogGroups({ client, pageSize: 2 }, { logGroupNamePrefix: 'org-trail-' })) {
    for (const group of page.logGroups ?? []) {
      names.push(group.logGroupName ?? '');
      arns.push(group.logGroupArn ?? '');
    }
  }
  t.same(names, ['org-trail-a', 'org-trail-b', 'org-trail-c', 'org-trail-x']);
  t.equal(arns[3], 'arn:aws:logs:us-east-1:210987654321:log-group:org-trail-x');
  t.equal(fake.api.callCount('DescribeLogGroups'), 2);
});

type LiveTailIterator = AsyncIterator<StartLiveTailResponseStream>;

async function openLiveTail(
  t: Scope,
  client: CloudWatchLogsClient,
  input: StartLiveTailCommandInput,
): Promise<LiveTailIterator> {
  const output = await client.send(new StartLiveTailCommand(input));
  t.equal(output.$metadata.httpStatusCode, 200);
  if (!output.responseStream) throw new Error('no responseStream');
  return output.responseStream[Symbol.asyncIterator]();
}

/** Reads updates until `done` says so; returns every result message seen. */
async function readUpdates(
  it: LiveTailIterator,
  done: (messages: string[], sampled: boolean[]) => boolean,
): Promise<{ messages: string[]; sampled: boolean[] }> {
  const messages: string[] = [];
  const sampled: boolean[] = [];
  while (!done(messages, sampled)) {
    const next = await it.next();
    if (next.done) break;
    const update = next.value.sessionUpdate;
    if (!update) continue;
    sampled.push(update.sessionMetadata?.sampled ?? false);
    for (const result of update.sessionResults ?? []) messages.push(result.message ?? '');
  }
  return { messages, sampled };
}

async function streamEnd(it: LiveTailIterator): Promise<{ error: Error | undefined; updates: number }> {
  let updates = 0;
  try {
    for (;;) {
      const next = await it.next();
      if (next.done) return { error: undefined, updates };
      updates++;
    }
  } catch (error) {
    return { error: error instanceof Error ? error : new Error(String(error)), updates };
  }
}

t.test('StartLiveTail: sessionStart, then updates with what was ingested after it began', async (t) => {
  const fake = await startFake(t, { liveTail: { updateIntervalMs: 50 } });
  const client = clientFor(t, fake);
  const trail = fake.api.createLogGroup('trail');
  const other = fake.api.createLogGroup('other');
  fake.api.putLogEvents('trail', 's', [{ timestamp: T0, message: trailRecord('DisableKey', T0, 'before') }]);

  const pattern = eventNamePattern(fake, 'DisableKey');
  const it = await openLiveTail(t, client, { logGroupIdentifiers: [trail.arn, other.arn], logEventFilterPattern: pattern });
  const first = await it.next();
  t.match(first.value, {
    sessionStart: { logGroupIdentifiers: [trail.arn, other.arn], logEventFilterPattern: pattern },
  });
  t.type(first.value?.sessionStart?.sessionId, 'string');
  t.type(first.value?.sessionStart?.requestId, 'string');

  fake.api.putLogEvents('trail', 'a', [
    // An old event timestamp, ingested now: live tail goes by ingestion.
    { timestamp: T0 - 2 * HOUR, message: trailRecord('DisableKey', T0 - 2 * HOUR, 'one') },
    { timestamp: T0, message: trailRecord('EnableKey', T0, 'not matching') },
  ]);
  fake.api.putLogEvents('other', 'b', [{ timestamp: T0, message: trailRecord('DisableKey', T0, 'two') }]);
  const { messages, sampled } = await readUpdates(it, (m) => m.length >= 2);
  t.same(
    messages.map((m) => (JSON.parse(m) as { eventID: string }).eventID),
    ['one', 'two'],
    'only matching events ingested after the start',
  );
  t.notOk(sampled.includes(true));

  t.equal(fake.api.endLiveTailSessions('streaming-error'), 1);
  const end = await streamEnd(it);
  t.ok(end.error instanceof SessionStreamingException, 'forced SessionStreamingException, typed');
  t.match(fake.api.liveTailSessions()[0], { eventsSent: 2, ended: 'streaming-error' });
});

t.test('StartLiveTail: above the per-update cap results are a sample, flagged sampled', async (t) => {
  const fake = await startFake(t, { liveTail: { updateIntervalMs: 50, maxEventsPerUpdate: 10 } });
  const client = clientFor(t, fake);
  const trail = fake.api.createLogGroup('trail');
  const it = await openLiveTail(t, client, { logGroupIdentifiers: [trail.arn] });
  await it.next();
  fake.api.putLogEvents('trail', 's', Array.from({ length: 100 }, (_, i) => ({ timestamp: T0, message: `burst ${i}` })));
  const { messages, sampled } = await readUpdates(it, (m) => m.length > 0);
  t.equal(messages.length, 10);
  t.equal(sampled.at(-1), true);
  t.equal(new Set(messages).size, 10, 'a sample without repeats');
  t.match(fake.api.liveTailSessions()[0], { eventsSampledOut: 90 });
  fake.api.endLiveTailSessions('dropped');
  const end = await streamEnd(it);
  t.ok(end.error, 'a dropped session surfaces as an error');
  t.notOk(end.error instanceof CloudWatchLogsServiceException, 'a network error, not a modeled exception');
});

t.test('StartLiveTail: a lagging client loses the oldest updates from a bounded buffer', async (t) => {
  const fake = await startFake(t, { liveTail: { updateIntervalMs: 30, bufferMaxUpdates: 1000, bufferMaxEvents: 4 } });
  const client = clientFor(t, fake);
  const trail = fake.api.createLogGroup('trail');
  const it = await openLiveTail(t, client, { logGroupIdentifiers: [trail.arn] });
  await it.next();
  fake.api.stallLiveTail(true);
  for (let batch = 0; batch < 4; batch++) {
    fake.api.putLogEvents('trail', 's', [0, 1].map((i) => ({ timestamp: T0, message: `b${batch}-${i}` })));
    await new Promise((resolve) => setTimeout(resolve, 75));
  }
  fake.api.stallLiveTail(false);
  const { messages } = await readUpdates(it, (m) => m.includes('b3-1'));
  t.same(messages, ['b2-0', 'b2-1', 'b3-0', 'b3-1'], 'only the newest 4 events survived');
  t.match(fake.api.liveTailSessions()[0], { eventsDropped: 4 });
  fake.api.endLiveTailSessions('timeout');
  t.ok((await streamEnd(it)).error instanceof SessionTimeoutException, 'then ends normally');
});

t.test('StartLiveTail: ends with SessionTimeoutException at the maximum duration; validates its input', async (t) => {
  const fake = await startFake(t, { liveTail: { updateIntervalMs: 50, maxSessionDurationMs: 600 } });
  const client = clientFor(t, fake);
  const trail = fake.api.createLogGroup('trail');
  const started = performance.now();
  const it = await openLiveTail(t, client, { logGroupIdentifiers: [trail.arn] });
  const end = await streamEnd(it);
  const elapsed = performance.now() - started;
  t.ok(end.error instanceof SessionTimeoutException, 'typed SessionTimeoutException');
  t.ok(elapsed >= 550 && elapsed < 3000, `ended after ${Math.round(elapsed)} ms`);
  t.ok(end.updates >= 5, `${end.updates} messages before the end`);
  t.match(fake.api.liveTailSessions()[0], { ended: 'timeout' });

  const byName = await rejection(client.send(new StartLiveTailCommand({ logGroupIdentifiers: ['trail'] })));
  t.ok(byName instanceof InvalidParameterException, 'identifiers must be ARNs');
  const missing = await rejection(
    client.send(new StartLiveTailCommand({ logGroupIdentifiers: [`${trail.arn}-gone`] })),
  );
  t.ok(missing instanceof ResourceNotFoundException, 'ResourceNotFoundException');
  const eleven = Array.from({ length: 11 }, () => trail.arn);
  const tooMany = await rejection(client.send(new StartLiveTailCommand({ logGroupIdentifiers: eleven })));
  t.ok(tooMany instanceof InvalidParameterException, 'at most 10 log groups');
  fake.api.failNext('StartLiveTail', 'throttle');
  const throttled = await rejection(client.send(new StartLiveTailCommand({ logGroupIdentifiers: [trail.arn] })));
  t.ok(throttled instanceof ThrottlingException, 'faults apply to StartLiveTail before the stream opens');
});
