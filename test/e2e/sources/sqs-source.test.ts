// The sqs source in-process, through the real SQS SDK client against the wire-level fake: counted then deleted, invalid left to the DLQ, faults counted, visibility kept.
import t from 'tap';
import type { Test } from 'tap';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DISABLE_KEY, cloudTrailRecord } from '../../support/cloudtrail-record.ts';
import { eventBridgeMessage } from '../../support/eventbridge-event.ts';
import { lines, value } from '../../support/exposition.ts';
import { startFakeSqs } from '../../support/fake-sqs/index.ts';
import type { FakeSqs } from '../../support/fake-sqs/index.ts';
import { inProcessService, until } from '../../support/in-process-service.ts';
import type { InProcess } from '../../support/in-process-service.ts';

// The SDK's default credential chain reads these from the process: this file runs in a process of its own.
process.env['AWS_ACCESS_KEY_ID'] = 'AKIDEXAMPLE';
process.env['AWS_SECRET_ACCESS_KEY'] = 'secret';
process.env['AWS_REGION'] = 'us-east-1';

const T0 = Date.now() - 60_000;
const change = (id: string): string => eventBridgeMessage(cloudTrailRecord('DisableKey', id, T0));

async function fakeSqs(t: Test): Promise<FakeSqs> {
  const fake = await startFakeSqs({ seed: 3 });
  t.teardown(() => fake.close());
  return fake;
}

async function sqsService(t: Test, urls: readonly string[], raw: Record<string, unknown> = {}, visibilityMs = 60_000): Promise<InProcess> {
  return inProcessService(t, { source: 'sqs', queueUrl: urls.join(','), region: 'us-east-1', awsMaxAttempts: '3', ...raw }, { overrides: { sqsVisibilityTimeout: visibilityMs } });
}

const metric = (body: string, series: string): number => value(body, series) ?? Number.NaN;

t.test('an EventBridge event on the queue is counted, committed, then deleted', async (t) => {
  const fake = await fakeSqs(t);
  const url = fake.api.createQueue('kms-changes');
  const id = fake.api.sendMessage('kms-changes', change('e-1'));
  const running = await sqsService(t, [url]);
  // The delete's answer is counted once the SDK has read it, a moment after the fake deleted.
  await until(async () => value(await running.scrape(), 'kms_exporter_aws_requests_total{operation="DeleteMessageBatch",outcome="success"}') === 1, 'the delete');
  const body = await running.scrape();
  t.equal(metric(body, DISABLE_KEY), 1);
  t.equal(metric(body, 'kms_exporter_records_total{source="sqs",result="matched"}'), 1);
  t.equal(metric(body, 'kms_exporter_records_total{source="sqs",result="duplicate"}'), 0);
  t.same(fake.api.deleted('kms-changes'), [id]);
  t.same(fake.api.messages('kms-changes'), []);
  t.equal(metric(body, 'kms_exporter_aws_requests_total{operation="DeleteMessageBatch",outcome="success"}'), 1);
  t.ok(metric(body, 'kms_exporter_aws_requests_total{operation="ReceiveMessage",outcome="success"}') >= 1);
  await until(() => fake.api.callCount('ReceiveMessage') >= 2, 'the long poll after the batch');
  const [first, second] = fake.api.requests('ReceiveMessage').map((request) => request.input as Record<string, unknown>);
  t.same(first, { QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 60, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }, 'the first receive answers at once: ready within a round trip');
  t.equal(second!['WaitTimeSeconds'], 20, 'then long polls');
  t.same(lines(body, 'kms_exporter_source_errors_total{source="sqs"').filter((line) => !line.endsWith(' 0')), []);
  const ready = await running.ready();
  t.equal(ready.status, 200);
});

t.test('malformed messages are counted invalid once and left to the redrive policy; ignored ones are deleted', async (t) => {
  const fake = await fakeSqs(t);
  fake.api.createQueue('kms-changes-dlq');
  const url = fake.api.createQueue('kms-changes', { redrive: { deadLetterQueue: 'kms-changes-dlq', maxReceiveCount: 2 } });
  const bad = [
    fake.api.sendMessage('kms-changes', 'not json at all'),
    fake.api.sendMessage('kms-changes', '[1,2]'),
    fake.api.sendMessage('kms-changes', JSON.stringify({ padding: 'x'.repeat(5000) })),
    fake.api.sendMessage('kms-changes', JSON.stringify({ version: '0', 'detail-type': 'AWS API Call via CloudTrail', detail: 'not an object' })),
  ];
  const signIn = fake.api.sendMessage('kms-changes', eventBridgeMessage(cloudTrailRecord('DisableKey', 'e-sign-in', T0), 'AWS Console Sign In via CloudTrail'));
  const good = fake.api.sendMessage('kms-changes', change('e-2'));
  const running = await sqsService(t, [url], { maxRecordBytes: '4KiB' }, 1000);
  await until(() => fake.api.messages('kms-changes-dlq').length === 4, 'the invalid messages in the dead-letter queue', 10_000);
  const body = await running.scrape();
  t.same(fake.api.messages('kms-changes-dlq').map((m) => m.messageId).sort(), [...bad].sort(), 'every invalid message, and only those, went to the DLQ');
  t.same(fake.api.messages('kms-changes'), []);
  t.same(fake.api.deleted('kms-changes').sort(), [signIn, good].sort(), 'the change and the ignored event were deleted');
  t.same(lines(body, 'kms_exporter_invalid_records_total{source="sqs"').filter((line) => !line.endsWith(' 0')), [
    'kms_exporter_invalid_records_total{source="sqs",reason="malformed_json"} 1',
    'kms_exporter_invalid_records_total{source="sqs",reason="not_an_object"} 1',
    'kms_exporter_invalid_records_total{source="sqs",reason="too_large"} 1',
    'kms_exporter_invalid_records_total{source="sqs",reason="bad_envelope"} 1',
  ], 'each counted once although received twice');
  t.equal(metric(body, 'kms_exporter_records_total{source="sqs",result="matched"}'), 1);
  t.equal(metric(body, 'kms_exporter_records_total{source="sqs",result="ignored"}'), 1);
  t.equal(metric(body, 'kms_exporter_records_total{source="sqs",result="invalid"}'), 4);
  t.equal(metric(body, 'kms_exporter_source_events_total{source="sqs",event="left_for_redrive"}'), 8, 'left on each of the two receives');
  t.equal(metric(body, 'kms_exporter_source_events_total{source="sqs",event="redelivered"}'), 4);
  t.equal(metric(body, DISABLE_KEY), 1);
});

t.test('a missing queue is not_found and keeps the source unready; the other queue is received from', async (t) => {
  const fake = await fakeSqs(t);
  const url = fake.api.createQueue('kms-changes');
  const missing = `${fake.endpoint}/123456789012/no-such-queue`;
  fake.api.sendMessage('kms-changes', change('e-4'));
  const running = await sqsService(t, [url, missing]);
  await until(() => fake.api.deleted('kms-changes').length === 1, 'the delete on the queue that exists');
  const body = await running.scrape();
  t.equal(metric(body, DISABLE_KEY), 1);
  t.ok(metric(body, 'kms_exporter_source_errors_total{source="sqs",error="not_found"}') >= 1);
  t.ok(metric(body, 'kms_exporter_aws_requests_total{operation="ReceiveMessage",outcome="not_found"}') >= 1, 'a client error, not retried');
  const ready = await running.ready();
  t.equal(ready.status, 503);
  t.match(JSON.stringify(ready.body), `${missing}: no successful receive yet: not_found (QueueDoesNotExist: The specified queue does not exist.)`);
});

t.test('a delete entry SQS fails on its side is sent again; one that keeps failing is left and its redelivery is a duplicate', async (t) => {
  const fake = await fakeSqs(t);
  const url = fake.api.createQueue('kms-changes');
  fake.api.failBatchEntries('DeleteMessageBatch', 1);
  const first = fake.api.sendMessage('kms-changes', change('e-5'));
  const running = await sqsService(t, [url], {}, 1000);
  await until(() => fake.api.deleted('kms-changes').length === 1, 'the second attempt of the delete');
  t.same(fake.api.deleted('kms-changes'), [first]);
  // Both attempts fail: the message stays, comes back after the visibility timeout, and is a duplicate by eventID.
  fake.api.failBatchEntries('DeleteMessageBatch', 2);
  const second = fake.api.sendMessage('kms-changes', change('e-6'));
  await until(() => fake.api.deleted('kms-changes').length === 2, 'the delete after the redelivery', 10_000);
  const body = await running.scrape();
  t.same(fake.api.deleted('kms-changes'), [first, second]);
  t.equal(metric(body, DISABLE_KEY), 2, 'each change once');
  t.equal(metric(body, 'kms_exporter_records_total{source="sqs",result="matched"}'), 2);
  t.equal(metric(body, 'kms_exporter_records_total{source="sqs",result="duplicate"}'), 1);
  t.equal(metric(body, 'kms_exporter_source_errors_total{source="sqs",error="delete_failed"}'), 1);
  t.equal(metric(body, 'kms_exporter_source_events_total{source="sqs",event="redelivered"}'), 1);
});

t.test('a batch the checkpoint cannot take is not deleted: received again, counted once', async (t) => {
  const fake = await fakeSqs(t);
  const url = fake.api.createQueue('kms-changes');
  const dir = mkdtempSync(join(tmpdir(), 'sqs-checkpoint-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const running = await sqsService(t, [url], { checkpointFile: join(dir, 'checkpoint.json') }, 1000);
  await until(() => fake.api.callCount('ReceiveMessage') >= 1, 'the first receive');
  rmSync(dir, { recursive: true, force: true });
  const id = fake.api.sendMessage('kms-changes', change('e-7'));
  await until(() => running.logs.lines().some((line) => line['error'] === 'commit_failed'), 'the refused commit');
  t.same(fake.api.deleted('kms-changes'), [], 'not deleted');
  mkdirSync(dir);
  await until(() => fake.api.deleted('kms-changes').length === 1, 'the delete after the redelivery', 10_000);
  const body = await running.scrape();
  t.same(fake.api.deleted('kms-changes'), [id]);
  t.equal(metric(body, DISABLE_KEY), 1);
  t.equal(metric(body, 'kms_exporter_records_total{source="sqs",result="duplicate"}'), 0);
  t.equal(metric(body, 'kms_exporter_source_errors_total{source="sqs",error="commit_failed"}'), 1);
});
