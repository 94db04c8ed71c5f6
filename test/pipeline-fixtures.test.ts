// Real published records of the pipeline's own events (AWS user guides, Stratus Red Team detonations, Panther's tests), replayed one by one and together: exact counters and log events, KMS counting untouched.
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
  // What the record names; each absent when the record names none (the log event must then carry none either).
  readonly trail?: string;
  readonly log_group?: string;
  readonly filter_name?: string;
  readonly destination_arn?: string;
  readonly delivery_stream?: string;
  readonly rule?: string;
  readonly rule_state?: string;
  /** The log event's body, as a human would write the sentence from the record. */
  readonly body: string;
}

const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Record<string, Expected>;
const jsonFiles = (dir: string): string[] => readdirSync(dir).filter((name) => name.endsWith('.json') && name !== 'expected.json').sort();
const files = jsonFiles(FIXTURES);
const negatives = jsonFiles(join(FIXTURES, 'negative'));
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

/** The sample a fixture's change adds to, without its value. */
function series(e: Expected): string {
  const labels = `event_name="${e.event_name}",event_source="${e.event_source}",category="${e.category}",blinding="${e.blinding}",aws_account_id="${e.aws_account_id}",aws_region="${e.aws_region}",principal_type="${e.principal_type}"`;
  return e.outcome === 'failure' ? `kms_pipeline_change_failures_total{${labels},error_code="${e.error_code ?? ''}"}` : `kms_pipeline_changes_total{${labels}}`;
}

/** Each series with how many of the changes add to it. */
function tally(changes: readonly Expected[], outcome: Expected['outcome']): string[] {
  const counts = new Map<string, number>();
  for (const e of changes.filter((c) => c.outcome === outcome)) counts.set(series(e), (counts.get(series(e)) ?? 0) + 1);
  return [...counts].map(([line, count]) => `${line} ${count}`).sort();
}

/** The log event's attributes that say what the change named. */
const NAMED: Readonly<Record<string, (e: Expected) => unknown>> = {
  'aws.cloudtrail.trail.name': (e) => e.trail,
  'aws.log.group.names': (e) => (e.log_group === undefined ? undefined : [e.log_group]),
  'aws.logs.subscription_filter.name': (e) => e.filter_name,
  'aws.logs.subscription_filter.destination_arn': (e) => e.destination_arn,
  'aws.firehose.delivery_stream.name': (e) => e.delivery_stream,
  'aws.events.rule.name': (e) => e.rule,
  'aws.events.rule.state': (e) => e.rule_state,
};

const pick = (attributes: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> =>
  Object.fromEntries(keys.filter((key) => attributes[key] !== undefined).map((key) => [key, attributes[key]]));

t.test('every fixture has its human expectation, and nothing else is there', async (t) => {
  t.same(files, Object.keys(expected).sort());
});

t.test('every fixture has its own CloudTrail eventID, so replaying them together counts each once', async (t) => {
  const ids = [...files.map((name) => fixture(FIXTURES, name)), ...negatives.map((name) => fixture(join(FIXTURES, 'negative'), name))].map((record) => (record as Record<string, unknown>)['eventID']);
  t.equal(new Set(ids).size, ids.length, JSON.stringify(ids));
});

for (const name of files) {
  t.test(`${name}: counted once, in its series, with blinding right; its log event names what the record names`, async (t) => {
    const e = expected[name]!;
    const { exposition, errors, logs } = await replay([fixture(FIXTURES, name)]);
    t.same(errors, []);
    t.same(samples(exposition, 'kms_pipeline_changes_total').filter((line) => !line.endsWith(' 0')), tally([e], 'success'));
    t.same(samples(exposition, 'kms_pipeline_change_failures_total').filter((line) => !line.endsWith(' 0')), tally([e], 'failure'));
    t.same(samples(exposition, 'kms_config_changes_total'), [], 'no KMS change counted');
    t.same(samples(exposition, 'kms_exporter_records_total').filter((line) => !line.endsWith(' 0')), ['kms_exporter_records_total{source="replay",result="matched"} 1']);
    t.equal(logs.length, 1, 'one log event');
    t.equal(logs[0]?.eventName ?? logs[0]?.attributes['event.name'], 'aws.cloudtrail.pipeline_change');
    t.equal(logs[0]?.body, e.body);
    t.match(logs[0]?.attributes, { 'aws.pipeline.change.category': e.category, 'aws.pipeline.change.blinding': e.blinding, 'aws.pipeline.change.outcome': e.outcome });
    const named = Object.keys(NAMED);
    t.same(pick(logs[0]?.attributes ?? {}, named), pick(Object.fromEntries(named.map((key) => [key, NAMED[key]!(e)])), named), 'what the change names, and nothing more');
  });
}

for (const name of negatives) {
  t.test(`negative/${name}: outside the pipeline catalog, ignored`, async (t) => {
    const { exposition, errors, logs } = await replay([fixture(join(FIXTURES, 'negative'), name)]);
    t.same(errors, []);
    t.same(samples(exposition, 'kms_exporter_records_total').filter((line) => !line.endsWith(' 0')), ['kms_exporter_records_total{source="replay",result="ignored"} 1']);
    t.same(logs, []);
  });
}

t.test('replaying all the real records together counts each exactly; duplicates and records outside the catalog are not counted', async (t) => {
  const records = [...files.map((name) => fixture(FIXTURES, name)), fixture(FIXTURES, 'StopLogging.json'), ...negatives.map((name) => fixture(join(FIXTURES, 'negative'), name))];
  const { exposition, errors, logs } = await replay(records);
  t.same(errors, []);
  const values = files.map((name) => expected[name]!);
  t.same(samples(exposition, 'kms_pipeline_changes_total').filter((line) => !line.endsWith(' 0')), tally(values, 'success'));
  t.same(samples(exposition, 'kms_pipeline_change_failures_total').filter((line) => !line.endsWith(' 0')), tally(values, 'failure'));
  t.same(samples(exposition, 'kms_config_changes_total'), [], 'no KMS change counted');
  t.same(samples(exposition, 'kms_exporter_records_total').filter((line) => !line.endsWith(' 0')), [
    `kms_exporter_records_total{source="replay",result="matched"} ${files.length}`,
    `kms_exporter_records_total{source="replay",result="ignored"} ${negatives.length}`,
    'kms_exporter_records_total{source="replay",result="duplicate"} 1',
  ]);
  t.same(
    logs.map((log) => [log.severityText, log.body]),
    values.map((e) => [e.blinding === 'blinds' && e.outcome === 'success' ? 'ERROR' : 'WARN', e.body]),
    'one log event per counted change, in replay order (the files sorted by name); a successful blinding change is an ERROR',
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
