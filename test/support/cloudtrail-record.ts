// CloudTrail records for source tests: a fixture under test/fixtures/cloudtrail with its own eventID and eventTime.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const DIR = join(import.meta.dirname, '../fixtures/cloudtrail');

/** The fixture's record as the JSON text a log event carries, with the given eventID and eventTime (ms). */
export function cloudTrailRecord(fixture: string, eventId: string, eventTime: number): string {
  const record = JSON.parse(readFileSync(join(DIR, `${fixture}.json`), 'utf8')) as Record<string, unknown>;
  record['eventID'] = eventId;
  record['eventTime'] = new Date(eventTime).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return JSON.stringify(record);
}
