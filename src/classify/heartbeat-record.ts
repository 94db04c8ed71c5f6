// Recognises the exporter's own heartbeat in a CloudTrail record: a TagResource on a configured canary key that sets the heartbeat tag.
//
// The heartbeat sender tags each canary key with HEARTBEAT_TAG_KEY = the send time (ISO 8601). When the
// TagResource record comes back through whichever source runs, it proves the whole path (CloudTrail →
// log group or bus → subscription or rule → delivery → exporter) carried a KMS change made then. Such a
// record is the exporter's own doing, not a user's change: it is never counted as one.

import type { KmsChange } from './kms-change.ts';

/** The tag the heartbeat sets (KMS tag keys allow letters, digits, spaces and `_ . : / = + - @`; no `aws:` prefix). */
export const HEARTBEAT_TAG_KEY = 'kms-change-exporter:heartbeat';

/** A canary key, from its ARN (the heartbeat needs the key's region for the call and its account for the labels). */
export interface HeartbeatKey {
  readonly arn: string;
  readonly accountId: string;
  readonly region: string;
  readonly keyId: string;
}

const KEY_ARN = /^arn:aws[a-z-]*:kms:([a-z]{2}(?:-[a-z]+)+-\d{1,2}):(\d{12}):key\/((?:mrk-)?[0-9a-f]{8,32}(?:-[0-9a-f]{4}){0,3}(?:-[0-9a-f]{12})?)$/;

/** The canary key an ARN names, or undefined when it is not a KMS key ARN (an alias ARN cannot be tagged). */
export function parseHeartbeatKey(arn: string): HeartbeatKey | undefined {
  const match = KEY_ARN.exec(arn);
  if (match === null) return undefined;
  const [, region, accountId, keyId] = match as unknown as [string, string, string, string];
  return { arn, accountId, region, keyId };
}

export interface Heartbeat {
  readonly key: HeartbeatKey;
  /** When the exporter sent it: the tag's value, in ms. */
  readonly sentAt: number;
}

function tagsOf(record: unknown): readonly unknown[] {
  const request = typeof record === 'object' && record !== null ? (record as Record<string, unknown>)['requestParameters'] : undefined;
  const tags = typeof request === 'object' && request !== null ? (request as Record<string, unknown>)['tags'] : undefined;
  return Array.isArray(tags) ? tags : [];
}

/** The send time the heartbeat tag carries, when the record sets it to a timestamp. */
function heartbeatTagValue(record: unknown): number | undefined {
  for (const tag of tagsOf(record)) {
    if (typeof tag !== 'object' || tag === null) continue;
    const { tagKey, tagValue } = tag as Record<string, unknown>;
    if (tagKey !== HEARTBEAT_TAG_KEY || typeof tagValue !== 'string') continue;
    const sentAt = Date.parse(tagValue);
    if (!Number.isNaN(sentAt)) return sentAt;
  }
  return undefined;
}

/**
 * The heartbeat a classified change is, or undefined. Failed calls count too: the record coming back
 * proves the path whether or not the tag was applied (the sender reports its own failures).
 */
export function heartbeatOf(change: KmsChange, record: unknown, keys: readonly HeartbeatKey[]): Heartbeat | undefined {
  if (keys.length === 0 || change.entry.eventName !== 'TagResource' || change.key === undefined) return undefined;
  const accountId = change.key.accountId ?? change.accountId;
  const region = change.key.region ?? change.region;
  const key = keys.find((k) => k.keyId === change.key!.id && k.accountId === accountId && k.region === region);
  if (key === undefined) return undefined;
  const sentAt = heartbeatTagValue(record);
  return sentAt === undefined ? undefined : { key, sentAt };
}
