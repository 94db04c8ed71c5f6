// ScheduleKeyDeletion and CancelKeyDeletion CloudTrail records for a key and times of the test's choosing, built from the fixtures.

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const FIXTURES = join(import.meta.dirname, '../fixtures/cloudtrail');
const ACCOUNT = '111122223333';
const REGION = 'us-east-1';

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as Record<string, unknown>;
}

/** CloudTrail's eventTime: ISO 8601 to the second. */
function eventTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function forKey(record: Record<string, unknown>, keyId: string, at: number): Record<string, unknown> {
  const arn = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${keyId}`;
  return {
    ...record,
    eventID: randomUUID(),
    eventTime: eventTime(at),
    requestParameters: { ...(record['requestParameters'] as object), keyId },
    responseElements: { ...(record['responseElements'] as object), keyId: arn },
    resources: [{ accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: arn }],
  };
}

/**
 * ScheduleKeyDeletion of `keyId` at `at` (ms): the deletion date is `at` plus the waiting
 * period, the exporter's fallback when the record has no deletionDate (dropped here).
 */
export function scheduleKeyDeletion(keyId: string, at: number, pendingWindowInDays: number): string {
  const record = forKey(fixture('ScheduleKeyDeletion.json'), keyId, at);
  record['requestParameters'] = { pendingWindowInDays, keyId };
  const { deletionDate: _dropped, ...response } = record['responseElements'] as Record<string, unknown>;
  record['responseElements'] = response;
  return JSON.stringify(record);
}

export function cancelKeyDeletion(keyId: string, at: number): string {
  return JSON.stringify(forKey(fixture('CancelKeyDeletion.json'), keyId, at));
}

/** The kms_key_pending_deletion_timestamp_seconds labels of `keyId`. */
export function pendingDeletionLabels(keyId: string): Record<string, string> {
  return { aws_account_id: ACCOUNT, aws_region: REGION, key_id: keyId };
}
