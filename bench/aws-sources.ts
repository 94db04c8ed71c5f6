// Benchmark: poll cost (API calls, CPU) at a steady and a burst rate, and live-tail latency, against the CloudWatch Logs fake.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeCloudWatchLogs } from '../test/support/fake-cloudwatch-logs/index.ts';
import type { FakeCloudWatchLogs } from '../test/support/fake-cloudwatch-logs/index.ts';
import { eventually, sample, startService } from '../test/support/service-process.ts';
import { trailCopy } from '../test/support/cloudtrail-stream.ts';
import { lookup } from '../src/catalog/kms-events.ts';

const ROOT = join(import.meta.dirname, '..');
const GROUP = 'org-trail';
const CLOCK_TICKS = 100; // USER_HZ on Linux

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

function env(server: FakeCloudWatchLogs): Record<string, string> {
  return { AWS_ENDPOINT_URL: server.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' };
}

/** Change records only (what the server-side filter lets through), `count` of them spread over [from, to). */
function changes(count: number, from: number, to: number, copyBase: number): { timestamp: number; message: string }[] {
  const out: { timestamp: number; message: string }[] = [];
  const ids = new Set<string>();
  for (let copy = 0; out.length < count; copy++) {
    for (const record of trailCopy(copyBase + copy, from, to)) {
      const { eventSource, eventName, eventID } = JSON.parse(record.message) as { eventSource: string; eventName: string; eventID: string };
      // The trail re-delivers a few records: keep each eventID once, so every event is a new change.
      if (lookup(eventSource, eventName) === undefined || out.length >= count || ids.has(eventID)) continue;
      ids.add(eventID);
      out.push(record);
    }
  }
  return out.map((record, i) => ({ message: record.message, timestamp: Math.floor(from + ((to - from) * i) / out.length) }));
}

interface PollCost {
  readonly label: string;
  readonly windowEvents: number;
  readonly cycles: number;
  readonly callsPerCycle: number;
  readonly cpuPerCycle: number;
}

/** Polls a window holding `windowEvents` change events for `seconds`, with a 5 s poll interval; per-cycle cost. */
async function pollCost(label: string, windowEvents: number, seconds: number): Promise<PollCost> {
  const server = await startFakeCloudWatchLogs({ seed: 3 });
  server.api.createLogGroup(GROUP);
  const now = Date.now();
  server.api.putLogEvents(GROUP, 's', changes(windowEvents, now - 19 * 60_000, now, 0));
  const service = await startService(['--source', 'poll', '--log-group', GROUP, '--poll-interval', '5s', '--lateness-window', '20m', '--lookback', '20m', '--aws-calls-per-second', '5'], env(server));
  await eventually(async () => (await fetch(`${service.address}/-/ready`)).status === 200, 600_000, 200);
  const before = server.api.requests('FilterLogEvents').length;
  const cpu0 = cpuSeconds(service.child.pid!);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const requests = server.api.requests('FilterLogEvents').slice(before);
  const cpu = cpuSeconds(service.child.pid!) - cpu0;
  await service.stop();
  await server.close();
  // A cycle starts with a call that carries no nextToken.
  const cycles = Math.max(1, requests.filter((r) => (r.input as { nextToken?: string }).nextToken === undefined).length);
  const calls = requests.length;
  return { label, windowEvents, cycles, callsPerCycle: calls / cycles, cpuPerCycle: cpu / cycles };
}

async function liveTailLatency(samples: number): Promise<{ p50: number; p99: number; max: number }> {
  const server = await startFakeCloudWatchLogs({ seed: 5, liveTail: { updateIntervalMs: 1000 } });
  server.api.createLogGroup(GROUP);
  const service = await startService(['--source', 'live-tail', '--log-group', GROUP, '--reconcile-interval', '1h', '--lookback', '1m'], env(server));
  await eventually(async () => server.api.liveTailSessions().some((s) => !s.ended), 15_000, 50);
  const latencies: number[] = [];
  const records = changes(samples, Date.now() - 1000, Date.now(), 500);
  let expected = 0;
  for (const record of records) {
    await new Promise((resolve) => setTimeout(resolve, 200 + Math.random() * 600));
    const body0 = await service.metrics();
    const before = sample(body0, 'kms_exporter_records_total', { source: 'live-tail', result: 'matched' });
    const arrived = Date.now();
    server.api.putLogEvents(GROUP, 's', [{ ...record, timestamp: arrived }]);
    expected = before + 1;
    await eventually(async () => sample(await service.metrics(), 'kms_exporter_records_total', { source: 'live-tail', result: 'matched' }) >= expected, 10_000, 5);
    latencies.push(Date.now() - arrived);
  }
  await service.stop();
  await server.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { p50: at(0.5), p99: at(0.99), max: latencies.at(-1)! };
}

process.stderr.write('[bench] poll cost at a steady rate\n');
const steady = await pollCost('steady 1 change/s (1,200 events in the 20 min window)', 1200, 20);
process.stderr.write('[bench] poll cost in a burst\n');
const burst = await pollCost('burst 1,000 changes/s for 60 s (60,000 events in the window)', 60_000, 30);
process.stderr.write('[bench] live-tail latency\n');
const latency = await liveTailLatency(60);

const perHour = (cost: PollCost, interval: number) => ({ calls: Math.round((cost.callsPerCycle * 3600) / interval), cpu: (cost.cpuPerCycle * 3600) / interval });
const lines = [
  '| poll (default 30 s interval, 20 min lateness window) | FilterLogEvents calls / cycle | calls / hour | CPU s / cycle | CPU s / hour |',
  '|---|--:|--:|--:|--:|',
  ...[steady, burst].map((cost) => {
    const hour = perHour(cost, 30);
    return `| ${cost.label} | ${cost.callsPerCycle.toFixed(1)} | ${hour.calls.toLocaleString('en')} | ${cost.cpuPerCycle.toFixed(3)} | ${hour.cpu.toFixed(1)} |`;
  }),
  '',
  '| live tail (1 s session updates) | p50 | p99 | max |',
  '|---|--:|--:|--:|',
  `| fake's arrival of a change → counter on /metrics, ${60} changes | ${latency.p50} ms | ${latency.p99} ms | ${latency.max} ms |`,
];
const table = lines.join('\n');
process.stdout.write(`${table}\n`);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results/aws-sources.md'), `${table}\n`);
