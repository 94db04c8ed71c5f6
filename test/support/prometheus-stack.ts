// Real kms-change-exporter, Prometheus and Alertmanager processes on loopback for end-to-end tests: temp dirs, free ports, readiness, teardown that leaves nothing behind.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The scrape job the shipped rules expect (KmsExporterDown and KmsExporterAbsent match it). */
export const EXPORTER_JOB = 'kms-change-exporter';

export const INSTALL_HINT = 'run `sudo bash scripts/install-test-tools.sh` to install prometheus and prometheus-alertmanager';

/** What the helpers need from a tap Test: a place to register cleanup, run even when the test fails. */
export interface Scope {
  teardown(fn: () => unknown): void;
}

/** The first of `names` found on PATH (Debian calls Alertmanager prometheus-alertmanager, upstream alertmanager). */
export function findCommand(names: readonly string[]): string | undefined {
  for (const name of names) {
    for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
      if (dir === '') continue;
      const path = join(dir, name);
      try {
        accessSync(path, constants.X_OK);
        return path;
      } catch {
        // not in this directory
      }
    }
  }
  return undefined;
}

export function requireCommand(names: readonly string[]): string {
  const found = findCommand(names);
  if (found === undefined) throw new Error(`${names.join(' or ')} not found on PATH: ${INSTALL_HINT}`);
  return found;
}

/**
 * A port free right now. Prometheus and Alertmanager cannot report the port they bound
 * when given :0, so we pick one; the small race with other processes is handled by
 * retrying the start on "address already in use".
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function tempDir(scope: Scope, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `kms-${prefix}-`));
  scope.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const OUTPUT_LINES_KEPT = 200;

export interface ChildOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** A pipe to write to, instead of no stdin at all. */
  readonly stdin?: boolean;
  /** Runs before SIGTERM, e.g. to close stdin. */
  readonly beforeStop?: () => void;
}

/** A child process we started: its recent output for failure messages, and a stop that always ends it. */
export class Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  private readonly lines: string[] = [];

  private readonly beforeStop: (() => void) | undefined;

  constructor(scope: Scope, name: string, command: string, args: readonly string[], options: ChildOptions = {}) {
    this.name = name;
    this.beforeStop = options.beforeStop;
    this.process = spawn(command, args, {
      cwd: ROOT,
      env: options.env ?? { PATH: process.env['PATH'] ?? '' },
      stdio: [options.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal === null ? null : -1);
        resolve(this.exitCode);
      });
      this.process.once('error', (error) => {
        this.lines.push(`spawn failed: ${error.message}`);
        this.exitCode = -1;
        resolve(-1);
      });
    });
    for (const stream of [this.process.stdout, this.process.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => this.keep(chunk));
    }
    scope.teardown(() => this.stop());
  }

  private keep(chunk: string): void {
    this.lines.push(...chunk.split('\n').filter((line) => line !== ''));
    if (this.lines.length > OUTPUT_LINES_KEPT) this.lines.splice(0, this.lines.length - OUTPUT_LINES_KEPT);
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  output(): string {
    return this.lines.join('\n');
  }

  /** Resolves with the first output line matching, or rejects when the process exits or time is up. */
  async waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    return waitUntil(`${this.name} to print ${pattern}`, async () => {
      for (const line of this.lines) {
        const match = pattern.exec(line);
        if (match !== null) return match;
      }
      return undefined;
    }, { timeoutMs, child: this });
  }

  /** SIGTERM, then SIGKILL if it has not exited within the grace period. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.running) return;
    this.beforeStop?.();
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  /** Fail at once, with its output, if this process exits while we wait. */
  readonly child?: Child;
}

/** Polls `probe` until it returns a value; the error names what was awaited and shows the process output. */
export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, options: WaitOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    const child = options.child;
    if (child !== undefined && !child.running) throw new Error(`${child.name} exited while waiting for ${what}:\n${child.output()}`);
    if (Date.now() > deadline) {
      const cause = lastError === undefined ? '' : ` (last error: ${(lastError as Error).message})`;
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}${cause}${child === undefined ? '' : `\n${child.name} output:\n${child.output()}`}`);
    }
    await sleep(options.intervalMs ?? 200);
  }
}

async function httpOk(url: string): Promise<true | undefined> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await response.arrayBuffer();
  return response.ok ? true : undefined;
}

/**
 * Starts a server that needs a port chosen in advance, retrying with another port when
 * the chosen one was taken between our probe and its bind.
 */
async function startOnFreePort(name: string, start: (port: number) => Child, readyPath: string, timeoutMs: number): Promise<{ child: Child; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = start(port);
    try {
      await waitUntil(`${name} to be ready on port ${port}`, () => httpOk(`http://127.0.0.1:${port}${readyPath}`), { timeoutMs, child });
      return { child, port };
    } catch (error) {
      await child.stop();
      if (attempt < 3 && /address already in use/i.test(child.output())) continue;
      throw error;
    }
  }
}

export interface Exporter {
  /** host:port, the scrape target and the `instance` label. */
  readonly target: string;
  readonly child: Child;
  /** Writes to the replay source's stdin: records are read as they arrive, like a live source's. */
  feed(data: string | Buffer): Promise<void>;
  endInput(): void;
  metrics(): Promise<string>;
}

export interface ExporterOptions {
  /** Extra flags, e.g. --label-key-id. */
  readonly args?: readonly string[];
  /** Extra environment (an AWS endpoint and credentials for the heartbeat). */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * `kms-change-exporter serve` replaying stdin. Records written later arrive in a service
 * that is already up and scraped, so a change makes its series appear mid-run, as a live
 * source would, and counters start from their declared zeros.
 */
export async function startExporter(scope: Scope, options: ExporterOptions = {}): Promise<Exporter> {
  const child: Child = new Child(
    scope,
    'kms-change-exporter',
    process.execPath,
    [join(ROOT, 'src/main.ts'), 'serve', '--source', 'replay', '--replay', '-', '--listen-address', '127.0.0.1:0', ...(options.args ?? [])],
    // The service does not stop on SIGTERM while the replay source still waits on stdin.
    { stdin: true, beforeStop: () => child.process.stdin?.end(), ...(options.env === undefined ? {} : { env: { PATH: process.env['PATH'] ?? '', ...options.env } }) },
  );
  const match = await child.waitForOutput(/Server listening at http:\/\/(127\.0\.0\.1:\d+)/, 30_000);
  const target = match[1] ?? '';
  const stdin = child.process.stdin;
  if (stdin === null) throw new Error('the exporter has no stdin');
  return {
    target,
    child,
    feed: (data) => new Promise((resolve, reject) => stdin.write(data, (error) => (error === null || error === undefined ? resolve() : reject(error)))),
    endInput: () => stdin.end(),
    async metrics() {
      const response = await fetch(`http://${target}/metrics`);
      return response.text();
    },
  };
}

export interface PromSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value?: readonly [number, string];
  readonly values?: readonly (readonly [number, string])[];
}

export interface PromResponse {
  readonly status: 'success' | 'error';
  readonly data?: { readonly resultType: string; readonly result: readonly PromSample[] };
  readonly errorType?: string;
  readonly error?: string;
  readonly warnings?: readonly string[];
}

export interface Prometheus {
  readonly url: string;
  readonly child: Child;
  query(expr: string, time?: number): Promise<PromResponse>;
  queryRange(expr: string, start: number, end: number, stepSeconds: number): Promise<PromResponse>;
  labelValues(label: string, match: string): Promise<readonly string[]>;
  /** Waits until every target has been scraped successfully at least once. */
  waitForScrape(targets: readonly string[], timeoutMs?: number): Promise<void>;
  /** Waits until the expression returns at least one series with a value accepted by `accept`. */
  waitForValue(expr: string, accept: (value: number) => boolean, timeoutMs?: number): Promise<PromSample[]>;
}

export interface PrometheusOptions {
  /**
   * host:port of the exporters to scrape, known before Prometheus starts: static targets
   * are scraped at once, where a discovered target waits for the discovery manager's
   * 5-second update throttle.
   */
  readonly targets: readonly string[];
  /** Absolute paths of rule files. */
  readonly ruleFiles?: readonly string[];
  /** host:port of an Alertmanager to send alerts to. */
  readonly alertmanager?: string;
  /** Scrape and rule evaluation interval. */
  readonly interval?: string;
  /** More of the exporter's scrape config: scheme, tls_config, basic_auth. */
  readonly scrape?: Readonly<Record<string, unknown>>;
  /** A data directory that already holds blocks (a backfill), instead of an empty one; the caller removes it. */
  readonly storagePath?: string;
  /** --storage.tsdb.retention.time: long, so that backfilled blocks older than the default 15 days stay. */
  readonly retention?: string;
}

export async function startPrometheus(scope: Scope, options: PrometheusOptions): Promise<Prometheus> {
  const command = requireCommand(['prometheus']);
  const dir = await tempDir(scope, 'prometheus');
  const interval = options.interval ?? '1s';
  // JSON is YAML: no quoting questions.
  const config = {
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    rule_files: options.ruleFiles ?? [],
    ...(options.alertmanager === undefined ? {} : { alerting: { alertmanagers: [{ static_configs: [{ targets: [options.alertmanager] }] }] } }),
    scrape_configs: [{ job_name: EXPORTER_JOB, static_configs: [{ targets: options.targets }], ...options.scrape }],
  };
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);

  const { child, port } = await startOnFreePort(
    'prometheus',
    (port) =>
      new Child(scope, 'prometheus', command, [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${options.storagePath ?? join(dir, 'data')}`,
        ...(options.retention === undefined ? [] : [`--storage.tsdb.retention.time=${options.retention}`]),
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ]),
    '/-/ready',
    30_000,
  );
  const url = `http://127.0.0.1:${port}`;

  async function api(path: string, params: Record<string, string>): Promise<PromResponse> {
    // POST: long expressions stay out of the URL.
    const response = await fetch(`${url}${path}`, { method: 'POST', body: new URLSearchParams(params), signal: AbortSignal.timeout(10_000) });
    return (await response.json()) as PromResponse;
  }

  const prometheus: Prometheus = {
    url,
    child,
    query: (expr, time) => api('/api/v1/query', { query: expr, ...(time === undefined ? {} : { time: String(time) }) }),
    queryRange: (expr, start, end, stepSeconds) => api('/api/v1/query_range', { query: expr, start: String(start), end: String(end), step: String(stepSeconds) }),
    async labelValues(label, match) {
      const response = await fetch(`${url}/api/v1/label/${encodeURIComponent(label)}/values?${new URLSearchParams({ 'match[]': match })}`);
      const body = (await response.json()) as { status: string; data?: string[]; error?: string };
      if (body.status !== 'success') throw new Error(`label values of ${label} for ${match}: ${body.error ?? body.status}`);
      return body.data ?? [];
    },
    async waitForScrape(targets, timeoutMs = 30_000) {
      const selector = `up{job="${EXPORTER_JOB}", instance=~"${targets.map((target) => target.replaceAll('.', '\\\\.')).join('|')}"} == 1`;
      await waitUntil(`Prometheus to scrape ${targets.join(', ')}`, async () => {
        const response = await prometheus.query(selector);
        return (response.data?.result.length ?? 0) === targets.length ? true : undefined;
      }, { timeoutMs, child });
    },
    async waitForValue(expr, accept, timeoutMs = 30_000) {
      return waitUntil(`${expr} in Prometheus`, async () => {
        const response = await prometheus.query(expr);
        const matching = (response.data?.result ?? []).filter((sample) => sample.value !== undefined && accept(Number(sample.value[1])));
        return matching.length > 0 ? [...matching] : undefined;
      }, { timeoutMs, child });
    },
  };
  return prometheus;
}

export interface Alertmanager {
  readonly url: string;
  /** host:port, for Prometheus' alerting config. */
  readonly address: string;
  readonly child: Child;
}

/** Alertmanager with its own storage, one instance: clustering off (`--cluster.listen-address=`). */
export async function startAlertmanager(scope: Scope, configText: string): Promise<Alertmanager> {
  const command = requireCommand(['prometheus-alertmanager', 'alertmanager']);
  const dir = await tempDir(scope, 'alertmanager');
  const configFile = join(dir, 'alertmanager.yml');
  await writeFile(configFile, configText);
  const { child, port } = await startOnFreePort(
    'alertmanager',
    (port) =>
      new Child(scope, 'alertmanager', command, [
        `--config.file=${configFile}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
        '--log.level=warn',
      ]),
    '/-/ready',
    30_000,
  );
  return { url: `http://127.0.0.1:${port}`, address: `127.0.0.1:${port}`, child };
}
