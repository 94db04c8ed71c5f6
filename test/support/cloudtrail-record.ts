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

/** The change series of the DisableKey.json fixture as /metrics prints it (default labels). */
export const DISABLE_KEY = 'kms_config_changes_total{event_name="DisableKey",category="key_lifecycle",risk="high",aws_account_id="111122223333",aws_region="us-east-1",principal_type="AssumedRole",expected="false"}';
