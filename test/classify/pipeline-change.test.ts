// Pipeline changes: the catalog's rows, what blinds (selectors, PutRule state), what is named, the own path, and totality.
import t from 'tap';
import fc from 'fast-check';
import { classifyPipelineRecord } from '../../src/classify/pipeline-change.ts';
import type { PipelineChange } from '../../src/classify/pipeline-change.ts';
import { PIPELINE_CATALOG, lookupPipeline } from '../../src/catalog/pipeline-events.ts';

const OWN = { logGroups: ['aws-cloudtrail-logs-111122223333'], deliveryStreams: ['kms-changes'], rules: ['arn:aws:events:eu-west-1:111122223333:rule/kms-changes'] };

function record(eventSource: string, eventName: string, requestParameters: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventVersion: '1.09',
    userIdentity: { type: 'AssumedRole', arn: 'arn:aws:sts::111122223333:assumed-role/ops/alice' },
    eventTime: '2024-05-01T12:00:00Z',
    eventSource,
    eventName,
    awsRegion: 'eu-west-1',
    sourceIPAddress: '198.51.100.7',
    requestParameters,
    responseElements: null,
    eventID: '3f6d1c2e-0000-4000-8000-000000000000',
    eventType: 'AwsApiCall',
    recipientAccountId: '111122223333',
    ...extra,
  };
}

function change(value: unknown): PipelineChange {
  const result = classifyPipelineRecord(value, OWN);
  if (result.kind !== 'pipeline_change') throw new Error(`expected a pipeline change, got ${JSON.stringify(result)}`);
  return result.change;
}

const selectors = (request: unknown): [string, string | undefined] => {
  const c = change(record('cloudtrail.amazonaws.com', 'PutEventSelectors', { trailName: 'main', ...(request as object) }));
  return [c.blinding, c.blindingReason];
};

t.test('the table: 18 rows, unique, each with a source and a default blinding', async (t) => {
  t.equal(PIPELINE_CATALOG.length, 18);
  t.same(
    PIPELINE_CATALOG.map((e) => `${e.eventSource} ${e.eventName} ${e.category} ${e.blinding}`),
    [
      'cloudtrail.amazonaws.com StopLogging trail blinds',
      'cloudtrail.amazonaws.com DeleteTrail trail blinds',
      'cloudtrail.amazonaws.com UpdateTrail trail weakens',
      'cloudtrail.amazonaws.com PutEventSelectors event_selectors weakens',
      'logs.amazonaws.com DeleteSubscriptionFilter subscription_filter blinds',
      'logs.amazonaws.com PutSubscriptionFilter subscription_filter weakens',
      'logs.amazonaws.com DeleteLogGroup log_group blinds',
      'logs.amazonaws.com DeleteLogStream log_stream weakens',
      'logs.amazonaws.com PutRetentionPolicy retention weakens',
      'logs.amazonaws.com PutAccountPolicy account_policy weakens',
      'logs.amazonaws.com DeleteAccountPolicy account_policy blinds',
      'logs.amazonaws.com DisassociateKmsKey log_encryption weakens',
      'firehose.amazonaws.com DeleteDeliveryStream delivery_stream blinds',
      'firehose.amazonaws.com UpdateDestination delivery_stream weakens',
      'events.amazonaws.com DisableRule event_rule blinds',
      'events.amazonaws.com DeleteRule event_rule blinds',
      'events.amazonaws.com RemoveTargets event_rule blinds',
      'events.amazonaws.com PutRule event_rule weakens',
    ],
  );
  t.equal(lookupPipeline('waf.amazonaws.com', 'DeleteRule'), undefined, 'the event source is part of the key');
  t.equal(lookupPipeline('elasticloadbalancing.amazonaws.com', 'DeleteRule'), undefined);
});

t.test('basic event selectors: blinds when no selector delivers KMS write management events', async (t) => {
  t.same(selectors({ eventSelectors: [{ readWriteType: 'All', includeManagementEvents: true, dataResources: [] }] }), ['weakens', undefined]);
  t.same(selectors({ eventSelectors: [{ readWriteType: 'WriteOnly', includeManagementEvents: true }] }), ['weakens', undefined]);
  const reason = 'no event selector includes write management events from kms.amazonaws.com';
  t.same(selectors({ eventSelectors: [{ readWriteType: 'All', includeManagementEvents: false, dataResources: [{ type: 'AWS::S3::Object', values: ['arn:aws:s3'] }] }] }), ['blinds', reason], 'management events off');
  t.same(selectors({ eventSelectors: [{ readWriteType: 'All', includeManagementEvents: true, excludeManagementEventSources: ['kms.amazonaws.com'] }] }), ['blinds', reason], 'KMS excluded');
  t.same(selectors({ eventSelectors: [{ readWriteType: 'ReadOnly', includeManagementEvents: true }] }), ['blinds', reason], 'reads only');
  t.same(selectors({ eventSelectors: [] }), ['blinds', reason], 'no selector at all');
  t.same(selectors({ eventSelectors: [{ includeManagementEvents: false }, { readWriteType: 'All', excludeManagementEventSources: ['rdsdata.amazonaws.com'] }] }), ['weakens', undefined], 'one selector still delivers');
});

t.test('advanced event selectors: blinds when KMS or write management events are excluded', async (t) => {
  const management = { field: 'eventCategory', equals: ['Management'] };
  const reason = 'no advanced event selector admits write management events from kms.amazonaws.com';
  t.same(selectors({ advancedEventSelectors: [{ name: 'mgmt', fieldSelectors: [management] }] }), ['weakens', undefined]);
  t.same(selectors({ advancedEventSelectors: [{ name: 'no-kms', fieldSelectors: [management, { field: 'eventSource', notEquals: ['kms.amazonaws.com'] }] }] }), ['blinds', reason]);
  t.same(selectors({ advancedEventSelectors: [{ fieldSelectors: [management, { field: 'eventSource', notEquals: ['kms.amazonaws.com', 'rdsdata.amazonaws.com'] }] }] }), ['blinds', reason]);
  t.same(selectors({ advancedEventSelectors: [{ fieldSelectors: [management, { field: 'readOnly', equals: ['true'] }] }] }), ['blinds', reason], 'reads only');
  t.same(selectors({ advancedEventSelectors: [{ fieldSelectors: [management, { field: 'readOnly', equals: ['false'] }] }] }), ['weakens', undefined], 'writes only');
  t.same(selectors({ advancedEventSelectors: [{ fieldSelectors: [management, { field: 'eventSource', equals: ['s3.amazonaws.com'] }] }] }), ['blinds', reason], 'only another source');
  t.same(selectors({ advancedEventSelectors: [{ fieldSelectors: [{ field: 'eventCategory', equals: ['Data'] }, { field: 'resources.type', equals: ['AWS::S3::Object'] }] }] }), ['blinds', reason], 'data events only');
  t.same(selectors({ advancedEventSelectors: [{ fieldSelectors: [{ field: 'eventCategory', equals: ['Data'] }] }, { fieldSelectors: [management] }] }), ['weakens', undefined], 'data plus management');
  t.same(selectors({ advancedEventSelectors: [] }), ['blinds', reason]);
  t.same(selectors({}), ['weakens', undefined], 'a record without selectors: cannot tell, not blinding');
  const c = change(record('cloudtrail.amazonaws.com', 'PutEventSelectors', { trailName: 'main', advancedEventSelectors: [{ fieldSelectors: [management] }] }));
  t.equal(c.target.selectorsAfter, '[{"fieldSelectors":[{"field":"eventCategory","equals":["Management"]}]}]');
  t.equal(c.target.trail, 'main');
});

t.test('PutRule blinds only when DISABLED; UpdateTrail blinds when it drops CloudWatch Logs', async (t) => {
  const put = (state: string | undefined) => change(record('events.amazonaws.com', 'PutRule', { name: 'kms-changes', state, eventPattern: '{}' }));
  t.equal(put('DISABLED').blinding, 'blinds');
  t.equal(put('ENABLED').blinding, 'weakens');
  t.equal(put(undefined).blinding, 'weakens');
  t.equal(put('DISABLED').ownPath, true, 'a bare rule name matches the configured rule ARN');
  const update = (request: unknown) => change(record('cloudtrail.amazonaws.com', 'UpdateTrail', request)).blinding;
  t.equal(update({ name: 'main', cloudWatchLogsLogGroupArn: '', cloudWatchLogsRoleArn: '' }), 'blinds');
  t.equal(update({ name: 'main', isMultiRegionTrail: true }), 'weakens');
});

t.test('names what changed, and whether it is the exporter\'s own path', async (t) => {
  const del = change(record('logs.amazonaws.com', 'DeleteSubscriptionFilter', { logGroupName: 'aws-cloudtrail-logs-111122223333', filterName: 'kms' }));
  t.match(del, { blinding: 'blinds', ownPath: true, target: { logGroup: 'aws-cloudtrail-logs-111122223333', filterName: 'kms' }, outcome: 'success', accountId: '111122223333', region: 'eu-west-1' });
  t.equal(change(record('logs.amazonaws.com', 'DeleteLogGroup', { logGroupName: 'app-logs' })).ownPath, false);
  t.equal(change(record('cloudtrail.amazonaws.com', 'StopLogging', { name: 'arn:aws:cloudtrail:eu-west-1:111122223333:trail/main' })).ownPath, undefined, 'a trail is not compared');
  t.equal(change(record('cloudtrail.amazonaws.com', 'StopLogging', { name: 'arn:aws:cloudtrail:eu-west-1:111122223333:trail/main' })).target.trail, 'arn:aws:cloudtrail:eu-west-1:111122223333:trail/main');
  t.equal(change(record('firehose.amazonaws.com', 'DeleteDeliveryStream', { deliveryStreamName: 'kms-changes' })).ownPath, true);
  t.equal(change(record('events.amazonaws.com', 'RemoveTargets', { rule: 'other', ids: ['1'] })).target.rule, 'other');
  t.equal(change(record('logs.amazonaws.com', 'PutRetentionPolicy', { logGroupName: 'aws-cloudtrail-logs-111122223333', retentionInDays: 1 })).target.retentionInDays, 1);
  const failed = change(record('cloudtrail.amazonaws.com', 'DeleteTrail', { name: 'main' }, { errorCode: 'AccessDenied', errorMessage: 'no' }));
  t.match(failed, { outcome: 'failure', errorCode: 'AccessDenied', blinding: 'blinds' });
});

t.test('account policies count only of the subscription-filter type', async (t) => {
  t.equal(classifyPipelineRecord(record('logs.amazonaws.com', 'PutAccountPolicy', { policyName: 'p', policyType: 'DATA_PROTECTION_POLICY' })).kind, 'ignored');
  t.equal(classifyPipelineRecord(record('logs.amazonaws.com', 'DeleteAccountPolicy', { policyName: 'p' })).kind, 'ignored');
  t.match(change(record('logs.amazonaws.com', 'DeleteAccountPolicy', { policyName: 'fwd', policyType: 'SUBSCRIPTION_FILTER_POLICY' })), { blinding: 'blinds', target: { policyName: 'fwd' } });
});

t.test('never throws; out-of-catalog is ignored, a broken envelope is invalid', async (t) => {
  t.equal(classifyPipelineRecord(record('kms.amazonaws.com', 'DisableKey', {})).kind, 'ignored');
  t.equal(classifyPipelineRecord(record('waf.amazonaws.com', 'DeleteRule', {})).kind, 'ignored');
  t.same(classifyPipelineRecord(record('cloudtrail.amazonaws.com', 'StopLogging', {}, { eventTime: 'yesterday' })), { kind: 'invalid', reason: 'wrong_type', detail: 'StopLogging: eventTime is missing or not a timestamp' });
  t.doesNotThrow(() => fc.assert(fc.property(fc.constantFrom(...PIPELINE_CATALOG), fc.anything(), fc.anything(), ({ eventSource, eventName }, request, response) => {
    const result = classifyPipelineRecord({ ...record(eventSource, eventName, request), responseElements: response, requestParameters: request }, OWN);
    return ['pipeline_change', 'ignored', 'invalid'].includes(result.kind);
  }), { numRuns: 2000 }));
  for (const value of [null, 1, 'x', [], {}]) t.equal(classifyPipelineRecord(value).kind, 'ignored');
});
