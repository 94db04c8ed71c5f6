// The poll source against the wire-level CloudWatch Logs fake, run as users run it: counts equal ground truth through late events, faults and restarts.
import t from 'tap';
import type { Test } from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeCloudWatchLogs } from '../../support/fake-cloudwatch-logs/index.ts';
import type { FakeCloudWatchLogs } from '../../support/fake-cloudwatch-logs/index.ts';
import { eventually, sample, startService } from '../../support/service-process.ts';
import type { ServiceProcess } from '../../support/service-process.ts';
import { TRAIL_TRUTH, trailCopy, truthFor } from '../../support/cloudtrail-stream.ts';

const GROUP = 'aws-cloudtrail-logs-111122223333';
const MINUTE = 60_000;

function awsEnv(fake: FakeCloudWatchLogs): Record<string, string> {
  return { AWS_ENDPOINT_URL: fake.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' };
}

async function fake(t: Test, options: Parameters<typeof startFakeCloudWatchLogs>[0] = {}): Promise<FakeCloudWatchLogs> {
  const server = await startFakeCloudWatchLogs({ seed: 7, ...options });
  t.teardown(() => server.close());
  return server;
}

async function service(t: Test, server: FakeCloudWatchLogs, args: readonly string[]): Promise<ServiceProcess> {
  const running = await startService(['--source', 'poll', '--poll-interval', '1s', '--lookback', '1h', '--lateness-window', '20m', ...args], awsEnv(server));
  t.teardown(() => running.kill());
  return running;
}

/** Waits until the service's change counters reach `changes` (and failures), then lets it settle one more cycle. */
async function settled(running: ServiceProcess, changes: number, failures: number, timeoutMs = 30_000): Promise<string> {
  await eventually(async () => {
    const body = await running.metrics();
    return sample(body, 'kms_config_changes_total') >= changes && sample(body, 'kms_config_change_failures_total') >= failures;
  }, timeoutMs);
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  return running.metrics();
}

function checkTruth(t: Test, body: string, copies: number): void {
  const truth = truthFor(copies);
  t.equal(sample(body, 'kms_config_changes_total'), truth.changes, 'successful changes');
  t.equal(sample(body, 'kms_config_change_failures_total'), truth.failures, 'failed attempts');
  for (const [name, count] of Object.entries(truth.byEventName)) t.equal(sample(body, 'kms_config_changes_total', { event_name: name }), count, name);
}

t.test('poll counts a log group exactly, with the filter pattern applied server-side', async (t) => {
  const server = await fake(t, { filter: { scanChunk: 300 } });
  server.api.createLogGroup(GROUP);
  const now = Date.now();
  server.api.putLogEvents(GROUP, '111122223333_CloudTrail_us-east-1', trailCopy(0, now - 30 * MINUTE, now - MINUTE));
  const running = await service(t, server, ['--log-group', GROUP]);
  const body = await settled(running, truthFor(1).changes, truthFor(1).failures);
  checkTruth(t, body, 1);
  // Only catalog changes cross the wire: the pattern was evaluated by the fake, as AWS would.
  t.equal(sample(body, 'kms_exporter_records_total', { source: 'poll', result: 'matched' }), TRAIL_TRUTH.records.matched);
  t.equal(sample(body, 'kms_exporter_records_total', { source: 'poll', result: 'duplicate' }), TRAIL_TRUTH.records.duplicate, 'the trail’s own re-deliveries, and nothing from re-reading the window');
  t.equal(sample(body, 'kms_exporter_records_total', { source: 'poll', result: 'ignored' }), 0);
  const requests = server.api.requests('FilterLogEvents');
  t.ok(requests.length > 0);
  t.match((requests[0]!.input as { filterPattern: string }).filterPattern, /^\{ \$\.eventSource = "kms\.amazonaws\.com" && \$\.eventName = %/);
  t.ok(sample(body, 'kms_exporter_aws_requests_total', { operation: 'FilterLogEvents', outcome: 'success' }) >= requests.length - 1, 'API calls are counted by operation');
  const ready = await fetch(`${running.address}/-/ready`);
  t.equal(ready.status, 200);
});

t.test('late and out-of-order events inside the lateness window are counted once', async (t) => {
  const server = await fake(t);
  server.api.createLogGroup(GROUP);
  const running = await service(t, server, ['--log-group', GROUP]);
  await eventually(async () => (await fetch(`${running.address}/-/ready`)).status === 200, 10_000);
  const now = Date.now();
  // Arrives now, stamped 5 to 15 minutes ago, in reverse order: long after the poller passed those times.
  server.api.putLogEvents(GROUP, 'late', trailCopy(1, now - 15 * MINUTE, now - 5 * MINUTE).reverse());
  const body = await settled(running, truthFor(1).changes, truthFor(1).failures);
  checkTruth(t, body, 1);
  t.equal(sample(body, 'kms_exporter_records_total', { result: 'duplicate' }), TRAIL_TRUTH.records.duplicate);
});

t.test('a throttling storm (half the calls throttled) and 5xx lose nothing', async (t) => {
  const server = await fake(t, { filter: { scanChunk: 200 }, faults: { throttleRate: 0.5, serverErrorRate: 0.1 } });
  server.api.createLogGroup(GROUP);
  const now = Date.now();
  server.api.putLogEvents(GROUP, 's', trailCopy(2, now - 20 * MINUTE, now - MINUTE));
  const running = await service(t, server, ['--log-group', GROUP, '--aws-max-attempts', '10', '--aws-calls-per-second', '20']);
  const body = await settled(running, truthFor(1).changes, truthFor(1).failures, 60_000);
  checkTruth(t, body, 1);
  const counters = server.api.counters()['FilterLogEvents']!;
  t.ok((counters.errors['ThrottlingException'] ?? 0) > 5, `the fake throttled (${JSON.stringify(counters.errors)})`);
  t.ok(sample(body, 'kms_exporter_aws_requests_total', { operation: 'FilterLogEvents', outcome: 'throttled' }) > 0, 'throttled attempts are counted');
});

t.test('ten log groups, each with its own stream', async (t) => {
  const server = await fake(t);
  const groups = Array.from({ length: 10 }, (_, i) => `trail-${i}`);
  const now = Date.now();
  groups.forEach((group, i) => {
    server.api.createLogGroup(group);
    server.api.putLogEvents(group, 's', trailCopy(10 + i, now - 30 * MINUTE, now - MINUTE));
  });
  const running = await service(t, server, ['--log-group', [groups.slice(0, 5).join(','), ...groups.slice(5).map((g) => server.api.logGroupArn(g))].join(','), '--aws-calls-per-second', '20']);
  const body = await settled(running, truthFor(10).changes, truthFor(10).failures, 60_000);
  checkTruth(t, body, 10);
});

t.test('a deleted log group and access denied are counted errors; the service keeps serving', async (t) => {
  const server = await fake(t);
  server.api.createLogGroup(GROUP);
  const running = await service(t, server, ['--log-group', `${GROUP},missing-group`, '--stale-after', '3s']);
  await eventually(async () => sample(await running.metrics(), 'kms_exporter_source_errors_total', { source: 'poll', error: 'not_found' }) > 0, 10_000);
  server.api.setFaults({ accessDenied: true });
  const denied = await eventually(async () => sample(await running.metrics(), 'kms_exporter_source_errors_total', { source: 'poll', error: 'access_denied' }) > 0, 10_000);
  t.ok(denied, 'access denied is counted');
  const ready = await fetch(`${running.address}/-/ready`);
  t.equal(ready.status, 503, 'a source that keeps failing is not ready');
  const detail = (await ready.json()) as { sources: { poll: { detail: string } } };
  t.match(detail.sources.poll.detail, /access_denied|not_found/);
  t.equal((await fetch(`${running.address}/-/healthy`)).status, 200, 'but the process is healthy');
  t.match(running.stderr(), /"error":"not_found"/);
});

t.test('a restart resumes from the checkpoint: counters continue, nothing is re-counted', async (t) => {
  const server = await fake(t);
  server.api.createLogGroup(GROUP);
  const dir = mkdtempSync(join(tmpdir(), 'kce-poll-'));
  const checkpoint = join(dir, 'checkpoint.json');
  const now = Date.now();
  server.api.putLogEvents(GROUP, 's', trailCopy(20, now - 30 * MINUTE, now - 20 * MINUTE));
  let running = await service(t, server, ['--log-group', GROUP, '--checkpoint-file', checkpoint]);
  await settled(running, truthFor(1).changes, truthFor(1).failures);
  t.equal(await running.stop(), 0, 'SIGTERM stops cleanly');
  server.api.putLogEvents(GROUP, 's', trailCopy(21, now - 10 * MINUTE, now - MINUTE));
  running = await service(t, server, ['--log-group', GROUP, '--checkpoint-file', checkpoint]);
  const body = await settled(running, truthFor(2).changes, truthFor(2).failures);
  checkTruth(t, body, 2);
  t.equal(sample(body, 'kms_exporter_records_total', { source: 'poll', result: 'matched' }), 2 * TRAIL_TRUTH.records.matched, 'records_total continues too');
  const saved = JSON.parse(readFileSync(checkpoint, 'utf8')) as { version: number; replica: { sources: { poll: { logGroups: Record<string, unknown> } } } };
  t.equal(saved.version, 2);
  t.ok(saved.replica.sources.poll.logGroups[GROUP]);
});

t.test('a corrupt checkpoint is reported and the service starts from the look-back', async (t) => {
  const server = await fake(t);
  server.api.createLogGroup(GROUP);
  const dir = mkdtempSync(join(tmpdir(), 'kce-poll-'));
  const checkpoint = join(dir, 'checkpoint.json');
  writeFileSync(checkpoint, '{"version":1,"sources":');
  const now = Date.now();
  server.api.putLogEvents(GROUP, 's', trailCopy(30, now - 30 * MINUTE, now - MINUTE));
  const running = await service(t, server, ['--log-group', GROUP, '--checkpoint-file', checkpoint]);
  const body = await settled(running, truthFor(1).changes, truthFor(1).failures);
  checkTruth(t, body, 1);
  t.match(running.stderr(), /the checkpoint [^ ]+ is unreadable \(not JSON: [^)]*\); moved to [^ ]+\.corrupt-\d+, starting afresh/);
  t.equal(sample(body, 'kms_exporter_state_errors_total', { store: 'file', error: 'corrupt' }), 1);
});

t.test('a second instance on the same checkpoint waits and counts nothing until the first is gone', async (t) => {
  const server = await fake(t);
  server.api.createLogGroup(GROUP);
  const dir = mkdtempSync(join(tmpdir(), 'kce-poll-'));
  const checkpoint = join(dir, 'checkpoint.json');
  const now = Date.now();
  server.api.putLogEvents(GROUP, 's', trailCopy(40, now - 30 * MINUTE, now - MINUTE));
  const first = await service(t, server, ['--log-group', GROUP, '--checkpoint-file', checkpoint]);
  await settled(first, truthFor(1).changes, truthFor(1).failures);
  const second = await service(t, server, ['--log-group', GROUP, '--checkpoint-file', checkpoint]);
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const waiting = await fetch(`${second.address}/metrics`);
  t.equal(waiting.status, 503, 'the waiting instance serves no counts (zeros would read as a counter reset)');
  t.match(await waiting.text(), /^not serving yet: waiting for the lock on /);
  const ready = await fetch(`${second.address}/-/ready`);
  t.equal(ready.status, 503);
  t.match(await ready.text(), /waiting for the lock/);
  t.match(second.stderr(), /is held by another kms-change-exporter \(or one that died less than 10s ago\); waiting for it/);
  let body: string;
  await first.stop();
  t.ok(await eventually(async () => sample(await second.metrics(), 'kms_config_changes_total') === truthFor(1).changes, 30_000), 'it takes over with the counters of the first');
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  body = await second.metrics();
  checkTruth(t, body, 1);
});
