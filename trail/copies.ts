// Copies of a trail as new events: fresh eventIDs, times moved, so one trail can be replayed many times with a known total.

import { iso } from './time.ts';

export interface CopiedRecord {
  readonly message: string;
  /** The record's new eventTime, in ms (a log event's timestamp). */
  readonly timestamp: number;
}

/**
 * The records (JSON texts) as copy `suffix` of themselves: every eventID gets the suffix (so a
 * trail's own re-deliveries stay duplicates of each other, and copies are not), and eventTimes are
 * spread evenly over [from, to), in the records' order. Counting a copy therefore adds exactly the
 * trail's own truth once.
 */
export function copyRecords(lines: readonly string[], suffix: string, from: number, to: number): CopiedRecord[] {
  return lines.map((line, index) => {
    const timestamp = Math.floor(from + ((to - from) * index) / lines.length);
    return { message: JSON.stringify(shifted(JSON.parse(line) as Record<string, unknown>, suffix, timestamp)), timestamp };
  });
}

/** One record with the id suffix and the new time. */
export function shifted(record: Record<string, unknown>, suffix: string, timestamp: number): Record<string, unknown> {
  record['eventID'] = `${String(record['eventID'])}${suffix}`;
  record['eventTime'] = iso(timestamp);
  // An absolute deletion date no longer fits the moved eventTime: drop it, and readers fall back to eventTime + pendingWindowInDays.
  const response = record['responseElements'] as Record<string, unknown> | null | undefined;
  if (response !== null && typeof response === 'object' && 'deletionDate' in response) delete response['deletionDate'];
  return record;
}
