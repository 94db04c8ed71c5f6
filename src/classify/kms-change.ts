// The total function from a parsed CloudTrail record to a KMS change, an ignored record, or an invalid one.

import type { CatalogEntry } from '../catalog/kms-events.ts';
import { lookup } from '../catalog/kms-events.ts';
import type { InvalidReason } from '../record-batch.ts';
import { DEFAULT_PENDING_WINDOW_DAYS, deletionDate, pendingWindowDays } from './deletion-date.ts';
import type { KeyIdentity } from './key-identity.ts';
import type { KeyMaterialExpiry } from './key-material.ts';
import { readKeyMaterialExpiry } from './key-material.ts';
import { findKey } from './key-identity.ts';
import type { Principal } from './principal.ts';
import { readPrincipal } from './principal.ts';

export type Outcome = 'success' | 'failure';

export interface KmsChange {
  readonly entry: CatalogEntry;
  readonly outcome: Outcome;
  /** CloudTrail's eventID; undefined when the record has none (it cannot be de-duplicated). */
  readonly eventId: string | undefined;
  readonly eventTime: number;
  /** `recipientAccountId`, as a label-safe value (`unknown` when absent or malformed). */
  readonly accountId: string;
  readonly region: string;
  readonly principal: Principal;
  readonly key: KeyIdentity | undefined;
  readonly customKeyStoreId: string | undefined;
  readonly aliasName: string | undefined;
  readonly grantee: string | undefined;
  readonly errorCode: string | undefined;
  readonly errorMessage: string | undefined;
  readonly sourceIp: string | undefined;
  readonly userAgent: string | undefined;
  /** CloudTrail's `sessionCredentialFromConsole`: the call came from an AWS Management Console session (the field is present only when "true"). */
  readonly sessionCredentialFromConsole: boolean;
  readonly requestId: string | undefined;
  /** For a successful ScheduleKeyDeletion: when the key will be destroyed. */
  readonly deletion: { readonly date: number; readonly pendingWindowInDays: number } | undefined;
  /** For ImportKeyMaterial: whether (and when) the imported material expires; undefined when the request does not say in a way we know. */
  readonly keyMaterial: KeyMaterialExpiry | undefined;
  /**
   * For any ScheduleKeyDeletion, failed or waiting on replicas too: the waiting period asked for
   * (requestParameters, else responseElements, else AWS's default of 30 days).
   */
  readonly pendingWindowInDays: number | undefined;
}

export type Classification =
  | { readonly kind: 'change'; readonly change: KmsChange }
  | { readonly kind: 'ignored' }
  | { readonly kind: 'invalid'; readonly reason: InvalidReason; readonly detail: string };

const IGNORED: Classification = Object.freeze({ kind: 'ignored' });
const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
// Error codes are AWS's words; anything else is folded so a label cannot carry free text.
const ERROR_CODE = /^[A-Za-z][A-Za-z0-9.:_-]{0,63}$/;

function invalid(reason: InvalidReason, detail: string): Classification {
  return { kind: 'invalid', reason, detail };
}

function optionalText(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function object(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Never throws: every input, however malformed, has a classification. */
export function classifyRecord(value: unknown): Classification {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return invalid('not_an_object', 'record is not a JSON object');
  const record = value as Record<string, unknown>;
  const { eventSource, eventName, eventVersion } = record;
  if (eventSource === undefined && eventName === undefined && eventVersion === undefined) {
    return invalid('not_cloudtrail', 'record has none of eventVersion, eventSource, eventName');
  }
  if (eventSource !== undefined && typeof eventSource !== 'string') return invalid('wrong_type', 'eventSource is not a string');
  if (eventName !== undefined && typeof eventName !== 'string') return invalid('wrong_type', 'eventName is not a string');
  // CloudTrail Insights records have no top-level eventName: they describe API rates, not changes.
  if (eventSource === undefined || eventName === undefined) return IGNORED;
  const entry = lookup(eventSource, eventName);
  if (entry === undefined) return IGNORED;

  const eventTime = typeof record['eventTime'] === 'string' ? Date.parse(record['eventTime']) : Number.NaN;
  if (Number.isNaN(eventTime)) return invalid('wrong_type', `${eventName}: eventTime is missing or not a timestamp`);
  const errorCodeValue = record['errorCode'];
  if (errorCodeValue !== undefined && errorCodeValue !== null && typeof errorCodeValue !== 'string') return invalid('wrong_type', `${eventName}: errorCode is not a string`);
  const errorCode = optionalText(errorCodeValue);

  const rawAccount = optionalText(record['recipientAccountId']);
  const rawRegion = optionalText(record['awsRegion']);
  const accountId = rawAccount !== undefined && ACCOUNT.test(rawAccount) ? rawAccount : 'unknown';
  const region = rawRegion !== undefined && REGION.test(rawRegion) ? rawRegion : 'unknown';
  const context = { accountId: accountId === 'unknown' ? undefined : accountId, region: region === 'unknown' ? undefined : region };

  const request = object(record['requestParameters']);
  const response = object(record['responseElements']);
  const key = entry.subject === 'key' ? findKey(record, context) : undefined;
  const outcome: Outcome = errorCode === undefined ? 'success' : 'failure';
  // A multi-Region primary with replicas waits for them (PendingReplicaDeletion): no date is set yet.
  const scheduled = entry.eventName === 'ScheduleKeyDeletion' && outcome === 'success' && response['keyState'] !== 'PendingReplicaDeletion';
  const deletion = scheduled ? deletionDate(response['deletionDate'], eventTime, request['pendingWindowInDays'] ?? response['pendingWindowInDays']) : undefined;
  const pendingWindowInDays = entry.eventName === 'ScheduleKeyDeletion' ? (pendingWindowDays(request['pendingWindowInDays']) ?? pendingWindowDays(response['pendingWindowInDays']) ?? DEFAULT_PENDING_WINDOW_DAYS) : undefined;

  return {
    kind: 'change',
    change: {
      entry,
      outcome,
      eventId: optionalText(record['eventID']),
      eventTime,
      accountId,
      region,
      principal: readPrincipal(record['userIdentity'], record['eventType'], record['sourceIPAddress'], record['eventSource']),
      key,
      customKeyStoreId: optionalText(request['customKeyStoreId']) ?? optionalText(response['customKeyStoreId']),
      aliasName: optionalText(request['aliasName']),
      grantee: optionalText(request['granteePrincipal']),
      errorCode: errorCode === undefined ? undefined : ERROR_CODE.test(errorCode) ? errorCode : 'other',
      errorMessage: optionalText(record['errorMessage']),
      sourceIp: optionalText(record['sourceIPAddress']),
      userAgent: optionalText(record['userAgent']),
      sessionCredentialFromConsole: record['sessionCredentialFromConsole'] === 'true' || record['sessionCredentialFromConsole'] === true,
      requestId: optionalText(record['requestID']),
      deletion,
      keyMaterial: entry.eventName === 'ImportKeyMaterial' ? readKeyMaterialExpiry(request) : undefined,
      pendingWindowInDays,
    },
  };
}
