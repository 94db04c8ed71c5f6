// The parts of a KMS change's CloudTrail record that say what the change does: the inputs of the findings.

import type { KmsChange } from './kms-change.ts';

/** A key policy as the record carries it: `requestParameters.policy`, a JSON string (or, defensively, an object). */
export type PolicyDocumentInput =
  | { readonly kind: 'absent' }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'object'; readonly value: unknown };

export interface GrantDetails {
  readonly granteePrincipal: string | undefined;
  readonly retiringPrincipal: string | undefined;
  readonly operations: readonly string[];
  /** `constraints` as recorded (encryptionContextSubset / encryptionContextEquals), or undefined. */
  readonly constraints: Readonly<Record<string, unknown>> | undefined;
}

export interface CustomKeyStoreDetails {
  /** `customKeyStoreType` when recorded; UpdateCustomKeyStore has no such parameter, so the XKS fields decide there. */
  readonly customKeyStoreType: string | undefined;
  readonly xksProxyUriEndpoint: string | undefined;
  readonly xksProxyUriPath: string | undefined;
  readonly xksProxyVpcEndpointServiceName: string | undefined;
  readonly xksProxyConnectivity: string | undefined;
}

export interface ChangeDetails {
  /** The account that owns the key: from the key ARN, else `recipientAccountId`; undefined when neither is an account id. */
  readonly keyAccountId: string | undefined;
  /** PutKeyPolicy, CreateKey and ReplicateKey carry a policy; every other event has `absent`. */
  readonly policy: PolicyDocumentInput;
  readonly bypassPolicyLockoutSafetyCheck: boolean;
  /** CreateKey: AWS_KMS, EXTERNAL, AWS_CLOUDHSM, EXTERNAL_KEY_STORE. */
  readonly origin: string | undefined;
  readonly customKeyStoreId: string | undefined;
  readonly multiRegion: boolean | undefined;
  readonly grant: GrantDetails | undefined;
  /** ScheduleKeyDeletion as requested (or answered); undefined when the caller left AWS's default (30). */
  readonly pendingWindowInDays: number | undefined;
  readonly expirationModel: string | undefined;
  readonly validTo: string | undefined;
  readonly customKeyStore: CustomKeyStoreDetails | undefined;
}

const ACCOUNT = /^\d{12}$/;
const POLICY_EVENTS: ReadonlySet<string> = new Set(['PutKeyPolicy', 'CreateKey', 'ReplicateKey']);
const STORE_EVENTS: ReadonlySet<string> = new Set(['CreateCustomKeyStore', 'UpdateCustomKeyStore']);

function object(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** CloudTrail writes booleans as JSON booleans; a string "true" is read the same way rather than missed. */
function flag(value: unknown): boolean | undefined {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return undefined;
}

function wholeNumber(value: unknown): number | undefined {
  const number = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d{1,6}\s*$/.test(value) ? Number(value) : Number.NaN;
  return Number.isSafeInteger(number) && number >= 0 ? number : undefined;
}

function policyInput(value: unknown): PolicyDocumentInput {
  if (typeof value === 'string') return { kind: 'text', text: value };
  if (value === undefined || value === null) return { kind: 'absent' };
  return { kind: 'object', value };
}

function grantDetails(request: Record<string, unknown>): GrantDetails {
  const operations = Array.isArray(request['operations']) ? request['operations'].filter((o): o is string => typeof o === 'string') : [];
  const constraints = request['constraints'];
  return {
    granteePrincipal: text(request['granteePrincipal']),
    retiringPrincipal: text(request['retiringPrincipal']),
    operations,
    constraints: typeof constraints === 'object' && constraints !== null && !Array.isArray(constraints) ? (constraints as Record<string, unknown>) : undefined,
  };
}

function storeDetails(request: Record<string, unknown>, additional: Record<string, unknown>): CustomKeyStoreDetails {
  const pick = (name: string): string | undefined => text(request[name]) ?? text(additional[name]);
  return {
    customKeyStoreType: pick('customKeyStoreType'),
    xksProxyUriEndpoint: pick('xksProxyUriEndpoint'),
    xksProxyUriPath: pick('xksProxyUriPath'),
    xksProxyVpcEndpointServiceName: pick('xksProxyVpcEndpointServiceName'),
    xksProxyConnectivity: pick('xksProxyConnectivity'),
  };
}

/** Never throws: whatever the record holds, each detail is a value or undefined. */
export function changeDetails(change: KmsChange, record: unknown): ChangeDetails {
  const root = object(record);
  const request = object(root['requestParameters']);
  const response = object(root['responseElements']);
  const metadata = object(response['keyMetadata']);
  const eventName = change.entry.eventName;
  const keyAccount = change.key?.accountId;
  const keyAccountId = keyAccount !== undefined && ACCOUNT.test(keyAccount) ? keyAccount : change.accountId !== 'unknown' ? change.accountId : undefined;
  return {
    keyAccountId,
    policy: POLICY_EVENTS.has(eventName) ? policyInput(request['policy']) : { kind: 'absent' },
    bypassPolicyLockoutSafetyCheck: POLICY_EVENTS.has(eventName) && flag(request['bypassPolicyLockoutSafetyCheck']) === true,
    origin: text(request['origin']) ?? text(metadata['origin']),
    customKeyStoreId: text(request['customKeyStoreId']) ?? text(metadata['customKeyStoreId']) ?? text(response['customKeyStoreId']),
    multiRegion: flag(request['multiRegion']) ?? flag(metadata['multiRegion']),
    grant: eventName === 'CreateGrant' ? grantDetails(request) : undefined,
    pendingWindowInDays: eventName === 'ScheduleKeyDeletion' ? wholeNumber(request['pendingWindowInDays']) ?? wholeNumber(response['pendingWindowInDays']) : undefined,
    expirationModel: text(request['expirationModel']),
    validTo: text(request['validTo']),
    customKeyStore: STORE_EVENTS.has(eventName) ? storeDetails(request, object(root['additionalEventData'])) : undefined,
  };
}
