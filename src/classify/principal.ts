// Who made a change: CloudTrail's userIdentity reduced to a closed principal type and the ARNs that matter.

export const PRINCIPAL_TYPES = [
  'Root',
  'IAMUser',
  'AssumedRole',
  'Role',
  'FederatedUser',
  'AWSAccount',
  'AWSService',
  'IdentityCenterUser',
  'Directory',
  'SAMLUser',
  'WebIdentityUser',
  'Unknown',
] as const;

export type PrincipalType = (typeof PRINCIPAL_TYPES)[number];

const KNOWN: ReadonlySet<string> = new Set(PRINCIPAL_TYPES);

export interface Principal {
  readonly type: PrincipalType;
  /** The caller's ARN (an assumed-role session ARN for AssumedRole); for AWS services, the service. */
  readonly arn: string | undefined;
  /** A bounded identity for the opt-in `principal` label: the role rather than each session. */
  readonly label: string;
  readonly accountId: string | undefined;
  /** The AWS service that made the call on the caller's behalf, if any. */
  readonly invokedBy: string | undefined;
  readonly sessionIssuerArn: string | undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function object(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/**
 * AWS service events carry a userIdentity without `type` (only `accountId` and
 * `invokedBy`); they count as AWSService. A type AWS adds later counts as Unknown until
 * the table learns it, so the label stays a closed set.
 */
export function readPrincipal(userIdentity: unknown, eventType: unknown): Principal {
  const identity = object(userIdentity);
  const rawType = text(identity['type']);
  const invokedBy = text(identity['invokedBy']);
  const issuer = text(object(object(identity['sessionContext'])['sessionIssuer'])['arn']);
  let type: PrincipalType;
  if (rawType !== undefined) type = KNOWN.has(rawType) ? (rawType as PrincipalType) : 'Unknown';
  else type = eventType === 'AwsServiceEvent' || invokedBy !== undefined ? 'AWSService' : 'Unknown';
  const arn = text(identity['arn']) ?? (type === 'AWSService' ? invokedBy : undefined);
  const label = (type === 'AssumedRole' ? issuer : undefined) ?? arn ?? text(identity['principalId']) ?? 'unknown';
  return { type, arn, label, accountId: text(identity['accountId']), invokedBy, sessionIssuerArn: issuer };
}
