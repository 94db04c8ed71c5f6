// The sqs source run as users run it, against the wire-level fake SQS: kill -9 between receive and delete loses and doubles nothing; DLQ, faults, several queues, latency.
import t from 'tap';
import type { Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cloudTrailRecord } from '../../support/cloudtrail-record.ts';
import { eventBridgeMessage } from '../../support/eventbridge-event.ts';
import { startFakeSqs } from '../../support/fake-sqs/index.ts';
import type { FakeSqs } from '../../support/fake-sqs/index.ts';
import { eventually, sample, startService } from '../../support/service-process.ts';
import type { ServiceProcess } from '../../support/service-process.ts';

const ENV = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' };
const change = (id: string, at = Date.now()): string => eventBridgeMessage(cloudTrailRecord('DisableKey', id, at));

async function fakeSqs(t: Test): Promise<FakeSqs> {
  const fake = await startFakeSqs({ seed: 11 });
  t.teardown(() => fake.close());
  return fake;
}

async function service(t: Test, urls: readonly string[], args: readonly string[] = []): Promise<ServiceProcess> {
  const running = await startService(['--source', 'sqs', '--queue-url', urls.join(','), ...args], ENV);
  t.teardown(() => running.kill());
  return running;
}

function checkpointDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'sqs-e2e-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function metricReaches(running: ServiceProcess, name: string, labels: Record<string, string>, wanted: number, timeoutMs = 20_000): Promise<string> {
  let body = '';
  const reached = await eventually(async () => {
    body = await running.metrics();
    return sample(body, name, labels) >= wanted;
  }, timeoutMs, 50);
  if (!reached) throw new Error(`${name}${JSON.stringify(labels)} did not reach ${wanted}:\n${body.split('\n').filter((line) => line.startsWith('kms_')).join('\n')}`);
  return body;
}

t.test('kill -9 after the commit, with the delete held: after the restart every change is counted once and every message deleted', async (t) => {
  const fake = await fakeSqs(t);
  const url = fake.api.createQueue('kms-changes');
  const checkpoint = join(checkpointDir(t), 'checkpoint.json');
  const args = ['--checkpoint-file', checkpoint, '--sqs-visibility-timeout', '2s'];
  fake.api.hold('DeleteMessageBatch');
  const ids = ['k-1', 'k-2', 'k-3'].map((id) => fake.api.sendMessage('kms-changes', change(id)));
  const first = await service(t, [url], args);
  // The delete is asked for only after the commit resolved: the checkpoint has the three changes.
  t.ok(await eventually(async () => fake.api.callCount('DeleteMessageBatch') >= 1, 15_000, 10), 'the delete was sent');
  await first.kill();
  fake.api.release('DeleteMessageBatch');
  t.same(fake.api.deleted('kms-changes'), [], 'the held delete never happened');

  const second = await service(t, [url], args);
  t.ok(await eventually(async () => fake.api.deleted('kms-changes').length === 3, 20_000, 50), 'redelivered after the visibility timeout, then deleted');
  const body = await metricReaches(second, 'kms_exporter_records_total', { source: 'sqs', result: 'duplicate' }, 3);
  t.same(fake.api.deleted('kms-changes').sort(), [...ids].sort());
  t.equal(sample(body, 'kms_config_changes_total', { event_name: 'DisableKey' }), 3, 'counted once each, across the kill');
  t.equal(sample(body, 'kms_exporter_records_total', { source: 'sqs', result: 'matched' }), 3);
  t.equal(sample(body, 'kms_exporter_records_total', { source: 'sqs', result: 'duplicate' }), 3, 'the redeliveries are duplicates by eventID');
  t.same(fake.api.messages('kms-changes'), []);
});

t.test('kill -9 right after the receive is answered, before the commit may have happened: nothing lost, nothing doubled', async (t) => {
  const fake = await fakeSqs(t);
  const url = fake.api.createQueue('kms-changes');
  const checkpoint = join(checkpointDir(t), 'checkpoint.json');
  const args = ['--checkpoint-file', checkpoint, '--sqs-visibility-timeout', '2s'];
  const first = await service(t, [url], args);
  t.ok(await eventually(async () => fake.api.callCount('ReceiveMessage') >= 1, 10_000, 10), 'long-polling');
  const ids = ['r-1', 'r-2'].map((id) => fake.api.sendMessage('kms-changes', change(id)));
  t.ok(await eventually(async () => fake.api.requests('ReceiveMessage').some((r) => r.outcome === 'ok' && (r.received ?? 0) > 0), 10_000, 1), 'the receive was answered');
  await first.kill();

  const second = await service(t, [url], args);
  t.ok(await eventually(async () => fake.api.deleted('kms-changes').length === 2, 20_000, 50), 'every message deleted in the end');
  await metricReaches(second, 'kms_config_changes_total', { event_name: 'DisableKey' }, 2);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const settled = await second.metrics();
  t.same(fake.api.deleted('kms-changes').sort(), [...ids].sort());
  t.equal(sample(settled, 'kms_config_changes_total', { event_name: 'DisableKey' }), 2, 'counted once each');
  t.equal(sample(settled, 'kms_exporter_records_total', { source: 'sqs', result: 'matched' }), 2);
  // Whether the first process committed before it died decides how many redeliveries are duplicates: either way, each change once.
  const duplicates = sample(settled, 'kms_exporter_records_total', { source: 'sqs', result: 'duplicate' });
  t.ok(duplicates >= 0 && duplicates <= 2, `the redeliveries of what the first process committed are duplicates (${duplicates})`);
});

t.test('an invalid message is counted once and ends in the dead-letter queue after maxReceiveCount receives', async (t) => {
  const fake = await fakeSqs(t);
  fake.api.createQueue('kms-changes-dlq');
  const url = fake.api.createQueue('kms-changes', { redrive: { deadLetterQueue: 'kms-changes-dlq', maxReceiveCount: 3 } });
  const bad = fake.api.sendMessage('kms-changes', '{"truncated": ');
  fake.api.sendMessage('kms-changes', change('d-1'));
  const checkpoint = join(checkpointDir(t), 'checkpoint.json');
  const running = await service(t, [url], ['--checkpoint-file', checkpoint, '--sqs-visibility-timeout', '1s']);
  t.ok(await eventually(async () => fake.api.messages('kms-changes-dlq').length === 1, 20_000, 50), 'redriven');
  const body = await running.metrics();
  t.same(fake.api.messages('kms-changes-dlq').map((m) => m.messageId), [bad]);
  t.equal(sample(body, 'kms_exporter_invalid_records_total', { source: 'sqs', reason: 'malformed_json' }), 1, 'once, although received three times');
  t.equal(sample(body, 'kms_exporter_source_events_total', { source: 'sqs', event: 'left_for_redrive' }), 3);
  t.equal(sample(body, 'kms_config_changes_total', { event_name: 'DisableKey' }), 1, 'the good message beside it is counted');
});

t.test('throttling and 5xx are retried by the SDK and counted by operation and outcome; a call out of attempts is a source error', async (t) => {
  const fake = await fakeSqs(t);
  const url = fake.api.createQueue('kms-changes');
  fake.api.failNext('ReceiveMessage', 'throttle', 2);
  fake.api.failNext('ReceiveMessage', 'internal-error', 1);
  fake.api.failNext('ReceiveMessage', 'service-unavailable', 3);
  fake.api.failNext('DeleteMessageBatch', 'throttle', 1);
  fake.api.sendMessage('kms-changes', change('f-1'));
  const running = await service(t, [url], ['--aws-max-attempts', '3']);
  t.ok(await eventually(async () => fake.api.deleted('kms-changes').length === 1, 30_000, 50), 'deleted in the end');
  const body = await metricReaches(running, 'kms_exporter_aws_requests_total', { operation: 'DeleteMessageBatch', outcome: 'success' }, 1);
  t.equal(sample(body, 'kms_config_changes_total', { event_name: 'DisableKey' }), 1);
  t.equal(sample(body, 'kms_exporter_aws_requests_total', { operation: 'ReceiveMessage', outcome: 'throttled' }), 2);
  t.equal(sample(body, 'kms_exporter_aws_requests_total', { operation: 'ReceiveMessage', outcome: 'server_error' }), 4);
  t.equal(sample(body, 'kms_exporter_aws_requests_total', { operation: 'DeleteMessageBatch', outcome: 'throttled' }), 1);
  // Two receives used up their three attempts: throttled, throttled, 500; then 503 three times. Each is named by its last answer.
  t.equal(sample(body, 'kms_exporter_source_errors_total', { source: 'sqs' }), 2);
  t.equal(sample(body, 'kms_exporter_source_errors_total', { source: 'sqs', error: 'server_error' }), 2);
});

t.test('several queues: a change sent to each is counted within a bounded time of being sent', async (t) => {
  const fake = await fakeSqs(t);
  const urls = [fake.api.createQueue('kms-changes-a'), fake.api.createQueue('kms-changes-b')];
  const running = await service(t, urls);
  t.ok(await eventually(async () => (await fetch(`${running.address}/-/ready`)).status === 200, 10_000, 50), 'ready once every queue answered a receive');
  const latencies: number[] = [];
  for (const [i, queue] of ['kms-changes-a', 'kms-changes-b'].entries()) {
    const sent = Date.now();
    fake.api.sendMessage(queue, change(`m-${i}`, sent));
    await metricReaches(running, 'kms_config_changes_total', { event_name: 'DisableKey' }, i + 1, 5_000);
    latencies.push(Date.now() - sent);
  }
  t.comment(`sent → counted: ${latencies.join(' ms, ')} ms`);
  for (const latency of latencies) t.ok(latency < 2_000, `counted within 2 s of being sent (${latency} ms): the long poll returns as the message arrives`);
  const body = await running.metrics();
  t.equal(sample(body, 'kms_exporter_event_delay_seconds_count', { source: 'sqs' }), 2, 'the delay histogram is fed by source');
  t.same([fake.api.deleted('kms-changes-a').length, fake.api.deleted('kms-changes-b').length], [1, 1]);
});
