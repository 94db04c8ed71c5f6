// The live-tail source against the fake's event stream: fast delivery, reconnects, sampling reconciled by the poll.
import t from 'tap';
import type { Test } from 'tap';
import { startFakeCloudWatchLogs } from '../../support/fake-cloudwatch-logs/index.ts';
import type { FakeCloudWatchLogs, FakeCloudWatchLogsOptions } from '../../support/fake-cloudwatch-logs/index.ts';
import { eventually, sample, startService } from '../../support/service-process.ts';
import type { ServiceProcess } from '../../support/service-process.ts';
import { trailCopy, truthFor } from '../../support/cloudtrail-stream.ts';

const GROUP = 'aws-cloudtrail-logs-111122223333';
const MINUTE = 60_000;

async function fake(t: Test, options: FakeCloudWatchLogsOptions = {}): Promise<FakeCloudWatchLogs> {
  const server = await startFakeCloudWatchLogs({ seed: 11, liveTail: { updateIntervalMs: 200 }, ...options });
  t.teardown(() => server.close());
  server.api.createLogGroup(GROUP);
  return server;
}

async function service(t: Test, server: FakeCloudWatchLogs, args: readonly string[]): Promise<ServiceProcess> {
  const env = { AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: server.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' };
  const running = await startService(['--source', 'live-tail', '--log-group', GROUP, '--lookback', '1h', ...args], env);
  t.teardown(() => running.kill());
  return running;
}

async function sessionOpen(server: FakeCloudWatchLogs, count = 1): Promise<boolean> {
  return eventually(async () => server.api.liveTailSessions().filter((s) => !s.ended).length >= count, 15_000, 50);
}

t.test('a change ingested during a session reaches /metrics in seconds, without waiting for a poll', async (t) => {
  const server = await fake(t);
  const running = await service(t, server, ['--reconcile-interval', '1h']);
  t.ok(await sessionOpen(server), 'a live tail session is open');
  await eventually(async () => (await fetch(`${running.address}/-/ready`)).status === 200, 10_000);
  const calls = server.api.callCount('FilterLogEvents');
  const now = Date.now();
  const started = Date.now();
  server.api.putLogEvents(GROUP, 's', trailCopy(0, now - 2 * MINUTE, now));
  t.ok(await eventually(async () => sample(await running.metrics(), 'kms_config_changes_total') === truthFor(1).changes, 10_000, 50), 'every change counted');
  const latency = Date.now() - started;
  t.ok(latency < 5_000, `within seconds (${latency} ms)`);
  t.equal(server.api.callCount('FilterLogEvents'), calls, 'no poll was needed');
  const body = await running.metrics();
  t.equal(sample(body, 'kms_config_change_failures_total'), truthFor(1).failures);
  const session = server.api.requests('StartLiveTail')[0]!.input as { logGroupIdentifiers: string[]; logEventFilterPattern: string };
  t.same(session.logGroupIdentifiers, [server.api.logGroupArn(GROUP)], 'the name was resolved to the ARN live tail requires');
  t.match(session.logEventFilterPattern, /^\{ \$\.eventSource = "kms\.amazonaws\.com"/);
});

t.test('a session that ends (3-hour timeout, streaming error, dropped connection) is reopened and nothing is missed', async (t) => {
  const server = await fake(t);
  const running = await service(t, server, ['--reconcile-interval', '1h']);
  t.ok(await sessionOpen(server));
  let copies = 0;
  for (const how of ['timeout', 'streaming-error', 'dropped'] as const) {
    t.equal(server.api.endLiveTailSessions(how), 1, `ended by ${how}`);
    t.ok(await eventually(async () => server.api.liveTailSessions().filter((s) => !s.ended).length === 1, 20_000, 50), `reopened after ${how}`);
    const now = Date.now();
    server.api.putLogEvents(GROUP, 's', trailCopy(100 + copies, now - MINUTE, now));
    copies++;
    t.ok(await eventually(async () => sample(await running.metrics(), 'kms_config_changes_total') === truthFor(copies).changes, 15_000, 50), `counted after ${how}`);
  }
  const body = await running.metrics();
  t.ok(sample(body, 'kms_exporter_source_events_total', { source: 'live-tail', event: 'session_ended' }) >= 1, 'session ends are counted');
  t.equal(sample(body, 'kms_config_changes_total'), truthFor(copies).changes);
});

t.test('sampled updates are counted, and the reconciling poll brings in what live tail left out, once', async (t) => {
  const server = await fake(t, { liveTail: { updateIntervalMs: 200, maxEventsPerUpdate: 5 } });
  const running = await service(t, server, ['--reconcile-interval', '2s']);
  t.ok(await sessionOpen(server));
  const now = Date.now();
  server.api.putLogEvents(GROUP, 's', [...trailCopy(200, now - 2 * MINUTE, now), ...trailCopy(201, now - 2 * MINUTE, now)]);
  t.ok(await eventually(async () => sample(await running.metrics(), 'kms_config_changes_total') === truthFor(2).changes, 30_000), 'all changes counted');
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const body = await running.metrics();
  t.equal(sample(body, 'kms_config_changes_total'), truthFor(2).changes, 'and none twice');
  t.equal(sample(body, 'kms_config_change_failures_total'), truthFor(2).failures);
  t.ok(sample(body, 'kms_exporter_source_events_total', { source: 'live-tail', event: 'sampled' }) >= 1, 'sampling is visible');
  const fromTail = sample(body, 'kms_exporter_records_total', { source: 'live-tail', result: 'matched' });
  const fromPoll = sample(body, 'kms_exporter_records_total', { source: 'poll', result: 'matched' });
  t.ok(fromTail > 0 && fromPoll > 0, `both sources contributed (live tail ${fromTail}, poll ${fromPoll})`);
});
