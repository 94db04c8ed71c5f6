// The total function from a classified change and its details to the findings it raises (the closed list in finding.ts).

import type { ChangeDetails } from '../classify/change-details.ts';
import { partitionOf } from '../classify/key-identity.ts';
import type { KmsChange } from '../classify/kms-change.ts';
import { principalKind } from './aws-principal.ts';
import type { Finding, FindingOptions } from './finding.ts';
import type { TrustContext } from './key-policy.ts';
import { keyPolicyFindings, trusted } from './key-policy.ts';

/** What AWS uses when ScheduleKeyDeletion names no window. */
export const AWS_DEFAULT_PENDING_WINDOW_DAYS = 30;
const EXTERNAL_KEY_STORE = 'EXTERNAL_KEY_STORE';

function grantFindings(details: ChangeDetails, context: TrustContext): Finding[] {
  const grant = details.grant;
  if (grant === undefined) return [];
  const findings: Finding[] = [];
  for (const [role, principal] of [['grantee', grant.granteePrincipal], ['retiring principal', grant.retiringPrincipal]] as const) {
    if (principal === undefined) continue;
    const kind = principalKind(principal);
    if (kind.kind === 'wildcard') {
      findings.push({ name: 'grant_external_principal', evidence: { principal, operations: grant.operations, detail: `the grant's ${role} is "*"` } });
      continue;
    }
    if (kind.kind !== 'account_root' && kind.kind !== 'account_principal') continue;
    if (trusted(kind.account, context)) continue;
    findings.push({
      name: 'grant_external_principal',
      evidence: { principal, account: kind.account, operations: grant.operations, detail: `the grant's ${role} ${principal} is in account ${kind.account}, neither the key's account nor in the organisation` },
    });
  }
  if (grant.operations.includes('CreateGrant')) {
    const principal = grant.granteePrincipal ?? 'unknown';
    findings.push({
      name: 'grant_allows_create_grant',
      evidence: { principal, operations: grant.operations, detail: `the grant lets ${principal} create further grants on the key` },
    });
  }
  return findings;
}

function deletionFindings(change: KmsChange, details: ChangeDetails, options: FindingOptions): Finding[] {
  if (change.entry.eventName !== 'ScheduleKeyDeletion') return [];
  const days = details.pendingWindowInDays ?? AWS_DEFAULT_PENDING_WINDOW_DAYS;
  if (days >= options.minDeletionWindowDays) return [];
  return [
    {
      name: 'short_deletion_window',
      evidence: { pendingWindowInDays: days, minimumDays: options.minDeletionWindowDays, detail: `deletion scheduled with a ${days}-day window, below the minimum of ${options.minDeletionWindowDays}` },
    },
  ];
}

function materialFindings(change: KmsChange, details: ChangeDetails): Finding[] {
  const event = change.entry.eventName;
  if (event === 'CreateKey' && details.origin === 'EXTERNAL') {
    return [{ name: 'external_key_material', evidence: { origin: 'EXTERNAL', detail: 'the key was created for key material imported from outside AWS' } }];
  }
  // ExpirationModel defaults to KEY_MATERIAL_EXPIRES only when ValidTo is given, so a ValidTo alone means expiring material.
  const expiring = details.expirationModel === 'KEY_MATERIAL_EXPIRES' || (details.expirationModel === undefined && details.validTo !== undefined);
  if (event === 'ImportKeyMaterial' && expiring) {
    return [
      {
        name: 'external_key_material',
        evidence: {
          expirationModel: details.expirationModel ?? 'KEY_MATERIAL_EXPIRES',
          ...(details.validTo === undefined ? {} : { validTo: details.validTo }),
          detail: `imported key material that expires${details.validTo === undefined ? '' : ` on ${details.validTo}`}`,
        },
      },
    ];
  }
  return [];
}

function storeFindings(change: KmsChange, details: ChangeDetails): Finding[] {
  const event = change.entry.eventName;
  if (event === 'CreateKey' && details.origin === EXTERNAL_KEY_STORE) {
    return [
      {
        name: 'external_key_store',
        evidence: { origin: EXTERNAL_KEY_STORE, detail: `the key was created in external key store ${details.customKeyStoreId ?? '(unnamed)'}, whose key material lives outside AWS` },
      },
    ];
  }
  const store = details.customKeyStore;
  if (store === undefined) return [];
  const xksFields = store.xksProxyUriEndpoint !== undefined || store.xksProxyUriPath !== undefined || store.xksProxyVpcEndpointServiceName !== undefined || store.xksProxyConnectivity !== undefined;
  if (store.customKeyStoreType !== EXTERNAL_KEY_STORE && !(store.customKeyStoreType === undefined && xksFields)) return [];
  const verb = event === 'CreateCustomKeyStore' ? 'created' : 'updated';
  return [
    {
      name: 'external_key_store',
      evidence: {
        customKeyStoreType: EXTERNAL_KEY_STORE,
        ...(store.xksProxyUriEndpoint === undefined ? {} : { proxyEndpoint: `${store.xksProxyUriEndpoint}${store.xksProxyUriPath ?? ''}` }),
        detail: `${verb} an external key store${store.xksProxyUriEndpoint === undefined ? '' : ` whose proxy is ${store.xksProxyUriEndpoint}`}`,
      },
    },
  ];
}

/**
 * Every finding a change raises, successful or failed (a denied attempt to open a key is worth
 * knowing). Pure and total: never throws, whatever the record held.
 */
export function findingsOf(change: KmsChange, details: ChangeDetails, options: FindingOptions): readonly Finding[] {
  const partition = change.key?.arn?.split(':')[1] ?? partitionOf(change.region);
  const context: TrustContext = { keyAccountId: details.keyAccountId, partition, options };
  const event = change.entry.eventName;
  const findings: Finding[] = [];
  if (event === 'PutKeyPolicy' || event === 'CreateKey' || event === 'ReplicateKey') {
    if (event === 'PutKeyPolicy' && details.policy.kind === 'absent') {
      findings.push({ name: 'key_policy_unparsable', evidence: { detail: 'PutKeyPolicy without a policy in the record' } });
    }
    findings.push(...keyPolicyFindings(details.policy, context));
    if (details.bypassPolicyLockoutSafetyCheck) {
      findings.push({ name: 'lockout_safety_check_bypassed', evidence: { detail: `${event} with bypassPolicyLockoutSafetyCheck set to true` } });
    }
  }
  findings.push(...grantFindings(details, context), ...deletionFindings(change, details, options), ...materialFindings(change, details), ...storeFindings(change, details));
  return findings;
}
