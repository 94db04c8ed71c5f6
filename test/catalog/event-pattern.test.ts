// The EventBridge rule pattern selects exactly both catalogs' events, fits the size quota, and is judged by a documented-semantics matcher.
import t from 'tap';
import fc from 'fast-check';
import {
  API_CALL_DETAIL_TYPE, buildEventPattern, EVENT_PATTERN_MAX_LENGTH, EVENTBRIDGE_SOURCE, formatEventPattern, SERVICE_EVENT_DETAIL_TYPE,
} from '../../src/catalog/event-pattern.ts';
import { CATALOG, KMS_EVENT_SOURCE } from '../../src/catalog/kms-events.ts';
import { PIPELINE_CATALOG } from '../../src/catalog/pipeline-events.ts';
import { CLOUDTRAIL_DETAIL_TYPES } from '../../src/decode/eventbridge-event.ts';
import { compileEventPattern, EventPatternError } from '../support/event-pattern-matcher.ts';

const pattern = buildEventPattern();
const printed = formatEventPattern(pattern);
const matches = compileEventPattern(JSON.stringify(pattern));

/** An EventBridge event wrapping a CloudTrail record, as CloudTrail puts it on the default bus. */
function busEvent(eventSource: unknown, eventName: unknown, options: { detailType?: unknown; source?: unknown; detail?: Record<string, unknown> } = {}): Record<string, unknown> {
  const service = typeof eventSource === 'string' ? EVENTBRIDGE_SOURCE[eventSource] : undefined;
  return {
    version: '0',
    id: '6f87d04b-9f74-4f04-a780-7acf4b0a9b38',
    'detail-type': options.detailType ?? API_CALL_DETAIL_TYPE,
    source: options.source ?? service ?? 'aws.other',
    account: '111122223333',
    time: '2024-05-01T12:00:00Z',
    region: 'eu-west-1',
    resources: [],
    detail: {
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
      ...options.detail,
    },
  };
}

/** The one catalog event an (eventSource, eventName, detail-type) triple names, if any: the oracle. */
const EXPECTED = new Set([
  ...CATALOG.map((row) => `${row.eventSource} ${row.eventName} ${row.serviceEvent ? SERVICE_EVENT_DETAIL_TYPE : API_CALL_DETAIL_TYPE}`),
  ...PIPELINE_CATALOG.map((row) => `${row.eventSource} ${row.eventName} ${API_CALL_DETAIL_TYPE}`),
]);

t.test('the matcher follows the documented rules', async (t) => {
  const m = compileEventPattern('{"source":["aws.ec2"],"detail":{"state":["terminated","stopped"],"tags":["a"]}}');
  t.ok(m({ source: 'aws.ec2', detail: { state: 'stopped', tags: ['b', 'a'], other: 1 } }), 'any array value; event arrays intersect; other fields ignored');
  t.notOk(m({ source: 'aws.ec2', detail: { state: 'stopped' } }), 'a missing field never matches');
  t.notOk(m({ source: 'aws.ec2', detail: { state: 'Stopped', tags: 'a' } }), 'exact, case-sensitive');
  t.notOk(m({ source: 'aws.ec2', state: 'stopped', tags: 'a' }), 'same nesting required');
  t.notOk(m({ source: 'aws.ec2', detail: 'stopped' }), 'a string is not an object');
  t.notOk(compileEventPattern('{"flag":["true"]}')({ flag: true }), 'JSON types: "true" is not true');
  const or = compileEventPattern('{"$or":[{"a":["1"]},{"b":{"c":[{"prefix":"x"}]}}],"d":[{"anything-but":["no","nope"]}]}');
  t.ok(or({ a: '1', d: 'yes' }));
  t.ok(or({ b: { c: 'xyz' }, d: 'yes' }));
  t.notOk(or({ a: '2', b: { c: 'yx' }, d: 'yes' }), 'no branch');
  t.notOk(or({ a: '1', d: 'no' }), 'anything-but excludes');
  t.notOk(or({ a: '1' }), 'anything-but needs the field');
  for (const bad of ['[]', '{}', '{"a":"x"}', '{"a":[]}', '{"$or":[]}', '{"a":[{"numeric":[">",0]}]}', 'nope', `{"a":["${'x'.repeat(2048)}"]}`]) {
    t.throws(() => compileEventPattern(bad), EventPatternError, bad.slice(0, 40));
  }
});

t.test('the pattern is one branch per event source and detail type, stable and within the size quota', async (t) => {
  t.same(
    pattern.$or.map((branch) => [branch['detail-type'][0], branch.source[0], branch.detail.eventSource[0], branch.detail.eventName.length]),
    [
      [API_CALL_DETAIL_TYPE, 'aws.cloudtrail', 'cloudtrail.amazonaws.com', 4],
      [API_CALL_DETAIL_TYPE, 'aws.events', 'events.amazonaws.com', 4],
      [API_CALL_DETAIL_TYPE, 'aws.firehose', 'firehose.amazonaws.com', 2],
      [API_CALL_DETAIL_TYPE, 'aws.kms', KMS_EVENT_SOURCE, 27],
      [SERVICE_EVENT_DETAIL_TYPE, 'aws.kms', KMS_EVENT_SOURCE, 4],
      [API_CALL_DETAIL_TYPE, 'aws.logs', 'logs.amazonaws.com', 8],
    ],
  );
  t.same(pattern.$or[4]?.detail.eventName, ['DeleteExpiredKeyMaterial', 'DeleteKey', 'RotateKey', 'SynchronizeMultiRegionKey']);
  t.same([API_CALL_DETAIL_TYPE, SERVICE_EVENT_DETAIL_TYPE], CLOUDTRAIL_DETAIL_TYPES, 'the detail types the decoder accepts');
  const compact = JSON.stringify(pattern).length;
  t.equal(compact, 1729, 'the figure the README gives');
  t.ok(compact <= EVENT_PATTERN_MAX_LENGTH);
  t.ok(printed.length <= EVENT_PATTERN_MAX_LENGTH, `printed: ${printed.length} characters, usable as is`);
  t.same(JSON.parse(printed), pattern, 'the print is the pattern');
  t.equal(printed.split('\n').length, 4 + pattern.$or.length, 'one line per branch');
  t.doesNotThrow(() => compileEventPattern(printed), 'the matcher accepts the print as EventBridge would');
  t.same(buildEventPattern([...CATALOG].reverse(), [...PIPELINE_CATALOG].reverse()), pattern, 'independent of row order');
  t.same(buildEventPattern([...CATALOG, ...CATALOG], [...PIPELINE_CATALOG, ...PIPELINE_CATALOG]), pattern, 'duplicates collapse');
});

t.test('refuses a catalog it cannot express exactly', async (t) => {
  t.throws(() => buildEventPattern([], []), /the catalog is empty/);
  t.throws(() => buildEventPattern([{ eventSource: 'sqs.amazonaws.com', eventName: 'DeleteQueue' }], []), /no EventBridge source is known for "sqs.amazonaws.com"/);
  t.throws(() => buildEventPattern([{ eventSource: KMS_EVENT_SOURCE, eventName: 'Create Key' }], []), /is not a CloudTrail event name/);
  const many = Array.from({ length: 120 }, (_, i) => ({ eventSource: KMS_EVENT_SOURCE, eventName: `SomeFutureKmsOperation${i}` }));
  t.throws(() => buildEventPattern(many, []), /event pattern: \d+ characters for 120 catalog rows, but EventBridge allows at most 2048 by default/);
});

t.test('matches every catalog event on the bus, succeeded or failed', async (t) => {
  t.equal(CATALOG.length, 31);
  t.equal(PIPELINE_CATALOG.length, 18);
  for (const row of [...CATALOG, ...PIPELINE_CATALOG]) {
    const service = 'serviceEvent' in row && row.serviceEvent;
    const detailType = service ? SERVICE_EVENT_DETAIL_TYPE : API_CALL_DETAIL_TYPE;
    const detail = service ? { eventType: 'AwsServiceEvent', userIdentity: { accountId: '111122223333', invokedBy: 'kms.amazonaws.com' } } : {};
    t.ok(matches(busEvent(row.eventSource, row.eventName, { detailType, detail })), `${row.eventSource} ${row.eventName}`);
    t.ok(matches(busEvent(row.eventSource, row.eventName, { detailType, detail: { ...detail, errorCode: 'AccessDenied' } })), `${row.eventName} failed`);
  }
});

t.test('matches nothing else', async (t) => {
  const readOnly = ['Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'ReEncrypt', 'Sign', 'Verify', 'DescribeKey', 'ListKeys', 'ListAliases', 'ListGrants', 'GetKeyPolicy', 'GetKeyRotationStatus', 'GetPublicKey'];
  for (const name of readOnly) t.notOk(matches(busEvent(KMS_EVENT_SOURCE, name)), `kms ${name}`);

  // Same-named events of other services: the exactness a flat eventSource × eventName product would lose.
  const otherSources: [string, string, string][] = [
    ['logs.amazonaws.com', 'aws.logs', 'TagResource'], ['events.amazonaws.com', 'aws.events', 'TagResource'], ['events.amazonaws.com', 'aws.events', 'UntagResource'],
    ['firehose.amazonaws.com', 'aws.firehose', 'TagResource'], ['cloudtrail.amazonaws.com', 'aws.cloudtrail', 'CreateAlias'],
    ['sqs.amazonaws.com', 'aws.sqs', 'TagResource'], ['lambda.amazonaws.com', 'aws.lambda', 'CreateAlias'], ['license-manager.amazonaws.com', 'aws.license-manager', 'CreateGrant'],
    ['wafv2.amazonaws.com', 'aws.wafv2', 'DeleteRule'], ['elasticloadbalancing.amazonaws.com', 'aws.elasticloadbalancing', 'DeleteRule'], ['cloudhsm.amazonaws.com', 'aws.cloudhsm', 'DeleteKey'],
    [KMS_EVENT_SOURCE, 'aws.kms', 'DeleteRule'], [KMS_EVENT_SOURCE, 'aws.kms', 'StopLogging'], ['logs.amazonaws.com', 'aws.logs', 'CreateKey'],
    ['events.amazonaws.com', 'aws.events', 'DeleteLogGroup'], ['cloudtrail.amazonaws.com', 'aws.cloudtrail', 'UpdateDestination'],
  ];
  for (const [eventSource, source, name] of otherSources) t.notOk(matches(busEvent(eventSource, name, { source })), `${eventSource} ${name}`);

  // The pipeline services' other calls.
  const decoys: [string, string][] = [
    ['cloudtrail.amazonaws.com', 'StartLogging'], ['cloudtrail.amazonaws.com', 'CreateTrail'], ['logs.amazonaws.com', 'CreateLogGroup'], ['logs.amazonaws.com', 'FilterLogEvents'],
    ['logs.amazonaws.com', 'AssociateKmsKey'], ['firehose.amazonaws.com', 'PutRecordBatch'], ['events.amazonaws.com', 'EnableRule'], ['events.amazonaws.com', 'PutEvents'],
  ];
  for (const [eventSource, name] of decoys) t.notOk(matches(busEvent(eventSource, name)), `${eventSource} ${name}`);

  // Other detail types: sign-ins, console actions, Insights, KMS's own direct events, and the wrong CloudTrail type for the name.
  for (const detailType of ['AWS Console Signin via CloudTrail', 'AWS Console Action via CloudTrail', 'AWS Insight via CloudTrail', 'KMS CMK Deletion', 'aws api call via cloudtrail', 'AWS API Call via CloudTrail ']) {
    t.notOk(matches(busEvent(KMS_EVENT_SOURCE, 'DisableKey', { detailType })), `detail-type ${JSON.stringify(detailType)}`);
  }
  t.notOk(matches(busEvent(KMS_EVENT_SOURCE, 'DeleteKey')), 'a service event name as an API call');
  t.notOk(matches(busEvent(KMS_EVENT_SOURCE, 'DisableKey', { detailType: SERVICE_EVENT_DETAIL_TYPE })), 'an API call name as a service event');
  t.notOk(matches(busEvent('logs.amazonaws.com', 'DeleteLogGroup', { detailType: SERVICE_EVENT_DETAIL_TYPE })), 'a pipeline name as a service event');

  // A source that does not go with the eventSource (a custom event shaped like CloudTrail's), and odd shapes.
  t.notOk(matches(busEvent(KMS_EVENT_SOURCE, 'DisableKey', { source: 'com.example.app' })), 'custom source');
  t.notOk(matches(busEvent(KMS_EVENT_SOURCE, 'DisableKey', { source: 'aws.logs' })), 'another service\'s source');
  for (const name of ['disablekey', 'DisableKey ', 'DisableKeyX', '', null, 42, { name: 'DisableKey' }]) {
    t.notOk(matches(busEvent(KMS_EVENT_SOURCE, name)), `eventName ${JSON.stringify(name)}`);
  }
  t.ok(matches(busEvent(['kms.amazonaws.com'], 'DisableKey', { source: 'aws.kms' })), 'an array in the event intersects, as documented (CloudTrail never sends one)');
  const noDetail = busEvent(KMS_EVENT_SOURCE, 'DisableKey');
  delete noDetail['detail'];
  t.notOk(matches(noDetail), 'no detail');
  t.notOk(matches({ ...busEvent(KMS_EVENT_SOURCE, 'DisableKey'), detail: 'DisableKey' }), 'a detail that is not an object');
  t.notOk(matches(busEvent(KMS_EVENT_SOURCE, 'DisableKey').detail), 'a bare CloudTrail record is not a bus event');
});

t.test('property: matched iff the catalog names (eventSource, eventName) with that detail type', async (t) => {
  const names = [...new Set([...CATALOG, ...PIPELINE_CATALOG].map((row) => row.eventName))];
  const sources = Object.keys(EVENTBRIDGE_SOURCE);
  const eventName = fc.oneof(fc.constantFrom(...names), fc.constantFrom('Decrypt', 'ListKeys', 'CreateTags', 'PutTargets'), fc.constantFrom(...names).map((n) => n.toLowerCase()), fc.string());
  const eventSource = fc.oneof(fc.constantFrom(...sources), fc.constantFrom('sqs.amazonaws.com', 'wafv2.amazonaws.com', 'KMS.amazonaws.com'), fc.string());
  const detailType = fc.constantFrom(API_CALL_DETAIL_TYPE, SERVICE_EVENT_DETAIL_TYPE, 'AWS Console Signin via CloudTrail', 'AWS Insight via CloudTrail');
  const failed = fc.boolean();
  fc.assert(
    fc.property(eventSource, eventName, detailType, failed, (source, name, type, error) => {
      const event = busEvent(source, name, { detailType: type, detail: error ? { errorCode: 'AccessDenied' } : {} });
      return matches(event) === EXPECTED.has(`${source} ${name} ${type}`);
    }),
    { numRuns: 2000 },
  );
  t.pass('2000 runs');
});
