// The sqs source in-process, through the real SQS SDK client against the wire-level fake: counted then deleted, invalid left to the DLQ, faults counted, visibility kept.
import t from 'tap';
import type { Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DISABLE_KEY, cloudTrailRecord } from '../support/cloudtrail-record.ts';
import { eventBridgeEvent } from '../support/eventbridge-event.ts';
import { lines, value } from '../support/exposition.ts';
import { startFakeSqs } from '../support/fake-sqs/index.ts';
import type { FakeSqs } from '../support/fake-sqs/index.ts';
import { inProcessService, until } from '../support/in-process-service.ts';
import type { InProcess } from '../support/in-process-service.ts';
import { SqsSource } from '../../src/sources/sqs.ts';

// The SDK's default credential chain reads these from the process: this file runs in a process of its own.
process.env['AWS_ACCESS_KEY_ID'] = 'AKIDEXAMPLE';
process.env['AWS_SECRET_ACCESS_KEY'] = 'secret';
process.env['AWS_REGION'] = 'us-east-1';

const T0 = Date.now() - 60_000;
const change = (id: string): string => eventBridgeEvent(cloudTrailRecord('DisableKey', id, T0));

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
  await until(() => fake.api.deleted('kms-changes').length === 1, 'the delete');
  const body = await running.scrape();
  t.equal(metric(body, DISABLE_KEY), 1);
  t.equal(metric(body, 'kms_exporter_records_total{source="sqs",result="matched"}'), 1);
  t.equal(metric(body, 'kms_exporter_records_total{source="sqs",result="duplicate"}'), 0);
  t.same(fake.api.deleted('kms-changes'), [id]);
  t.same(fake.api.messages('kms-changes'), []);
  t.equal(metric(body, 'kms_exporter_aws_requests_total{operation="DeleteMessageBatch",outcome="success"}'), 1);
  t.ok(metric(body, 'kms_exporter_aws_requests_total{operation="ReceiveMessage",outcome="success"}') >= 1);
  const receive = fake.api.requests('ReceiveMessage')[0]!.input as Record<string, unknown>;
  t.same(receive, { QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 20, VisibilityTimeout: 60, MessageSystemAttributeNames: ['ApproximateReceiveCount'] });
  t.same(lines(body, 'kms_exporter_source_errors_total{source="sqs"').filter((line) => !line.endsWith(' 0')), []);
  const ready = await running.ready();
  t.equal(ready.status, 200);
});
