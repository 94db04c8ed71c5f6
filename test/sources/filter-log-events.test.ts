// The poll source in-process against a fake CloudWatchLogsApi: pages, the lateness window, errors by kind, refused commits, readiness and resumable progress.
import t from 'tap';
import type { Test } from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessDeniedException, InvalidParameterException, ResourceNotFoundException, ServiceUnavailableException, ThrottlingException } from '@aws-sdk/client-cloudwatch-logs';
import { buildFilterPattern } from '../../src/catalog/filter-pattern.ts';
import { PollSource, pollProgressSchema } from '../../src/sources/filter-log-events.ts';
import { DISABLE_KEY, cloudTrailRecord } from '../support/cloudtrail-record.ts';
import { lines, value } from '../support/exposition.ts';
import { FakeLogsApi, logEventId } from '../support/fake-logs-api.ts';
import { inProcessService, until } from '../support/in-process-service.ts';
import type { InProcess, InProcessOptions } from '../support/in-process-service.ts';
import { LEVEL } from '../support/log-lines.ts';
import { ManualClock } from '../support/manual-clock.ts';

const GROUP = 'aws-cloudtrail-logs-111122223333';
const MINUTE = 60_000;
const T0 = Date.parse('2026-11-20T09:00:00Z');
const PATTERN = buildFilterPattern();

interface Poll {
  readonly fake: FakeLogsApi;
  readonly clock: ManualClock;
  readonly running: InProcess;
  readonly poll: PollSource;
  /** One more cycle over GROUP, as run() would do after its interval. */
  cycle(): Promise<boolean>;
}

/**
 * The service with the poll source on GROUP. Its own loop makes the first cycle and
 * then sleeps for an hour, so each further cycle is the test's, on the test's clock.
 */
async function pollService(t: Test, options: { fake?: FakeLogsApi; clock?: ManualClock; raw?: Record<string, unknown> } & InProcessOptions = {}): Promise<Poll> {
  const { fake = fakeWith([]), clock = new ManualClock(T0), raw = {}, ...rest } = options;
  const running = await inProcessService(t, { source: 'poll', logGroup: GROUP, pollInterval: '1h', ...raw }, { cloudWatchLogs: fake, now: clock.now, ...rest });
  const poll = running.source('poll', PollSource);
  await until(() => poll.status().detail !== 'first poll in progress', 'the first poll cycle');
  const abort = new AbortController();
  t.teardown(() => abort.abort());
  return { fake, clock, running, poll, cycle: () => poll.pollGroup(GROUP, abort.signal) };
}

/** A fake CloudWatch Logs with GROUP holding `stored`. */
function fakeWith(stored: readonly { message: string; timestamp: number }[]): FakeLogsApi {
  const fake = new FakeLogsApi();
  fake.createLogGroup(GROUP);
  fake.put(GROUP, stored);
  return fake;
}

function events(from: number, ids: readonly string[], step = MINUTE): { message: string; timestamp: number }[] {
  return ids.map((id, i) => ({ message: cloudTrailRecord('DisableKey', id, from + i * step), timestamp: from + i * step }));
}

const windows = (fake: FakeLogsApi) => fake.inputs('filterLogEvents').map((input) => [input['startTime'], input['endTime']]);

function recordsOf(body: string): string[] {
  return lines(body, 'kms_exporter_records_total{source="poll"');
}

function records(matched: number, duplicate = 0): string[] {
  return [
    `kms_exporter_records_total{source="poll",result="matched"} ${matched}`,
    'kms_exporter_records_total{source="poll",result="ignored"} 0',
    'kms_exporter_records_total{source="poll",result="invalid"} 0',
    `kms_exporter_records_total{source="poll",result="duplicate"} ${duplicate}`,
  ];
}

t.test('a result over several pages, with empty pages between them, is read whole and counted once', async (t) => {
  const fake = fakeWith(events(T0 - 50 * MINUTE, ['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7'], 5 * MINUTE));
  fake.pageSize = 3;
  fake.emptyPagesBetween = 2;
  const { running } = await pollService(t, { fake });
  // The first cycle reads the look-back (1h) and the lateness window (20m) before it.
  const first = { logGroupName: GROUP, startTime: T0 - 80 * MINUTE, endTime: T0, filterPattern: PATTERN, limit: 10_000 };
  t.same(fake.inputs('filterLogEvents'), [first, ...[1, 2, 3, 4, 5, 6].map((n) => ({ ...first, nextToken: `token-${n}` }))], 'every page asked for, empty ones included, until no nextToken');
  const body = await running.scrape();
  t.same(lines(body, 'kms_config_changes_total'), [`${DISABLE_KEY} 7`]);
  t.same(recordsOf(body), records(7));
});

t.test('a log group given by ARN is asked for by logGroupIdentifier', async (t) => {
  const fake = new FakeLogsApi();
  const arn = fake.createLogGroup(GROUP);
  fake.put(GROUP, events(T0 - 10 * MINUTE, ['e1']));
  const { running } = await pollService(t, { fake, raw: { logGroup: arn } });
  t.same(fake.inputs('filterLogEvents'), [{ logGroupIdentifier: arn, startTime: T0 - 80 * MINUTE, endTime: T0, filterPattern: PATTERN, limit: 10_000 }]);
  t.equal(value(await running.scrape(), DISABLE_KEY), 1);
});

t.test('the lateness window is re-read: events seen before are dropped, a late one is counted once, and ids past the window are forgotten', async (t) => {
  const fake = fakeWith([...events(T0 - 10 * MINUTE, ['e1']), ...events(T0 - 5 * MINUTE, ['e2'])]);
  const { clock, running, cycle } = await pollService(t, { fake });
  t.same(recordsOf(await running.scrape()), records(2));

  // Ingested after the first cycle, stamped before the newest event it saw: CloudTrail's lateness.
  fake.put(GROUP, events(T0 - 8 * MINUTE, ['late']));
  clock.advance(MINUTE);
  t.equal(await cycle(), true);
  let body = await running.scrape();
  t.same(recordsOf(body), records(3), 'only the late event reached the pipeline: no duplicates from the re-read');
  t.equal(value(body, DISABLE_KEY), 3);

  clock.advance(MINUTE);
  t.equal(await cycle(), true);
  body = await running.scrape();
  t.same(recordsOf(body), records(3), 'a quiet cycle over the same window adds nothing');
  t.equal(value(body, 'kms_exporter_state_entries{table="poll_log_event_ids"}'), 3);

  clock.advance(28 * MINUTE);
  t.equal(await cycle(), true);
  body = await running.scrape();
  t.same(recordsOf(body), records(3));
  t.equal(value(body, 'kms_exporter_state_entries{table="poll_log_event_ids"}'), 0, 'ids older than the next window cannot come back, so they are forgotten');

  t.same(windows(fake), [
    [T0 - 80 * MINUTE, T0],
    [T0 - 20 * MINUTE, T0 + MINUTE],
    [T0 - 19 * MINUTE, T0 + 2 * MINUTE],
    [T0 - 18 * MINUTE, T0 + 30 * MINUTE],
  ], 'each cycle starts a lateness window before the last one ended');
});

t.test('API errors are counted by kind and logged; the log group is retried next cycle from where it was', async (t) => {
  const fake = fakeWith(events(T0 - 10 * MINUTE, ['e1']));
  const errors: [string, Error][] = [
    ['throttled', new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } })],
    ['server_error', new ServiceUnavailableException({ message: 'The server failed to process the request', $metadata: { httpStatusCode: 503 } })],
    ['access_denied', new AccessDeniedException({ message: 'User is not authorized to perform: logs:FilterLogEvents', $metadata: { httpStatusCode: 400 } })],
    ['credentials', Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' })],
    ['not_found', new ResourceNotFoundException({ message: 'The specified log group does not exist.', $metadata: { httpStatusCode: 400 } })],
    ['invalid_token', new InvalidParameterException({ message: 'The specified nextToken is invalid.', $metadata: { httpStatusCode: 400 } })],
    ['invalid_request', new InvalidParameterException({ message: 'Invalid filter pattern', $metadata: { httpStatusCode: 400 } })],
    ['network', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['timeout', Object.assign(new Error('Connection timed out after 5000 ms'), { name: 'TimeoutError' })],
    ['other', new Error('something unexpected')],
  ];
  // The service's own first cycle meets the first error, the test's cycles the others.
  fake.fail('filterLogEvents', errors[0]![1]);
  const { clock, running, cycle } = await pollService(t, { fake });
  for (const [, error] of errors.slice(1)) {
    fake.fail('filterLogEvents', error);
    clock.advance(MINUTE);
    t.equal(await cycle(), false, error.name);
  }
  let body = await running.scrape();
  t.same(lines(body, 'kms_exporter_source_errors_total{source="poll"'), [...errors.map(([kind]) => `kms_exporter_source_errors_total{source="poll",error="${kind}"} 1`), 'kms_exporter_source_errors_total{source="poll",error="commit_failed"} 0']);
  t.same(recordsOf(body), records(0));
  t.same(
    running.logs.lines().filter((line) => line['source'] === 'poll').map((line) => [line.level, line['error'], line.msg]),
    errors.map(([kind, error]) => [LEVEL.warn, kind, `FilterLogEvents on ${GROUP} failed (${kind}): ${error.message}; retrying next cycle`]),
  );

  clock.advance(MINUTE);
  t.equal(await cycle(), true);
  body = await running.scrape();
  t.same(recordsOf(body), records(1), 'the event is counted once the API answers');
});

t.test('a first cycle that keeps failing keeps its start: what happened during the outage is read once the API answers', async (t) => {
  const fake = fakeWith([...events(T0 - 70 * MINUTE, ['before-start']), ...events(T0 + 30 * MINUTE, ['during-outage'])]);
  const denied = new AccessDeniedException({ message: 'User is not authorized to perform: logs:FilterLogEvents', $metadata: { httpStatusCode: 400 } });
  fake.fail('filterLogEvents', denied, { times: Infinity });
  const { clock, running, cycle } = await pollService(t, { fake });
  // Two hours until someone fixes the IAM policy: longer than the look-back and the lateness window together.
  for (let minute = 10; minute <= 120; minute += 10) {
    clock.advance(10 * MINUTE);
    t.equal(await cycle(), false);
  }
  fake.clearFailures();
  clock.advance(MINUTE);
  t.equal(await cycle(), true);
  t.same(recordsOf(await running.scrape()), records(2), 'both events are read');
  t.same(new Set(windows(fake).map(([start]) => start)), new Set([T0 - 80 * MINUTE]), 'every attempt started where the first one did');
});

t.test('throttled in the middle of the pages: the pages committed are not counted again on the retry', async (t) => {
  const fake = fakeWith(events(T0 - 30 * MINUTE, ['e1', 'e2', 'e3', 'e4', 'e5']));
  fake.pageSize = 2;
  fake.fail('filterLogEvents', new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } }), { after: 1 });
  const { clock, running, cycle } = await pollService(t, { fake });
  t.same(recordsOf(await running.scrape()), records(2), 'the first page was committed before the second was refused');
  clock.advance(MINUTE);
  t.equal(await cycle(), true);
  const body = await running.scrape();
  t.same(recordsOf(body), records(5), 'the first page is read again but dropped as seen');
  t.equal(value(body, 'kms_exporter_source_errors_total{source="poll",error="throttled"}'), 1);
  t.same(fake.inputs('filterLogEvents').map((input) => input['nextToken']), [undefined, 'token-1', undefined, 'token-2', 'token-3']);
});

t.test('a page the checkpoint cannot take is counted commit_failed and read again: nothing lost, nothing doubled', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kce-poll-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const checkpoint = join(dir, 'checkpoint.json');
  const fake = fakeWith(events(T0 - 10 * MINUTE, ['e1']));
  const { clock, running, cycle } = await pollService(t, { fake, raw: { checkpointFile: checkpoint } });
  t.same(recordsOf(await running.scrape()), records(1));

  // The service holds the file open only while writing: with its directory gone, the next write fails.
  rmSync(dir, { recursive: true, force: true });
  fake.put(GROUP, events(T0 - 5 * MINUTE, ['e2']));
  clock.advance(MINUTE);
  t.equal(await cycle(), false);
  const cause = `ENOENT: no such file or directory, open '${join(dir, '.checkpoint.json.tmp')}'`;
  let body = await running.scrape();
  t.same(recordsOf(body), records(1), 'the refused page left no trace');
  t.equal(value(body, 'kms_exporter_source_errors_total{source="poll",error="commit_failed"}'), 1);
  // Every write attempt counts: the page's, and the scrape's own attempt to persist the error it caused.
  t.ok((value(body, 'kms_exporter_state_errors_total{store="file",error="write_failed"}') ?? 0) >= 1, 'the failed write is counted');
  t.equal(value(body, 'kms_exporter_state_store_up{store="file"}'), 0);
  const ready = await running.ready();
  t.equal(ready.status, 503);
  t.same((ready.body as { sources: Record<string, unknown> }).sources['state'], { ready: false, detail: `cannot write ${checkpoint}: ${cause}` });
  t.same(
    running.logs.lines().filter((line) => line['error'] === 'commit_failed').map((line) => line.msg),
    [`a page of ${GROUP} was not committed (state store unavailable: cannot write the checkpoint: ${cause}); re-read next cycle`],
  );

  mkdirSync(dir);
  clock.advance(MINUTE);
  t.equal(await cycle(), true);
  body = await running.scrape();
  t.same(recordsOf(body), records(2), 'the page is read again and counted once');
  t.equal(value(body, DISABLE_KEY), 2);
  t.equal(value(body, 'kms_exporter_state_store_up{store="file"}'), 1);
  t.equal((await running.ready()).status, 200);
  const saved = JSON.parse(readFileSync(checkpoint, 'utf8')) as { replica: { sources: { poll: { logGroups: Record<string, { doneUntil: number; seen: [string, number][] }> } } } };
  t.same(saved.replica.sources.poll.logGroups[GROUP], { doneUntil: T0 + 2 * MINUTE, seen: [[logEventId(0), T0 - 10 * MINUTE], [logEventId(1), T0 - 5 * MINUTE]] });
});

t.test('a restart on the same checkpoint resumes the window and the seen ids: counters continue, nothing is counted again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kce-poll-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const raw = { checkpointFile: join(dir, 'checkpoint.json') };
  const fake = fakeWith(events(T0 - 10 * MINUTE, ['e1', 'e2']));
  const first = await pollService(t, { fake, raw });
  t.same(recordsOf(await first.running.scrape()), records(2));
  await first.running.service.stop();

  fake.put(GROUP, events(T0 + MINUTE, ['e3']));
  const clock = new ManualClock(T0 + 5 * MINUTE);
  const second = await pollService(t, { fake, clock, raw });
  t.same(windows(fake).at(-1), [T0 - 20 * MINUTE, T0 + 5 * MINUTE], 'the restarted poll reads from its checkpoint, not from the look-back');
  const body = await second.running.scrape();
  t.same(recordsOf(body), records(3), 'e1 and e2 were dropped as seen, e3 counted');
  t.equal(value(body, DISABLE_KEY), 3);
});

t.test('/-/ready says what the poll is doing, and turns 503 when the last complete poll is older than --stale-after', async (t) => {
  const fake = fakeWith([]);
  const clock = new ManualClock(T0);
  const dir = mkdtempSync(join(tmpdir(), 'kce-poll-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const checkpoint = join(dir, 'checkpoint.json');
  // A fast loop (shorter than a flag allows), so each state is reached by the service itself.
  const running = await inProcessService(t, { source: 'poll', logGroup: GROUP, checkpointFile: checkpoint }, { cloudWatchLogs: fake, now: clock.now, overrides: { pollInterval: 5 }, start: false });
  const poll = running.source('poll', PollSource);
  const ready = async () => {
    const { status, body } = await running.ready();
    return [status, body];
  };

  t.same(await ready(), [503, { status: 'not ready', sources: { state: { ready: false, detail: 'not opened yet' }, poll: { ready: false, detail: 'waiting for the state to be restored' } } }]);
  const metrics = await running.service.app.inject({ method: 'GET', url: '/metrics' });
  t.same([metrics.statusCode, metrics.body], [503, 'not serving yet: not opened yet\n'], 'no zeroed counters before the restore');

  const release = fake.block('filterLogEvents');
  await running.service.start({ listen: false });
  await running.service.restored;
  const state = { ready: true, detail: `checkpoint ${checkpoint}` };
  t.same(await ready(), [503, { status: 'not ready', sources: { state, poll: { ready: false, detail: 'first poll in progress' } } }]);

  const throttled = new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
  fake.fail('filterLogEvents', throttled, { times: Infinity });
  release();
  await until(() => poll.status().detail !== 'first poll in progress', 'a failed cycle');
  t.same(await ready(), [503, { status: 'not ready', sources: { state, poll: { ready: false, detail: `no successful poll yet: ${GROUP}: throttled (ThrottlingException: Rate exceeded)` } } }]);

  fake.clearFailures();
  await until(() => poll.status().ready, 'a complete cycle');
  t.same(await ready(), [200, { status: 'ready', sources: { state, poll: { ready: true, detail: 'last complete poll of 1 log group(s) 0s ago' } } }]);

  fake.fail('filterLogEvents', throttled, { times: Infinity });
  await until(() => poll.status().detail.includes('last error'), 'a failed cycle after a good one');
  clock.advance(5 * MINUTE);
  t.same((await ready())[1], { status: 'ready', sources: { state, poll: { ready: true, detail: `last complete poll of 1 log group(s) 300s ago; last error: ${GROUP}: throttled (ThrottlingException: Rate exceeded)` } } }, 'exactly --stale-after is still ready');
  clock.advance(1000);
  t.same(await ready(), [503, { status: 'not ready', sources: { state, poll: { ready: false, detail: `last complete poll of 1 log group(s) 301s ago; last error: ${GROUP}: throttled (ThrottlingException: Rate exceeded)` } } }]);
});

t.test('progress round trip: snapshot, JSON, the zod schema, restore gives the same progress, within the restoring side\'s bounds', async (t) => {
  const fake = fakeWith(events(T0 - 10 * MINUTE, ['e1', 'e2', 'e3']));
  const { poll } = await pollService(t, { fake });
  const saved = poll.progress.snapshot();
  t.same(saved, { logGroups: { [GROUP]: { doneUntil: T0, seen: [[logEventId(0), T0 - 10 * MINUTE], [logEventId(1), T0 - 9 * MINUTE], [logEventId(2), T0 - 8 * MINUTE]] } } });
  const parsed = pollProgressSchema.parse(JSON.parse(JSON.stringify(saved)));

  const same = await inProcessService(t, { source: 'poll', logGroup: GROUP }, { cloudWatchLogs: fake, start: false });
  same.source('poll', PollSource).progress.restore(parsed);
  t.same(same.source('poll', PollSource).progress.snapshot(), saved, 'restored exactly');

  // Fewer ids allowed (--dedupe-capacity), another log group list: the restoring side's bounds hold.
  const other = await inProcessService(t, { source: 'poll', logGroup: `${GROUP},another-group`, dedupeCapacity: '2' }, { cloudWatchLogs: fake, start: false });
  other.source('poll', PollSource).progress.restore(pollProgressSchema.parse({ logGroups: { ...parsed.logGroups, 'not-polled-any-more': { doneUntil: 1, seen: [] } } }));
  t.same(other.source('poll', PollSource).progress.snapshot(), { logGroups: { [GROUP]: { doneUntil: T0, seen: saved.logGroups[GROUP]!.seen.slice(1) } } }, 'the newest ids kept, groups no longer polled dropped');

  t.equal(pollProgressSchema.safeParse({ logGroups: { [GROUP]: { doneUntil: 'yesterday', seen: [] } } }).success, false, 'a doneUntil that is not a number');
  t.equal(pollProgressSchema.safeParse({ logGroups: { [GROUP]: { doneUntil: 1, seen: [['id']] } } }).success, false, 'a seen id without its timestamp');
});
