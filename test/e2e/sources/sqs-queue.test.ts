// One SQS queue's loop with a slow commit: the batch's messages stay invisible (visibility extended at half the timeout) until committed and deleted.
import t from 'tap';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { parseQueueUrl } from '../../../src/catalog/queue-url.ts';
import type { QueueUrl } from '../../../src/catalog/queue-url.ts';
import { sqsApi } from '../../../src/sources/sqs-api.ts';
import { SqsQueue } from '../../../src/sources/sqs-queue.ts';
import type { DeliveryOutcome, SourceContext } from '../../../src/sources/source.ts';
import type { RecordBatch } from '../../../src/record-batch.ts';
import { cloudTrailRecord } from '../../support/cloudtrail-record.ts';
import { eventBridgeMessage } from '../../support/eventbridge-event.ts';
import { startFakeSqs } from '../../support/fake-sqs/index.ts';
import { until } from '../../support/in-process-service.ts';

t.test('a commit slower than the visibility timeout keeps its messages invisible, then deletes them', async (t) => {
  const fake = await startFakeSqs();
  t.teardown(() => fake.close());
  const url = fake.api.createQueue('kms-changes');
  const client = new SQSClient({ region: 'us-east-1', endpoint: fake.endpoint, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }, maxAttempts: 1 });
  t.teardown(() => client.destroy());
  const id = fake.api.sendMessage('kms-changes', eventBridgeMessage(cloudTrailRecord('DisableKey', 'e-slow', Date.now())));

  // The committer's side of the contract, slowed down: resolves when the test says, 1.7 visibility timeouts after the batch arrives.
  let delivered: RecordBatch | undefined;
  let commit: () => void = () => {};
  const events: string[] = [];
  const errors: string[] = [];
  const context: SourceContext = {
    deliver: (batch) =>
      new Promise<DeliveryOutcome>((resolve) => {
        delivered = batch;
        commit = () => resolve({ kind: 'committed', outcome: { matched: 1, ignored: 0, invalid: 0, duplicate: 0, changes: [], pipelineChanges: [] } });
      }),
    error: (kind) => errors.push(kind),
    event: (kind) => events.push(kind),
    now: Date.now,
  };
  const queue = new SqsQueue({ queue: parseQueueUrl(url) as QueueUrl, api: sqsApi(client), visibilityTimeout: 1, maxRecordBytes: 1024 ** 2, inspect: () => [], context, retryDelay: 10 });
  const [message] = (await client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 1 }))).Messages ?? [];
  const handled = queue.handle([message!]);
  await until(() => delivered !== undefined, 'the delivery');
  await new Promise((resolve) => setTimeout(resolve, 1_700));
  // Another receiver, after 1.7 timeouts: nothing to take, the message is still in flight.
  const rival = await client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
  t.same(rival.Messages ?? [], [], 'not received by anyone else while its commit is in progress');
  t.same(fake.api.messages('kms-changes').map((m) => [m.messageId, m.receiveCount, m.inFlight]), [[id, 1, true]]);
  t.same(fake.api.deleted('kms-changes'), [], 'not deleted before the commit');
  const extensions = fake.api.requests('ChangeMessageVisibilityBatch');
  t.ok(extensions.length >= 3 && extensions.length <= 4, `extended at half the timeout (${extensions.length} times in 1.7 s)`);
  t.same(extensions[0]!.input, { QueueUrl: url, Entries: [{ Id: '0', ReceiptHandle: message!.ReceiptHandle, VisibilityTimeout: 1 }] });
  commit();
  await handled;
  t.same(fake.api.deleted('kms-changes'), [id]);
  const afterDelete = fake.api.requests('ChangeMessageVisibilityBatch').length;
  await new Promise((resolve) => setTimeout(resolve, 600));
  t.equal(fake.api.requests('ChangeMessageVisibilityBatch').length, afterDelete, 'no extension after the delete');
  t.same(errors, []);
  t.same([...new Set(events)], ['visibility_extended']);
});
