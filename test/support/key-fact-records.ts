// CreateAlias, UpdateAlias, DeleteAlias and ImportKeyMaterial CloudTrail records for names, keys and times of the test's choosing, built from the fixtures.

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const FIXTURES = join(import.meta.dirname, '../fixtures/cloudtrail');
export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as Record<string, unknown>;
}

/** CloudTrail's eventTime: ISO 8601 to the second. */
function eventTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

const keyArn = (keyId: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${keyId}`;
const aliasArn = (alias: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:${alias}`;

/** CreateAlias (or UpdateAlias) of `alias` (`alias/...`) to `keyId` at `at` (ms). */
export function createAlias(alias: string, keyId: string, at: number, eventName: 'CreateAlias' | 'UpdateAlias' = 'CreateAlias'): string {
  return JSON.stringify({
    ...fixture(`${eventName}.json`),
    eventID: randomUUID(),
    eventTime: eventTime(at),
    requestParameters: { aliasName: alias, targetKeyId: keyId },
    responseElements: { keyId: keyArn(keyId) },
    resources: [
      { accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: aliasArn(alias) },
      { accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: keyArn(keyId) },
    ],
    recipientAccountId: ACCOUNT,
    awsRegion: REGION,
  });
}

/** DeleteAlias of `alias` (which named `keyId`) at `at` (ms). */
export function deleteAlias(alias: string, keyId: string, at: number): string {
  return JSON.stringify({
    ...fixture('DeleteAlias.json'),
    eventID: randomUUID(),
    eventTime: eventTime(at),
    requestParameters: { aliasName: alias },
    resources: [
      { accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: aliasArn(alias) },
      { accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: keyArn(keyId) },
    ],
    userIdentity: { type: 'IAMUser', principalId: 'AIDAJQABLZS4A3QDU576Q', arn: `arn:aws:iam::${ACCOUNT}:user/Alice`, accountId: ACCOUNT, userName: 'Alice' },
    recipientAccountId: ACCOUNT,
    awsRegion: REGION,
  });
}

/** ImportKeyMaterial into `keyId` at `at` (ms), expiring at `validTo` (written as CloudTrail does, "Jan 1, 2027 8:00:00 PM"). */
export function importKeyMaterial(keyId: string, at: number, validTo: Date): string {
  const month = validTo.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const hour = validTo.getUTCHours();
  const clock = `${hour % 12 === 0 ? 12 : hour % 12}:${String(validTo.getUTCMinutes()).padStart(2, '0')}:${String(validTo.getUTCSeconds()).padStart(2, '0')} ${hour < 12 ? 'AM' : 'PM'}`;
  return JSON.stringify({
    ...fixture('ImportKeyMaterial.json'),
    eventID: randomUUID(),
    eventTime: eventTime(at),
    requestParameters: { keyId, validTo: `${month} ${validTo.getUTCDate()}, ${validTo.getUTCFullYear()} ${clock}`, expirationModel: 'KEY_MATERIAL_EXPIRES' },
    resources: [{ accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: keyArn(keyId) }],
  });
}
