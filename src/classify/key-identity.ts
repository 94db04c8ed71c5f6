// Finds the KMS key a CloudTrail record is about, in the fields AWS actually uses per event.

export interface KeyIdentity {
  /** Full key ARN, when the record names the key itself (not only an alias). */
  readonly arn: string | undefined;
  /** The bare key id (`1234abcd-…`, `mrk-…`), or the alias name (`alias/…`) when only an alias is known. */
  readonly id: string;
  readonly accountId: string | undefined;
  readonly region: string | undefined;
}

export interface RecordContext {
  readonly accountId: string | undefined;
  readonly region: string | undefined;
}

const KMS_ARN = /^arn:(aws[a-z-]*):kms:([a-z0-9-]*):(\d{12}):(key|alias)\/(.+)$/;

/** A key id, key ARN, alias name or alias ARN, normalised. */
export function normaliseKeyReference(reference: string, context: RecordContext): KeyIdentity | undefined {
  const value = reference.trim();
  if (value === '') return undefined;
  const arn = KMS_ARN.exec(value);
  if (arn !== null) {
    const [, , region, accountId, kind, rest] = arn as unknown as [string, string, string, string, string, string];
    if (kind === 'alias') return { arn: undefined, id: `alias/${rest}`, accountId, region };
    return { arn: value, id: rest, accountId, region };
  }
  if (value.startsWith('alias/')) return { arn: undefined, id: value, accountId: context.accountId, region: context.region };
  if (value.startsWith('arn:')) return undefined;
  const built = context.accountId !== undefined && context.region !== undefined ? `arn:${partitionOf(context.region)}:kms:${context.region}:${context.accountId}:key/${value}` : undefined;
  return { arn: built, id: value, accountId: context.accountId, region: context.region };
}

export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('eu-isoe-')) return 'aws-iso-e';
  if (region.startsWith('us-isof-')) return 'aws-iso-f';
  return 'aws';
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/**
 * The key, taking the first present of: resources[type=AWS::KMS::Key].ARN (each),
 * responseElements.keyMetadata.arn, responseElements.keyId, serviceEventDetails.keyId,
 * requestParameters.keyId, requestParameters.targetKeyId. A reference that names only an
 * alias is kept while a later field may still name the key itself.
 */
export function findKey(record: Record<string, unknown>, context: RecordContext): KeyIdentity | undefined {
  const resources = record['resources'];
  // Alias events list the alias ARN, typed AWS::KMS::Key too, before the key's own ARN.
  // Records before eventVersion 1.03 or so carry untyped resources: take those that name a KMS key or alias.
  const fromResources = Array.isArray(resources)
    ? resources.filter((r) => field(r, 'type') === 'AWS::KMS::Key' || (field(r, 'type') === undefined && KMS_ARN.test(String(field(r, 'ARN'))))).map((r) => field(r, 'ARN'))
    : [];
  const candidates: unknown[] = [
    ...fromResources,
    field(field(record['responseElements'], 'keyMetadata'), 'arn'),
    field(record['responseElements'], 'keyId'),
    field(record['serviceEventDetails'], 'keyId'),
    field(record['requestParameters'], 'keyId'),
    field(record['requestParameters'], 'targetKeyId'),
  ];
  let aliasOnly: KeyIdentity | undefined;
  for (const candidate of candidates) {
    const reference = text(candidate);
    if (reference === undefined) continue;
    const key = normaliseKeyReference(reference, context);
    if (key === undefined) continue;
    if (key.id.startsWith('alias/')) aliasOnly ??= key;
    else return key;
  }
  return aliasOnly;
}
