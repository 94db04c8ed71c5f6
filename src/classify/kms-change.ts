// The total function from a parsed CloudTrail record to a KMS change, an ignored record, or an invalid one.

import type { CatalogEntry } from '../catalog/kms-events.ts';
import { lookup } from '../catalog/kms-events.ts';
import type { InvalidReason } from '../record-batch.ts';
import { DEFAULT_PENDING_WINDOW_DAYS, deletionDate, pendingWindowDays } from './deletion-date.ts';
import type { KeyIdentity } from './key-identity.ts';
import type { KeyMaterialExpiry } from './key-material.ts';
import { readKeyMaterialExpiry } from './key-material.ts';
import { findKey } from './key-identity.ts';
import type { ChangeEnvelope } from './change-envelope.ts';
import { object, optionalText, readEnvelope } from './change-envelope.ts';

export type { Outcome } from './change-envelope.ts';

export interface KmsChange extends ChangeEnvelope {
  readonly entry: CatalogEntry;
  readonly key: KeyIdentity | undefined;
  readonly customKeyStoreId: string | undefined;
  readonly aliasName: string | undefined;
  readonly grantee: string | undefined;
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

function invalid(reason: InvalidReason, detail: string): Classification {
  return { kind: 'invalid', reason, detail };
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

  const envelope = readEnvelope(record, eventName);
  if ('invalid' in envelope) return invalid(envelope.invalid, envelope.detail);
  const { accountId, region, outcome, eventTime } = envelope;
  const context = { accountId: accountId === 'unknown' ? undefined : accountId, region: region === 'unknown' ? undefined : region };

  const request = object(record['requestParameters']);
  const response = object(record['responseElements']);
  const key = entry.subject === 'key' ? findKey(record, context) : undefined;
  // A multi-Region primary with replicas waits for them (PendingReplicaDeletion): no date is set yet.
  const scheduled = entry.eventName === 'ScheduleKeyDeletion' && outcome === 'success' && response['keyState'] !== 'PendingReplicaDeletion';
  const deletion = scheduled ? deletionDate(response['deletionDate'], eventTime, request['pendingWindowInDays'] ?? response['pendingWindowInDays']) : undefined;
  const pendingWindowInDays = entry.eventName === 'ScheduleKeyDeletion' ? (pendingWindowDays(request['pendingWindowInDays']) ?? pendingWindowDays(response['pendingWindowInDays']) ?? DEFAULT_PENDING_WINDOW_DAYS) : undefined;

  return {
    kind: 'change',
    change: {
      entry,
      ...envelope,
      key,
      customKeyStoreId: optionalText(request['customKeyStoreId']) ?? optionalText(response['customKeyStoreId']),
      aliasName: optionalText(request['aliasName']),
      grantee: optionalText(request['granteePrincipal']),
      deletion,
      keyMaterial: entry.eventName === 'ImportKeyMaterial' ? readKeyMaterialExpiry(request) : undefined,
      pendingWindowInDays,
    },
  };
}
