// CloudTrail records that carry a given key policy or request parameters, built from the real-shaped fixtures in test/fixtures/cloudtrail.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const CLOUDTRAIL = join(import.meta.dirname, '../fixtures/cloudtrail');
export const KEY_POLICIES = join(import.meta.dirname, '../fixtures/key-policies');

export function cloudTrailFixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(CLOUDTRAIL, `${name}.json`), 'utf8')) as Record<string, unknown>;
}

/** The fixture's record with its requestParameters merged with `request` (a value of undefined removes the field). */
export function withRequest(fixture: string, request: Record<string, unknown>): Record<string, unknown> {
  const record = cloudTrailFixture(fixture);
  const merged: Record<string, unknown> = { ...(record['requestParameters'] as Record<string, unknown>) };
  for (const [key, value] of Object.entries(request)) {
    if (value === undefined) delete merged[key];
    else merged[key] = value;
  }
  record['requestParameters'] = merged;
  return record;
}

/** PutKeyPolicy (ct-put-key-policy shape, key 1234abcd… in 111122223333, us-east-1) setting `policy` as the record's JSON string. */
export function putKeyPolicyRecord(policy: string, bypass = false): Record<string, unknown> {
  return withRequest('PutKeyPolicy', { policy, bypassPolicyLockoutSafetyCheck: bypass });
}

export function keyPolicyFixture(name: string): string {
  return readFileSync(join(KEY_POLICIES, name), 'utf8');
}
