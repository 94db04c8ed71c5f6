// CloudTrail records wrapped in EventBridge events count exactly as the bare records do, whatever the file holds; other detail types are ignored.
import t from 'tap';
import fc from 'fast-check';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { unwrapEventBridgeEvent } from '../src/decode/eventbridge-event.ts';
import { runReplay } from '../src/service.ts';
import { eventBridgeEvent } from './support/eventbridge-event.ts';

const KMS = join(import.meta.dirname, 'fixtures/cloudtrail');
const PIPELINE = join(import.meta.dirname, 'fixtures/cloudtrail-pipeline');
const published = (dir: string): Record<string, unknown>[] =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.json') && name !== 'expected.json')
    .sort()
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as Record<string, unknown>);
const RECORDS = [...published(KMS), ...published(PIPELINE)];

/** The envelope CloudTrail puts on the default bus, as the shared test helper builds it. */
const onTheBus = (record: Record<string, unknown>, detailType?: string): Record<string, unknown> => eventBridgeEvent(record, detailType === undefined ? {} : { detailType });

async function replay(lines: readonly unknown[]): Promise<{ readonly exposition: string; readonly counted: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'eventbridge-events-'));
  const file = join(dir, 'events.jsonl');
  writeFileSync(file, lines.map((line) => JSON.stringify(line)).join('\n'));
  const { exposition } = await runReplay([file], loadConfig({}), { env: {}, log: pino({ level: 'silent' }), stdin: Readable.from([]) });
  // Every non-zero sample of what the records did (counters and gauges), the build and process lines aside.
  const counted = exposition.split('\n').filter((line) => /^kms_(config|pipeline|exporter_records|exporter_invalid|key_)/.test(line) && !line.endsWith(' 0'));
  return { exposition, counted };
}

t.test('every published record counts the same on the bus as bare: same counters, findings, key state', async (t) => {
  const bare = await replay(RECORDS);
  const wrapped = await replay(RECORDS.map((record) => onTheBus(record)));
  t.ok(bare.counted.some((line) => line.startsWith('kms_config_changes_total{')), 'KMS changes were counted');
  t.ok(bare.counted.some((line) => line.startsWith('kms_pipeline_changes_total{')), 'pipeline changes were counted');
  t.same(wrapped.counted, bare.counted);
});

t.test('the same change bare and on the bus is counted once (CloudTrail eventID)', async (t) => {
  const record = RECORDS.find((r) => r['eventName'] === 'DisableKey' && r['errorCode'] === undefined)!;
  const { counted } = await replay([record, onTheBus(record)]);
  t.same(
    counted.filter((line) => line.startsWith('kms_exporter_records_total')),
    ['kms_exporter_records_total{source="replay",result="matched"} 1', 'kms_exporter_records_total{source="replay",result="duplicate"} 1'],
  );
});

t.test('sign-ins, Insights and other services events are ignored; a detail that is not an object is a bad envelope', async (t) => {
  const record = RECORDS.find((r) => r['eventName'] === 'DisableKey')!;
  const { counted } = await replay([
    onTheBus(record, 'AWS Console Signin via CloudTrail'),
    onTheBus(record, 'AWS Insight via CloudTrail'),
    { ...onTheBus(record), 'detail-type': 'KMS CMK Rotation', source: 'aws.kms', detail: { 'key-id': '1234abcd' } },
    { ...onTheBus(record), detail: 'DisableKey' },
    { ...onTheBus(record), 'detail-type': 7 },
  ]);
  t.same(counted, [
    'kms_exporter_records_total{source="replay",result="ignored"} 3',
    'kms_exporter_records_total{source="replay",result="invalid"} 2',
    'kms_exporter_invalid_records_total{source="replay",reason="bad_envelope"} 2',
  ]);
});

t.test('unwrapping is total: any value gives a verdict, a CloudTrail detail type gives its detail back', async (t) => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.constantFrom('AWS API Call via CloudTrail', 'AWS Service Event via CloudTrail', 'Other'), (detail, detailType) => {
      const verdict = unwrapEventBridgeEvent({ 'detail-type': detailType, detail });
      const isObject = typeof detail === 'object' && detail !== null && !Array.isArray(detail);
      if (detailType === 'Other') return verdict.kind === 'other_detail_type';
      return isObject ? verdict.kind === 'cloudtrail' && verdict.record === detail : verdict.kind === 'invalid';
    }),
  );
  fc.assert(fc.property(fc.jsonValue(), (value) => ['not_eventbridge', 'cloudtrail', 'other_detail_type', 'invalid'].includes(unwrapEventBridgeEvent(value).kind)));
  t.equal(unwrapEventBridgeEvent({ eventName: 'DisableKey' }).kind, 'not_eventbridge', 'a CloudTrail record is never taken for an envelope');
});
