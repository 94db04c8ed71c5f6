// The live-tail source in-process against scripted StartLiveTail streams: updates, sampling, session ends, reconnects, errors by kind, ARN resolution, refused commits.
import t from 'tap';
import type { Test } from 'tap';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StartLiveTailResponseStream } from '@aws-sdk/client-cloudwatch-logs';
import { AccessDeniedException, SessionStreamingException, SessionTimeoutException } from '@aws-sdk/client-cloudwatch-logs';
import { buildFilterPattern } from '../../src/catalog/filter-pattern.ts';
import { AWS_ERROR_KINDS } from '../../src/sources/aws-errors.ts';
import { LiveTailSource } from '../../src/sources/live-tail.ts';
import { DISABLE_KEY, cloudTrailRecord } from '../support/cloudtrail-record.ts';
import { lines } from '../support/exposition.ts';
import { FakeLogsApi } from '../support/fake-logs-api.ts';
import { inProcessService, until } from '../support/in-process-service.ts';
import type { InProcess } from '../support/in-process-service.ts';
import { LEVEL } from '../support/log-lines.ts';
import { ManualClock } from '../support/manual-clock.ts';

const GROUP = 'aws-cloudtrail-logs-111122223333';
const T0 = Date.parse('2026-11-20T09:00:00Z');
const PATTERN = buildFilterPattern();

interface Tail {
  readonly fake: FakeLogsApi;
  readonly clock: ManualClock;
  readonly running: InProcess;
  readonly tail: LiveTailSource;
}

/** The service with live tail on `groups` (its reconciling poll beside it, idle after one empty cycle). */
async function tailService(t: Test, options: { fake?: FakeLogsApi; groups?: string; raw?: Record<string, unknown> } = {}): Promise<Tail> {
  const fake = options.fake ?? withGroup();
  const clock = new ManualClock(T0);
  const running = await inProcessService(t, { source: 'live-tail', logGroup: options.groups ?? GROUP, ...options.raw }, { cloudWatchLogs: fake, now: clock.now });
  return { fake, clock, running, tail: running.source('live-tail', LiveTailSource) };
}

function withGroup(): FakeLogsApi {
  const fake = new FakeLogsApi();
  fake.createLogGroup(GROUP);
  return fake;
}

const start: StartLiveTailResponseStream = { sessionStart: { requestId: 'req-1', sessionId: 'session-1', logGroupIdentifiers: [] } };

/** A session update carrying the log events of these CloudTrail eventIDs. */
function update(ids: readonly string[], sampled = false): StartLiveTailResponseStream {
  return { sessionUpdate: { sessionMetadata: { sampled }, sessionResults: ids.map((id, i) => ({ message: cloudTrailRecord('DisableKey', id, T0 - 60_000 + i), timestamp: T0 - 60_000 + i, logGroupIdentifier: GROUP })) } };
}

function errorsOf(body: string): string[] {
  return lines(body, 'kms_exporter_source_errors_total{source="live-tail"');
}

/** Every live-tail error series at 0 but `counted`. */
function errors(counted: Record<string, number> = {}): string[] {
  return [...AWS_ERROR_KINDS, 'commit_failed'].map((kind) => `kms_exporter_source_errors_total{source="live-tail",error="${kind}"} ${counted[kind] ?? 0}`);
}

function records(matched: number, duplicate = 0): string[] {
  return [
    `kms_exporter_records_total{source="live-tail",result="matched"} ${matched}`,
    'kms_exporter_records_total{source="live-tail",result="ignored"} 0',
    'kms_exporter_records_total{source="live-tail",result="invalid"} 0',
    `kms_exporter_records_total{source="live-tail",result="duplicate"} ${duplicate}`,
  ];
}

function recordsOf(body: string): string[] {
  return lines(body, 'kms_exporter_records_total{source="live-tail"');
}

function events(body: string): string[] {
  return lines(body, 'kms_exporter_source_events_total{source="live-tail"');
}

t.test('a log group name is resolved to its ARN with DescribeLogGroups (exact name among those with the prefix); ARNs are used as given, without :*', async (t) => {
  const fake = new FakeLogsApi();
  fake.createLogGroup(`${GROUP}-archive`);
  const arn = fake.createLogGroup(GROUP);
  const other = fake.createLogGroup('org-trail');
  const { tail } = await tailService(t, { fake, groups: `${GROUP},${other}:*` });
  t.equal(tail.status().detail, 'connecting');
  const session = await fake.session(0);
  t.same(fake.inputs('describeLogGroups'), [{ logGroupNamePrefix: GROUP, limit: 50 }], 'only the name is looked up');
  t.same(session.input, { logGroupIdentifiers: [arn, other], logEventFilterPattern: PATTERN });
});

t.test('updates are counted as they stream; sampling is counted; /-/ready shows the session', async (t) => {
  const { fake, clock, running, tail } = await tailService(t);
  const session = await fake.session(0);
  session.push(start, update(['e1', 'e2']), update(['e3'], true), { sessionUpdate: { sessionMetadata: { sampled: false }, sessionResults: [] } });
  await session.drained();
  const body = await running.scrape();
  t.same(lines(body, 'kms_config_changes_total'), [`${DISABLE_KEY} 3`]);
  t.same(recordsOf(body), records(3));
  t.same(events(body), ['kms_exporter_source_events_total{source="live-tail",event="sampled"} 1', 'kms_exporter_source_events_total{source="live-tail",event="session_ended"} 0']);
  t.same(errorsOf(body), errors());
  t.same(tail.status(), { ready: true, detail: 'session open for 0s' });
  clock.advance(90_000);
  t.same(((await running.ready()).body as { sources: Record<string, unknown> }).sources['live-tail'], { ready: true, detail: 'session open for 90s' });
});

t.test('a session that times out (every 3 hours) is counted session_ended and reopened at once; what both sessions carry is counted once', async (t) => {
  const { fake, running, tail } = await tailService(t);
  const first = await fake.session(0);
  first.push(start, update(['e1', 'e2'])).fail(new SessionTimeoutException({ message: 'Session timed out', $metadata: {} }));
  const second = await fake.session(1);
  t.ok(first.closed, 'the first stream was left');
  second.push(start, update(['e2', 'e3']));
  await second.drained();
  const body = await running.scrape();
  t.same(recordsOf(body), records(3, 1), 'e2 arrived twice, counted once');
  t.same(events(body), ['kms_exporter_source_events_total{source="live-tail",event="sampled"} 0', 'kms_exporter_source_events_total{source="live-tail",event="session_ended"} 1']);
  t.same(errorsOf(body), errors(), 'a session ending on time is not an error');
  t.same(tail.status(), { ready: true, detail: 'session open for 0s' });
  t.same(running.logs.lines().filter((line) => line['source'] === 'live-tail').map((line) => [line.level, line['event'], line.msg]), [[LEVEL.debug, 'session_ended', 'live tail session ended; reconnecting']]);

  // A stream that just ends (the connection closed cleanly) is reopened too.
  second.end();
  const third = await fake.session(2);
  third.push(start, update(['e4']));
  await third.drained();
  t.same(recordsOf(await running.scrape()), records(4, 1));
});

t.test('a broken stream (SessionStreamingException) is counted as a network error, shown by /-/ready, and reconnected after a backoff', async (t) => {
  const { fake, running, tail } = await tailService(t);
  const first = await fake.session(0);
  first.push(start, update(['e1'])).fail(new SessionStreamingException({ message: 'Internal streaming error', $metadata: {} }));
  await until(() => tail.status().detail.startsWith('reconnecting'), 'the broken session');
  t.same(tail.status(), { ready: false, detail: 'reconnecting after: network (SessionStreamingException: Internal streaming error)' });
  let body = await running.scrape();
  t.same(errorsOf(body), errors({ network: 1 }));
  t.same(running.logs.lines().filter((line) => line['source'] === 'live-tail').map((line) => [line.level, line['error'], line.msg]), [[LEVEL.warn, 'network', 'live tail failed (network): Internal streaming error; reconnecting']]);
  const second = await fake.session(1);
  second.push(start, update(['e2']));
  await second.drained();
  body = await running.scrape();
  t.same(recordsOf(body), records(2));
  t.same(tail.status(), { ready: true, detail: 'session open for 0s' }, 'the error is cleared once a session starts');
});

t.test('StartLiveTail refused and a log group that does not exist are counted by kind; the service keeps serving', async (t) => {
  const denied = new FakeLogsApi();
  denied.createLogGroup(GROUP);
  denied.fail('startLiveTail', new AccessDeniedException({ message: 'User is not authorized to perform: logs:StartLiveTail', $metadata: { httpStatusCode: 400 } }));
  const refused = await tailService(t, { fake: denied });
  await until(() => refused.tail.status().detail !== 'connecting', 'the refused session');
  t.same(refused.tail.status(), { ready: false, detail: 'reconnecting after: access_denied (AccessDeniedException: User is not authorized to perform: logs:StartLiveTail)' });
  t.same(errorsOf(await refused.running.scrape()), errors({ access_denied: 1 }));

  const missing = await tailService(t, { fake: new FakeLogsApi() });
  await until(() => missing.tail.status().detail !== 'connecting', 'the failed lookup');
  t.same(missing.tail.status(), { ready: false, detail: `reconnecting after: not_found (ResourceNotFoundException: log group ${GROUP} not found)` });
  t.same(errorsOf(await missing.running.scrape()), errors({ not_found: 1 }));
  t.same(missing.running.logs.lines().filter((line) => line['source'] === 'live-tail').map((line) => line.msg), [`live tail failed (not_found): log group ${GROUP} not found; reconnecting`]);
  t.equal((await missing.running.service.app.inject('/-/healthy')).statusCode, 200);
});

t.test('an update the checkpoint cannot take is counted commit_failed, and the stream goes on', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kce-tail-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { fake, running } = await tailService(t, { raw: { checkpointFile: join(dir, 'checkpoint.json') } });
  const session = await fake.session(0);
  session.push(start, update(['e1']));
  await session.drained();
  rmSync(dir, { recursive: true, force: true });
  session.push(update(['e2']));
  await session.drained();
  mkdirSync(dir);
  session.push(update(['e3']));
  await session.drained();
  t.equal(fake.sessions.length, 1, 'the same session throughout');
  const body = await running.scrape();
  t.same(recordsOf(body), records(2), 'e1 and e3; e2 is left to the reconciling poll');
  t.same(errorsOf(body), errors({ commit_failed: 1 }));
  const cause = `ENOENT: no such file or directory, open '${join(dir, '.checkpoint.json.tmp')}'`;
  t.same(
    running.logs.lines().filter((line) => line['error'] === 'commit_failed').map((line) => [line['source'], line.msg]),
    [['live-tail', `a live-tail update was not committed (state store unavailable: cannot write the checkpoint: ${cause}); the reconciling poll reads it again`]],
  );
});

t.test('more than 10 log groups is refused at start, naming the setting', async (t) => {
  const groups = Array.from({ length: 11 }, (_, i) => `group-${i}`).join(',');
  await t.rejects(inProcessService(t, { source: 'live-tail', logGroup: groups }, { cloudWatchLogs: new FakeLogsApi() }), { name: 'ConfigError', message: 'invalid --log-group (KMS_EXPORTER_LOG_GROUPS): live tail takes at most 10 log groups, got 11' });
});
