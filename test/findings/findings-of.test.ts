// Findings from what each change does, for every event that can raise one, with the exact evidence a reader gets.
import t from 'tap';
import { changeDetails } from '../../src/classify/change-details.ts';
import { classifyRecord } from '../../src/classify/kms-change.ts';
import type { Finding, FindingOptions } from '../../src/findings/finding.ts';
import { findingsOf } from '../../src/findings/findings-of.ts';
import { cloudTrailFixture, withRequest } from '../support/key-policy-record.ts';

const NO_ORGANISATION: FindingOptions = { organisationAccounts: new Set(), minDeletionWindowDays: 30 };

function findings(record: Record<string, unknown>, options: FindingOptions = NO_ORGANISATION): readonly Finding[] {
  const classified = classifyRecord(record);
  if (classified.kind !== 'change') throw new Error(`record did not classify: ${JSON.stringify(classified)}`);
  return findingsOf(classified.change, changeDetails(classified.change, record), options);
}

// The Auto Scaling guide's cross-account grant (example 2), with the key in 111122223333 and the grantee's account 444455556666.
const AUTO_SCALING_GRANT = {
  granteePrincipal: 'arn:aws:iam::444455556666:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling',
  operations: ['Encrypt', 'Decrypt', 'ReEncryptFrom', 'ReEncryptTo', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'DescribeKey', 'CreateGrant'],
  retiringPrincipal: undefined,
  constraints: undefined,
};

t.test('routine records from the AWS guides raise nothing', async (t) => {
  for (const fixture of ['PutKeyPolicy', 'CreateKey', 'CreateGrant', 'CreateGrant.via-ec2', 'CreateCustomKeyStore', 'UpdateCustomKeyStore', 'ScheduleKeyDeletion.midnight-12am', 'ReplicateKey', 'DisableKey', 'TagResource', 'RetireGrant']) {
    t.same(findings(cloudTrailFixture(fixture)), [], fixture);
  }
});

t.test('CreateGrant to a foreign service-linked role that may create grants', async (t) => {
  const record = withRequest('CreateGrant', AUTO_SCALING_GRANT);
  t.same(findings(record), [
    {
      name: 'grant_external_principal',
      evidence: {
        principal: AUTO_SCALING_GRANT.granteePrincipal,
        account: '444455556666',
        operations: AUTO_SCALING_GRANT.operations,
        detail: `the grant's grantee ${AUTO_SCALING_GRANT.granteePrincipal} is in account 444455556666, neither the key's account nor in the organisation`,
      },
    },
    {
      name: 'grant_allows_create_grant',
      evidence: { principal: AUTO_SCALING_GRANT.granteePrincipal, operations: AUTO_SCALING_GRANT.operations, detail: `the grant lets ${AUTO_SCALING_GRANT.granteePrincipal} create further grants on the key` },
    },
  ]);
  t.same(
    findings(record, { ...NO_ORGANISATION, organisationAccounts: new Set(['444455556666']) }).map((f) => f.name),
    ['grant_allows_create_grant'],
    'inside the organisation only the re-delegation remains',
  );
});

t.test('CreateGrant whose retiring principal is a foreign user', async (t) => {
  const record = withRequest('CreateGrant', { retiringPrincipal: 'arn:aws:iam::999988887777:user/mallory' });
  t.same(
    findings(record).map((f) => [f.name, f.evidence.principal]),
    [['grant_external_principal', 'arn:aws:iam::999988887777:user/mallory']],
  );
});

t.test('a denied CreateGrant to a foreign role still raises its findings', async (t) => {
  const record = withRequest('CreateGrant.AccessDenied', { granteePrincipal: 'arn:aws:iam::999988887777:role/exfil', operations: ['Decrypt', 'CreateGrant'] });
  t.same(findings(record).map((f) => f.name), ['grant_external_principal', 'grant_allows_create_grant']);
});

t.test('ScheduleKeyDeletion below the minimum window', async (t) => {
  t.same(findings(cloudTrailFixture('ScheduleKeyDeletion')), [
    { name: 'short_deletion_window', evidence: { pendingWindowInDays: 20, minimumDays: 30, detail: 'deletion scheduled with a 20-day window, below the minimum of 30' } },
  ]);
  t.same(findings(cloudTrailFixture('ScheduleKeyDeletion.AccessDenied')).map((f) => [f.name, f.evidence.pendingWindowInDays]), [['short_deletion_window', 7]], 'a denied attempt too');
  t.same(findings(cloudTrailFixture('ScheduleKeyDeletion'), { ...NO_ORGANISATION, minDeletionWindowDays: 7 }), [], 'at or above the configured minimum: none');
  const defaulted = withRequest('ScheduleKeyDeletion.AccessDenied', { pendingWindowInDays: undefined });
  t.same(findings(defaulted), [], 'no window in the request is AWS\'s default of 30 days');
  t.same(findings(defaulted, { ...NO_ORGANISATION, minDeletionWindowDays: 31 }).map((f) => f.evidence.pendingWindowInDays), [30]);
});

t.test('ImportKeyMaterial with expiring material', async (t) => {
  t.same(findings(cloudTrailFixture('ImportKeyMaterial')), [
    { name: 'external_key_material', evidence: { expirationModel: 'KEY_MATERIAL_EXPIRES', validTo: 'Jan 1, 2027 8:00:00 PM', detail: 'imported key material that expires on Jan 1, 2027 8:00:00 PM' } },
  ]);
  t.same(findings(withRequest('ImportKeyMaterial', { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', validTo: undefined })), [], 'material that does not expire');
});

t.test('CreateKey for imported material or in an external key store', async (t) => {
  t.same(findings(withRequest('CreateKey', { origin: 'EXTERNAL' })), [
    { name: 'external_key_material', evidence: { origin: 'EXTERNAL', detail: 'the key was created for key material imported from outside AWS' } },
  ]);
  t.same(findings(withRequest('CreateKey', { origin: 'EXTERNAL_KEY_STORE', customKeyStoreId: 'cks-1234567890abcdef0', xksKeyId: 'bb8562717f809024' })), [
    { name: 'external_key_store', evidence: { origin: 'EXTERNAL_KEY_STORE', detail: 'the key was created in external key store cks-1234567890abcdef0, whose key material lives outside AWS' } },
  ]);
  t.same(findings(withRequest('CreateKey', { origin: 'AWS_CLOUDHSM', customKeyStoreId: 'cks-1234567890abcdef0' })), [], 'a CloudHSM key store is AWS\'s');
});

t.test('CreateCustomKeyStore and UpdateCustomKeyStore of an external key store', async (t) => {
  const xks = { clusterId: undefined, customKeyStoreType: 'EXTERNAL_KEY_STORE', xksProxyUriEndpoint: 'https://myproxy.xks.example.com', xksProxyUriPath: '/example-prefix/kms/xks/v1', xksProxyConnectivity: 'PUBLIC_ENDPOINT' };
  t.same(findings(withRequest('CreateCustomKeyStore', xks)), [
    {
      name: 'external_key_store',
      evidence: { customKeyStoreType: 'EXTERNAL_KEY_STORE', proxyEndpoint: 'https://myproxy.xks.example.com/example-prefix/kms/xks/v1', detail: 'created an external key store whose proxy is https://myproxy.xks.example.com' },
    },
  ]);
  // UpdateCustomKeyStore has no customKeyStoreType parameter: a new proxy endpoint says it is an external key store.
  t.same(findings(withRequest('UpdateCustomKeyStore', { clusterId: undefined, xksProxyUriEndpoint: 'https://attacker.example.net' })).map((f) => [f.name, f.evidence.proxyEndpoint]), [['external_key_store', 'https://attacker.example.net']]);
});

t.test('a denied PutKeyPolicy opening the key to a foreign account, safety check bypassed', async (t) => {
  t.same(findings(cloudTrailFixture('PutKeyPolicy.AccessDenied')), [
    {
      name: 'key_policy_external_account',
      evidence: {
        statement: 'Enable IAM User Permissions',
        principal: 'arn:aws:iam::999988887777:root',
        account: '999988887777',
        actions: ['kms:*'],
        missingCondition: 'the account in the organisation accounts',
        detail: 'Enable IAM User Permissions allows arn:aws:iam::999988887777:root of account 999988887777, which is neither the key\'s account nor in the organisation',
      },
    },
    {
      name: 'key_policy_lockout',
      evidence: {
        principal: 'arn:aws:iam::111122223333:root',
        missingCondition: 'an Allow of kms:PutKeyPolicy to arn:aws:iam::111122223333:root',
        detail: 'no statement lets the account 111122223333 (its root, and through it IAM policies) call kms:PutKeyPolicy on this key',
      },
    },
    { name: 'lockout_safety_check_bypassed', evidence: { detail: 'PutKeyPolicy with bypassPolicyLockoutSafetyCheck set to true' } },
  ]);
});

t.test('an unconditioned public statement gives the missing condition as evidence', async (t) => {
  const policy = JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*' }, { Sid: 'Open', Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:Decrypt' }] });
  t.same(findings(withRequest('PutKeyPolicy', { policy })), [
    {
      name: 'key_policy_public',
      evidence: {
        statement: 'Open',
        principal: '*',
        actions: ['kms:Decrypt'],
        missingCondition: "kms:CallerAccount, aws:PrincipalAccount, aws:PrincipalOrgID, aws:SourceAccount, aws:SourceArn or aws:PrincipalArn naming the key's own account or organisation",
        detail: "Open allows * with no condition pinning the caller to the key's account or organisation",
      },
    },
  ]);
});

t.test('CreateKey and ReplicateKey policies are read like PutKeyPolicy', async (t) => {
  const open = JSON.stringify({ Statement: { Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' } });
  t.same(findings(withRequest('CreateKey', { policy: open, bypassPolicyLockoutSafetyCheck: true })).map((f) => f.name), ['key_policy_public', 'lockout_safety_check_bypassed']);
  t.same(findings(withRequest('ReplicateKey', { policy: open })).map((f) => f.name), ['key_policy_public']);
  t.same(findings(cloudTrailFixture('CreateKey')), [], 'no policy in CreateKey is the default key policy');
});

t.test('PutKeyPolicy whose policy is missing or not a policy is key_policy_unparsable', async (t) => {
  t.same(findings(withRequest('PutKeyPolicy', { policy: undefined })), [{ name: 'key_policy_unparsable', evidence: { detail: 'PutKeyPolicy without a policy in the record' } }]);
  t.same(findings(withRequest('PutKeyPolicy', { policy: '[1,2]' })), [{ name: 'key_policy_unparsable', evidence: { detail: 'the key policy could not be read: the policy is not a JSON object' } }]);
  t.same(findings(withRequest('PutKeyPolicy', { policy: '{"Statement":[{"Effect":"Permit","Principal":"*","Action":"kms:*"}]}' })), [
    { name: 'key_policy_unparsable', evidence: { detail: 'the key policy could not be read: Statement[0].Effect is neither "Allow" nor "Deny"' } },
  ]);
});

t.test('lock-out evidence names the root in the key\'s partition', async (t) => {
  const record = withRequest('PutKeyPolicy', { policy: JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws-cn:iam::111122223333:role/app' }, Action: 'kms:Decrypt' }] }) });
  record['awsRegion'] = 'cn-north-1';
  record['resources'] = [{ accountId: '111122223333', type: 'AWS::KMS::Key', ARN: 'arn:aws-cn:kms:cn-north-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' }];
  t.same(findings(record).map((f) => [f.name, f.evidence.principal]), [['key_policy_lockout', 'arn:aws-cn:iam::111122223333:root']]);
});

t.test('aws:SourceArn pins by the ARN\'s account field, a wildcard region allowed, a wildcard account not', async (t) => {
  const policy = (value: string) =>
    JSON.stringify({
      Statement: [
        { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*' },
        { Sid: 'Trails', Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:GenerateDataKey*', Condition: { StringLike: { 'aws:SourceArn': value } } },
      ],
    });
  t.same(findings(withRequest('PutKeyPolicy', { policy: policy('arn:aws:cloudtrail:*:111122223333:trail/*') })), []);
  t.same(findings(withRequest('PutKeyPolicy', { policy: policy('arn:aws:cloudtrail:*:*:trail/*') })).map((f) => f.name), ['key_policy_public']);
  t.same(findings(withRequest('PutKeyPolicy', { policy: policy('arn:*:111122223333:trail/*') })).map((f) => f.name), ['key_policy_public'], 'too few fields to name an account');
});
