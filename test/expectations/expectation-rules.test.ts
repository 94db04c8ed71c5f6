// Matching real-shaped CloudTrail records against expectation rules: tables for each field, and the properties that make rules safe to write.
import t from 'tap';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CATALOG } from '../../src/catalog/kms-events.ts';
import type { KmsChange } from '../../src/classify/kms-change.ts';
import { classifyRecord } from '../../src/classify/kms-change.ts';
import type { AliasesOf, ExpectationMatch } from '../../src/expectations/expectation-rules.ts';
import { compileRules, matchExpectation, NO_EXPECTATIONS } from '../../src/expectations/expectation-rules.ts';
import { loadExpectations, parseExpectations } from '../../src/expectations/expectations-file.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/cloudtrail');
const EXAMPLE = loadExpectations(join(import.meta.dirname, '../../examples/expectations.yml'));
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';

type Json = Record<string, unknown>;

function fixture(name: string): Json {
  return JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as Json;
}

function changeOf(record: Json): KmsChange {
  const result = classifyRecord(record);
  if (result.kind !== 'change') throw new Error(`not a change: ${JSON.stringify(result)}`);
  return result.change;
}

/** An assumed-role identity as CloudTrail writes it; `issuer: false` drops sessionContext as some older records do. */
function assumedRole(account: string, role: string, session: string, options: { path?: string; issuer?: boolean } = {}): Json {
  const identity: Json = {
    type: 'AssumedRole',
    principalId: `AROAEXAMPLE:${session}`,
    arn: `arn:aws:sts::${account}:assumed-role/${role}/${session}`,
    accountId: account,
  };
  if (options.issuer !== false) {
    identity['sessionContext'] = {
      sessionIssuer: { type: 'Role', principalId: 'AROAEXAMPLE', arn: `arn:aws:iam::${account}:role${options.path ?? '/'}${role}`, accountId: account, userName: role },
      attributes: { creationDate: '2026-11-21T21:00:00Z', mfaAuthenticated: 'false' },
    };
  }
  return identity;
}

/** The TagResource fixture, re-targeted: another event, account, Region, caller, address or key. */
function record(changes: Json = {}): Json {
  const base = fixture('TagResource');
  const account = typeof changes['recipientAccountId'] === 'string' ? changes['recipientAccountId'] : '111122223333';
  const region = typeof changes['awsRegion'] === 'string' ? changes['awsRegion'] : 'us-east-1';
  const keyId = typeof changes['keyId'] === 'string' ? changes['keyId'] : KEY_ID;
  const arn = `arn:aws:kms:${region}:${account}:key/${keyId}`;
  const merged: Json = { ...base, requestParameters: { keyId: arn }, resources: [{ accountId: account, type: 'AWS::KMS::Key', ARN: arn }], ...changes };
  delete merged['keyId'];
  return merged;
}

const TERRAFORM = assumedRole('444455556666', 'terraform-deployer', 'GitHubActions');
const terraform = (changes: Json = {}): Json =>
  record({ userIdentity: TERRAFORM, recipientAccountId: '444455556666', sourceIPAddress: '198.51.100.133', userAgent: 'APN/1.0 HashiCorp/1.0 Terraform/1.9.8', ...changes });

const EC2_SERVICE = { type: 'AWSService', invokedBy: 'ec2.amazonaws.com' };

t.test('the shipped expectations', async (t) => {
  const cases: [string, Json, string | undefined][] = [
    ['a grant EBS creates while bob attaches a volume (AssumedRole, invoked by ec2)', fixture('CreateGrant.via-ec2'), 'aws-service-grants'],
    ['a grant EC2 retires on its own (AWSService)', { ...fixture('RetireGrant'), userIdentity: EC2_SERVICE, sourceIPAddress: 'ec2.amazonaws.com' }, 'aws-service-grants'],
    ['a grant Alice creates herself', fixture('CreateGrant'), undefined],
    ['a grant Alice tried and was denied', fixture('CreateGrant.AccessDenied'), undefined],
    ['a tag change a service made on a caller’s behalf (not a grant)', record({ userIdentity: { ...TERRAFORM, invokedBy: 'cloudformation.amazonaws.com' } }), undefined],
    ['AWS’s automatic rotation', fixture('RotateKey'), 'aws-scheduled-maintenance'],
    ['AWS destroying a key at the end of its waiting period', fixture('DeleteKey'), undefined],
    ['Terraform tagging from the CI egress', terraform(), 'terraform-routine'],
    ['Terraform tagging under another session name', terraform({ userIdentity: assumedRole('444455556666', 'terraform-deployer', 'i-0abc123-session') }), 'terraform-routine'],
    ['Terraform tagging over IPv6 from the CI range', terraform({ sourceIPAddress: '2001:db8:1234:5::10' }), 'terraform-routine'],
    ['Terraform tagging from an IPv4-mapped IPv6 address in the CI range', terraform({ sourceIPAddress: '::ffff:198.51.100.7' }), 'terraform-routine'],
    ['Terraform tagging from outside the CI egress', terraform({ sourceIPAddress: '203.0.113.200' }), undefined],
    ['Terraform’s role used from the console', terraform({ sessionCredentialFromConsole: 'true' }), undefined],
    ['Terraform replacing a key policy', { ...terraform(), eventName: 'PutKeyPolicy' }, undefined],
    ['a role under the ci/ path, named by its session issuer', record({ userIdentity: assumedRole('111122223333', 'terraform-prod', 'run-42', { path: '/ci/' }), sourceIPAddress: '198.51.100.9' }), 'terraform-routine'],
    ['the same role in a record without sessionContext (its path unknown)', record({ userIdentity: assumedRole('111122223333', 'terraform-prod', 'run-42', { issuer: false }), sourceIPAddress: '198.51.100.9' }), undefined],
    ['a role outside the ci/ path with a terraform- name', record({ userIdentity: assumedRole('111122223333', 'terraform-prod', 'run-42', { path: '/ops/' }), sourceIPAddress: '198.51.100.9' }), undefined],
  ];
  for (const [name, input, want] of cases) t.equal(matchExpectation(EXAMPLE, changeOf(input))?.rule, want, name);
});

t.test('the shipped expectations over the example trail mark exactly its routine changes', async (t) => {
  const trail = gunzipSync(readFileSync(join(import.meta.dirname, '../../examples/trail.jsonl.gz'))).toString('utf8');
  const seen = new Set<string>();
  const expected: Record<string, number> = {};
  let unexpected = 0;
  for (const line of trail.split('\n')) {
    if (line === '') continue;
    const result = classifyRecord(JSON.parse(line));
    // The trail re-delivers a few records, as CloudTrail does: count each eventID once.
    if (result.kind !== 'change' || result.change.eventId === undefined || seen.has(result.change.eventId)) continue;
    seen.add(result.change.eventId);
    const rule = matchExpectation(EXAMPLE, result.change)?.rule;
    if (rule === undefined) unexpected++;
    else {
      const key = `${rule} ${result.change.entry.eventName} ${result.change.outcome}`;
      expected[key] = (expected[key] ?? 0) + 1;
    }
  }
  t.same(expected, {
    'aws-service-grants CreateGrant success': 4,
    'aws-service-grants RetireGrant success': 1,
    'aws-scheduled-maintenance RotateKey success': 2,
    'aws-scheduled-maintenance SynchronizeMultiRegionKey success': 2,
    'terraform-routine CreateAlias failure': 1,
    'terraform-routine CreateAlias success': 1,
    'terraform-routine CreateKey success': 1,
    'terraform-routine EnableKeyRotation success': 1,
    'terraform-routine UpdateKeyDescription success': 1,
  });
  // Everything else in the trail's 60 catalog records (people, root, Terraform's own grants) stays unexpected.
  t.equal(unexpected + Object.values(expected).reduce((a, b) => a + b, 0), 60);
});

t.test('keys by id, ARN, alias and alias ARN; aliases learned or named by the record', async (t) => {
  const rules = parseExpectations(
    [
      'rules:',
      '  - name: by-alias',
      '    match: { keys: [alias/ci-*] }',
      '  - name: by-alias-arn',
      '    match: { keys: ["arn:aws:kms:eu-west-1:*:alias/payments-*"] }',
      '  - name: by-arn',
      '    match: { keys: ["arn:aws:kms:*:777788889999:key/*"] }',
      `  - name: by-id`,
      `    match: { keys: [${KEY_ID}] }`,
    ].join('\n'),
    'keys.yml',
  );
  const other = 'abcd1234-0000-1111-2222-333344445555';
  const learned =
    (table: Record<string, readonly string[]>): AliasesOf =>
    (keyId) =>
      table[keyId] ?? [];
  const cases: [string, Json, AliasesOf, string | undefined][] = [
    ['a key with a learned ci- alias', record({ keyId: other }), learned({ [other]: ['alias/prod-db', 'alias/ci-cache'] }), 'by-alias'],
    ['a key whose aliases are not ci-', record({ keyId: other }), learned({ [other]: ['alias/prod-db'] }), undefined],
    ['a CreateAlias naming alias/app-data falls through to the key id rule', fixture('CreateAlias'), learned({}), 'by-id'],
    ['…and a ci- alias being created', { ...fixture('CreateAlias'), requestParameters: { aliasName: 'alias/ci-new', targetKeyId: other } }, learned({}), 'by-alias'],
    ['an alias ARN in its Region', record({ keyId: other, awsRegion: 'eu-west-1' }), learned({ [other]: ['alias/payments-db'] }), 'by-alias-arn'],
    ['the same alias name in another Region', record({ keyId: other }), learned({ [other]: ['alias/payments-db'] }), undefined],
    ['a key ARN pattern by account', record({ keyId: other, recipientAccountId: '777788889999' }), learned({}), 'by-arn'],
    ['a key id', record(), learned({}), 'by-id'],
    ['a failing alias lookup is no alias, not a crash', record({ keyId: other }), () => { throw new Error('state store down'); }, undefined],
    ['an alias lookup returning junk', record({ keyId: other }), (() => [7, null, 'alias/ci-x']) as unknown as AliasesOf, 'by-alias'],
  ];
  for (const [name, input, aliasesOf, want] of cases) t.equal(matchExpectation(rules, changeOf(input), aliasesOf)?.rule, want, name);
});

t.test('the other fields, and the first matching rule wins', async (t) => {
  const rules = parseExpectations(
    [
      'rules:',
      '  - name: console-in-ireland',
      '    match: { console: true, regions: [eu-west-1] }',
      '  - name: root-anywhere',
      '    match: { principalTypes: [Root] }',
      '  - name: prod-account-cli',
      '    match: { accounts: [444455556666], userAgents: ["aws-cli/*"] }',
      '  - name: policy-category',
      '    match: { categories: [policy] }',
      '  - name: policy-by-name',
      '    match: { eventNames: [PutKeyPolicy] }',
    ].join('\n'),
    'fields.yml',
  );
  const root = { type: 'Root', principalId: '777788889999', arn: 'arn:aws:iam::777788889999:root', accountId: '777788889999' };
  const cases: [string, Json, string | undefined][] = [
    ['a console session in eu-west-1', record({ awsRegion: 'eu-west-1', sessionCredentialFromConsole: 'true' }), 'console-in-ireland'],
    ['a console session elsewhere', record({ sessionCredentialFromConsole: 'true' }), undefined],
    ['the root user (an earlier rule would also do, the first wins)', record({ userIdentity: root, awsRegion: 'eu-west-1', sessionCredentialFromConsole: 'true' }), 'console-in-ireland'],
    ['the root user, not from the console', record({ userIdentity: root }), 'root-anywhere'],
    ['the CLI in the prod account', record({ recipientAccountId: '444455556666', userAgent: 'aws-cli/2.22.4 md/awscrt#0.22.0 ua/2.0' }), 'prod-account-cli'],
    ['boto3 in the prod account', record({ recipientAccountId: '444455556666', userAgent: 'Boto3/1.35.60' }), undefined],
    ['no user agent at all', record({ recipientAccountId: '444455556666', userAgent: undefined }), undefined],
    ['a key policy change: category before name, in file order', { ...record(), eventName: 'PutKeyPolicy' }, 'policy-category'],
  ];
  for (const [name, input, want] of cases) t.equal(matchExpectation(rules, changeOf(input))?.rule, want, name);
  t.equal(matchExpectation(NO_EXPECTATIONS, changeOf(record())), undefined, 'no rules: nothing is expected');
});

// --- properties -------------------------------------------------------------

const MATCH_VALUES = {
  eventNames: ['TagResource', 'PutKeyPolicy', 'CreateGrant', 'RotateKey'],
  categories: ['tag', 'policy', 'grant', 'rotation'],
  principals: ['*', 'arn:aws:iam::444455556666:role/terraform-deployer', 'arn:aws:iam::*:role/ci/*', 'arn:aws:iam::111122223333:user/Alice', 'arn:aws:iam::444455556666:role/*', 'ec2.amazonaws.com',
    // The loader rejects session patterns; the matcher must not let one make the session name matter either.
    'arn:aws:sts::*:assumed-role/*/*a*'],
  principalTypes: ['AssumedRole', 'IAMUser', 'AWSService', 'Root'],
  invokedBy: ['*.amazonaws.com', 'ec2.amazonaws.com'],
  accounts: ['111122223333', '444455556666'],
  regions: ['us-east-1', 'eu-west-1'],
  sourceIps: ['198.51.100.0/24', '192.0.2.10', '2001:db8::/32', '0.0.0.0/0', '::/0'],
  userAgents: ['*Terraform*', 'aws-cli/*', 'AWS Internal'],
  keys: ['alias/ci-*', KEY_ID, 'arn:aws:kms:*:111122223333:key/*', 'arn:aws:kms:eu-west-1:*:alias/*'],
} as const;
type ListField = keyof typeof MATCH_VALUES;
const LIST_FIELDS = Object.keys(MATCH_VALUES) as ListField[];

const fieldValue = (field: ListField | 'console') =>
  field === 'console' ? fc.boolean() : fc.uniqueArray(fc.constantFrom(...MATCH_VALUES[field]), { minLength: 1, maxLength: 3 });

// Up to three fields, so that a fair share of random rules match a random change at all.
const arbMatch: fc.Arbitrary<ExpectationMatch> = fc
  .subarray<ListField | 'console'>([...LIST_FIELDS, 'console'], { minLength: 1, maxLength: 3 })
  .chain((fields) => fc.tuple(...fields.map((field) => fieldValue(field).map((value) => [field, value] as const))))
  .map((entries) => Object.fromEntries(entries) as ExpectationMatch);

const arbIdentity = fc.oneof(
  fc.constant<Json>({ type: 'IAMUser', principalId: 'AIDAEXAMPLE', arn: 'arn:aws:iam::111122223333:user/Alice', accountId: '111122223333', userName: 'Alice' }),
  fc.constant<Json>({ type: 'Root', principalId: '111122223333', arn: 'arn:aws:iam::111122223333:root', accountId: '111122223333' }),
  fc.constant<Json>(EC2_SERVICE),
  fc.record({ role: fc.constantFrom('terraform-deployer', 'terraform-prod', 'KeyAdmin'), path: fc.constantFrom('/', '/ci/'), issuer: fc.boolean(), via: fc.boolean() }).map(({ role, path, issuer, via }) => ({
    ...assumedRole('444455556666', role, 'session', { path, issuer }),
    ...(via ? { invokedBy: 'ec2.amazonaws.com' } : {}),
  })),
);

const arbRecord: fc.Arbitrary<Json> = fc
  .record({
    eventName: fc.constantFrom(...CATALOG.filter((entry) => entry.subject === 'key').map((entry) => entry.eventName)),
    recipientAccountId: fc.constantFrom('111122223333', '444455556666'),
    awsRegion: fc.constantFrom('us-east-1', 'eu-west-1'),
    userIdentity: arbIdentity,
    sourceIPAddress: fc.constantFrom('198.51.100.133', '192.0.2.10', '203.0.113.5', '2001:db8::1', '::ffff:198.51.100.7', 'ec2.amazonaws.com', 'AWS Internal'),
    userAgent: fc.constantFrom('APN/1.0 HashiCorp/1.0 Terraform/1.9.8', 'aws-cli/2.22.4', 'AWS Internal', 'ec2.amazonaws.com'),
    sessionCredentialFromConsole: fc.constantFrom('true', undefined),
    keyId: fc.constantFrom(KEY_ID, 'abcd1234-0000-1111-2222-333344445555'),
  })
  .map((fields) => record(fields));

const arbAliases = fc.uniqueArray(fc.constantFrom('alias/ci-build', 'alias/prod-db', 'alias/payments'), { maxLength: 2 });

function matches(match: ExpectationMatch, change: KmsChange, aliases: readonly string[]): boolean {
  return matchExpectation(compileRules([{ name: 'rule', match }]), change, () => aliases) !== undefined;
}

const arbExtra = fc.constantFrom<ListField | 'console'>(...LIST_FIELDS, 'console').chain((field) => fieldValue(field).map((value) => [field, value] as const));

t.test('a rule with an extra constraint never matches more', async (t) => {
  fc.assert(
    fc.property(arbMatch, arbExtra, arbRecord, arbAliases, (match, [field, extra], input, aliases) => {
      // The extra constraint adds the field, or narrows its values to those in both lists.
      const current = match[field];
      const narrowed = current === undefined ? extra : Array.isArray(current) && Array.isArray(extra) ? current.filter((value: string) => (extra as readonly string[]).includes(value)) : current;
      if (Array.isArray(narrowed) && narrowed.length === 0) return true;
      const change = changeOf(input);
      return !matches({ ...match, [field]: narrowed }, change, aliases) || matches(match, change, aliases);
    }),
    { numRuns: 500 },
  );
  t.pass('held for 500 random rules and changes');
});

t.test('an assumed role’s session name never changes which rule matches', async (t) => {
  // Real shapes (a person, a CI run, an instance) and anything AWS allows in a RoleSessionName.
  const sessionName = fc.oneof(fc.constantFrom('alice', 'bob', 'GitHubActions', 'i-0abc123def4567890', 'botocore-session-1732200000'), fc.stringMatching(/^[\w+=,.@-]{2,64}$/));
  fc.assert(
    fc.property(fc.array(arbMatch, { minLength: 1, maxLength: 4 }), arbRecord, sessionName, sessionName, fc.boolean(), arbAliases, (specs, input, first, second, issuer, aliases) => {
      const rules = compileRules(specs.map((match, index) => ({ name: `rule-${index}`, match })));
      const as = (session: string): KmsChange => changeOf({ ...input, userIdentity: assumedRole('444455556666', 'terraform-deployer', session, { path: '/ci/', issuer }) });
      return matchExpectation(rules, as(first), () => aliases)?.rule === matchExpectation(rules, as(second), () => aliases)?.rule;
    }),
    { numRuns: 300 },
  );
  t.pass('held for 300 random rule sets and session names');
});

t.test('matching never throws, whatever the record holds', async (t) => {
  const junk = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.boolean(), fc.dictionary(fc.string(), fc.string()), fc.array(fc.string()));
  fc.assert(
    fc.property(arbRecord, fc.dictionary(fc.constantFrom('userIdentity', 'sourceIPAddress', 'userAgent', 'sessionCredentialFromConsole', 'requestParameters', 'resources', 'awsRegion'), junk), (input, overrides) => {
      const result = classifyRecord({ ...input, ...overrides });
      if (result.kind !== 'change') return true;
      matchExpectation(EXAMPLE, result.change, () => ['alias/ci-x']);
      return true;
    }),
    { numRuns: 300 },
  );
  t.pass('no throw in 300 runs');
});
