// The catalog: every KMS configuration change we count, as one data table.

export type Category =
  | 'key_lifecycle'
  | 'key_material'
  | 'policy'
  | 'custom_key_store'
  | 'rotation'
  | 'grant'
  | 'alias'
  | 'multi_region'
  | 'tag'
  | 'description';

export type Risk = 'high' | 'medium' | 'low';
export type AlertSeverity = 'critical' | 'warning' | 'info';

/** What the event acts on, which decides how its subject is found and named. */
export type Subject = 'key' | 'custom_key_store';

export interface CatalogEntry {
  readonly eventSource: string;
  readonly eventName: string;
  readonly category: Category;
  readonly risk: Risk;
  readonly subject: Subject;
  /** Emitted by AWS itself (eventType AwsServiceEvent), not by a caller. */
  readonly serviceEvent: boolean;
  /**
   * Past-tense phrase for the log body, completed with the subject:
   * "{principal} {phrase}". `{key}`, `{store}`, `{alias}`, `{days}` and `{grantee}`
   * are filled from the record when known.
   */
  readonly phrase: string;
}

export const KMS_EVENT_SOURCE = 'kms.amazonaws.com';
export const RULE_ID = 'KMS-007';
export const COMPLIANCE = ['APRA', 'MAS', 'NIST'] as const;

export const SEVERITY_BY_RISK: Readonly<Record<Risk, AlertSeverity>> = {
  high: 'critical',
  medium: 'warning',
  low: 'info',
};

type Row = readonly [eventName: string, category: Category, risk: Risk, phrase: string, options?: { subject?: Subject; serviceEvent?: boolean }];

const store = { subject: 'custom_key_store' } as const;
const service = { serviceEvent: true } as const;

const ROWS: readonly Row[] = [
  ['ScheduleKeyDeletion', 'key_lifecycle', 'high', 'scheduled key {key} for deletion in {days} days'],
  ['DisableKey', 'key_lifecycle', 'high', 'disabled key {key}'],
  ['DeleteImportedKeyMaterial', 'key_material', 'high', 'deleted the imported key material of key {key}'],
  ['PutKeyPolicy', 'policy', 'high', 'replaced the key policy of key {key}'],
  ['DeleteCustomKeyStore', 'custom_key_store', 'high', 'deleted custom key store {store}', store],
  ['DisconnectCustomKeyStore', 'custom_key_store', 'high', 'disconnected custom key store {store}', store],
  ['DisableKeyRotation', 'rotation', 'medium', 'disabled automatic rotation of key {key}'],
  ['CreateGrant', 'grant', 'medium', 'granted {grantee} use of key {key}'],
  ['ImportKeyMaterial', 'key_material', 'medium', 'imported key material into key {key}'],
  ['UpdateAlias', 'alias', 'medium', 'pointed alias {alias} at key {key}'],
  ['DeleteAlias', 'alias', 'medium', 'deleted alias {alias} of key {key}'],
  ['ReplicateKey', 'multi_region', 'medium', 'replicated key {key}'],
  ['UpdatePrimaryRegion', 'multi_region', 'medium', 'changed the primary region of key {key}'],
  ['CreateCustomKeyStore', 'custom_key_store', 'medium', 'created custom key store {store}', store],
  ['UpdateCustomKeyStore', 'custom_key_store', 'medium', 'updated custom key store {store}', store],
  ['ConnectCustomKeyStore', 'custom_key_store', 'medium', 'connected custom key store {store}', store],
  ['CreateKey', 'key_lifecycle', 'low', 'created key {key}'],
  ['EnableKey', 'key_lifecycle', 'low', 'enabled key {key}'],
  ['CancelKeyDeletion', 'key_lifecycle', 'low', 'cancelled the deletion of key {key}'],
  ['EnableKeyRotation', 'rotation', 'low', 'enabled automatic rotation of key {key}'],
  ['RotateKeyOnDemand', 'rotation', 'low', 'started an on-demand rotation of key {key}'],
  ['RetireGrant', 'grant', 'low', 'retired a grant on key {key}'],
  ['RevokeGrant', 'grant', 'low', 'revoked a grant on key {key}'],
  ['CreateAlias', 'alias', 'low', 'created alias {alias} for key {key}'],
  ['TagResource', 'tag', 'low', 'tagged key {key}'],
  ['UntagResource', 'tag', 'low', 'removed tags from key {key}'],
  ['UpdateKeyDescription', 'description', 'low', 'changed the description of key {key}'],
  ['DeleteKey', 'key_lifecycle', 'high', 'deleted key {key} at the end of its waiting period', service],
  ['DeleteExpiredKeyMaterial', 'key_material', 'high', 'deleted the expired key material of key {key}', service],
  ['RotateKey', 'rotation', 'low', 'rotated key {key}', service],
  ['SynchronizeMultiRegionKey', 'multi_region', 'low', 'synchronized multi-Region key {key}', service],
];

export const CATALOG: readonly CatalogEntry[] = Object.freeze(
  ROWS.map(([eventName, category, risk, phrase, options]) =>
    Object.freeze({
      eventSource: KMS_EVENT_SOURCE,
      eventName,
      category,
      risk,
      phrase,
      subject: options?.subject ?? 'key',
      serviceEvent: options?.serviceEvent ?? false,
    }),
  ),
);

const BY_NAME: ReadonlyMap<string, CatalogEntry> = new Map(CATALOG.map((entry) => [`${entry.eventSource}\u0000${entry.eventName}`, entry]));

/** The catalog entry for a CloudTrail (eventSource, eventName) pair, if it is a change we count. */
export function lookup(eventSource: string, eventName: string): CatalogEntry | undefined {
  return BY_NAME.get(`${eventSource}\u0000${eventName}`);
}

/** Every event name in the catalog, whatever its source: the raw-byte prefilter's word list. */
export const CATALOG_EVENT_NAMES: ReadonlySet<string> = new Set(CATALOG.map((entry) => entry.eventName));
