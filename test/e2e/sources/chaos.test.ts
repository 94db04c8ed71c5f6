// A long stream under faults and restarts (SIGTERM and kill -9 at seeded random moments): the counters end exactly at ground truth.
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeCloudWatchLogs } from '../../support/fake-cloudwatch-logs/index.ts';
import { eventually, sample, startService } from '../../support/service-process.ts';
import type { ServiceProcess } from '../../support/service-process.ts';
import { TRAIL_TRUTH, trailCopy, truthFor } from '../../support/cloudtrail-stream.ts';
import { Random } from '../../../trail/random.ts';

const GROUPS = ['org-trail-a', 'org-trail-b'];
const MINUTE = 60_000;
// CI runs a 40-second stream; KCE_CHAOS_MINUTES=30 runs the half hour (same faults and restarts, more copies).
const STREAM_MS = Math.round(Number(process.env['KCE_CHAOS_MINUTES'] ?? '0.67') * 60_000);
const COPIES = Math.max(16, Math.round(STREAM_MS / 15_000));

t.test('faults throughout, three restarts (two of them kill -9), late events and a live-tail session end: exact counters', async (t) => {
  // The kill moments and lateness are random, and the same on every run.
  const random = new Random(2026);
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
      const late = random.chance(0.34);
      const from = late ? now - (3 + random.float() * 12) * MINUTE : now - 30_000;
      const records = trailCopy(1000 + copy, from, from + 30_000);
      if (late) records.reverse();
      server.api.putLogEvents(GROUPS[copy % GROUPS.length]!, `stream-${copy % 3}`, records);
      appended++;
    }
  })();

  // Prometheus' view: scrape throughout, across every restart; no counter and no last-event time may ever go down.
  const highest = new Map<string, number>();
  const decreases: string[] = [];
  let scrapes = 0;
  let scraping = true;
  const scraper = (async () => {
    while (scraping) {
      try {
        const response = await fetch(`${running.address}/metrics`);
        if (response.status === 200) {
          scrapes++;
          for (const line of (await response.text()).split('\n')) {
            const match = /^((?:kms_[a-z_]+_total|kms_exporter_last_event_timestamp_seconds)(?:\{[^}]*\})?) (\S+)$/.exec(line);
            if (match === null) continue;
            const value = Number(match[2]);
            const before = highest.get(match[1]!);
            if (before !== undefined && value < before) decreases.push(`${match[1]}: ${before} then ${value}`);
            highest.set(match[1]!, Math.max(value, before ?? value));
          }
        }
      } catch {
        // between a kill and the restart nothing listens
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  })();

  const at = (fraction: number) => start + fraction * STREAM_MS + random.float() * 0.1 * STREAM_MS;
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
  scraping = false;
  await scraper;
  t.ok(scrapes > 50, `scraped throughout (${scrapes} scrapes)`);
  t.same(decreases, [], 'no counter and no last-event time ever went down, across SIGTERM and kill -9');
  const body = await running.metrics();
  t.equal(sample(body, 'kms_config_changes_total'), truth.changes, 'successful changes, exactly');
  t.equal(sample(body, 'kms_config_change_failures_total'), truth.failures, 'failed attempts, exactly');
  for (const [name, count] of Object.entries(truth.byEventName)) t.equal(sample(body, 'kms_config_changes_total', { event_name: name }), count, name);
  t.equal(sample(body, 'kms_exporter_records_total', { result: 'matched' }), COPIES * TRAIL_TRUTH.records.matched, 'each change matched once across sources and restarts');
  const faults = server.api.counters()['FilterLogEvents']!;
  t.ok((faults.errors['ThrottlingException'] ?? 0) > 0 && faults.dropped > 0, `faults were injected: ${JSON.stringify(faults)}`);
  t.ok(sample(body, 'kms_exporter_source_errors_total') > 0 || sample(body, 'kms_exporter_aws_requests_total', { outcome: 'throttled' }) > 0, 'and are visible in the self-metrics');
});
