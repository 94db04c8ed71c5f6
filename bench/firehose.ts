// Benchmark: records/s through POST /firehose with 500-record payloads of a realistic mixed trail, and latency at half that rate.
// The service runs compiled, pinned to core 0; autocannon runs here, on core 1.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import autocannon from 'autocannon';
import { findRoot } from './harness.ts';

const ROOT = findRoot(import.meta.dirname);
const TRAIL = join(ROOT, 'bench/data/trail-1m.jsonl');
const KEY = 'bench-key';
const RECORDS_PER_REQUEST = 500;
const EVENTS_PER_PAYLOAD = 50;
const BODIES = 40;

if (!existsSync(TRAIL)) {
  process.stderr.write('bench/data/trail-1m.jsonl is missing: run `npm run bench` once (it generates the trail)\n');
  process.exit(1);
}
const main = join(ROOT, 'dist/src/main.js');
if (!existsSync(main)) {
  process.stderr.write('dist/src/main.js is missing: npm run build\n');
  process.exit(1);
}

// 40 distinct requests of 500 mixed records (10 subscription payloads of 50 log events each), as CloudWatch Logs and Firehose build them.
const head = Buffer.alloc(64 * 1024 * 1024);
const fd = openSync(TRAIL, 'r');
const read = readSync(fd, head, 0, head.length, 0);
closeSync(fd);
const lines = head.toString('utf8', 0, read).split('\n').slice(0, BODIES * RECORDS_PER_REQUEST);
const bodies: string[] = [];
for (let b = 0; b < BODIES; b++) {
  const records = [];
  for (let p = 0; p < RECORDS_PER_REQUEST / EVENTS_PER_PAYLOAD; p++) {
    const start = b * RECORDS_PER_REQUEST + p * EVENTS_PER_PAYLOAD;
    const payload = {
      messageType: 'DATA_MESSAGE',
      owner: '111122223333',
      logGroup: 'org-trail',
      logStream: 'stream',
      subscriptionFilters: ['all'],
      logEvents: lines.slice(start, start + EVENTS_PER_PAYLOAD).map((message, i) => ({ id: String(start + i), timestamp: 1, message })),
    };
    records.push({ data: gzipSync(JSON.stringify(payload)).toString('base64') });
  }
  bodies.push(JSON.stringify({ requestId: 'REQUEST_ID', timestamp: 1, records }));
}
const bodyBytes = bodies.reduce((sum, body) => sum + body.length, 0) / BODIES;

const taskset = spawnSync('which', ['taskset']).status === 0;
const port = 19842;
const child = spawn(taskset ? 'taskset' : process.execPath, [...(taskset ? ['-c', '0', process.execPath] : []), main, 'serve', '--source', 'firehose', '--listen-address', `127.0.0.1:${port}`, '--log-level', 'warn'], {
  env: { PATH: process.env['PATH'] ?? '', KMS_EXPORTER_FIREHOSE_ACCESS_KEY: KEY },
  stdio: 'ignore',
});
const url = `http://127.0.0.1:${port}`;
for (let i = 0; i < 100; i++) {
  try {
    if ((await fetch(`${url}/-/healthy`)).ok) break;
  } catch {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function run(options: { duration: number; connections: number; overallRate?: number }): Promise<autocannon.Result> {
  let n = 0;
  return autocannon({
    url: `${url}/firehose`,
    duration: options.duration,
    connections: options.connections,
    ...(options.overallRate === undefined ? {} : { overallRate: options.overallRate }),
    requests: [
      {
        method: 'POST',
        setupRequest: (request) => {
          // A fresh request id each time: a repeated one would be acknowledged without work.
          const body = bodies[n++ % BODIES]!.replace('REQUEST_ID', randomUUID());
          return { ...request, body, headers: { 'content-type': 'application/json', 'x-amz-firehose-access-key': KEY, 'x-amz-firehose-request-id': String(n) } };
        },
      },
    ],
  });
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

const serviceNode = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ')[0] || child.pid);
await run({ duration: 5, connections: 4 }); // warm-up
const full = await run({ duration: 20, connections: 8 });
const fullRecords = (full.requests.average * RECORDS_PER_REQUEST);
const half = await run({ duration: 20, connections: 8, overallRate: Math.max(1, Math.floor(full.requests.average / 2)) });
const rss = rssMiB(taskset ? serviceNode : child.pid!);
child.kill('SIGTERM');

const errors = full.non2xx + full.errors + half.non2xx + half.errors;
const table = [
  `Requests of ${RECORDS_PER_REQUEST} records (${RECORDS_PER_REQUEST / EVENTS_PER_PAYLOAD} gzip subscription payloads of ${EVENTS_PER_PAYLOAD} log events; ${(bodyBytes / 1024).toFixed(0)} KiB JSON bodies), the service pinned to one core, autocannon with 8 connections on the other.`,
  '',
  '| load | requests/s | records/s | p50 | p99 | target |',
  '|---|--:|--:|--:|--:|---|',
  `| saturating | ${full.requests.average.toFixed(0)} | ${fullRecords.toFixed(0)} | ${full.latency.p50} ms | ${full.latency.p99} ms | ≥ 150,000 records/s: ${fullRecords >= 150_000 ? 'met' : `missed (${((100 * fullRecords) / 150_000).toFixed(0)}%)`} |`,
  `| half of it (${Math.floor(full.requests.average / 2)} requests/s) | ${half.requests.average.toFixed(0)} | ${(half.requests.average * RECORDS_PER_REQUEST).toFixed(0)} | ${half.latency.p50} ms | ${half.latency.p99} ms | p99 < 100 ms: ${half.latency.p99 < 100 ? 'met' : 'missed'} |`,
  '',
  `Peak RSS of the service: ${rss.toFixed(0)} MiB. Non-2xx answers and errors: ${errors}.`,
].join('\n');
process.stdout.write(`${table}\n`);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results/firehose.md'), `${table}\n`);
