// The replay suite: product replay vs grep, a naive readline loop and zcat, on one generated 1,000,000-record trail.
import { existsSync, readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { GENERATOR_VERSION, generateTrailFiles, truthPath } from './generate-trail.ts';
import type { BenchTrailTruth, GenerateOptions } from './generate-trail.ts';
import { mtime, newestMtime, warmPageCache } from './harness.ts';
import type { BenchCase, BenchContext, RowSummary, Sample, Suite } from './harness.ts';

export const TARGET_RECORDS_PER_SECOND = 1_200_000;
export const TARGET_MAX_RSS_MIB = 100;
/** The gzipped S3 files on one core, against node:zlib's gunzip alone (the floor for a Node reader). */
export const TARGET_GZIP_VS_NODE_FLOOR = 1.3;
/** The same on two cores (two decode threads), against one. */
export const TARGET_TWO_CORE_SPEEDUP = 1.8;
/** JSON Lines on one core, against `grep -F -c`'s time on the same file. */
export const TARGET_JSONL_VS_GREP = 2.4;

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function sizeName(records: number): string {
  if (records % 1_000_000 === 0) return `${records / 1_000_000}m`;
  if (records % 1_000 === 0) return `${records / 1_000}k`;
  return String(records);
}

/** Reuses a trail generated earlier with the same parameters, otherwise generates it. */
async function ensureTrail(options: GenerateOptions, regenerate: boolean): Promise<BenchTrailTruth> {
  const path = truthPath(options.out);
  if (!regenerate && existsSync(path) && existsSync(options.out)) {
    const truth = JSON.parse(await readFile(path, 'utf8')) as BenchTrailTruth;
    const same =
      truth.generatorVersion === GENERATOR_VERSION &&
      truth.seed === options.seed &&
      truth.records === options.records &&
      truth.format === options.format &&
      truth.gzip === options.gzip &&
      (options.format === 'jsonl' || truth.perFile === options.perFile);
    const complete = options.format === 'jsonl' || truth.files.every((f) => existsSync(join(options.out, f)));
    if (same && complete) {
      process.stderr.write(`[replay] reusing ${options.out} (seed ${truth.seed}, ${integer.format(truth.records)} records)\n`);
      return truth;
    }
  }
  await rm(options.out, { recursive: true, force: true });
  process.stderr.write(`[replay] generating ${options.out} (${options.format}${options.gzip ? ', gzip' : ''}, ${integer.format(options.records)} records, seed ${options.seed}) ...\n`);
  const truth = await generateTrailFiles(options);
  process.stderr.write(`[replay] generated ${integer.format(truth.records)} records, ${(truth.diskBytes / 1e6).toFixed(0)} MB on disk, in ${truth.generationSeconds} s\n`);
  return truth;
}

/** Sums a counter of a Prometheus text exposition by one label. */
export function sumByLabel(exposition: string, metric: string, label: string): Map<string, number> | null {
  const sums = new Map<string, number>();
  let seen = false;
  const labelPattern = new RegExp(`(?:^|,)\\s*${label}="((?:[^"\\\\]|\\\\.)*)"`);
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(metric)) continue;
    const rest = line.slice(metric.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    seen = true;
    const close = rest.lastIndexOf('}');
    const labels = rest[0] === '{' ? rest.slice(1, close) : '';
    const value = Number(rest.slice(close + 1).trim().split(' ')[0]);
    const key = labelPattern.exec(labels)?.[1] ?? '';
    sums.set(key, (sums.get(key) ?? 0) + value);
  }
  return seen ? sums : null;
}

/** Compares a replay's exposition with the trail's truth, by event name, successes and failures apart. */
export function checkExposition(exposition: string, truth: BenchTrailTruth): string {
  const succeeded = sumByLabel(exposition, 'kms_config_changes_total', 'event_name');
  const failed = sumByLabel(exposition, 'kms_config_change_failures_total', 'event_name');
  if (succeeded === null) return 'UNVERIFIED: no kms_config_changes_total in the output';
  const wrong: string[] = [];
  for (const [name, expected] of Object.entries(truth.changesByEventName)) {
    const gotOk = succeeded.get(name) ?? 0;
    const gotFailed = failed?.get(name) ?? 0;
    if (gotOk !== expected.succeeded) wrong.push(`${name} ${gotOk}≠${expected.succeeded}`);
    if (gotFailed !== expected.failed) wrong.push(`${name} failed ${gotFailed}≠${expected.failed}`);
  }
  for (const name of succeeded.keys()) if (!(name in truth.changesByEventName) && (succeeded.get(name) ?? 0) > 0) wrong.push(`unexpected ${name}`);
  const records = sumByLabel(exposition, 'kms_exporter_records_total', 'result');
  if (records !== null) {
    const total = [...records.values()].reduce((a, b) => a + b, 0);
    if (total !== truth.records) wrong.push(`records_total ${total}≠${truth.records}`);
  }
  if (wrong.length > 0) return `MISMATCH: ${wrong.slice(0, 6).join(', ')}${wrong.length > 6 ? ` (+${wrong.length - 6})` : ''}`;
  return `ok: ${integer.format(truth.changes.succeeded)} changes + ${integer.format(truth.changes.failed)} failed, by name${records === null ? '' : ', records_total'}`;
}

function checkNaive(sample: Sample, truth: BenchTrailTruth): string {
  let counts: { records: number; changes: number; failures: number; byEventName: Record<string, { succeeded: number; failed: number }> };
  try {
    counts = JSON.parse(sample.stdout) as typeof counts;
  } catch {
    return `UNVERIFIED: output is not JSON`;
  }
  const wrong = Object.entries(truth.changesByEventName).filter(
    ([name, c]) => (counts.byEventName[name]?.succeeded ?? 0) !== c.succeeded || (counts.byEventName[name]?.failed ?? 0) !== c.failed,
  );
  if (counts.records !== truth.records || counts.changes !== truth.changes.total || counts.failures !== truth.changes.failed || wrong.length > 0) {
    return `MISMATCH: ${counts.records} records, ${counts.changes} changes, ${counts.failures} failed`;
  }
  return `ok: ${integer.format(counts.changes)} changes (${integer.format(counts.failures)} failed)`;
}

function expect(label: string, got: string, expected: number): string {
  return got.trim() === String(expected) ? `ok: ${integer.format(expected)} ${label}` : `MISMATCH: ${got.trim()} ≠ ${expected} ${label}`;
}

function rssTarget(row: RowSummary): string {
  if (row.maxRssMiB === null) return '';
  return row.maxRssMiB <= TARGET_MAX_RSS_MIB ? `RSS ≤ ${TARGET_MAX_RSS_MIB} MiB: met` : `RSS ≤ ${TARGET_MAX_RSS_MIB} MiB: missed by ${(row.maxRssMiB - TARGET_MAX_RSS_MIB).toFixed(1)} MiB`;
}

export function createReplaySuite(): Suite {
  let jsonl: BenchTrailTruth | null = null;
  let s3: BenchTrailTruth | null = null;
  let staleBuild = false;
  const jsonlGroup = 'JSON Lines';
  const s3Group = 'gzipped S3 log files';

  return {
    name: 'replay',
    title: 'Replay throughput',
    async setup(context: BenchContext): Promise<readonly BenchCase[]> {
      const records = Number(context.options['records'] ?? 1_000_000);
      const seed = Number(context.options['seed'] ?? 42);
      const perFile = Number(context.options['per-file'] ?? 1000);
      const regenerate = context.options['regenerate'] === true;
      const name = sizeName(records);
      jsonl = await ensureTrail({ records, seed, out: join(context.dataDir, `trail-${name}.jsonl`), format: 'jsonl', gzip: false, perFile }, regenerate);
      s3 = context.options['skip-gzip'] === true ? null : await ensureTrail({ records, seed, out: join(context.dataDir, `trail-${name}-s3`), format: 's3', gzip: true, perFile }, regenerate);
      const jsonlFile = jsonl.out;
      const s3Files = s3 === null ? [] : s3.files.map((f) => join(s3!.out, f));
      process.stderr.write('[replay] warming the page cache ...\n');
      await warmPageCache([jsonlFile, ...s3Files]);

      const product = join(context.root, 'dist', 'src', 'main.js');
      staleBuild = existsSync(product) && newestMtime(join(context.root, 'src')) > mtime(product) + 1000;
      if (staleBuild) process.stderr.write('[replay] warning: dist/ is older than src/ — run `npm run build` (or `npm run bench`)\n');
      const productRunnable = (files: readonly string[], out: string, cores?: string) => () =>
        existsSync(product)
          ? ({ kind: 'command', argv: [context.node, product, 'replay', ...files], stdout: { file: join(context.resultsDir, out) }, ...(cores === undefined ? {} : { cores }) } as const)
          : { notBuilt: 'not built: dist/src/main.js is missing (`npm run build`)' };
      const truthJsonl = jsonl;
      const jsonlWorkload = { records: truthJsonl.records, bytes: truthJsonl.bytes };
      const cases: BenchCase[] = [
        {
          name: 'grep -F -c kms.amazonaws.com',
          group: jsonlGroup,
          workload: jsonlWorkload,
          prepare: () => ({ kind: 'command', argv: ['grep', '-F', '-c', 'kms.amazonaws.com', jsonlFile], env: { LC_ALL: 'C' }, stdout: 'capture' }),
          check: (s) => expect('lines', s.stdout, truthJsonl.recordsMentioningKmsSource),
        },
        {
          name: 'node: split lines only (floor)',
          group: jsonlGroup,
          workload: jsonlWorkload,
          prepare: () => ({ kind: 'command', argv: [context.node, context.script('line-split'), jsonlFile], stdout: 'capture' }),
          check: (s) => expect('lines', s.stdout, truthJsonl.records),
        },
        {
          name: 'naive readline + JSON.parse',
          group: jsonlGroup,
          workload: jsonlWorkload,
          prepare: () => ({ kind: 'command', argv: [context.node, context.script('naive-readline'), jsonlFile], stdout: 'capture' }),
          check: (s) => checkNaive(s, truthJsonl),
        },
        {
          name: 'kms-change-exporter replay',
          group: jsonlGroup,
          workload: jsonlWorkload,
          prepare: productRunnable([jsonlFile], 'replay-jsonl.prom'),
          check: () => checkExposition(readFileSync(join(context.resultsDir, 'replay-jsonl.prom'), 'utf8'), truthJsonl),
          target: (row, rows) => {
            if (row.recordsPerSecond === null) return `≥ ${integer.format(TARGET_RECORDS_PER_SECOND)} rec/s, RSS ≤ ${TARGET_MAX_RSS_MIB} MiB`;
            const rate = row.recordsPerSecond;
            const naive = rows.get('naive readline + JSON.parse')?.recordsPerSecond ?? null;
            const grep = rows.get('grep -F -c kms.amazonaws.com')?.wallSeconds ?? null;
            const speed = rate >= TARGET_RECORDS_PER_SECOND ? `≥ ${integer.format(TARGET_RECORDS_PER_SECOND)} rec/s: met` : `≥ ${integer.format(TARGET_RECORDS_PER_SECOND)} rec/s: missed (${((rate / TARGET_RECORDS_PER_SECOND) * 100).toFixed(0)}% of it)`;
            const vsGrep = grep === null || row.wallSeconds === null ? '' : `; ≤ ${TARGET_JSONL_VS_GREP}× grep: ${(row.wallSeconds / grep).toFixed(2)}× ${row.wallSeconds / grep <= TARGET_JSONL_VS_GREP ? 'met' : 'missed'}`;
            return `${speed}${vsGrep}; ${rssTarget(row)}${naive === null ? '' : `; ${(rate / naive).toFixed(1)}× naive`}`;
          },
        },
      ];
      if (s3 !== null) {
        const truthS3 = s3;
        const s3Workload = { records: truthS3.records, bytes: truthS3.bytes };
        cases.push(
          {
            name: 'zcat FILES > /dev/null',
            group: s3Group,
            workload: s3Workload,
            prepare: () => ({ kind: 'command', argv: ['zcat', ...s3Files], stdout: 'null' }),
            check: (s) => (s.exitCode === 0 ? 'ok: exit 0' : `exit ${s.exitCode}`),
          },
          {
            name: 'node: gunzip only (floor)',
            group: s3Group,
            workload: s3Workload,
            prepare: () => ({ kind: 'command', argv: [context.node, context.script('node-gunzip'), ...s3Files], stdout: 'capture' }),
            check: (s) => expect('bytes', s.stdout, truthS3.bytes),
          },
          {
            name: 'kms-change-exporter replay FILES',
            group: s3Group,
            workload: s3Workload,
            prepare: productRunnable(s3Files, 'replay-s3-gz.prom'),
            check: () => checkExposition(readFileSync(join(context.resultsDir, 'replay-s3-gz.prom'), 'utf8'), truthS3),
            target: (row, rows) => {
              const floor = rows.get('node: gunzip only (floor)')?.wallSeconds ?? null;
              if (row.wallSeconds === null || floor === null) return `≤ ${TARGET_GZIP_VS_NODE_FLOOR}× the node:zlib floor`;
              const ratio = row.wallSeconds / floor;
              return `≤ ${TARGET_GZIP_VS_NODE_FLOOR}× the node:zlib floor: ${ratio.toFixed(2)}× ${ratio <= TARGET_GZIP_VS_NODE_FLOOR ? 'met' : 'missed'}; ${rssTarget(row)}`;
            },
          },
          {
            name: 'kms-change-exporter replay FILES, 2 cores',
            group: s3Group,
            workload: s3Workload,
            // taskset -c 0,1: --jobs auto is 2 decode threads.
            prepare: productRunnable(s3Files, 'replay-s3-gz-2-cores.prom', '0,1'),
            check: () => checkExposition(readFileSync(join(context.resultsDir, 'replay-s3-gz-2-cores.prom'), 'utf8'), truthS3),
            target: (row, rows) => {
              const one = rows.get('kms-change-exporter replay FILES')?.wallSeconds ?? null;
              if (row.wallSeconds === null || one === null) return `≥ ${TARGET_TWO_CORE_SPEEDUP}× faster than on one core`;
              const speedup = one / row.wallSeconds;
              return `≥ ${TARGET_TWO_CORE_SPEEDUP}× faster than on one core: ${speedup.toFixed(2)}× ${speedup >= TARGET_TWO_CORE_SPEEDUP ? 'met' : 'missed'}`;
            },
          },
        );
      }
      return cases;
    },
    groups(): Readonly<Record<string, string>> {
      const groups: Record<string, string> = {};
      if (jsonl !== null) {
        groups[jsonlGroup] =
          `\`bench/data/${jsonl.out.split('/').pop()}\`: ${integer.format(jsonl.records)} records, ${integer.format(jsonl.bytes / 1e6)} MB, ` +
          `${integer.format(jsonl.changes.total)} changes (${integer.format(jsonl.changes.failed)} failed), seed ${jsonl.seed}`;
      }
      if (s3 !== null) {
        groups[s3Group] =
          `\`bench/data/${s3.out.split('/').pop()}/\`: ${integer.format(s3.files.length)} files of ${integer.format(s3.perFile ?? 0)} records, ` +
          `${integer.format(s3.records)} records, ${integer.format(s3.diskBytes / 1e6)} MB gzipped, ${integer.format(s3.bytes / 1e6)} MB of JSON (MB/s counts the JSON), seed ${s3.seed}`;
      }
      return groups;
    },
    notes(context: BenchContext): readonly string[] {
      const notes = [
        '`grep -F -c kms.amazonaws.com` (LC_ALL=C): the floor for touching every byte once; it only counts lines naming the KMS endpoint, which is not the question (decoys and reads match too).',
        '`node: split lines only`: `bench/line-split.ts`, the same file read into one reused 1 MiB buffer, newlines found with `Buffer#indexOf`, nothing else: what a Node reader pays before deciding anything, and the RSS of a bare Node process that streams.',
        '`naive readline + JSON.parse`: `bench/naive-readline.ts`, `JSON.parse` of every line and a catalog lookup on `eventSource`/`eventName`: correct, and the cost to beat.',
        '`kms-change-exporter replay`: the product, `node dist/src/main.js replay FILE`, exposition to a file; the check compares its counters by event name with the generator\'s truth.',
        '`zcat` / `node: gunzip only`: the same records, in the same order, as gzipped CloudTrail S3 log files (`{"Records":[...]}`); decompression alone, by gzip 1.12 and by node:zlib streams (`bench/node-gunzip.ts`).',
      ];
      if (jsonl !== null) notes.push(`Generation: ${jsonl.generationSeconds} s for the JSON Lines trail${s3 === null ? '' : `, ${s3.generationSeconds} s for the gzipped S3 set`} (\`npx node bench/generate-trail.ts\`, not timed here).`);
      if (context.scriptExt === '.ts') {
        notes.push('The Node baselines ran from `.ts` source: type stripping adds about 16 MiB of RSS and 20 ms of start-up to them (`npm run bench` runs them compiled, like the product).');
      }
      if (staleBuild) notes.push('**Warning: dist/ was older than src/ when this ran; the product rows may measure an old build.**');
      return notes;
    },
  };
}
