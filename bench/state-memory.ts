// Benchmark: memory of `serve --source firehose` and `replay` under a million distinct keys and eventIDs, with the default limits, and the scrape and acknowledgement times that come with it.
//
// The service runs compiled (dist/), as users run it, pinned to core 0; this process
// builds real Firehose requests (gzip CloudWatch Logs subscription payloads in the
// Firehose envelope, as test/e2e/sources/firehose.test.ts sends them), posts them on
// core 1, scrapes /metrics during the load and after it, and reads the service's peak RSS
// from /proc/PID/status (VmHWM).
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { changeStream } from './change-records.ts';
import type { ChangeMix, ChangeStreamOptions, ChangeTruth } from './change-records.ts';
import { detectEnvironment, findRoot, runCommand } from './harness.ts';
import { sumByLabel } from './replay.ts';

export const TARGET_SERVE_RSS_MIB = 256;
export const TARGET_REPLAY_RSS_MIB = 160;
export const TARGET_SCRAPE_MS = 50;

const ROOT = findRoot(import.meta.dirname);
const DEFAULT_MAIN = join(ROOT, 'dist', 'src', 'main.js');
const RESULTS = join(ROOT, 'bench', 'results');
const DATA = join(ROOT, 'bench', 'data');
const KEY = 'state-memory-bench-key';
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'ap-southeast-2'];
const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    'events-per-payload': { type: 'string', default: '50' },
    connections: { type: 'string', default: '4' },
    accounts: { type: 'string', default: '25' },
    seed: { type: 'string', default: '7' },
    only: { type: 'string', multiple: true },
    /** Extra Node flags for the product (e.g. --trace-gc, --heapsnapshot-signal=SIGUSR2), for profiling a missed target. */
    'node-flags': { type: 'string', default: '' },
    /** NAME=VALUE set in the product's environment (repeatable), e.g. MALLOC_ARENA_MAX=2. */
    env: { type: 'string', multiple: true },
    /** Write a heap snapshot of the service after the load (SIGUSR2) into bench/results/. */
    'heap-snapshot': { type: 'boolean', default: false },
    /** Another build's main.js (e.g. an earlier commit's), to compare it under the same load. */
    product: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
const MAIN = args.product ?? DEFAULT_MAIN;
if (args.help) {
  process.stdout.write('usage: npx node bench/state-memory.ts [--records N] [--only NAME|PREFIX*]... [--connections N] [--events-per-payload N] [--accounts N] [--seed N] [--node-flags=FLAGS] [--env NAME=VALUE]... [--heap-snapshot] [--product PATH/main.js]\n');
  process.exit(0);
}
const RECORDS = Number(args.records);
const PRODUCT_ENV = Object.fromEntries((args.env ?? []).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
const PER_PAYLOAD = Number(args['events-per-payload']);
const CONNECTIONS = Number(args.connections);
const ACCOUNTS = Number(args.accounts);
const SEED = Number(args.seed);
/** Requests sent one at a time after the load, all of new records, to time an acknowledgement with every table full. */
const PROBE_REQUESTS = 30;
const END_SCRAPES = 200;

if (!existsSync(MAIN)) {
  process.stderr.write(`${MAIN} is missing: npm run build\n`);
  process.exit(1);
}
const environment = detectEnvironment(ROOT);
const pin = (core: number) => (environment.taskset === null ? [] : [environment.taskset, '-c', String(core)]);

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

interface Latency {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

function latency(values: readonly number[]): Latency {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted.at(-1) ?? Number.NaN };
}

/** One row: what is sent, how, and to which process. */
interface Scenario {
  readonly name: string;
  readonly kind: 'serve' | 'replay';
  readonly mix: ChangeMix;
  readonly checkpoint: boolean;
  /** Log events per Firehose request. */
  readonly perRequest: number;
  /** Content-Encoding: gzip on the request body, as the README's Firehose setup recommends. */
  readonly gzipBody: boolean;
  /** NODE_OPTIONS for the product, '' for V8's defaults. */
  readonly nodeOptions: string;
}

/** V8 limits that hold the heap near the live set (the profile notes in bench/README.md say why). */
export const TUNED_NODE_OPTIONS = '--max-semi-space-size=16 --max-old-space-size=128';

function streamOptions(mix: ChangeMix, records: number): ChangeStreamOptions {
  // eventTimes end a few minutes before now (CloudTrail's delivery delay), 20 records a second before that.
  const stepMs = 50;
  return { mix, records, seed: SEED, start: Date.now() - 5 * 60_000 - records * stepMs, stepMs, accounts: ACCOUNTS, regions: REGIONS };
}

let requestSerial = 0;
interface Request {
  readonly requestId: string;
  readonly body: Buffer;
  readonly gzip: boolean;
}

/** One Firehose request: the log events in gzip subscription payloads of `PER_PAYLOAD`, in the Firehose envelope. */
function firehoseBody(lines: readonly string[], gzipBody: boolean): Request {
  const requestId = `00000000-0000-4000-8000-${String(++requestSerial).padStart(12, '0')}`;
  const records: { data: string }[] = [];
  for (let start = 0; start < lines.length; start += PER_PAYLOAD) {
    const payload = {
      messageType: 'DATA_MESSAGE',
      owner: '111122223333',
      logGroup: 'aws-cloudtrail-logs-org',
      logStream: '111122223333_CloudTrail_us-east-1',
      subscriptionFilters: ['kms-changes'],
      logEvents: lines.slice(start, start + PER_PAYLOAD).map((message, i) => ({ id: `${requestSerial}-${start + i}`, timestamp: Date.now(), message })),
    };
    // Level 1: the sender's time, not the service's (inflation costs the same at every level).
    records.push({ data: gzipSync(JSON.stringify(payload), { level: 1 }).toString('base64') });
  }
  const envelope = Buffer.from(JSON.stringify({ requestId, timestamp: Date.now(), records }));
  return { requestId, body: gzipBody ? gzipSync(envelope, { level: 1 }) : envelope, gzip: gzipBody };
}

interface Bodies {
  readonly load: readonly Request[];
  readonly probes: readonly Request[];
  readonly truth: ChangeTruth;
  /** Mean request body, as sent. */
  readonly bodyBytes: number;
}

const bodyCache = new Map<string, Bodies>();
function bodiesFor(scenario: Scenario): Bodies {
  const cacheKey = `${scenario.mix}/${scenario.perRequest}/${scenario.gzipBody}`;
  const cached = bodyCache.get(cacheKey);
  if (cached !== undefined) return cached;
  // Generation is the sender's work: only the latest set is kept, to leave the machine's memory to the product.
  bodyCache.clear();
  const started = performance.now();
  const stream = changeStream(streamOptions(scenario.mix, RECORDS + PROBE_REQUESTS * scenario.perRequest));
  const load: Request[] = [];
  const probes: Request[] = [];
  let batch: string[] = [];
  for (const line of stream.records) {
    batch.push(line);
    const loading = (load.length + 1) * scenario.perRequest <= RECORDS;
    if (batch.length === scenario.perRequest) {
      (loading ? load : probes).push(firehoseBody(batch, scenario.gzipBody));
      batch = [];
    }
  }
  if (batch.length > 0) probes.push(firehoseBody(batch, scenario.gzipBody));
  const bodies = { load, probes, truth: stream.truth, bodyBytes: load.reduce((sum, r) => sum + r.body.length, 0) / load.length };
  process.stderr.write(`[state-memory] built ${load.length + probes.length} Firehose requests (${cacheKey}) in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  bodyCache.set(cacheKey, bodies);
  return bodies;
}

function procStatus(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rss: Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024, hwm: Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024 };
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used so far: comparable across runs on a shared, loaded machine, unlike wall time. */
function cpuSeconds(pid: number): number {
  try {
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th of them, in clock ticks (100 Hz on Linux).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode} before it was ready`);
    try {
      if ((await fetch(`${url}/-/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the service was not ready within 30 s');
}

async function scrape(url: string): Promise<{ ms: number; body: string }> {
  const started = performance.now();
  const response = await fetch(`${url}/metrics`);
  const body = await response.text();
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  return { ms: performance.now() - started, body };
}

async function post(url: string, request: Request): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${url}/firehose`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-amz-firehose-protocol-version': '1.0',
      'x-amz-firehose-request-id': request.requestId,
      'x-amz-firehose-access-key': KEY,
      ...(request.gzip ? { 'content-encoding': 'gzip' } : {}),
    },
    body: request.body,
  });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`POST /firehose answered ${response.status}`);
  return performance.now() - started;
}

/** The state gauges of an exposition, by table. */
function stateTables(exposition: string): Record<string, { entries: number; limit: number; evictions: number }> {
  const tables: Record<string, { entries: number; limit: number; evictions: number }> = {};
  for (const [metric, field] of [['kms_exporter_state_entries', 'entries'], ['kms_exporter_state_limit', 'limit'], ['kms_exporter_state_evictions_total', 'evictions']] as const) {
    for (const [table, value] of sumByLabel(exposition, metric, 'table') ?? []) (tables[table] ??= { entries: 0, limit: 0, evictions: 0 })[field] = value;
  }
  return tables;
}

function checkCounts(exposition: string, truth: ChangeTruth, source: string): string {
  const succeeded = sumByLabel(exposition, 'kms_config_changes_total', 'event_name') ?? new Map<string, number>();
  const failed = sumByLabel(exposition, 'kms_config_change_failures_total', 'event_name') ?? new Map<string, number>();
  const wrong: string[] = [];
  for (const [name, count] of Object.entries(truth.byEventName)) {
    if ((succeeded.get(name) ?? 0) !== count.succeeded) wrong.push(`${name} ${succeeded.get(name) ?? 0}≠${count.succeeded}`);
    if ((failed.get(name) ?? 0) !== count.failed) wrong.push(`${name} failed ${failed.get(name) ?? 0}≠${count.failed}`);
  }
  let matched = 0;
  for (const m of exposition.matchAll(/^kms_exporter_records_total\{([^}]*)\} (\S+)$/gm)) {
    if (m[1]!.includes(`source="${source}"`) && m[1]!.includes('result="matched"')) matched += Number(m[2]);
  }
  if (matched !== truth.records) wrong.push(`matched ${matched}≠${truth.records}`);
  const overflow = exposition.includes('otel_metric_overflow="true"');
  if (wrong.length > 0) return `MISMATCH: ${wrong.slice(0, 4).join(', ')}${overflow ? ' (series limit overflow)' : ''}`;
  return `ok: ${integer.format(truth.records)} matched, by event name`;
}

interface ServeResult {
  readonly scenario: Scenario;
  readonly records: number;
  readonly bodyBytes: number;
  readonly loadSeconds: number;
  /** CPU the service spent on the load. */
  readonly loadCpuSeconds: number;
  /** The machine's 1-minute load average before and after the load. */
  readonly loadAverage: readonly [number, number];
  readonly peakRssMiB: number;
  /** RSS (VmRSS) when 10, 25, 50, 75 and 100% of the load had been acknowledged. */
  readonly rssAt: Readonly<Record<string, number>>;
  readonly post: Latency;
  readonly ack: Latency;
  readonly scrapeDuringLoad: Latency;
  readonly scrapeAtEnd: Latency;
  readonly exposition: { readonly bytes: number; readonly samples: number };
  readonly checkpointBytes: number | undefined;
  readonly tables: Record<string, { entries: number; limit: number; evictions: number }>;
  readonly check: string;
  readonly heapSnapshot: string | undefined;
}

async function runServe(scenario: Scenario, port: number): Promise<ServeResult> {
  const bodies = bodiesFor(scenario);
  const { name, checkpoint } = scenario;
  const dir = mkdtempSync(join(tmpdir(), 'kce-state-memory-'));
  const checkpointFile = join(dir, 'checkpoint.json');
  const nodeFlags = args['node-flags'].split(' ').filter((flag) => flag !== '');
  if (args['heap-snapshot']) nodeFlags.push('--heapsnapshot-signal=SIGUSR2');
  const argv = [...pin(0), process.execPath, ...nodeFlags, MAIN, 'serve', '--source', 'firehose', '--listen-address', `127.0.0.1:${port}`, '--log-level', 'warn', ...(checkpoint ? ['--checkpoint-file', checkpointFile] : [])];
  const log = createWriteStream(join(RESULTS, `state-memory-${name}.log`));
  const env = { PATH: process.env['PATH'] ?? '', ...(scenario.nodeOptions === '' ? {} : { NODE_OPTIONS: scenario.nodeOptions }), ...PRODUCT_ENV, KMS_EXPORTER_FIREHOSE_ACCESS_KEY: KEY };
  const child = spawn(argv[0]!, argv.slice(1), { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const pid = child.pid!;
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(url, child);
    process.stderr.write(`[state-memory] ${name}: sending ${integer.format(RECORDS)} records in ${bodies.load.length} requests over ${CONNECTIONS} connections ...\n`);

    let acknowledged = 0;
    const marks = [0.1, 0.25, 0.5, 0.75, 1];
    const rssAt: Record<string, number> = {};
    const postTimes: number[] = [];
    const scrapesDuringLoad: number[] = [];
    let loading = true;
    const scraping = (async () => {
      while (loading) {
        scrapesDuringLoad.push((await scrape(url)).ms);
        // Once a second: often enough for a p99 over the load, rare enough not to be the load (a scrape of 5,000 series is tens of ms of CPU).
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    })();
    const loadBefore = loadAverage();
    const cpuBefore = cpuSeconds(pid);
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (next < bodies.load.length) {
          const request = bodies.load[next++]!;
          postTimes.push(await post(url, request));
          acknowledged++;
          while (marks.length > 0 && acknowledged >= marks[0]! * bodies.load.length) rssAt[`${marks.shift()! * 100}%`] = procStatus(pid)?.rss ?? Number.NaN;
        }
      }),
    );
    const loadSeconds = (performance.now() - started) / 1000;
    const loadCpuSeconds = cpuSeconds(pid) - cpuBefore;
    const loadAfter = loadAverage();
    loading = false;
    await scraping;

    // With every table full: acknowledgements one at a time (no queueing behind other requests), then scrapes.
    const ackTimes: number[] = [];
    for (const probe of bodies.probes) ackTimes.push(await post(url, probe));
    const endScrapes: number[] = [];
    let body = '';
    for (let i = 0; i < END_SCRAPES + 10; i++) {
      const result = await scrape(url);
      if (i >= 10) endScrapes.push(result.ms);
      body = result.body;
    }
    // Read before a heap snapshot, whose writing takes memory of its own.
    const peakRssMiB = procStatus(pid)?.hwm ?? Number.NaN;
    let heapSnapshot: string | undefined;
    if (args['heap-snapshot']) {
      process.kill(pid, 'SIGUSR2');
      // The snapshot is written synchronously by the service; wait until its size settles.
      let last = -1;
      for (let i = 0; i < 600; i++) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        const file = spawnSync('sh', ['-c', `ls -t ${dir}/*.heapsnapshot 2>/dev/null | head -1`], { encoding: 'utf8' }).stdout.trim();
        if (file === '') continue;
        const size = statSync(file).size;
        if (size === last && size > 0) {
          heapSnapshot = join(RESULTS, `state-memory-${name}.heapsnapshot`);
          spawnSync('mv', [file, heapSnapshot]);
          break;
        }
        last = size;
      }
    }
    const checkpointBytes = checkpoint && existsSync(checkpointFile) ? statSync(checkpointFile).size : undefined;
    writeFileSync(join(RESULTS, `state-memory-${name}.prom`), body);
    const truth = bodies.truth;
    return {
      scenario,
      records: RECORDS,
      bodyBytes: bodies.bodyBytes,
      loadSeconds,
      loadCpuSeconds,
      loadAverage: [loadBefore, loadAfter],
      peakRssMiB,
      rssAt,
      post: latency(postTimes),
      ack: latency(ackTimes),
      scrapeDuringLoad: latency(scrapesDuringLoad),
      scrapeAtEnd: latency(endScrapes),
      exposition: { bytes: body.length, samples: body.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length },
      checkpointBytes,
      tables: stateTables(body),
      check: checkCounts(body, truth, 'firehose'),
      heapSnapshot,
    };
  } finally {
    child.kill('SIGTERM');
    await Promise.race([once(child, 'exit'), new Promise((resolve) => setTimeout(resolve, 15_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    log.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface ReplayResult {
  readonly scenario: Scenario;
  readonly path: string;
  readonly records: number;
  readonly bytes: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number | null;
  readonly peakRssMiB: number;
  readonly tables: Record<string, { entries: number; limit: number; evictions: number }>;
  readonly check: string;
}

/** The replay input: written once, reused while the generator's parameters are the same. */
async function replayFile(): Promise<{ path: string; truth: ChangeTruth; bytes: number }> {
  const name = RECORDS % 1_000_000 === 0 ? `${RECORDS / 1_000_000}m` : String(RECORDS);
  const path = join(DATA, `changes-${name}-half-deletions.jsonl`);
  const truthFile = `${path}.truth.json`;
  const key = JSON.stringify({ records: RECORDS, seed: SEED, accounts: ACCOUNTS, regions: REGIONS, version: 1 });
  if (existsSync(path) && existsSync(truthFile)) {
    const saved = JSON.parse(readFileSync(truthFile, 'utf8')) as { key: string; truth: ChangeTruth; bytes: number };
    if (saved.key === key) return { path, truth: saved.truth, bytes: saved.bytes };
  }
  mkdirSync(DATA, { recursive: true });
  const stream = changeStream(streamOptions('half-deletions', RECORDS));
  const out = createWriteStream(path, { highWaterMark: 4 << 20 });
  let bytes = 0;
  let chunk = '';
  for (const line of stream.records) {
    chunk += line + '\n';
    if (chunk.length >= 1 << 20) {
      bytes += Buffer.byteLength(chunk);
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  bytes += Buffer.byteLength(chunk);
  out.end(chunk);
  await once(out, 'finish');
  writeFileSync(truthFile, JSON.stringify({ key, truth: stream.truth, bytes }, null, 2) + '\n');
  return { path, truth: stream.truth, bytes };
}

async function runReplay(scenario: Scenario): Promise<ReplayResult> {
  const input = await replayFile();
  spawnSync('cat', [input.path], { stdio: 'ignore' }); // warm the page cache
  const out = join(RESULTS, `state-memory-${scenario.name}.prom`);
  const env = { ...(scenario.nodeOptions === '' ? {} : { NODE_OPTIONS: scenario.nodeOptions }), ...PRODUCT_ENV };
  const nodeFlags = args['node-flags'].split(' ').filter((flag) => flag !== '');
  // runCommand pins to core 0 and takes peak RSS from GNU time, or polls VmHWM without it.
  const sample = await runCommand({ kind: 'command', argv: [process.execPath, ...nodeFlags, MAIN, 'replay', input.path], stdout: { file: out }, env }, environment);
  if (sample.exitCode !== 0) throw new Error(`replay exited with ${sample.exitCode}: ${sample.stderrTail}`);
  const exposition = readFileSync(out, 'utf8');
  return {
    scenario,
    path: input.path,
    records: input.truth.records,
    bytes: input.bytes,
    wallSeconds: sample.wallSeconds,
    cpuSeconds: sample.userSeconds === null || sample.systemSeconds === null ? null : sample.userSeconds + sample.systemSeconds,
    peakRssMiB: (sample.maxRssKiB ?? Number.NaN) / 1024,
    tables: stateTables(exposition),
    check: checkCounts(exposition, input.truth, 'replay'),
  };
}

const ms = (value: number) => (Number.isNaN(value) ? '—' : value < 10 ? value.toFixed(2) : value.toFixed(0));
const mib = (value: number) => (Number.isNaN(value) ? '—' : value.toFixed(0));
function verdict(value: number, target: number, unit: string): string {
  if (Number.isNaN(value)) return '—';
  return value <= target ? `met` : `**missed** by ${unit === 'ms' ? ms(value - target) : mib(value - target)} ${unit}`;
}

function render(serves: readonly ServeResult[], replays: readonly ReplayResult[], loads: readonly number[]): string {
  const lines: string[] = [];
  const env = environment;
  lines.push(
    `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${env.gitCommit}. ${env.cpuModel}, ${env.cores} cores; ${env.kernel}; Node ${env.nodeVersion}. ` +
      `Default limits; the product ${env.taskset === null ? 'unpinned (no taskset)' : 'pinned to core 0, the sender on the other'}; one run per row; machine load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} during the runs.`,
    '',
  );
  if (serves.length > 0) {
    lines.push(
      `**serve --source firehose** — ${integer.format(RECORDS)} records posted over ${CONNECTIONS} connections in gzip subscription payloads of ${PER_PAYLOAD} log events; ${ACCOUNTS} accounts × ${REGIONS.length} regions`,
      '',
      '| scenario | request | records/s (wall) | product CPU s (records per CPU s) | POST p50 / p99 ms | peak RSS MiB | RSS at 10 / 25 / 50 / 75 / 100% MiB | RSS ≤ 256 MiB | check |',
      '|---|--:|--:|--:|--:|--:|--:|---|---|',
    );
    for (const r of serves) {
      const curve = ['10%', '25%', '50%', '75%', '100%'].map((mark) => mib(r.rssAt[mark] ?? Number.NaN)).join(' / ');
      const request = `${integer.format(r.scenario.perRequest)} records, ${(r.bodyBytes / 1024).toFixed(0)} KiB${r.scenario.gzipBody ? ' gzip' : ''}`;
      lines.push(
        `| ${r.scenario.name} | ${request} | ${integer.format(r.records / r.loadSeconds)} | ${r.loadCpuSeconds.toFixed(1)} (${integer.format(r.records / r.loadCpuSeconds)}) | ${ms(r.post.p50)} / ${ms(r.post.p99)} | **${mib(r.peakRssMiB)}** | ${curve} | ${verdict(r.peakRssMiB, TARGET_SERVE_RSS_MIB, 'MiB')} | ${r.check} |`,
      );
    }
    lines.push(
      '',
      '| scenario | /metrics during load p50 / p99 / max ms (n) | /metrics at end p50 / p99 / max ms (n) | body | < 50 ms at p99 | ack with full state p50 / p99 ms (n) | checkpoint file |',
      '|---|--:|--:|--:|---|--:|--:|',
    );
    for (const r of serves) {
      const during = r.scrapeDuringLoad;
      const end = r.scrapeAtEnd;
      lines.push(
        `| ${r.scenario.name} | ${ms(during.p50)} / ${ms(during.p99)} / ${ms(during.max)} (${during.count}) | ${ms(end.p50)} / ${ms(end.p99)} / ${ms(end.max)} (${end.count}) | ${integer.format(r.exposition.samples)} samples, ${(r.exposition.bytes / 1024).toFixed(0)} KiB | during: ${verdict(during.p99, TARGET_SCRAPE_MS, 'ms')}; end: ${verdict(end.p99, TARGET_SCRAPE_MS, 'ms')} | ${ms(r.ack.p50)} / ${ms(r.ack.p99)} (${r.ack.count}) | ${r.checkpointBytes === undefined ? '—' : `${(r.checkpointBytes / 2 ** 20).toFixed(1)} MiB`} |`,
      );
    }
  }
  if (replays.length > 0) {
    const first = replays[0]!;
    lines.push(
      '',
      `**replay** — \`bench/data/${basename(first.path)}\`: ${integer.format(first.records)} changes (every other one a ScheduleKeyDeletion of a new key), ${integer.format(first.bytes / 1e6)} MB`,
      '',
      '| scenario | wall s | records/s (wall) | CPU s (records per CPU s) | peak RSS MiB | RSS ≤ 160 MiB | check |',
      '|---|--:|--:|--:|--:|---|---|',
    );
    for (const r of replays) {
      const cpu = r.cpuSeconds === null ? '—' : `${r.cpuSeconds.toFixed(1)} (${integer.format(r.records / r.cpuSeconds)})`;
      lines.push(`| ${r.scenario.name} | ${r.wallSeconds.toFixed(1)} | ${integer.format(r.records / r.wallSeconds)} | ${cpu} | **${mib(r.peakRssMiB)}** | ${verdict(r.peakRssMiB, TARGET_REPLAY_RSS_MIB, 'MiB')} | ${r.check} |`);
    }
  }
  const all: { scenario: Scenario; tables: ServeResult['tables'] }[] = [...serves, ...replays];
  if (all.length > 0) {
    const tableNames = [...new Set(all.flatMap((r) => Object.keys(r.tables)))].sort();
    lines.push(
      '',
      '**State gauges at the end** — `kms_exporter_state_entries` / `kms_exporter_state_limit`, and `kms_exporter_state_evictions_total`',
      '',
      `| table | ${all.map((r) => r.scenario.name).join(' | ')} |`,
      `|---|${all.map(() => '--:|').join('')}`,
    );
    for (const table of tableNames) {
      lines.push(`| ${table} | ${all.map((r) => (r.tables[table] === undefined ? '—' : `${integer.format(r.tables[table].entries)} / ${integer.format(r.tables[table].limit)}, ${integer.format(r.tables[table].evictions)} evicted`)).join(' | ')} |`);
    }
  }
  const tuned = [...serves, ...replays].some((r) => r.scenario.nodeOptions !== '');
  if (tuned) lines.push('', `Rows ending in \`-tuned\` ran with \`NODE_OPTIONS="${TUNED_NODE_OPTIONS}"\`; every other row with V8's defaults.`);
  return lines.join('\n') + '\n';
}

const serve = (name: string, mix: ChangeMix, options: Partial<Scenario> = {}): Scenario => ({ name, kind: 'serve', mix, checkpoint: false, perRequest: 500, gzipBody: false, nodeOptions: '', ...options });
// Grouped by the requests they send, which are built once per group.
const SCENARIOS: readonly Scenario[] = [
  serve('serve-deletions', 'schedule-deletion'),
  serve('serve-deletions-checkpoint', 'schedule-deletion', { checkpoint: true }),
  serve('serve-deletions-tuned', 'schedule-deletion', { nodeOptions: TUNED_NODE_OPTIONS }),
  serve('serve-assorted', 'assorted'),
  serve('serve-assorted-checkpoint', 'assorted', { checkpoint: true }),
  serve('serve-assorted-checkpoint-tuned', 'assorted', { checkpoint: true, nodeOptions: TUNED_NODE_OPTIONS }),
  // The README's Firehose setup: 1 MiB buffering hint, GZIP content encoding (about 5,000 records of a real trail).
  serve('serve-deletions-1mib', 'schedule-deletion', { perRequest: 5000, gzipBody: true }),
  { ...serve('replay-half-deletions', 'half-deletions'), kind: 'replay' },
  { ...serve('replay-half-deletions-tuned', 'half-deletions', { nodeOptions: TUNED_NODE_OPTIONS }), kind: 'replay' },
];
// --only matches whole names, or prefixes ending in '-' / '*' (serve-*).
const wanted = (name: string) => args.only === undefined || args.only.some((only) => name === only || (only.endsWith('*') && name.startsWith(only.slice(0, -1))));

mkdirSync(RESULTS, { recursive: true });
const serves: ServeResult[] = [];
const replays: ReplayResult[] = [];
const loads = [loadAverage()];
let port = 19_900;
for (const scenario of SCENARIOS.filter((s) => wanted(s.name))) {
  if (scenario.kind === 'serve') {
    const result = await runServe(scenario, port++);
    process.stderr.write(`[state-memory] ${scenario.name}: ${result.loadSeconds.toFixed(1)} s, peak RSS ${mib(result.peakRssMiB)} MiB, /metrics p99 ${ms(result.scrapeAtEnd.p99)} ms; ${result.check}\n`);
    serves.push(result);
    loads.push(...result.loadAverage);
  } else {
    process.stderr.write(`[state-memory] ${scenario.name} ...\n`);
    const result = await runReplay(scenario);
    process.stderr.write(`[state-memory] ${scenario.name}: ${result.wallSeconds.toFixed(1)} s, peak RSS ${mib(result.peakRssMiB)} MiB; ${result.check}\n`);
    replays.push(result);
  }
  loads.push(loadAverage());
}
const markdown = render(serves, replays, loads);
process.stdout.write(`\n${markdown}`);
writeFileSync(join(RESULTS, 'state-memory.md'), markdown);
writeFileSync(join(RESULTS, 'state-memory.json'), JSON.stringify({ environment, records: RECORDS, connections: CONNECTIONS, loads, serves, replays }, null, 2) + '\n');
