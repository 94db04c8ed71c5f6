// A long stream under faults and restarts (SIGTERM and kill -9 at seeded random moments): the counters end exactly at ground truth.
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeCloudWatchLogs } from '../support/fake-cloudwatch-logs/index.ts';
import { eventually, sample, startService } from '../support/service-process.ts';
import type { ServiceProcess } from '../support/service-process.ts';
import { TRAIL_TRUTH, trailCopy, truthFor } from '../support/cloudtrail-stream.ts';

const GROUPS = ['org-trail-a', 'org-trail-b'];
const MINUTE = 60_000;
// CI runs a 40-second stream; KCE_CHAOS_MINUTES=30 runs the half hour (same faults and restarts, more copies).
const STREAM_MS = Math.round(Number(process.env['KCE_CHAOS_MINUTES'] ?? '0.67') * 60_000);
const COPIES = Math.max(16, Math.round(STREAM_MS / 15_000));

// mulberry32: the kill moments and lateness are random, and the same on every run.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

t.test('faults throughout, three restarts (two of them kill -9), late events and a live-tail session end: exact counters', async (t) => {
  const random = prng(2026);
  const server = await startFakeCloudWatchLogs({
    seed: 99,
    liveTail: { updateIntervalMs: 250 },
    filter: { scanChunk: 400 },
    faults: { throttleRate: 0.2, serverErrorRate: 0.05, dropConnectionRate: 0.03 },
  });
  t.teardown(() => server.close());
  for (const group of GROUPS) server.api.createLogGroup(group);
  const checkpoint = join(mkdtempSync(join(tmpdir(), 'kce-chaos-')), 'checkpoint.json');
  const env = { AWS_ENDPOINT_URL: server.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' };
  const args = ['--source', 'live-tail', '--log-group', GROUPS.join(','), '--reconcile-interval', '2s', '--lateness-window', '20m', '--lookback', '1h', '--checkpoint-file', checkpoint, '--aws-calls-per-second', '20', '--aws-max-attempts', '10'];
  let running: ServiceProcess = await startService(args, env);
  t.teardown(() => running.kill());

  // The stream: a copy of the example trail every STREAM_MS / COPIES, alternating log groups;
  // a third of the copies arrive late, stamped 3 to 15 minutes in the past, out of order.
  const start = Date.now();
  let appended = 0;
  const stream = (async () => {
    for (let copy = 0; copy < COPIES; copy++) {
      await new Promise((resolve) => setTimeout(resolve, STREAM_MS / COPIES));
      const now = Date.now();
      const late = random() < 0.34;
      const from = late ? now - (3 + random() * 12) * MINUTE : now - 30_000;
      const records = trailCopy(1000 + copy, from, from + 30_000);
      if (late) records.reverse();
      server.api.putLogEvents(GROUPS[copy % GROUPS.length]!, `stream-${copy % 3}`, records);
      appended++;
    }
  })();

  const at = (fraction: number) => start + fraction * STREAM_MS + random() * 0.1 * STREAM_MS;
  const restarts: { at: number; how: 'SIGTERM' | 'kill -9' }[] = [
    { at: at(0.2), how: 'SIGTERM' },
    { at: at(0.45), how: 'kill -9' },
    { at: at(0.7), how: 'kill -9' },
  ];
  let sessionEnded = false;
  for (const restart of restarts) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, restart.at - Date.now())));
    if (!sessionEnded && restart.how === 'kill -9') {
      // Under load the restarted service may still be opening its session: wait for it.
      await eventually(async () => server.api.liveTailSessions().some((session) => !session.ended), 15_000, 50);
      sessionEnded = server.api.endLiveTailSessions('timeout') > 0;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    if (restart.how === 'SIGTERM') t.equal(await running.stop(), 0, 'SIGTERM exits 0');
    else await running.kill();
    running = await startService(args, env);
  }
  await stream;
  t.equal(appended, COPIES);
  t.ok(sessionEnded, 'a live-tail session was ended by the service side');

  const truth = truthFor(COPIES);
  const reached = await eventually(async () => {
    const body = await running.metrics();
    return sample(body, 'kms_config_changes_total') >= truth.changes && sample(body, 'kms_config_change_failures_total') >= truth.failures;
  }, Math.max(90_000, STREAM_MS / 5), 500);
  t.ok(reached, 'the counters reach the ground truth');
  // Let a few more reconciling polls run: nothing may be added twice.
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  const body = await running.metrics();
  t.equal(sample(body, 'kms_config_changes_total'), truth.changes, 'successful changes, exactly');
  t.equal(sample(body, 'kms_config_change_failures_total'), truth.failures, 'failed attempts, exactly');
  for (const [name, count] of Object.entries(truth.byEventName)) t.equal(sample(body, 'kms_config_changes_total', { event_name: name }), count, name);
  t.equal(sample(body, 'kms_exporter_records_total', { result: 'matched' }), COPIES * TRAIL_TRUTH.records.matched, 'each change matched once across sources and restarts');
  const faults = server.api.counters()['FilterLogEvents']!;
  t.ok((faults.errors['ThrottlingException'] ?? 0) > 0 && faults.dropped > 0, `faults were injected: ${JSON.stringify(faults)}`);
  t.ok(sample(body, 'kms_exporter_source_errors_total') > 0 || sample(body, 'kms_exporter_aws_requests_total', { outcome: 'throttled' }) > 0, 'and are visible in the self-metrics');
});
