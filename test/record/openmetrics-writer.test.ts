// The OpenMetrics history writer on small histories: exact text, step boundaries, series starting mid-range, --to, refusals and backpressure.
import t from 'tap';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { HistoryRangeError } from '../../src/errors.ts';
import { CounterHistory } from '../../src/record/counter-history.ts';
import { historyEnd, MAX_STEPS, openMetricsChunks, writeChunks } from '../../src/record/openmetrics-writer.ts';

const MINUTE = 60_000;
/** 2023-11-14T22:20:00Z, a whole minute: 1700000400 s. */
const T0 = 1_700_000_400_000;
const text = (history: CounterHistory, until?: number) => [...openMetricsChunks(history, until)].join('');

t.test('golden: families grouped, each series dense and cumulative from the step of its first change (at 0) to the step after the last change', async (t) => {
  const history = new CounterHistory(MINUTE);
  const disable = { event_name: 'DisableKey', aws_region: 'us-east-1' };
  // Steps are [k·60s, (k+1)·60s): 59.999 s is still the first step, 60 s the second.
  history.add(T0 + 10_000, 'kms_config_changes_total', disable, 1);
  history.add(T0 + 59_999, 'kms_config_changes_total', disable, 1);
  history.add(T0 + 60_000, 'kms_config_changes_total', disable, 1);
  history.add(T0 + 3 * MINUTE + 5_000, 'kms_config_changes_total', disable, 1);
  // Counted first but written after the changes: families come in the exposition's order.
  history.add(T0 + 2 * MINUTE, 'kms_config_change_findings_total', { finding: 'key_policy_public' }, 1);
  // A label value is escaped as OpenMetrics wants it.
  history.add(T0 + 2 * MINUTE + 1, 'kms_config_change_failures_total', { error_code: 'a"b\\c\nd' }, 2);
  t.equal(
    text(history),
    [
      '# TYPE kms_config_changes counter',
      '# HELP kms_config_changes Successful AWS KMS configuration changes seen in CloudTrail.',
      'kms_config_changes_total{event_name="DisableKey",aws_region="us-east-1"} 0 1700000400',
      'kms_config_changes_total{event_name="DisableKey",aws_region="us-east-1"} 2 1700000460',
      'kms_config_changes_total{event_name="DisableKey",aws_region="us-east-1"} 3 1700000520',
      'kms_config_changes_total{event_name="DisableKey",aws_region="us-east-1"} 3 1700000580',
      'kms_config_changes_total{event_name="DisableKey",aws_region="us-east-1"} 4 1700000640',
      '# TYPE kms_config_change_failures counter',
      '# HELP kms_config_change_failures Failed attempts at AWS KMS configuration changes (CloudTrail records with an errorCode).',
      'kms_config_change_failures_total{error_code="a\\"b\\\\c\\nd"} 0 1700000520',
      'kms_config_change_failures_total{error_code="a\\"b\\\\c\\nd"} 2 1700000580',
      'kms_config_change_failures_total{error_code="a\\"b\\\\c\\nd"} 2 1700000640',
      '# TYPE kms_config_change_findings counter',
      '# HELP kms_config_change_findings Findings of KMS configuration changes (what a change does: a key policy opened, a grant to another account, a short deletion window...), once per change and finding, successful or failed.',
      'kms_config_change_findings_total{finding="key_policy_public"} 0 1700000520',
      'kms_config_change_findings_total{finding="key_policy_public"} 1 1700000580',
      'kms_config_change_findings_total{finding="key_policy_public"} 1 1700000640',
      '# EOF',
      '',
    ].join('\n'),
  );
});

t.test('a change exactly on a step boundary counts from the next sample on; changes added out of time order are written in time order', async (t) => {
  const history = new CounterHistory(3_600_000);
  const hour = 3_600_000;
  history.add(5 * hour + 1, 'kms_pipeline_changes_total', {}, 1);
  history.add(2 * hour, 'kms_pipeline_changes_total', {}, 1);
  history.add(2 * hour - 1, 'kms_pipeline_changes_total', {}, 1);
  t.equal(
    text(history),
    [
      '# TYPE kms_pipeline_changes counter',
      `# HELP kms_pipeline_changes ${'Successful changes of the delivery pipeline itself (CloudTrail trails and event selectors, CloudWatch Logs groups and subscriptions, Firehose streams, EventBridge rules); blinding says whether the change stops or narrows the delivery of KMS events.'}`,
      'kms_pipeline_changes_total 0 3600',
      'kms_pipeline_changes_total 1 7200',
      'kms_pipeline_changes_total 2 10800',
      'kms_pipeline_changes_total 2 14400',
      'kms_pipeline_changes_total 2 18000',
      'kms_pipeline_changes_total 3 21600',
      '# EOF',
      '',
    ].join('\n'),
  );
});

t.test('--to: every series runs to the end of its day when that is later than the last change; an earlier end changes nothing', async (t) => {
  const history = new CounterHistory(MINUTE);
  history.add(T0, 'kms_config_changes_total', { event_name: 'CreateKey' }, 1);
  t.equal(historyEnd(history), T0 / MINUTE + 1);
  t.equal(historyEnd(history, T0 + 3 * MINUTE), T0 / MINUTE + 3);
  t.equal(historyEnd(history, T0 - 3 * MINUTE), T0 / MINUTE + 1);
  t.same(
    text(history, T0 + 2 * MINUTE + 1).split('\n').filter((line) => !line.startsWith('#')),
    ['kms_config_changes_total{event_name="CreateKey"} 0 1700000400', 'kms_config_changes_total{event_name="CreateKey"} 1 1700000460', 'kms_config_changes_total{event_name="CreateKey"} 1 1700000520', 'kms_config_changes_total{event_name="CreateKey"} 1 1700000580', ''],
  );
});

t.test('nothing counted: only # EOF (promtool accepts it and makes no block)', async (t) => {
  t.equal(text(new CounterHistory(MINUTE)), '# EOF\n');
  t.equal(historyEnd(new CounterHistory(MINUTE), T0), undefined);
});

t.test('a range longer than MAX_STEPS is refused before anything is written, naming the span and --step', async (t) => {
  const history = new CounterHistory(MINUTE);
  history.add(0, 'kms_config_changes_total', {}, 1);
  history.add((MAX_STEPS - 2) * MINUTE, 'kms_config_changes_total', {}, 1);
  t.equal(historyEnd(history), MAX_STEPS - 1, 'the last step that fits');
  history.add((MAX_STEPS - 1) * MINUTE, 'kms_config_changes_total', {}, 1);
  const chunks = openMetricsChunks(history);
  t.throws(() => chunks.next(), new HistoryRangeError('the changes and --to span 1970-01-01T00:00:00.000Z to 1973-10-20T21:20:00.000Z: 2000001 steps of 60s, more than the 2000000 a series may have; give a larger --step (or look for changes whose eventTime is far from the others)'));
});

t.test('a step that is not whole seconds is refused (OpenMetrics timestamps here are whole seconds)', async (t) => {
  t.throws(() => new CounterHistory(1500), RangeError);
  t.throws(() => new CounterHistory(0), RangeError);
});

t.test('large output comes in chunks of about 64 KiB, and writeChunks waits for a slow stream to drain, losing and reordering nothing', async (t) => {
  const history = new CounterHistory(1000);
  for (let i = 0; i < 20; i++) history.add(T0 + i * 1000, 'kms_config_changes_total', { event_name: `E${i}` }, 1);
  history.add(T0 + 5_000 * 1000, 'kms_config_changes_total', { event_name: 'E0' }, 1);
  const chunks = [...openMetricsChunks(history)];
  t.ok(chunks.length > 10, `${chunks.length} chunks`);
  t.same(chunks.slice(0, -1).filter((chunk) => chunk.length < 64 * 1024 || chunk.length > 64 * 1024 + 200).map((chunk) => chunk.length), [], 'every chunk but the last is 64 KiB and at most a line more');
  const received: string[] = [];
  let waits = 0;
  const slow = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _encoding, done) {
      received.push(chunk.toString());
      void sleep(1).then(() => done());
    },
  });
  slow.on('drain', () => waits++);
  await writeChunks(openMetricsChunks(history), slow);
  t.equal(received.join(''), chunks.join(''));
  t.equal(waits, chunks.length, 'every chunk over the high-water mark waited for a drain');
});

t.test('writeChunks rejects with the stream\'s error (a closed pipe) instead of writing on', async (t) => {
  const broken = new Writable({
    highWaterMark: 1,
    write(_chunk, _encoding, done) {
      done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    },
  });
  broken.on('error', () => {});
  await t.rejects(writeChunks(['a', 'b', 'c'], broken), { code: 'EPIPE' });
});
