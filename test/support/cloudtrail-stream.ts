// A stream of CloudTrail records with a known ground truth: copies of the example trail with fresh eventIDs and times.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { copyRecords } from '../../trail/copies.ts';
import type { CopiedRecord } from '../../trail/copies.ts';

const ROOT = join(import.meta.dirname, '../..');

interface TrailTruth {
  records: { matched: number; duplicate: number };
  successfulChanges: { total: number; byEventName: Record<string, number> };
  failedChanges: { total: number };
}

/** The example trail's own ground truth (written by its generator), per copy of it. */
export const TRAIL_TRUTH = JSON.parse(readFileSync(join(ROOT, 'examples/trail.expected.json'), 'utf8')) as TrailTruth;

const TRAIL_LINES = gunzipSync(readFileSync(join(ROOT, 'examples/trail.jsonl.gz'))).toString('utf8').trim().split('\n');

/** Records in the example trail (re-deliveries included). */
export const TRAIL_LENGTH = TRAIL_LINES.length;

/** Copy `copy` of the example trail over [from, to): counting it adds exactly the trail's truth once. */
export function trailCopy(copy: number, from: number, to: number): CopiedRecord[] {
  return copyRecords(TRAIL_LINES, `-copy${copy}`, from, to);
}

/** The counters `copies` copies must produce. */
export function truthFor(copies: number): { changes: number; failures: number; byEventName: Record<string, number> } {
  const byEventName: Record<string, number> = {};
  for (const [name, count] of Object.entries(TRAIL_TRUTH.successfulChanges.byEventName)) byEventName[name] = count * copies;
  return { changes: TRAIL_TRUTH.successfulChanges.total * copies, failures: TRAIL_TRUTH.failedChanges.total * copies, byEventName };
}
