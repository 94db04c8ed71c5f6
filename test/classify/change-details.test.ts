// The details a finding needs, read from the real-shaped records: what the user will see as evidence starts here.
import t from 'tap';
import fc from 'fast-check';
import { changeDetails } from '../../src/classify/change-details.ts';
import type { ChangeDetails } from '../../src/classify/change-details.ts';
import { classifyRecord } from '../../src/classify/kms-change.ts';
import { cloudTrailFixture, withRequest } from '../support/key-policy-record.ts';

function details(record: Record<string, unknown>): ChangeDetails {
  const classified = classifyRecord(record);
  if (classified.kind !== 'change') throw new Error('record did not classify');
  return changeDetails(classified.change, record);
}

const NOTHING: ChangeDetails = {
  keyAccountId: '111122223333',
  policy: { kind: 'absent' },
  bypassPolicyLockoutSafetyCheck: false,
  origin: undefined,
  customKeyStoreId: undefined,
  multiRegion: undefined,
  grant: undefined,
  pendingWindowInDays: undefined,
  expirationModel: undefined,
  validTo: undefined,
  customKeyStore: undefined,
};

t.test('PutKeyPolicy: the policy string and the bypass flag', async (t) => {
  const record = cloudTrailFixture('PutKeyPolicy.AccessDenied');
  t.same(details(record), { ...NOTHING, policy: { kind: 'text', text: (record['requestParameters'] as Record<string, string>)['policy'] }, bypassPolicyLockoutSafetyCheck: true });
  t.equal(details(withRequest('PutKeyPolicy', { bypassPolicyLockoutSafetyCheck: 'true' })).bypassPolicyLockoutSafetyCheck, true, 'a string "true" is read as true');
});

t.test('CreateKey: origin, store and multi-Region from the request or the key metadata; the key account from the key ARN', async (t) => {
  t.same(details(cloudTrailFixture('CreateKey')), { ...NOTHING, keyAccountId: '444455556666', origin: 'AWS_KMS', multiRegion: false });
  const xks = withRequest('CreateKey', { origin: 'EXTERNAL_KEY_STORE', customKeyStoreId: 'cks-1234567890abcdef0', multiRegion: undefined });
  t.match(details(xks), { origin: 'EXTERNAL_KEY_STORE', customKeyStoreId: 'cks-1234567890abcdef0', multiRegion: false });
});

t.test('CreateGrant: grantee, retiring principal, operations, constraints', async (t) => {
  t.same(details(cloudTrailFixture('CreateGrant')).grant, {
    granteePrincipal: 'arn:aws:iam::111122223333:role/ReportingBatch',
    retiringPrincipal: 'arn:aws:iam::111122223333:role/KeyAdmin',
    operations: ['Encrypt', 'Decrypt', 'RetireGrant'],
    constraints: { encryptionContextSubset: { Department: 'Finance' } },
  });
  t.same(details(withRequest('CreateGrant', { operations: 'CreateGrant', constraints: [1] })).grant?.operations, [], 'operations that are not a list are none, not a crash');
});

t.test('ScheduleKeyDeletion: the window as requested, numeric strings included', async (t) => {
  t.equal(details(cloudTrailFixture('ScheduleKeyDeletion')).pendingWindowInDays, 20);
  t.equal(details(withRequest('ScheduleKeyDeletion', { pendingWindowInDays: '7' })).pendingWindowInDays, 7);
  t.equal(details(withRequest('ScheduleKeyDeletion', { pendingWindowInDays: 'seven' })).pendingWindowInDays, undefined);
});

t.test('ImportKeyMaterial and custom key stores', async (t) => {
  t.match(details(cloudTrailFixture('ImportKeyMaterial')), { keyAccountId: '111122223333', expirationModel: 'KEY_MATERIAL_EXPIRES', validTo: 'Jan 1, 2027 8:00:00 PM' });
  t.same(details(withRequest('CreateCustomKeyStore', { customKeyStoreType: 'EXTERNAL_KEY_STORE', xksProxyUriEndpoint: 'https://myproxy.xks.example.com', xksProxyConnectivity: 'PUBLIC_ENDPOINT' })).customKeyStore, {
    customKeyStoreType: 'EXTERNAL_KEY_STORE',
    xksProxyUriEndpoint: 'https://myproxy.xks.example.com',
    xksProxyUriPath: undefined,
    xksProxyVpcEndpointServiceName: undefined,
    xksProxyConnectivity: 'PUBLIC_ENDPOINT',
  });
});

t.test('the key account falls back to recipientAccountId when the key is named by alias only', async (t) => {
  t.equal(details(cloudTrailFixture('DisableKey.AccessDenied')).keyAccountId, '444455556666');
});

t.test('never throws, whatever the request parameters hold', async (t) => {
  fc.assert(
    fc.property(fc.constantFrom('PutKeyPolicy', 'CreateKey', 'CreateGrant', 'ScheduleKeyDeletion', 'ImportKeyMaterial', 'UpdateCustomKeyStore'), fc.anything(), (fixture, request) => {
      const record = cloudTrailFixture(fixture);
      record['requestParameters'] = request;
      record['responseElements'] = request;
      details(record);
    }),
  );
  t.pass('no input threw');
});
