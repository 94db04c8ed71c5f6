// Benchmark machinery: run named cases pinned to one core, take medians, render Markdown and JSON results.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, totalmem, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One measured run of a case. */
export interface Sample {
  readonly wallSeconds: number;
  readonly userSeconds: number | null;
  readonly systemSeconds: number | null;
  readonly maxRssKiB: number | null;
  readonly exitCode: number;
  /** Captured standard output ('' when it went to a file or /dev/null). */
  readonly stdout: string;
  readonly stderrTail: string;
}

/** A child process to time. */
export interface CommandSpec {
  readonly kind: 'command';
  readonly argv: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** 'capture' keeps stdout in the sample (keep it small), 'null' discards it, otherwise a file path. */
  readonly stdout: 'capture' | 'null' | { readonly file: string };
  /** The cores it may run on (taskset's list); core 0 alone when not given. */
  readonly cores?: string;
}

/** Work timed inside this process (for example rendering /metrics); it reports its own sample. */
export interface InlineSpec {
  readonly kind: 'inline';
  readonly run: () => Promise<Sample>;
}

export type Runnable = CommandSpec | InlineSpec;

/** What one case processes, so rates can be derived from wall time. */
export interface Workload {
  readonly records: number;
  /** Bytes of payload the rates are computed on (uncompressed JSON for the replay cases). */
  readonly bytes: number;
}

export interface RowSummary {
  readonly name: string;
  readonly group: string;
  readonly status: 'ok' | 'not built' | 'failed' | 'skipped';
  readonly samples: readonly Sample[];
  readonly wallSeconds: number | null;
  readonly recordsPerSecond: number | null;
  readonly megabytesPerSecond: number | null;
  readonly maxRssMiB: number | null;
  readonly cpuSeconds: number | null;
  /** What the checks said of the runs, or why the row did not run. */
  readonly check: string;
  readonly target: string;
}

export interface BenchCase {
  /** Unique within its suite, stable: results are keyed by it. */
  readonly name: string;
  /** Rows of one group share an input and sit together in the table. */
  readonly group: string;
  readonly workload: Workload;
  /** The thing to time, or why it cannot run now (e.g. the product is not built). */
  readonly prepare: () => Runnable | { readonly notBuilt: string } | { readonly skip: string };
  /** Compares a run's output with the known truth, right after the run: "ok ...", or what differs. */
  readonly check?: (sample: Sample) => string;
  /** Judges the medians against a stated target, possibly relative to other rows of the suite. */
  readonly target?: (row: RowSummary, rows: ReadonlyMap<string, RowSummary>) => string;
}

export interface Suite {
  readonly name: string;
  readonly title: string;
  /** Produces inputs (generating data if needed) and returns the cases to run on them. */
  readonly setup: (context: BenchContext) => Promise<readonly BenchCase[]>;
  /** Lines printed under the table: what the rows mean. */
  readonly notes?: (context: BenchContext) => readonly string[];
  /** Group descriptions, keyed by group name. */
  readonly groups?: (context: BenchContext) => Readonly<Record<string, string>>;
}

export interface BenchContext {
  readonly root: string;
  readonly benchDir: string;
  readonly dataDir: string;
  readonly resultsDir: string;
  /** The runtime running the harness; children run on it too. */
  readonly node: string;
  /** `.ts` when run from source, `.js` when run compiled from dist/. */
  readonly scriptExt: string;
  readonly env: Environment;
  readonly options: Readonly<Record<string, string | boolean | undefined>>;
  /** Path of a sibling bench script by base name, in the flavour (ts/js) the harness runs as. */
  script(base: string): string;
}

export interface Environment {
  readonly taskset: string | null;
  readonly gnuTime: string | null;
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly nodeVersion: string;
  readonly kernel: string;
  readonly tools: Readonly<Record<string, string>>;
  readonly gitCommit: string;
}

function firstLine(command: string, args: readonly string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0 || typeof result.stdout !== 'string') return 'unknown';
  return result.stdout.split('\n')[0]?.trim() ?? 'unknown';
}

function which(command: string): string | null {
  const result = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const path = result.status === 0 ? result.stdout.trim() : '';
  return path === '' ? null : path;
}

export function detectEnvironment(root: string): Environment {
  const taskset = which('taskset');
  // GNU time, not the shell keyword: it must accept -f/-o and report %M (max RSS, KiB).
  let gnuTime: string | null = null;
  if (existsSync('/usr/bin/time')) {
    const probe = join(tmpdir(), `bench-time-probe-${process.pid}`);
    const ok = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', '-o', probe, 'true']).status === 0;
    if (ok && /^\S+ \S+ \S+ \d+/.test(readFileSync(probe, 'utf8').trim().split('\n').pop() ?? '')) gnuTime = '/usr/bin/time';
    rmSync(probe, { force: true });
  }
  const cpuInfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /model name\s*:\s*(.+)/.exec(cpuInfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  const dirty = spawnSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).stdout?.trim() !== '';
  return {
    taskset,
    gnuTime,
    cpuModel: model,
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    nodeVersion: process.version,
    kernel: firstLine('uname', ['-sr']),
    tools: {
      grep: firstLine('grep', ['--version']),
      gzip: firstLine('gzip', ['--version']),
    },
    gitCommit: firstLine('git', ['-C', root, 'rev-parse', '--short', 'HEAD']) + (dirty ? ' (uncommitted changes)' : ''),
  };
}

/** The repository root: the nearest directory above this file that has a package.json (works from bench/ and dist/bench/). */
export function findRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
  return dir;
}

export function makeContext(options: Readonly<Record<string, string | boolean | undefined>>): BenchContext {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = findRoot(here);
  const scriptExt = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const env = detectEnvironment(root);
  return {
    root,
    benchDir: here,
    dataDir: join(root, 'bench', 'data'),
    resultsDir: join(root, 'bench', 'results'),
    node: process.execPath,
    scriptExt,
    env,
    options,
    script: (base: string) => join(here, base + scriptExt),
  };
}

/** Peak RSS of a running process by polling /proc, for machines without GNU time. */
function pollPeakRss(pid: number): { stop: () => number | null } {
  let peak: number | null = null;
  const read = () => {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (match !== null) peak = Math.max(peak ?? 0, Number(match[1]));
    } catch {
      // The process has exited between two polls: keep the last value.
    }
  };
  const timer = setInterval(read, 5);
  read();
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}

export async function runCommand(spec: CommandSpec, env: Environment): Promise<Sample> {
  const timeFile = join(tmpdir(), `bench-time-${process.pid}-${Date.now()}`);
  const argv: string[] = [];
  if (env.taskset !== null) argv.push(env.taskset, '-c', spec.cores ?? '0');
  if (env.gnuTime !== null) argv.push(env.gnuTime, '-f', '%e %U %S %M', '-o', timeFile);
  argv.push(...spec.argv);
  let stdoutFd: number | 'pipe' = 'pipe';
  if (spec.stdout === 'null') stdoutFd = openSync('/dev/null', 'w');
  else if (spec.stdout !== 'capture') stdoutFd = openSync(spec.stdout.file, 'w');
  const started = process.hrtime.bigint();
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', stdoutFd, 'pipe'], env: { ...process.env, ...spec.env } });
  const poller = env.gnuTime === null && child.pid !== undefined ? pollPeakRss(child.pid) : null;
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => {
    if (stdout.length < 1 << 20) stdout += text;
  });
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-4000);
  });
  const exitCode = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (typeof stdoutFd === 'number') closeSync(stdoutFd);
  let userSeconds: number | null = null;
  let systemSeconds: number | null = null;
  let maxRssKiB: number | null = poller?.stop() ?? null;
  if (env.gnuTime !== null && existsSync(timeFile)) {
    // GNU time prefixes "Command exited with non-zero status N" on failure: the figures are the last line.
    const last = (await readFile(timeFile, 'utf8')).trim().split('\n').pop() ?? '';
    const [, user, system, rss] = last.split(' ');
    userSeconds = Number(user);
    systemSeconds = Number(system);
    maxRssKiB = Number(rss);
    await rm(timeFile, { force: true });
  }
  return { wallSeconds, userSeconds, systemSeconds, maxRssKiB, exitCode, stdout, stderrTail: stderr };
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `reason` is why a row did not run, or for a row that ran, what its checks said. */
function summarise(bench: BenchCase, status: RowSummary['status'], reason: string, samples: Sample[]): RowSummary {
  const wall = median(samples.map((s) => s.wallSeconds));
  const rss = median(samples.flatMap((s) => (s.maxRssKiB === null ? [] : [s.maxRssKiB])));
  const cpu = median(samples.flatMap((s) => (s.userSeconds === null || s.systemSeconds === null ? [] : [s.userSeconds + s.systemSeconds])));
  return {
    name: bench.name,
    group: bench.group,
    status,
    samples,
    wallSeconds: wall,
    recordsPerSecond: wall === null ? null : bench.workload.records / wall,
    megabytesPerSecond: wall === null ? null : bench.workload.bytes / 1e6 / wall,
    maxRssMiB: rss === null ? null : rss / 1024,
    cpuSeconds: cpu,
    check: reason,
    target: '',
  };
}

export interface SuiteResult {
  readonly suite: string;
  readonly title: string;
  readonly startedAt: string;
  readonly repetitions: number;
  readonly environment: Environment;
  readonly groups: Readonly<Record<string, string>>;
  readonly notes: readonly string[];
  readonly rows: readonly RowSummary[];
}

/** Runs every case `repetitions` times, round-robin so drift hits all rows alike, and summarises by median. */
export async function runSuite(suite: Suite, context: BenchContext, repetitions: number, only: readonly string[]): Promise<SuiteResult> {
  const startedAt = new Date().toISOString();
  await mkdir(context.resultsDir, { recursive: true });
  const cases = (await suite.setup(context)).filter((c) => only.length === 0 || only.some((o) => c.name.includes(o)));
  const prepared = cases.map((bench) => ({ bench, runnable: bench.prepare() }));
  const samples = new Map<string, Sample[]>(cases.map((c) => [c.name, []]));
  const checks = new Map<string, Set<string>>(cases.map((c) => [c.name, new Set<string>()]));
  const failed = new Map<string, string>();
  for (let rep = 1; rep <= repetitions; rep++) {
    for (const { bench, runnable } of prepared) {
      if (!('kind' in runnable) || failed.has(bench.name)) continue;
      process.stderr.write(`[${suite.name}] run ${rep}/${repetitions}: ${bench.name} ... `);
      const sample = runnable.kind === 'command' ? await runCommand(runnable, context.env) : await runnable.run();
      const rss = sample.maxRssKiB === null ? '?' : (sample.maxRssKiB / 1024).toFixed(1);
      process.stderr.write(`${sample.wallSeconds.toFixed(3)} s, ${rss} MiB${sample.exitCode === 0 ? '' : `, exit ${sample.exitCode}`}\n`);
      if (sample.exitCode !== 0) {
        const last = sample.stderrTail.trim().split('\n').pop() ?? '';
        failed.set(bench.name, `failed (exit ${sample.exitCode}): ${last.slice(0, 160)}`);
        process.stderr.write(sample.stderrTail + '\n');
        continue;
      }
      samples.get(bench.name)!.push(sample);
      // Checked at once: a case may write its output to a file that the next run overwrites.
      checks.get(bench.name)!.add(bench.check?.(sample) ?? 'ok');
    }
  }
  const rows = new Map<string, RowSummary>();
  for (const { bench, runnable } of prepared) {
    const taken = samples.get(bench.name)!;
    let row: RowSummary;
    if ('notBuilt' in runnable) row = summarise(bench, 'not built', runnable.notBuilt, []);
    else if ('skip' in runnable) row = summarise(bench, 'skipped', runnable.skip, []);
    else if (failed.has(bench.name)) row = summarise(bench, 'failed', failed.get(bench.name)!, []);
    else row = summarise(bench, 'ok', [...checks.get(bench.name)!].join('; '), taken);
    rows.set(bench.name, row);
  }
  for (const bench of cases) {
    const row = rows.get(bench.name)!;
    if (bench.target !== undefined) rows.set(bench.name, { ...row, target: bench.target(row, rows) });
  }
  return {
    suite: suite.name,
    title: suite.title,
    startedAt,
    repetitions,
    environment: context.env,
    groups: suite.groups?.(context) ?? {},
    notes: suite.notes?.(context) ?? [],
    rows: [...rows.values()],
  };
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
function fixed(value: number | null, digits: number): string {
  return value === null ? '—' : value.toFixed(digits);
}

export function renderMarkdown(result: SuiteResult): string {
  const env = result.environment;
  const lines: string[] = [];
  lines.push(`## ${result.title}`, '');
  lines.push(
    `${result.startedAt.slice(0, 16).replace('T', ' ')} UTC, commit ${env.gitCommit}. ${env.cpuModel}, ${env.cores} cores, ${env.memoryGiB} GiB; ${env.kernel}; Node ${env.nodeVersion}; ${env.tools['grep'] ?? ''}; ${env.tools['gzip'] ?? ''}.`,
    `Every command ${env.taskset === null ? 'unpinned (no taskset)' : 'pinned to one core (`taskset -c 0`)'}; peak RSS ${env.gnuTime === null ? 'polled from /proc/PID/status VmHWM' : 'from GNU time `%M`'}; median of ${result.repetitions} runs, warm page cache. MB = 10^6 bytes.`,
    '',
  );
  const groups = [...new Set(result.rows.map((r) => r.group))];
  for (const group of groups) {
    lines.push(`**${group}**${result.groups[group] === undefined ? '' : ` — ${result.groups[group]}`}`, '');
    lines.push('| benchmark | wall s | records/s | MB/s | peak RSS MiB | CPU s | check | target |', '|---|--:|--:|--:|--:|--:|---|---|');
    for (const row of result.rows.filter((r) => r.group === group)) {
      if (row.status !== 'ok') {
        lines.push(`| ${row.name} | ${row.status} | | | | | ${row.check.replaceAll('|', '\\|')} | ${row.target} |`);
        continue;
      }
      lines.push(
        `| ${row.name} | ${fixed(row.wallSeconds, 2)} | ${row.recordsPerSecond === null ? '—' : integer.format(row.recordsPerSecond)} | ${row.megabytesPerSecond === null ? '—' : integer.format(row.megabytesPerSecond)} | ${fixed(row.maxRssMiB, 1)} | ${fixed(row.cpuSeconds, 2)} | ${row.check.replaceAll('|', '\\|')} | ${row.target} |`,
      );
    }
    lines.push('');
  }
  for (const note of result.notes) lines.push(`- ${note}`);
  return lines.join('\n').trimEnd() + '\n';
}

export async function writeResults(result: SuiteResult, resultsDir: string): Promise<{ markdown: string; json: string }> {
  await mkdir(resultsDir, { recursive: true });
  const markdown = join(resultsDir, `${result.suite}.md`);
  const json = join(resultsDir, `${result.suite}.json`);
  await writeFile(markdown, renderMarkdown(result));
  // Samples keep stdout only when small; the product's exposition went to a file of its own.
  const slim = { ...result, rows: result.rows.map((r) => ({ ...r, samples: r.samples.map((s) => ({ ...s, stdout: s.stdout.slice(0, 2000) })) })) };
  await writeFile(json, JSON.stringify(slim, null, 2) + '\n');
  return { markdown, json };
}

/** Reads every byte of the files once so every row is measured on a warm page cache. */
export async function warmPageCache(paths: readonly string[]): Promise<void> {
  const buffer = Buffer.allocUnsafe(4 << 20);
  for (const path of paths) {
    const handle = await open(path, 'r');
    try {
      while ((await handle.read(buffer, 0, buffer.length, null)).bytesRead > 0);
    } finally {
      await handle.close();
    }
  }
}

/** Newest modification time under a directory (for telling a stale build from a fresh one). */
export function newestMtime(dir: string): number {
  const result = spawnSync('find', [dir, '-type', 'f', '-printf', '%T@\\n'], { encoding: 'utf8' });
  if (result.status !== 0) return 0;
  return Math.max(0, ...result.stdout.split('\n').filter(Boolean).map((t) => Number(t) * 1000));
}

export function mtime(path: string): number {
  return existsSync(path) ? statSync(path).mtimeMs : 0;
}
