// The built filter pattern fits AWS's limits and selects both catalogs' events (the KMS ones exactly), judged by a documented-semantics matcher.
import t from 'tap';
import fc from 'fast-check';
import { buildFilterPattern, FILTER_PATTERN_MAX_LENGTH } from '../../src/catalog/filter-pattern.ts';
import { CATALOG, CATALOG_EVENT_NAMES, KMS_EVENT_SOURCE, lookup } from '../../src/catalog/kms-events.ts';
import type { CatalogEntry } from '../../src/catalog/kms-events.ts';
import { PIPELINE_CATALOG, PIPELINE_EVENT_NAMES } from '../../src/catalog/pipeline-events.ts';
import { compileFilterPattern, FilterPatternError } from '../support/filter-pattern-matcher.ts';

const pattern = buildFilterPattern();
const selects = compileFilterPattern(pattern);

/** A minimal CloudTrail record as CloudTrail writes it to CloudWatch Logs: one JSON object per event. */
function record(eventSource: unknown, eventName: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    eventVersion: '1.08',
    userIdentity: { type: 'AssumedRole', arn: 'arn:aws:sts::111122223333:assumed-role/ops/alice' },
    eventTime: '2024-05-01T12:00:00Z',
    eventSource,
    eventName,
    awsRegion: 'eu-west-1',
    requestParameters: { keyId: '1234abcd-12ab-34cd-56ef-1234567890ab' },
    responseElements: null,
    eventID: '3f6d1c2e-0000-4000-8000-000000000000',
    eventType: 'AwsApiCall',
    recipientAccountId: '111122223333',
    ...extra,
  });
}

function entry(eventSource: string, eventName: string): CatalogEntry {
  return { eventSource, eventName, category: 'tag', risk: 'low', subject: 'key', serviceEvent: false, phrase: 'did {key}' };
}

const regexTerms = (p: string): string[] => p.match(/%[^%]*%/g) ?? [];

t.test('the pattern fits AWS limits and guards on the event source', async (t) => {
  t.ok(pattern.length <= FILTER_PATTERN_MAX_LENGTH, `${pattern.length} characters`);
  t.ok(regexTerms(pattern).length <= 2);
  for (const term of regexTerms(pattern)) t.notMatch(term, /[()]/, 'no parentheses inside a regex');
  t.match(pattern, /^\{ \$\.eventSource = "kms\.amazonaws\.com" && /);
  t.doesNotThrow(() => compileFilterPattern(pattern), 'the matcher accepts it as AWS would');
});

t.test('the pattern is the documented one, and independent of row order', async (t) => {
  const names = [...CATALOG_EVENT_NAMES].sort().map((name) => `^${name}$`);
  const pipelineNames = [...PIPELINE_EVENT_NAMES].sort().map((name) => `^${name}$`);
  t.equal(pattern, `{ $.eventSource = "kms.amazonaws.com" && $.eventName = %${names.join('|')}% || $.eventSource != "kms.amazonaws.com" && $.eventName = %${pipelineNames.join('|')}% }`);
  t.equal(pattern.length, 1020, 'the figure the README gives');
  t.equal(buildFilterPattern([...CATALOG].reverse(), [...PIPELINE_CATALOG].reverse()), pattern);
  t.equal(buildFilterPattern([...CATALOG, ...CATALOG], [...PIPELINE_CATALOG, ...PIPELINE_CATALOG]), pattern, 'duplicate rows collapse');
  t.equal(buildFilterPattern(CATALOG, []), `{ $.eventSource = "kms.amazonaws.com" && $.eventName = %${names.join('|')}% }`, 'the KMS catalog alone');
});

t.test('selects every catalog event, succeeded or failed', async (t) => {
  t.equal(CATALOG.length, 31);
  for (const { eventSource, eventName, serviceEvent } of CATALOG) {
    const extra = serviceEvent ? { eventType: 'AwsServiceEvent', userIdentity: { accountId: '111122223333', invokedBy: 'kms.amazonaws.com' } } : {};
    t.ok(selects(record(eventSource, eventName, extra)), `${eventName} succeeded`);
    t.ok(selects(record(eventSource, eventName, { ...extra, errorCode: 'AccessDenied', errorMessage: 'not authorized' })), `${eventName} failed`);
  }
  t.equal(PIPELINE_CATALOG.length, 18);
  for (const { eventSource, eventName } of PIPELINE_CATALOG) {
    t.ok(selects(record(eventSource, eventName)), `${eventSource} ${eventName} succeeded`);
    t.ok(selects(record(eventSource, eventName, { errorCode: 'AccessDenied', errorMessage: 'not authorized' })), `${eventSource} ${eventName} failed`);
  }
  t.ok(selects(JSON.stringify({ eventSource: KMS_EVENT_SOURCE, eventName: 'RetireGrant' })), 'a bare two-field record');
  t.ok(selects(JSON.stringify({ eventSource: KMS_EVENT_SOURCE, eventName: 'DisableKey' }, null, 2)), 'pretty-printed JSON');
});

t.test('rejects everything else', async (t) => {
  const readOnly = [
    'Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'ReEncrypt', 'Sign', 'Verify',
    'DescribeKey', 'ListKeys', 'ListAliases', 'ListGrants', 'GetKeyPolicy', 'GetKeyRotationStatus', 'GetPublicKey',
  ];
  for (const name of readOnly) t.notOk(selects(record(KMS_EVENT_SOURCE, name)), `kms ${name}`);

  const otherServices: [string, string][] = [
    ['ec2.amazonaws.com', 'CreateTags'], ['ec2.amazonaws.com', 'TagResource'], ['sqs.amazonaws.com', 'TagResource'],
    ['ds.amazonaws.com', 'CreateAlias'], ['lambda.amazonaws.com', 'CreateAlias'], ['license-manager.amazonaws.com', 'CreateGrant'],
    ['ec2.amazonaws.com', 'CreateKeyPair'], ['ec2.amazonaws.com', 'DeleteKeyPair'], ['cloudhsm.amazonaws.com', 'DeleteKey'],
    ['KMS.amazonaws.com', 'CreateKey'], ['kms.amazonaws.com.evil', 'CreateKey'], ['xkms.amazonaws.com', 'CreateKey'], ['', 'CreateKey'],
  ];
  for (const [source, name] of otherServices) t.notOk(selects(record(source, name)), `${source} ${name}`);

  // The pipeline services' other calls, read-only and otherwise, and KMS records named like pipeline events.
  const pipelineDecoys: [string, string][] = [
    ['cloudtrail.amazonaws.com', 'StartLogging'], ['cloudtrail.amazonaws.com', 'CreateTrail'], ['cloudtrail.amazonaws.com', 'GetEventSelectors'],
    ['cloudtrail.amazonaws.com', 'DescribeTrails'], ['cloudtrail.amazonaws.com', 'LookupEvents'], ['cloudtrail.amazonaws.com', 'PutInsightSelectors'],
    ['logs.amazonaws.com', 'CreateLogGroup'], ['logs.amazonaws.com', 'CreateLogStream'], ['logs.amazonaws.com', 'DescribeSubscriptionFilters'],
    ['logs.amazonaws.com', 'FilterLogEvents'], ['logs.amazonaws.com', 'StartLiveTail'], ['logs.amazonaws.com', 'AssociateKmsKey'],
    ['logs.amazonaws.com', 'DeleteRetentionPolicy'], ['logs.amazonaws.com', 'TagResource'], ['logs.amazonaws.com', 'PutDestination'],
    ['firehose.amazonaws.com', 'CreateDeliveryStream'], ['firehose.amazonaws.com', 'PutRecordBatch'], ['firehose.amazonaws.com', 'StopDeliveryStreamEncryption'],
    ['events.amazonaws.com', 'EnableRule'], ['events.amazonaws.com', 'PutTargets'], ['events.amazonaws.com', 'PutEvents'], ['events.amazonaws.com', 'TagResource'],
    [KMS_EVENT_SOURCE, 'DeleteTrail'], [KMS_EVENT_SOURCE, 'PutRule'], [KMS_EVENT_SOURCE, 'StopLogging'],
  ];
  for (const [source, name] of pipelineDecoys) t.notOk(selects(record(source, name)), `${source} ${name}`);
  for (const name of ['StopLoggingX', 'XDeleteRule', 'putrule', 'DeleteLogGroups', 'PutRuleDeleteRule', 'UpdateTrail ', 'DeleteLog']) {
    t.notOk(selects(record('events.amazonaws.com', name)), `events ${JSON.stringify(name)}`);
  }
  // The documented over-selection: another service's event with a pipeline event's name passes the server-side filter (the classifier ignores it).
  t.ok(selects(record('elasticloadbalancing.amazonaws.com', 'DeleteRule')), 'ELB DeleteRule is admitted, by design');

  const nearMisses = [
    'CreateKeyPair', 'DisableKeyRotationX', 'XCreateKey', 'PutKeyPolicyVersion', 'createkey', 'CREATEKEY', 'disableKey',
    'CreateKey ', ' CreateKey', 'CreateKey|DisableKey', '^CreateKey$', 'CreateKey*', '', 'Key', 'RotateKeyOn',
  ];
  for (const name of nearMisses) t.notOk(selects(record(KMS_EVENT_SOURCE, name)), `kms ${JSON.stringify(name)}`);

  const oddShapes = [
    record(KMS_EVENT_SOURCE, ['CreateKey']), record(KMS_EVENT_SOURCE, { name: 'CreateKey' }), record(KMS_EVENT_SOURCE, null),
    record(KMS_EVENT_SOURCE, 42), record(['kms.amazonaws.com'], 'CreateKey'), JSON.stringify({ eventSource: KMS_EVENT_SOURCE }),
    JSON.stringify({ eventName: 'CreateKey' }), JSON.stringify({ detail: { eventSource: KMS_EVENT_SOURCE, eventName: 'CreateKey' } }),
  ];
  for (const message of oddShapes) t.notOk(selects(message), message);

  const notJson = [
    'kms.amazonaws.com CreateKey', '', 'null', '[{"eventSource":"kms.amazonaws.com","eventName":"CreateKey"}]', '"CreateKey"',
    '2024-05-01T12:00:00Z {"eventSource":"kms.amazonaws.com","eventName":"CreateKey"}', '{"eventSource":"kms.amazonaws.com","eventName":"CreateKey"',
  ];
  for (const message of notJson) t.notOk(selects(message), `not a JSON object: ${JSON.stringify(message)}`);
});

t.test('property: selected iff the catalog knows (eventSource, eventName)', async (t) => {
  const catalogName = fc.constantFrom(...CATALOG_EVENT_NAMES, ...PIPELINE_EVENT_NAMES);
  const recase = fc.tuple(catalogName, fc.nat()).map(([name, seed]) =>
    [...name].map((char, i) => ((seed >> i % 30) & 1 ? char.toLowerCase() : char.toUpperCase())).join(''),
  );
  const eventName = fc.oneof(
    catalogName,
    fc.tuple(fc.string({ maxLength: 4 }), catalogName, fc.string({ maxLength: 4 })).map(([before, name, after]) => before + name + after),
    fc.tuple(catalogName, catalogName).map(([a, b]) => a + b),
    catalogName.map((name) => name.slice(0, -1)),
    recase,
    fc.constantFrom('Decrypt', 'GenerateDataKey', 'DescribeKey', 'CreateTags', 'CreateKeyPair'),
    fc.string(),
    fc.string({ unit: 'grapheme' }),
  );
  const eventSource = fc.oneof(
    fc.constant(KMS_EVENT_SOURCE),
    fc.constantFrom(...new Set(PIPELINE_CATALOG.map((e) => e.eventSource))),
    fc.constantFrom('ec2.amazonaws.com', 'sqs.amazonaws.com', 'kms.amazonaws.co', 'KMS.amazonaws.com', 'kms.amazonaws.com '),
    fc.string(),
  );
  t.doesNotThrow(() => fc.assert(
    fc.property(eventSource, eventName, fc.boolean(), (source, name, failed) => {
      const message = record(source, name, failed ? { errorCode: 'AccessDenied' } : {});
      // The documented over-selection, and only it: a pipeline event's name from a source other than KMS.
      const expected = lookup(source, name) !== undefined || (typeof source === 'string' && source !== KMS_EVENT_SOURCE && typeof name === 'string' && PIPELINE_EVENT_NAMES.has(name));
      return selects(message) === expected;
    }),
    { numRuns: 5000 },
  ), '5000 random records agree with lookup() and the pipeline clause');
});

t.test('buildFilterPattern refuses catalogs AWS would refuse', async (t) => {
  const long = Array.from({ length: 200 }, (_, i) => entry(KMS_EVENT_SOURCE, `SomeVeryLongHypotheticalKmsConfigurationEvent${i}`));
  t.throws(() => buildFilterPattern(long, []), /characters .* at most 1024/);

  // Just under and just over the cap, so the check is on the final string, not an estimate.
  const names = (count: number, width: number): CatalogEntry[] =>
    Array.from({ length: count }, (_, i) => entry(KMS_EVENT_SOURCE, `E${String(i).padStart(width - 1, '0')}`));
  const fixed = '{ $.eventSource = "kms.amazonaws.com" && $.eventName = %% }'.length;
  const perName = (width: number): number => width + 3;
  const count = Math.floor((FILTER_PATTERN_MAX_LENGTH - fixed + 1) / perName(10));
  const fits = buildFilterPattern(names(count, 10), []);
  t.ok(fits.length <= FILTER_PATTERN_MAX_LENGTH && fits.length > FILTER_PATTERN_MAX_LENGTH - perName(10), `${fits.length} characters fit`);
  t.throws(() => buildFilterPattern(names(count + 1, 10), []), /at most 1024/);

  const threeSources = ['a', 'b', 'c'].flatMap((s) => [entry(`${s}.amazonaws.com`, 'One'), entry(`${s}.amazonaws.com`, 'Two')]);
  t.throws(() => buildFilterPattern(threeSources, []), /3 regex terms/);

  t.throws(() => buildFilterPattern([entry(KMS_EVENT_SOURCE, 'Create(Key)')], []), /alphanumeric/);
  t.throws(() => buildFilterPattern([entry(KMS_EVENT_SOURCE, 'Create.*')], []), /alphanumeric/);
  t.throws(() => buildFilterPattern([entry('kms"', 'CreateKey')], []), /event source/);
  t.throws(() => buildFilterPattern([], []), /empty/);
  t.throws(() => buildFilterPattern(CATALOG, [entry('logs.amazonaws.com', 'Delete(LogGroup)')]), /alphanumeric/, 'pipeline names are checked too');
  t.throws(() => buildFilterPattern(CATALOG, [entry(KMS_EVENT_SOURCE, 'DisableLogging')]), /pipeline event DisableLogging comes from kms.amazonaws.com, a source of the change catalog/);
  t.throws(() => buildFilterPattern([...CATALOG, entry('iam.amazonaws.com', 'CreateUser'), entry('iam.amazonaws.com', 'DeleteUser')]), /and the pipeline catalog need 3 regex terms/);
  t.throws(() => buildFilterPattern([...CATALOG, entry('kms.amazonaws.com', 'SomeNewKmsEvent')]), /1038 characters .* at most 1024/, 'the next KMS row does not fit as is');
});

t.test('a second event source gets its own clause, still exact', async (t) => {
  const catalog = [...CATALOG, entry('s3.amazonaws.com', 'PutBucketPolicy'), entry('iam.amazonaws.com', 'CreateUser'), entry('iam.amazonaws.com', 'DeleteUser')];
  const built = buildFilterPattern(catalog, []);
  t.equal(regexTerms(built).length, 2, 'the single-name source uses equality, not a third regex');
  const matcher = compileFilterPattern(built);
  t.ok(matcher(record('s3.amazonaws.com', 'PutBucketPolicy')));
  t.ok(matcher(record('iam.amazonaws.com', 'DeleteUser')));
  t.ok(matcher(record(KMS_EVENT_SOURCE, 'CreateKey')));
  t.notOk(matcher(record('s3.amazonaws.com', 'CreateKey')));
  t.notOk(matcher(record('iam.amazonaws.com', 'PutBucketPolicy')));
  t.notOk(matcher(record(KMS_EVENT_SOURCE, 'DeleteUser')));
});

t.test('matcher: refuses what AWS refuses', async (t) => {
  const rejects = (p: string, why: RegExp, name: string): void => {
    t.throws(() => compileFilterPattern(p), { name: 'FilterPatternError', message: why }, name);
  };
  const padded = (length: number): string => `{ $.a = "${'x'.repeat(length - 12)}" }`;
  t.equal(padded(1024).length, 1024);
  t.doesNotThrow(() => compileFilterPattern(padded(1024)), '1024 characters is allowed');
  rejects(padded(1025), /1025 characters; the maximum is 1024/, '1025 characters');
  rejects('%a%' + ' '.repeat(1022), /maximum is 1024/, 'an over-long standalone regex');

  t.doesNotThrow(() => compileFilterPattern('{ $.a = %x% && $.b = %y% }'), 'two regex terms');
  rejects('{ $.a = %x% && $.b = %y% && $.c = %z% }', /3 regex terms/, 'three regex terms');
  rejects('{ $.a = %^(x|y)$% }', /parentheses are not supported/, 'a parenthesised group');
  rejects('{ $.a = %x\\(% }', /parentheses are not supported/, 'an escaped parenthesis');
  t.doesNotThrow(() => compileFilterPattern('{ $.a = %x\\x28% }'), '\\x28 is the documented way to match "("');
  rejects('%something!%', /"!" is not supported/, 'the documented %something!% example');
  rejects('{ $.a = %é% }', /multi-byte/, 'a multi-byte character');
  rejects('{ $.a = %x\\b% }', /escape \\b/, 'an undocumented escape');
  rejects('{ $.a = "x"', /must end with '}'/, 'an unclosed brace');
  rejects('{ $.a EXISTS }', /EXISTS is not supported/, 'EXISTS (documented as unsupported)');
  rejects('{ $.a IS NOT NULL }', /IS NOT is not supported/, 'IS NOT (documented as unsupported)');
  rejects('{ $.a[*].b[*] = 1 }', /only 1 wildcard/, 'two wildcards in one selector');
  rejects('{ $.a[*] = 1 || $.b[*] = 1 || $.c[*] = 1 || $.d[*] = 1 }', /4 wildcard selectors/, 'four wildcard selectors');
  rejects('{ $.a > "x" }', /needs a number/, 'a relational operator on a string');
  rejects('{ ($.a = 1 }', /missing "\)"/, 'an unbalanced parenthesis');
  rejects('{ }', /empty JSON filter pattern/, 'an empty JSON pattern');
  rejects('{ $ = 1 }', /at least one property/, 'a bare $');
  rejects('ERROR ARGUMENTS', /not implemented/, 'term patterns are outside this matcher');
  t.ok(new FilterPatternError('x') instanceof Error);
});

t.test('matcher: empty pattern, non-JSON messages', async (t) => {
  for (const empty of ['', '   ']) {
    const all = compileFilterPattern(empty);
    t.ok(all('anything at all') && all('{"a":1}') && all(''), `${JSON.stringify(empty)} matches everything`);
  }
  const json = compileFilterPattern('{ $.a = 1 }');
  t.ok(json('{"a":1}'));
  t.notOk(json('a=1'));
  t.notOk(json('[{"a":1}]'), 'a JSON array is not a JSON object');
});

// The sample events and patterns are AWS's, from "Using filter patterns to match terms in JSON log
// events" and "Filter pattern syntax for metric filters, subscription filters, filter log events, and Live Tail".
t.test("matcher: AWS's JSON examples", async (t) => {
  const sample = JSON.stringify({
    eventType: 'UpdateTrail',
    sourceIPAddress: '111.111.111.111',
    arrayKey: ['value', 'another value'],
    objectList: [{ name: 'a', id: 1 }, { name: 'b', id: 2 }],
    SomeObject: null,
    'cluster.name': 'c',
  });
  const expectations: [string, boolean][] = [
    ['{ $.eventType = "UpdateTrail" }', true],
    ['{ $.sourceIPAddress != 123.123.* }', true],
    ['{ $.arrayKey[0] = "value" }', true],
    ['{ $.eventType = %Trail% }', true],
    ['{ $.arrayKey[*] = %val.{2}% }', true],
    ['{ $.* = %111\\.111\\.111\\.1[0-9]{1,2}% }', true],
    ['{ $.[\'cluster.name\'] = "c" }', true],
    ['{ $.SomeObject IS NULL }', true],
    ['{ $.SomeOtherObject NOT EXISTS }', true],
    // Counterparts that must not match.
    ['{ $.eventType = "Update" }', false],
    ['{ $.sourceIPAddress != 111.111.* }', false],
    ['{ $.arrayKey[1] = "value" }', false],
    ['{ $.arrayKey = "value" }', false],
    ['{ $.eventType = %^Trail% }', false],
    ['{ $.SomeObject NOT EXISTS }', false],
    ['{ $.eventType IS NULL }', false],
    ['{ $.objectList[1].id = 2 }', true],
    ['{ $.objectList[*].name = "b" }', true],
  ];
  for (const [p, expected] of expectations) t.equal(compileFilterPattern(p)(sample), expected, p);

  const users = JSON.stringify({
    user: { id: 1, email: 'John.Stiles@example.com' },
    users: [{ id: 2, email: 'John.Doe@example.com' }, { id: 3, email: 'Jane.Doe@example.com' }],
    actions: ['GET', 'PUT', 'DELETE'],
    coordinates: [[0, 1, 2], [4, 5, 6], [7, 8, 9]],
  });
  const compound: [string, boolean][] = [
    ['{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', true],
    ['{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch" && $.actions[2] = "nonmatch" }', true],
    ['{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch") && $.actions[2] = "nonmatch" }', false],
    ['{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', false],
  ];
  for (const [p, expected] of compound) t.equal(compileFilterPattern(p)(users), expected, p);

  const numbers = JSON.stringify({ bandwidth: 80, latency: 20, refreshRate: 60, responseTime: 5, errorCode: 400, number: [1000, 0.001] });
  for (const p of [
    '{ $.bandwidth > 75 }', '{ $.latency < 50 }', '{ $.refreshRate >= 60 }', '{ $.responseTime <= 5 }',
    '{ $.errorCode = 400}', '{ $.errorCode != 500 }', '{ $.number[0] = 1e+3 }', '{ $.number[1] = 1e-3 }', '{ $.errorCode = 4* }',
  ]) {
    t.ok(compileFilterPattern(p)(numbers), p);
  }
  t.notOk(compileFilterPattern('{ $.bandwidth > 80 }')(numbers));
  t.notOk(compileFilterPattern('{ $.missing != 500 }')(numbers), 'a missing property fails != too');
});

// CloudTrail metric filters from the CIS AWS Foundations Benchmark (AWS Security Hub CloudWatch.1, .2 and .7):
// quoted wildcards, unquoted dotted values and NOT EXISTS in real use.
t.test('matcher: CIS benchmark filters on CloudTrail records', async (t) => {
  const unauthorized = compileFilterPattern('{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }');
  t.ok(unauthorized(record('ec2.amazonaws.com', 'RunInstances', { errorCode: 'Client.UnauthorizedOperation' })));
  t.ok(unauthorized(record('kms.amazonaws.com', 'DisableKey', { errorCode: 'AccessDeniedException' })));
  t.notOk(unauthorized(record('kms.amazonaws.com', 'DisableKey', { errorCode: 'NotFoundException' })));
  t.notOk(unauthorized(record('kms.amazonaws.com', 'DisableKey')));

  const cmk = compileFilterPattern('{ ($.eventSource = kms.amazonaws.com) && (($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }');
  t.ok(cmk(record(KMS_EVENT_SOURCE, 'ScheduleKeyDeletion')));
  t.notOk(cmk(record(KMS_EVENT_SOURCE, 'EnableKey')));
  t.notOk(cmk(record('ec2.amazonaws.com', 'DisableKey')));

  const root = compileFilterPattern('{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }');
  t.ok(root(record('iam.amazonaws.com', 'CreateUser', { userIdentity: { type: 'Root' } })));
  t.notOk(root(record('iam.amazonaws.com', 'CreateUser', { userIdentity: { type: 'Root', invokedBy: 'support.amazonaws.com' } })));
  t.notOk(root(record('iam.amazonaws.com', 'CreateUser', { userIdentity: { type: 'Root' }, eventType: 'AwsServiceEvent' })));
  t.ok(compileFilterPattern('{ $.resources[0].ARN = "arn:aws:kms:*" }')(record(KMS_EVENT_SOURCE, 'DisableKey', { resources: [{ ARN: 'arn:aws:kms:eu-west-1:111122223333:key/1' }] })));
});

// Examples from "Supported regular expressions (regex) syntax", as standalone patterns over the whole message.
t.test("matcher: AWS's regex examples", async (t) => {
  const cases: [string, string[], string[]][] = [
    ['%AUTHORIZED%', ['[ERROR 401] UNAUTHORIZED REQUEST', '[SUCCESS 200] AUTHORIZED REQUEST'], ['[ERROR 400] BAD REQUEST']],
    ['%^[hc]at%', ['hat', 'cat food'], ['that', 'bat']],
    ['%[hc]at$%', ['hat', 'a cat'], ['cats']],
    ['%colou?r%', ['color', 'colour'], ['colouur']],
    ['%[abcx-z]%', ['a', 'y'], ['d', 'w']],
    ['%a{3,5}%', ['aaa', 'aaaa', 'aaaaa'], ['aa', 'a a a']],
    ['%^a{,2}$%', ['', 'a', 'aa'], ['aaa']],
    ['%^a{2,}$%', ['aa', 'aaaa'], ['a']],
    ['%^starting|^initializing|^shutting down%', ['starting ...', 'initializing ...', 'shutting down'], ['skipping initializing ...']],
    ['%\\[.\\]%', ['[a]', '[b]', '[7]', '[@]', '[]]', '[ ]'], ['[]', 'a']],
    ['%10\\.10\\.0\\.1%', ['10.10.0.1'], ['10010,051']],
    ['%10.10.0.1%', ['10.10.0.1', '10010,051'], ['10.10.0']],
    ['%ab*c%', ['ac', 'abc', 'abbbc'], ['ab']],
    ['%ab[0-9]*%', ['ab', 'ab0', 'ab129'], ['a b']],
    ['%ab+c%', ['abc', 'abbc', 'abbbc'], ['ac']],
    ['%.at%', ['hat', 'cat', 'bat', '4at', '#at', ' at'], ['at']],
    ['%^\\d$%', ['7'], ['x']],
    ['%^\\D$%', ['x'], ['7']],
    ['%^\\s$%', [' ', '\t', '\n'], ['x']],
    ['%^\\w+$%', ['a_Z9'], ['a-b']],
    ['%\\W%', ['a-b'], ['a_Z9']],
    ['%\\x3A%', ['a:b'], ['ab']],
    ['%\\x28%', ['f(x)'], ['fx']],
  ];
  for (const [p, yes, no] of cases) {
    const matcher = compileFilterPattern(p);
    for (const message of yes) t.ok(matcher(message), `${p} matches ${JSON.stringify(message)}`);
    for (const message of no) t.notOk(matcher(message), `${p} does not match ${JSON.stringify(message)}`);
  }
});
