// Benchmark: POST /firehose under hostile traffic. (a) 200 concurrent unauthenticated 10 MiB bodies, (b) 1,000 trickling unauthenticated connections, (c) 60 s of saturation; RSS, survivors and records/s.
// The service runs compiled, pinned to core 0; the senders run here, on core 1.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import autocannon from 'autocannon';
import { findRoot } from './harness.ts';

const ROOT = findRoot(import.meta.dirname);
const KEY = 'bench-key';
const MiB = 1024 * 1024;
const HEADER_TIMEOUT_MS = 2000;
const main = join(ROOT, 'dist/src/main.js');
if (!existsSync(main)) {
  process.stderr.write('dist/src/main.js is missing: npm run build\n');
  process.exit(1);
}
const taskset = spawnSync('which', ['taskset']).status === 0;
if (taskset) spawnSync('taskset', ['-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });

interface Running {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly url: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Extra Node flags for the product (profiling: --node-flags=--import=$PWD/dist/bench/memory-probe.js), and its stderr kept in a file. */
const nodeFlags = (process.argv.find((arg) => arg.startsWith('--node-flags='))?.slice('--node-flags='.length) ?? '').split(' ').filter((flag) => flag !== '');
const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length) ?? 'abcdp';

/** The Node flags the container image runs the product with (Dockerfile ENTRYPOINT): a young generation of 2 x 16 MiB instead of Node 24's 2 x 64 MiB. */
const IMAGE_NODE_FLAGS = ['--max-semi-space-size=16'];

async function startService(port: number, args: readonly string[], flags: readonly string[] = IMAGE_NODE_FLAGS, fdLimit?: number): Promise<Running> {
  const argv = [...(taskset ? ['taskset', '-c', '0'] : []), process.execPath, ...flags, ...nodeFlags, main];
  // With a descriptor limit, through a shell that sets it and execs the product (same pid).
  const [command, ...rest] = fdLimit === undefined ? argv : ['sh', '-c', `ulimit -n ${fdLimit} && exec "$@"`, 'sh', ...argv];
  const child = spawn(command!, [...rest, 'serve', '--source', 'firehose', '--listen-address', `127.0.0.1:${port}`, '--log-level', 'error', ...args], {
    env: { PATH: process.env['PATH'] ?? '', KMS_EXPORTER_FIREHOSE_ACCESS_KEY: KEY },
    stdio: ['ignore', 'ignore', nodeFlags.length > 0 ? 'inherit' : 'ignore'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  const pid = taskset ? Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ')[0] || child.pid) : child.pid!;
  return { child, pid, url };
}

async function stopService(running: Running): Promise<void> {
  const exited = new Promise((resolve) => running.child.once('exit', resolve));
  running.child.kill('SIGTERM');
  await exited;
}

function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

/** Resets the peak (VmHWM) so a phase's peak is its own. */
function resetPeak(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // Not permitted here: the peak then includes the start.
  }
}

function open(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.on('error', () => {});
    socket.once('connect', () => resolve(socket));
    socket.once('close', () => resolve(socket));
  });
}

function head(key: string | undefined, contentLength: number): string {
  return [
    'POST /firehose HTTP/1.1',
    'Host: 127.0.0.1',
    'Content-Type: application/json',
    `X-Amz-Firehose-Request-Id: ${randomUUID()}`,
    ...(key === undefined ? [] : [`X-Amz-Firehose-Access-Key: ${key}`]),
    `Content-Length: ${contentLength}`,
    '',
    '',
  ].join('\r\n');
}

/** GET /metrics on a fresh connection (a pooled keep-alive one would dodge the attack), timed to its last byte; Infinity when it fails. */
function scrapeMs(url: string): Promise<number> {
  const { hostname, port } = new URL(url);
  const started = performance.now();
  return new Promise((resolve) => {
    let answer = '';
    const socket = connect(Number(port), hostname, () => socket.write(`GET /metrics HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`));
    const timer = setTimeout(() => socket.destroy(), 10_000);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      if (answer.length < 16) answer += chunk.toString('latin1');
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(answer.startsWith('HTTP/1.1 200') ? performance.now() - started : Infinity);
    });
  });
}

/** (a) 200 senders without the key, each pushing a 10 MiB body as fast as the socket takes it. */
async function unauthenticatedBodies(running: Running): Promise<{ rise: number; refused: number; scrape: number }> {
  await sleep(1000);
  const before = memory(running.pid).rss;
  resetPeak(running.pid);
  const chunk = Buffer.alloc(256 * 1024, 0x20);
  let refused = 0;
  const senders = Array.from({ length: 200 }, async () => {
    const socket = await open(running.url);
    socket.on('data', (data: Buffer) => {
      if (data.toString('latin1').startsWith('HTTP/1.1 401')) refused++;
    });
    socket.write(head(undefined, 10 * MiB));
    for (let sent = 0; sent < 10 * MiB && !socket.destroyed; sent += chunk.length) {
      if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve).once('close', resolve));
    }
    if (!socket.destroyed) await new Promise((resolve) => socket.once('close', resolve));
  });
  let done = false;
  const scrapes = (async () => {
    let slowest = 0;
    while (!done) {
      slowest = Math.max(slowest, await scrapeMs(running.url));
      await sleep(200);
    }
    return slowest;
  })();
  await Promise.all(senders);
  done = true;
  const { peak } = memory(running.pid);
  return { rise: peak - before, refused, scrape: await scrapes };
}

/** (b) 1,000 connections without the key: half trickle their headers, half trickle a body after them, 100 bytes at a time. */
async function tricklers(running: Running): Promise<{ alive: number; refusedAtOnce: number; scrape: number }> {
  const sockets: Socket[] = [];
  let refusedAtOnce = 0;
  for (let i = 0; i < 1000; i++) {
    const socket = await open(running.url);
    sockets.push(socket);
    if (i % 2 === 0) {
      socket.write('POST /firehose HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    } else {
      socket.write(head(undefined, 64 * MiB));
      socket.once('data', () => refusedAtOnce++);
    }
  }
  // 100 bytes each: a header line for the first kind, body bytes for the second.
  const headerLine = `X-Slow: ${'a'.repeat(90)}\r\n`;
  const bodyBytes = ' '.repeat(100);
  const timer = setInterval(() => {
    sockets.forEach((socket, i) => {
      if (!socket.destroyed) socket.write(i % 2 === 0 ? headerLine : bodyBytes);
    });
  }, 500);
  const scrape = await scrapeMs(running.url);
  await sleep(HEADER_TIMEOUT_MS + 1500);
  clearInterval(timer);
  const alive = sockets.filter((socket) => !socket.destroyed && socket.readyState === 'open').length;
  for (const socket of sockets) socket.destroy();
  return { alive, refusedAtOnce, scrape };
}

/** (d) 1,100 connections that send nothing, against a 1,024-descriptor limit: do scrapes still get in over 15 s? */
async function idleConnections(running: Running): Promise<{ answered: number; tried: number; slowest: number }> {
  const sockets: Socket[] = [];
  for (let i = 0; i < 1100; i++) sockets.push(await open(running.url));
  let answered = 0;
  let tried = 0;
  let slowest = 0;
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    tried++;
    const took = await scrapeMs(running.url);
    if (Number.isFinite(took)) answered++;
    slowest = Math.max(slowest, took);
    // The attacker keeps its count up: every connection the server closed is opened again.
    for (let i = 0; i < sockets.length; i++) if (sockets[i]!.destroyed) sockets[i] = await open(running.url);
    await sleep(500);
  }
  for (const socket of sockets) socket.destroy();
  return { answered, tried, slowest };
}

/** Requests of 500 records (10 gzip subscription payloads of 50 log events) from the example trail. */
function bodies(): string[] {
  const lines = gunzipSync(readFileSync(join(ROOT, 'examples/trail.jsonl.gz'))).toString('utf8').split('\n').filter((line) => line !== '');
  const out: string[] = [];
  for (let b = 0; b + 500 <= lines.length; b += 500) {
    const records = [];
    for (let p = 0; p < 10; p++) {
      const logEvents = lines.slice(b + p * 50, b + p * 50 + 50).map((message, i) => ({ id: String(b + p * 50 + i), timestamp: 1, message }));
      records.push({ data: gzipSync(JSON.stringify({ messageType: 'DATA_MESSAGE', owner: '111122223333', logGroup: 'org-trail', logStream: 's', subscriptionFilters: ['all'], logEvents })).toString('base64') });
    }
    out.push(JSON.stringify({ requestId: 'REQUEST_ID', timestamp: 1, records }));
  }
  return out;
}

/** (c) 8 connections as fast as the service answers, for `seconds`, sampling RSS every second. */
async function saturation(running: Running, seconds: number): Promise<{ recordsPerSecond: number; maxRss: number; non2xx: number; p99: number }> {
  const requestBodies = bodies();
  let n = 0;
  let maxRss = 0;
  const sampler = setInterval(() => {
    maxRss = Math.max(maxRss, memory(running.pid).rss);
  }, 1000);
  const result = await autocannon({
    url: `${running.url}/firehose`,
    duration: seconds,
    connections: 8,
    requests: [
      {
        method: 'POST',
        setupRequest: (request) => {
          const body = requestBodies[n++ % requestBodies.length]!.replace('REQUEST_ID', randomUUID());
          return { ...request, body, headers: { 'content-type': 'application/json', 'x-amz-firehose-access-key': KEY } };
        },
      },
    ],
  });
  clearInterval(sampler);
  return { recordsPerSecond: result.requests.average * 500, maxRss, non2xx: result.non2xx + result.errors, p99: result.latency.p99 };
}

const seconds = Number(process.argv.find((arg) => arg.startsWith('--seconds='))?.slice('--seconds='.length) ?? 60);
const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(0)} ms` : 'no answer');

async function phase<T>(name: string, port: number, args: readonly string[], run: (running: Running) => Promise<T>, flags?: readonly string[], fdLimit?: number): Promise<T | undefined> {
  if (!only.includes(name)) return undefined;
  const running = await startService(port, args, flags, fdLimit);
  try {
    return await run(running);
  } finally {
    await stopService(running);
  }
}

const a = await phase('a', 19851, [], unauthenticatedBodies);
const b = await phase('b', 19852, ['--header-timeout', `${HEADER_TIMEOUT_MS}ms`, '--max-connections', '2000'], tricklers);
const c = await phase('c', 19853, [], (running) => saturation(running, seconds));
const capped = await phase('d', 19855, [], idleConnections, undefined, 1024);
const uncapped = await phase('d', 19856, ['--max-connections', '100000'], idleConnections, undefined, 1024);
// The same load on plain `node` (as `npm install -g` runs it), for comparison.
const plain = await phase('p', 19854, [], (running) => saturation(running, seconds), []);

const table = [
  `The compiled \`serve --source firehose\` (\`node ${IMAGE_NODE_FLAGS.join(' ')}\`, as the image runs it, unless said otherwise) pinned to core 0, the senders on core 1; (b) runs with \`--header-timeout ${HEADER_TIMEOUT_MS}ms --max-connections 2000\`, the others with the default settings.`,
  '',
  '| attack | measured | target | |',
  '|---|---|---|---|',
  a === undefined ? '' : `| (a) 200 concurrent unauthenticated 10 MiB bodies | RSS rise ${a.rise.toFixed(1)} MiB; ${a.refused} answered 401; the slowest scrape meanwhile ${ms(a.scrape)} | RSS rise < 32 MiB | ${a.rise < 32 ? 'met' : 'missed'} |`,
  b === undefined ? '' : `| (b) 1,000 trickling unauthenticated connections (500 slow headers, 500 bodies at 100 B / 0.5 s) | ${b.alive} alive ${HEADER_TIMEOUT_MS + 1500} ms in; ${b.refusedAtOnce} bodies refused at once; a scrape meanwhile ${ms(b.scrape)} | none alive past the header timeout | ${b.alive === 0 ? 'met' : 'missed'} |`,
  capped === undefined ? '' : `| (d) 1,100 idle connections (re-opened as they close), \`ulimit -n 1024\`, default \`--max-connections 512\` | ${capped.answered} of ${capped.tried} scrapes answered in 15 s, the slowest ${ms(capped.slowest)} | scrapes keep working | ${capped.answered === capped.tried ? 'met' : 'missed'} |`,
  uncapped === undefined ? '' : `| (d) the same without a cap (\`--max-connections 100000\`) | ${uncapped.answered} of ${uncapped.tried} scrapes answered in 15 s, the slowest ${ms(uncapped.slowest)} | for comparison | |`,
  c === undefined ? '' : `| (c) saturation, 8 connections for ${seconds} s (500-record requests), \`node ${IMAGE_NODE_FLAGS.join(' ')}\` as the image runs it | ${c.recordsPerSecond.toFixed(0)} records/s, p99 ${c.p99} ms, peak RSS ${c.maxRss.toFixed(0)} MiB, ${c.non2xx} non-2xx | RSS ≤ 256 MiB | ${c.maxRss <= 256 ? 'met' : 'missed'} |`,
  plain === undefined ? '' : `| (c) the same on plain \`node\` (Node's default young generation) | ${plain.recordsPerSecond.toFixed(0)} records/s, p99 ${plain.p99} ms, peak RSS ${plain.maxRss.toFixed(0)} MiB, ${plain.non2xx} non-2xx | for comparison | |`,
]
  .filter((line, i) => i < 4 || line !== '')
  .join('\n');
process.stdout.write(`${table}\n`);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results/push-hostile.md'), `${table}\n`);
