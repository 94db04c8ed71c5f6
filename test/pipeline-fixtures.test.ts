// Real published records of the pipeline's own events (Stratus Red Team detonations, Panther's tests), replayed: exact counters and log events, KMS counting untouched.
import t from 'tap';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { runReplay } from '../src/service.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures/cloudtrail-pipeline');
const KMS_FIXTURES = join(import.meta.dirname, 'fixtures/cloudtrail');

interface Expected {
  readonly event_name: string;
  readonly event_source: string;
  readonly category: string;
  readonly blinding: string;
  readonly outcome: 'success' | 'failure';
  readonly error_code?: string;
  readonly aws_account_id: string;
  readonly aws_region: string;
  readonly principal_type: string;
  readonly trail: string;
}

const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Record<string, Expected>;
const files = readdirSync(FIXTURES).filter((name) => name.endsWith('.json') && name !== 'expected.json').sort();
const fixture = (dir: string, name: string): unknown => JSON.parse(readFileSync(join(dir, name), 'utf8'));

interface LogLine {
  readonly eventName?: string;
  readonly body: string;
  readonly severityText: string;
  readonly attributes: Record<string, unknown>;
}

async function replay(records: readonly unknown[], settings: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-fixtures-'));
  const trail = join(dir, 'trail.json');
  // A CloudTrail S3 log file: the shape the trail itself writes.
  writeFileSync(trail, JSON.stringify({ Records: records }));
  const logsPath = join(dir, 'logs.jsonl');
  const logsFd = openSync(logsPath, 'w');
  const result = await runReplay([trail], loadConfig(settings), { env: {}, log: pino({ level: 'silent' }), logsFd, stdin: Readable.from([]) });
  closeSync(logsFd);
  const text = readFileSync(logsPath, 'utf8').trim();
  const logs = text === '' ? [] : text.split('\n').map((line) => JSON.parse(line) as LogLine);
  return { exposition: result.exposition, errors: result.errors, logs };
}

function samples(exposition: string, metric: string): string[] {
  return exposition.split('\n').filter((line) => line.startsWith(`${metric}{`));
}

function series(e: Expected): string {
  const labels = `event_name="${e.event_name}",event_source="${e.event_source}",category="${e.category}",blinding="${e.blinding}",aws_account_id="${e.aws_account_id}",aws_region="${e.aws_region}",principal_type="${e.principal_type}"`;
  return e.outcome === 'failure' ? `kms_pipeline_change_failures_total{${labels},error_code="${e.error_code ?? ''}"} 1` : `kms_pipeline_changes_total{${labels}} 1`;
}

t.test('every fixture has its human expectation, and nothing else is there', async (t) => {
  t.same(files, Object.keys(expected).sort());
});

t.test('replaying the real records counts each exactly, with blinding right; duplicates and read-only calls are not counted', async (t) => {
  const records = [...files.map((name) => fixture(FIXTURES, name)), fixture(FIXTURES, 'StopLogging.json'), fixture(join(FIXTURES, 'negative'), 'GetEventSelectors.json')];
  const { exposition, errors, logs } = await replay(records);
  t.same(errors, []);
  const values = Object.values(expected);
  t.same(samples(exposition, 'kms_pipeline_changes_total').sort(), values.filter((e) => e.outcome === 'success').map(series).sort());
  t.same(samples(exposition, 'kms_pipeline_change_failures_total').sort(), values.filter((e) => e.outcome === 'failure').map(series).sort());
  t.same(samples(exposition, 'kms_config_changes_total'), [], 'no KMS change counted');
  t.same(samples(exposition, 'kms_exporter_records_total').filter((line) => !line.endsWith(' 0')), [
    'kms_exporter_records_total{source="replay",result="matched"} 5',
    'kms_exporter_records_total{source="replay",result="ignored"} 1',
    'kms_exporter_records_total{source="replay",result="duplicate"} 1',
  ]);
  t.equal(logs.length, 5, 'one log event per counted change');
  for (const log of logs) t.equal(log.eventName ?? log.attributes['event.name'], 'aws.cloudtrail.pipeline_change');
  t.same(
    logs.map((log) => [log.severityText, log.body]),
    [
      ['ERROR', 'arn:aws:iam::438465128930:user/soclabs-test deleted trail stratus-red-team-cloudtraild-trail-noupmcidtl; blinds the exporter'],
      ['ERROR', 'arn:aws:iam::438465128930:user/soclabs-test changed the event selectors of trail stratus-red-team-ctes-trail-yuffsbtkgj; blinds the exporter (no event selector includes write management events from kms.amazonaws.com)'],
      ['WARN', 'arn:aws:sts::111122223333:assumed-role/SampleRole/leroy.jenkins changed the event selectors of trail sample-cloudtrail-name; weakens the pipeline'],
      ['WARN', 'arn:aws:sts::123456789012:assumed-role/tester failed (InvalidTrailNameException): stopped logging of trail arn:aws:cloudtrail:us-west-2:123456789012:trail/example-trail; an attempt to blind the exporter'],
      ['ERROR', 'arn:aws:iam::438465128930:user/soclabs-test stopped logging of trail stratus-red-team-ct-stop-trail-sxtxvrkmru; blinds the exporter'],
    ],
    'bodies, in replay order (the files sorted by name)',
  );
  const selectors = logs.find((log) => log.attributes['aws.cloudtrail.event_id'] === '122d5564-548a-4cc0-a597-1ac5263dcef8');
  t.same(selectors?.attributes, {
    'cloud.provider': 'aws',
    'cloud.account.id': '438465128930',
    'cloud.region': 'ap-southeast-2',
    'aws.cloudtrail.event_id': '122d5564-548a-4cc0-a597-1ac5263dcef8',
    'aws.cloudtrail.event_name': 'PutEventSelectors',
    'aws.cloudtrail.event_source': 'cloudtrail.amazonaws.com',
    'aws.cloudtrail.event_time': '2025-05-30T09:39:37.000Z',
    'aws.request_id': '63f6e40c-f9d7-4253-abad-e0db6f9482b8',
    'aws.pipeline.change.category': 'event_selectors',
    'aws.pipeline.change.blinding': 'blinds',
    'aws.pipeline.change.blinding_reason': 'no event selector includes write management events from kms.amazonaws.com',
    'aws.pipeline.change.outcome': 'success',
    'aws.cloudtrail.trail.name': 'stratus-red-team-ctes-trail-yuffsbtkgj',
    'aws.cloudtrail.event_selectors.after': '[{"dataResources":[{"type":"AWS::S3::Object","values":[]},{"type":"AWS::Lambda::Function","values":[]}],"excludeManagementEventSources":[],"includeManagementEvents":false,"readWriteType":"ReadOnly"}]',
    'user.id': 'arn:aws:iam::438465128930:user/soclabs-test',
    'aws.principal.type': 'IAMUser',
    'aws.principal.arn': 'arn:aws:iam::438465128930:user/soclabs-test',
    'client.address': '43.249.50.236',
    'user_agent.original': 'stratus-red-team_4c51dc9f-d719-4e13-b1cc-109d7bc7077d',
    'alert.severity': 'critical',
  });
});

t.test('KMS counting is unchanged when pipeline records share the stream', async (t) => {
  const kms = ['ScheduleKeyDeletion.json', 'DisableKey.json', 'CreateGrant.AccessDenied.json'].map((name) => fixture(KMS_FIXTURES, name));
  const alone = await replay(kms);
  const mixed = await replay([...kms, ...files.map((name) => fixture(FIXTURES, name))]);
  for (const metric of ['kms_config_changes_total', 'kms_config_change_failures_total', 'kms_config_change_findings_total', 'kms_key_pending_deletion_timestamp_seconds', 'kms_exporter_last_event_timestamp_seconds']) {
    t.same(samples(mixed.exposition, metric), samples(alone.exposition, metric), metric);
  }
  t.equal(mixed.logs.filter((log) => (log.eventName ?? log.attributes['event.name']) === 'aws.kms.config_change').length, 3);
});

t.test('a change on the exporter\'s own log group says so', async (t) => {
  const record = {
    ...(fixture(FIXTURES, 'StopLogging.json') as Record<string, unknown>),
    eventID: 'own-path-1',
    eventSource: 'logs.amazonaws.com',
    eventName: 'DeleteSubscriptionFilter',
    requestParameters: { logGroupName: 'aws-cloudtrail-logs-438465128930', filterName: 'kms-changes' },
  };
  const { exposition, logs } = await replay([record], { logGroup: 'aws-cloudtrail-logs-438465128930' });
  t.same(samples(exposition, 'kms_pipeline_changes_total'), [
    'kms_pipeline_changes_total{event_name="DeleteSubscriptionFilter",event_source="logs.amazonaws.com",category="subscription_filter",blinding="blinds",aws_account_id="438465128930",aws_region="ap-southeast-2",principal_type="IAMUser"} 1',
  ]);
  t.equal(logs[0]?.body, 'arn:aws:iam::438465128930:user/soclabs-test deleted subscription filter kms-changes of log group aws-cloudtrail-logs-438465128930; blinds the exporter, on its own path');
  t.match(logs[0]?.attributes, { 'aws.pipeline.change.own_path': true, 'aws.log.group.names': ['aws-cloudtrail-logs-438465128930'], 'aws.logs.subscription_filter.name': 'kms-changes' });
});
