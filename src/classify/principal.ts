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
/** A service principal such as kms.amazonaws.com; CloudTrail writes "AWS Internal" when it names none. */
const SERVICE_PRINCIPAL = /^[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com(\.cn)?$/;

/** The service an AWS service call came from: invokedBy, else sourceIPAddress, when either is a service principal; else the event source (a KMS-internal event is KMS's own). */
function servicePrincipal(invokedBy: string | undefined, sourceIp: unknown, eventSource: unknown): string | undefined {
  for (const candidate of [invokedBy, text(sourceIp), text(eventSource)]) if (candidate !== undefined && SERVICE_PRINCIPAL.test(candidate)) return candidate;
  return invokedBy;
}

export function readPrincipal(userIdentity: unknown, eventType: unknown, sourceIp?: unknown, eventSource?: unknown): Principal {
  const identity = object(userIdentity);
  const rawType = text(identity['type']);
  const invokedBy = text(identity['invokedBy']);
  const issuer = text(object(object(identity['sessionContext'])['sessionIssuer'])['arn']);
  let type: PrincipalType;
  if (rawType !== undefined) type = KNOWN.has(rawType) ? (rawType as PrincipalType) : 'Unknown';
  else type = eventType === 'AwsServiceEvent' || invokedBy !== undefined ? 'AWSService' : 'Unknown';
  const arn = text(identity['arn']) ?? (type === 'AWSService' ? servicePrincipal(invokedBy, sourceIp, eventSource) : undefined);
  const label = (type === 'AssumedRole' ? issuer : undefined) ?? arn ?? text(identity['principalId']) ?? 'unknown';
  return { type, arn, label, accountId: text(identity['accountId']), invokedBy, sessionIssuerArn: issuer };
}
