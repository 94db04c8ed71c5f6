// Writes a large seeded mixed CloudTrail trail (JSON Lines or S3 log files, gzip or not) with its ground truth, for the benchmarks.
//
// The records come from the shared generator (trail/generate.ts, scenario trail/scenarios/mixed.ts);
// this file adds the command line, the output formats and the truth file bench/replay.ts checks against.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { CATALOG } from '../src/catalog/kms-events.ts';
import { generateTrail } from '../trail/generate.ts';
import { Random } from '../trail/random.ts';
import { mixedTrail } from '../trail/scenarios/mixed.ts';
import type { TrailTruth } from '../trail/truth.ts';
import { writeJsonLines, writeS3LogFiles } from '../trail/writers.ts';

/** Bumped whenever the records produced for a given seed change, so cached data is regenerated. */
export const GENERATOR_VERSION = 3;

export type TrailFormat = 'jsonl' | 's3';

export interface GenerateOptions {
  readonly records: number;
  readonly seed: number;
  readonly out: string;
  readonly format: TrailFormat;
  readonly gzip: boolean;
  /** Records per S3 log file. */
  readonly perFile: number;
}

export interface ChangeCount {
  succeeded: number;
  failed: number;
}

/** What the generated trail contains, for checking every tool that reads it. */
export interface BenchTrailTruth {
  generatorVersion: number;
  seed: number;
  format: TrailFormat;
  gzip: boolean;
  perFile: number | null;
  out: string;
  /** For `s3`: every file written, relative to `out`, in time order. */
  files: string[];
  records: number;
  /** Uncompressed bytes of JSON (for `jsonl`: including the newlines). */
  bytes: number;
  /** Bytes on disk (differs from `bytes` when gzipped). */
  diskBytes: number;
  recordsMentioningKmsSource: number;
  kmsRecords: number;
  changes: { total: number; succeeded: number; failed: number };
  /** Every catalog event, zeros included. */
  changesByEventName: Record<string, ChangeCount>;
  failuresByErrorCode: Record<string, number>;
  decoys: Record<string, number>;
  byEventSource: Record<string, number>;
  recordBytes: TrailTruth['recordBytes'];
  firstEventTime: string;
  lastEventTime: string;
  generationSeconds: number;
}

export function truthPath(out: string): string {
  return out.replace(/\/+$/, '') + '.truth.json';
}

export async function generateTrailFiles(options: GenerateOptions): Promise<BenchTrailTruth> {
  const started = performance.now();
  const spec = mixedTrail(options.seed, options.records);
  const trail = generateTrail(spec);
  const written =
    options.format === 's3'
      ? await writeS3LogFiles(trail, options.out, { gzip: options.gzip, perFile: options.perFile, organisationId: trail.organisation.id, names: new Random(options.seed).stream('s3-object-names') })
      : await writeJsonLines(trail, options.out, { gzip: options.gzip });
  const t = trail.truth();
  const changesByEventName: Record<string, ChangeCount> = {};
  for (const { eventName } of CATALOG) changesByEventName[eventName] = { succeeded: t.successfulChanges.byEventName[eventName] ?? 0, failed: 0 };
  for (const { eventName, count } of t.failedChanges.byEventNameAndErrorCode) changesByEventName[eventName]!.failed += count;
  const truth: BenchTrailTruth = {
    generatorVersion: GENERATOR_VERSION,
    seed: options.seed,
    format: options.format,
    gzip: options.gzip,
    perFile: options.format === 's3' ? options.perFile : null,
    out: options.out,
    files: options.format === 's3' ? written.files : [],
    records: t.records,
    bytes: written.bytes,
    diskBytes: written.diskBytes,
    recordsMentioningKmsSource: t.recordsMentioningKmsSource,
    kmsRecords: t.kmsRecords,
    changes: { total: t.successfulChanges.total + t.failedChanges.total, succeeded: t.successfulChanges.total, failed: t.failedChanges.total },
    changesByEventName,
    failuresByErrorCode: t.failuresByErrorCode,
    decoys: t.decoys,
    byEventSource: t.byEventSource,
    recordBytes: t.recordBytes,
    firstEventTime: t.firstEventTime,
    lastEventTime: t.lastEventTime,
    generationSeconds: Math.round((performance.now() - started) / 10) / 100,
  };
  await writeFile(truthPath(options.out), JSON.stringify(truth, null, 2) + '\n');
  return truth;
}

function usage(): string {
  return 'usage: npx node bench/generate-trail.ts --records N --seed S --out PATH [--format jsonl|s3] [--gzip] [--per-file N]';
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: '1000000' },
      seed: { type: 'string', default: '42' },
      out: { type: 'string' },
      format: { type: 'string', default: 'jsonl' },
      gzip: { type: 'boolean', default: false },
      'per-file': { type: 'string', default: '1000' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(usage() + '\n');
    return;
  }
  const records = Number(values.records);
  const seed = Number(values.seed);
  const perFile = Number(values['per-file']);
  const format = values.format;
  if (values.out === undefined) throw new Error(`--out is required\n${usage()}`);
  if (!Number.isSafeInteger(records) || records < 1) throw new Error(`--records must be a positive integer, got ${values.records}`);
  if (!Number.isSafeInteger(seed)) throw new Error(`--seed must be an integer, got ${values.seed}`);
  if (!Number.isSafeInteger(perFile) || perFile < 1) throw new Error(`--per-file must be a positive integer, got ${values['per-file']}`);
  if (format !== 'jsonl' && format !== 's3') throw new Error(`--format must be jsonl or s3, got ${format}`);
  const truth = await generateTrailFiles({ records, seed, out: values.out, format, gzip: values.gzip, perFile });
  const { files, ...summary } = truth;
  process.stdout.write(JSON.stringify({ ...summary, files: files.length }, null, 2) + '\n');
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    process.stderr.write(`generate-trail: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
