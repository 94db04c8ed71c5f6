// Properties of the key-policy findings: narrowing never adds one, dropping a statement never exposes more, no input throws.
import t from 'tap';
import fc from 'fast-check';
import { changeDetails } from '../../src/classify/change-details.ts';
import { classifyRecord } from '../../src/classify/kms-change.ts';
import type { FindingName, FindingOptions } from '../../src/findings/finding.ts';
import { findingsOf } from '../../src/findings/findings-of.ts';
import { canonicalPolicy } from '../../src/findings/canonical-policy.ts';
import { actionMatches } from '../../src/findings/key-policy.ts';
import { putKeyPolicyRecord, withRequest } from '../support/key-policy-record.ts';

const OWN = '111122223333';
const OTHER = '444455556666';
const ORG = 'o-a1b2c3d4e5';

type Json = Record<string, unknown>;

const principal = fc.constantFrom<unknown>(
  '*',
  { AWS: '*' },
  { AWS: `arn:aws:iam::${OWN}:root` },
  { AWS: OWN },
  { AWS: `arn:aws:iam::${OTHER}:root` },
  { AWS: [OTHER, `arn:aws:iam::${OWN}:role/admin`] },
  { AWS: `arn:aws:sts::${OTHER}:assumed-role/r/s` },
  { AWS: `arn:aws:iam::${OWN}:user/alice` },
  { Service: 'cloudtrail.amazonaws.com' },
  { Federated: `arn:aws:iam::${OTHER}:saml-provider/idp` },
  { CanonicalUser: '79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be' },
);
const actions = fc.constantFrom<Json>({ Action: 'kms:*' }, { Action: '*' }, { Action: ['kms:Put*', 'kms:Describe*'] }, { Action: 'kms:PutKeyPolicy' }, { Action: ['kms:Decrypt', 'kms:Encrypt'] }, { NotAction: 'kms:PutKeyPolicy' }, { NotAction: ['kms:Decrypt'] });
const condition = fc.constantFrom<[string, string, unknown]>(
  ['StringEquals', 'kms:CallerAccount', OWN],
  ['StringEquals', 'kms:CallerAccount', OTHER],
  ['StringLike', 'aws:PrincipalAccount', [OWN, OTHER]],
  ['StringEquals', 'aws:PrincipalOrgID', ORG],
  ['StringEquals', 'aws:PrincipalOrgID', 'o-zzzzzzzzzz'],
  ['ArnLike', 'aws:PrincipalArn', `arn:aws:iam::${OWN}:role/*`],
  ['ArnLike', 'aws:SourceArn', 'arn:aws:cloudtrail:*:*:trail/*'],
  ['StringEquals', 'aws:SourceAccount', OWN],
  ['StringEquals', 'kms:ViaService', 'ec2.us-east-1.amazonaws.com'],
  ['StringEqualsIfExists', 'kms:CallerAccount', OWN],
  ['ForAllValues:StringEquals', 'aws:PrincipalAccount', OWN],
  ['ForAnyValue:StringEquals', 'aws:PrincipalAccount', OWN],
  ['StringNotEquals', 'kms:CallerAccount', OTHER],
  ['IpAddress', 'aws:SourceIp', '0.0.0.0/0'],
  ['Bool', 'kms:GrantIsForAWSResource', true],
  ['Null', 'kms:EncryptionContext:aws:cloudtrail:arn', 'false'],
);

function withCondition(statement: Json, [operator, key, value]: [string, string, unknown]): Json {
  const conditions = { ...((statement['Condition'] as Record<string, Json> | undefined) ?? {}) };
  const block = { ...(conditions[operator] ?? {}) };
  if (key in block) return statement; // replacing a value is not adding a condition
  block[key] = value;
  conditions[operator] = block;
  return { ...statement, Condition: conditions };
}

const statement = fc
  .record({ effect: fc.constantFrom('Allow', 'Allow', 'Deny'), principal, not: fc.boolean(), actions, conditions: fc.array(condition, { maxLength: 2 }), sid: fc.option(fc.constantFrom('A', 'B', 'C'), { nil: undefined }) })
  .map(({ effect, principal, not, actions, conditions, sid }) => {
    const base: Json = { ...(sid === undefined ? {} : { Sid: sid }), Effect: effect, [not ? 'NotPrincipal' : 'Principal']: principal, ...actions, Resource: '*' };
    return conditions.reduce(withCondition, base);
  });
const policy = fc.array(statement, { minLength: 1, maxLength: 5 });
const options = fc.record({
  organisationAccounts: fc.constantFrom(new Set<string>(), new Set([OTHER])),
  organisationId: fc.option(fc.constant(ORG), { nil: undefined }),
}).map(({ organisationAccounts, organisationId }): FindingOptions => ({ organisationAccounts, ...(organisationId === undefined ? {} : { organisationId }), minDeletionWindowDays: 30 }));

function names(statements: readonly Json[], opts: FindingOptions): Map<FindingName, number> {
  const record = putKeyPolicyRecord(JSON.stringify({ Version: '2012-10-17', Statement: statements }));
  const classified = classifyRecord(record);
  if (classified.kind !== 'change') throw new Error('fixture record did not classify');
  const counts = new Map<FindingName, number>();
  for (const f of findingsOf(classified.change, changeDetails(classified.change, record), opts)) counts.set(f.name, (counts.get(f.name) ?? 0) + 1);
  return counts;
}

function noMore(after: Map<FindingName, number>, before: Map<FindingName, number>, only?: readonly FindingName[]): boolean {
  return [...after].every(([name, count]) => (only !== undefined && !only.includes(name)) || count <= (before.get(name) ?? 0));
}

t.test('adding a narrowing condition to a statement never adds a finding', async (t) => {
  fc.assert(
    fc.property(policy, fc.nat(), condition, options, (statements, at, added, opts) => {
      const index = at % statements.length;
      const narrowed = statements.map((s, i) => (i === index ? withCondition(s, added) : s));
      return noMore(names(narrowed, opts), names(statements, opts));
    }),
    { numRuns: 500 },
  );
  t.pass('held for 500 policies');
});

t.test('removing a statement never adds key_policy_public or key_policy_external_account', async (t) => {
  fc.assert(
    fc.property(policy, fc.nat(), options, (statements, at, opts) => {
      const fewer = statements.filter((_, i) => i !== at % statements.length);
      if (fewer.length === 0) return true;
      return noMore(names(fewer, opts), names(statements, opts), ['key_policy_public', 'key_policy_external_account']);
    }),
    { numRuns: 500 },
  );
  t.pass('held for 500 policies');
});

// Policy-shaped values reach deep into the analyser; arbitrary JSON and arbitrary request parameters reach the rest.
const elementNames = fc.constantFrom('Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'Condition', 'Statement', 'AWS', 'StringEquals', 'kms:CallerAccount');
const shaped = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.jsonValue(), fc.constantFrom('*', 'Allow', 'Deny', OWN, `arn:aws:iam::${OTHER}:root`, 'kms:*'), fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(elementNames, tie('value'), { maxKeys: 4 })),
})).value;

t.test('no policy and no request parameters make the analyser throw', async (t) => {
  const opts: FindingOptions = { organisationAccounts: new Set([OTHER]), organisationId: ORG, minDeletionWindowDays: 30 };
  const events = ['PutKeyPolicy', 'CreateKey', 'CreateGrant', 'ScheduleKeyDeletion', 'ImportKeyMaterial', 'CreateCustomKeyStore', 'UpdateCustomKeyStore', 'ReplicateKey'];
  fc.assert(
    fc.property(fc.oneof(shaped, fc.jsonValue()), fc.boolean(), fc.constantFrom(...events), fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 4 }), (document, asText, fixture, request) => {
      const policyValue = asText ? JSON.stringify(document) ?? 'undefined' : { Statement: document };
      for (const record of [putKeyPolicyRecord(JSON.stringify({ Statement: document })), withRequest('PutKeyPolicy', { policy: policyValue }), withRequest(fixture, request)]) {
        const classified = classifyRecord(record);
        if (classified.kind !== 'change') continue;
        const details = changeDetails(classified.change, record);
        findingsOf(classified.change, details, opts);
        canonicalPolicy(details.policy);
      }
    }),
    { numRuns: 1000 },
  );
  t.pass('1000 inputs, none threw');
});

t.test('action wildcards match as IAM does, in linear time on hostile patterns', async (t) => {
  for (const [pattern, action, want] of [
    ['kms:*', 'kms:PutKeyPolicy', true],
    ['KMS:put*', 'kms:PutKeyPolicy', true],
    ['*', 'kms:PutKeyPolicy', true],
    ['kms:Put?eyPolicy', 'kms:PutKeyPolicy', true],
    ['kms:Put*Policy', 'kms:PutKeyPolicy', true],
    ['kms:Put', 'kms:PutKeyPolicy', false],
    ['kms:Get*', 'kms:PutKeyPolicy', false],
    ['kms:PutKeyPolicy?', 'kms:PutKeyPolicy', false],
  ] as const) {
    t.equal(actionMatches(pattern, action), want, `${pattern} ${want ? 'matches' : 'does not match'} ${action}`);
  }
  const hostile = `${'*k'.repeat(5000)}x`;
  const started = process.hrtime.bigint();
  t.equal(actionMatches(hostile, 'kms:kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk'), false);
  t.ok(Number(process.hrtime.bigint() - started) / 1e6 < 1000, 'a 10 000-character pattern of stars is decided well within a second');
});
