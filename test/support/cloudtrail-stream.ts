// A stream of CloudTrail records with a known ground truth: copies of the example trail with fresh eventIDs and times.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

const ROOT = join(import.meta.dirname, '../..');

interface TrailTruth {
  records: { matched: number; duplicate: number };
  successfulChanges: { total: number; byEventName: Record<string, number> };
  failedChanges: { total: number };
}

/** The example trail's own ground truth (written by its generator), per copy of it. */
export const TRAIL_TRUTH = JSON.parse(readFileSync(join(ROOT, 'examples/trail.expected.json'), 'utf8')) as TrailTruth;

const TRAIL_LINES = gunzipSync(readFileSync(join(ROOT, 'examples/trail.jsonl.gz'))).toString('utf8').trim().split('\n');

/** The example trail's records that are catalog changes (the ones a server-side filter lets through), as JSON texts. */
export const TRAIL_LENGTH = TRAIL_LINES.length;

export interface StreamRecord {
  readonly message: string;
  /** The record's eventTime, in ms: the log event's timestamp. */
  readonly timestamp: number;
}

/**
 * Copy `copy` of the example trail: every eventID gets a suffix (the trail's own exact
 * duplicates stay duplicates of each other), and eventTimes are spread evenly over
 * [from, to). Counting copy k therefore adds exactly the trail's truth once.
 */
export function trailCopy(copy: number, from: number, to: number): StreamRecord[] {
  return TRAIL_LINES.map((line, index) => {
    const timestamp = Math.floor(from + ((to - from) * index) / TRAIL_LINES.length);
    const record = JSON.parse(line) as Record<string, unknown>;
    record['eventID'] = `${String(record['eventID'])}-copy${copy}`;
    record['eventTime'] = new Date(timestamp).toISOString().replace('.000Z', 'Z').replace(/\.\d{3}Z$/, 'Z');
    // Deletion dates are relative to eventTime only through the fallback; drop the absolute one.
    const response = record['responseElements'] as Record<string, unknown> | null | undefined;
    if (response !== null && typeof response === 'object' && 'deletionDate' in response) delete response['deletionDate'];
    return { message: JSON.stringify(record), timestamp };
  });
}

/** The counters `copies` copies must produce. */
export function truthFor(copies: number): { changes: number; failures: number; byEventName: Record<string, number> } {
  const byEventName: Record<string, number> = {};
  for (const [name, count] of Object.entries(TRAIL_TRUTH.successfulChanges.byEventName)) byEventName[name] = count * copies;
  return { changes: TRAIL_TRUTH.successfulChanges.total * copies, failures: TRAIL_TRUTH.failedChanges.total * copies, byEventName };
}
