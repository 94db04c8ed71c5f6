// Proves the fake SQS speaks what the real AWS SDK client expects: AWS JSON 1.0, error shapes, receipt handles, visibility, long polling, redrive, faults.
import t from 'tap';
import type { Test } from 'tap';
import type {
  SQSServiceException} from '@aws-sdk/client-sqs';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  QueueDoesNotExist,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  RequestThrottled,
  SendMessageCommand,
  SQSClient
} from '@aws-sdk/client-sqs';
import { startFakeSqs } from '../../support/fake-sqs/index.ts';
import type { FakeSqs } from '../../support/fake-sqs/index.ts';

async function setup(t: Test, options: { readonly region?: string; readonly clientRegion?: string; readonly maxAttempts?: number } = {}): Promise<{ fake: FakeSqs; client: SQSClient; url: string }> {
  const fake = await startFakeSqs({ seed: 5, ...(options.region === undefined ? {} : { region: options.region }) });
  t.teardown(() => fake.close());
  const client = new SQSClient({ region: options.clientRegion ?? 'us-east-1', endpoint: fake.endpoint, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }, maxAttempts: options.maxAttempts ?? 1 });
  t.teardown(() => client.destroy());
  return { fake, client, url: fake.api.createQueue('q', { visibilityTimeoutSeconds: 1 }) };
}

const receive = (client: SQSClient, url: string, extra: object = {}) =>
  client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'], ...extra }));

t.test('send and receive through the SDK: the body with its MD5 (checked by the SDK), attributes as asked, AWS JSON 1.0 on the wire', async (t) => {
  const { fake, client, url } = await setup(t);
  const sent = await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{"detail":{}}' }));
  const { Messages = [] } = await receive(client, url);
  t.equal(Messages.length, 1);
  t.equal(Messages[0]!.MessageId, sent.MessageId);
  t.equal(Messages[0]!.Body, '{"detail":{}}');
  t.equal(Messages[0]!.Attributes?.ApproximateReceiveCount, '1');
  t.ok(Number(Messages[0]!.Attributes?.SentTimestamp) > 0);
  t.same(Object.keys(Messages[0]!.Attributes ?? {}).sort(), ['ApproximateReceiveCount', 'SentTimestamp'], 'only the attributes asked for');
  t.same(fake.api.requests().map((r) => r.operation), ['SendMessage', 'ReceiveMessage'], 'routed by X-Amz-Target AmazonSQS.<Operation>');
});

t.test('errors carry __type and x-amzn-query-error, which the SDK turns into typed exceptions with their query code', async (t) => {
  const { fake, client } = await setup(t);
  const missing = `${fake.endpoint}/123456789012/nope`;
  const error = await receive(client, missing).catch((e: unknown) => e);
  t.ok(error instanceof QueueDoesNotExist, 'QueueDoesNotExist');
  t.equal((error as SQSServiceException & { Code?: string }).Code, 'AWS.SimpleQueueService.NonExistentQueue');
  t.equal((error as SQSServiceException).$metadata.httpStatusCode, 400);
  t.equal((error as SQSServiceException).$fault, 'client');
  fake.api.failNext('ReceiveMessage', 'throttle');
  const throttled = await receive(client, fake.api.queueUrl('q')).catch((e: unknown) => e);
  t.ok(throttled instanceof RequestThrottled, 'RequestThrottled');
  const bad = await client.send(new DeleteMessageCommand({ QueueUrl: fake.api.queueUrl('q'), ReceiptHandle: 'garbage' })).catch((e: unknown) => e);
  t.ok(bad instanceof ReceiptHandleIsInvalid, 'a handle that is no handle: ReceiptHandleIsInvalid');
});

t.test('the SDK signs for the fake region, or is refused', async (t) => {
  const { client, url } = await setup(t, { region: 'eu-west-1', clientRegion: 'us-east-1' });
  const error = (await receive(client, url).catch((e: unknown) => e)) as SQSServiceException;
  t.equal(error.name, 'SignatureDoesNotMatch');
  t.equal(error.$metadata.httpStatusCode, 403);
});

t.test('an undeleted message comes back after its visibility timeout with a new handle and a higher receive count; the old handle deletes nothing', async (t) => {
  const { fake, client, url } = await setup(t);
  const id = fake.api.sendMessage('q', 'm');
  const first = (await receive(client, url)).Messages![0]!;
  t.same((await receive(client, url)).Messages ?? [], [], 'invisible while in flight');
  await new Promise((resolve) => setTimeout(resolve, 1_050));
  const second = (await receive(client, url)).Messages![0]!;
  t.equal(second.MessageId, id);
  t.equal(second.Attributes?.ApproximateReceiveCount, '2');
  t.not(second.ReceiptHandle, first.ReceiptHandle, 'a new receipt handle per receive');
  const stale = await client.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'a', ReceiptHandle: first.ReceiptHandle! }] }));
  t.same([stale.Successful, stale.Failed], [[{ Id: 'a' }], []], 'the stale handle succeeds, as SQS documents');
  t.equal(fake.api.messages('q').length, 1, 'but the message stays');
  const fresh = await client.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'b', ReceiptHandle: second.ReceiptHandle! }] }));
  t.same(fresh.Successful, [{ Id: 'b' }]);
  t.same(fake.api.messages('q'), []);
  t.same(fake.api.deleted('q'), [id]);
});

t.test('ChangeMessageVisibilityBatch extends per entry; a message not in flight fails its entry', async (t) => {
  const { fake, client, url } = await setup(t);
  fake.api.sendMessage('q', 'm');
  const message = (await receive(client, url)).Messages![0]!;
  const out = await client.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: url, Entries: [{ Id: 'x', ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 3 }, { Id: 'y', ReceiptHandle: 'garbage', VisibilityTimeout: 3 }] }));
  t.same(out.Successful, [{ Id: 'x' }]);
  t.match(out.Failed, [{ Id: 'y', SenderFault: true, Code: 'ReceiptHandleIsInvalid' }]);
  await new Promise((resolve) => setTimeout(resolve, 1_200));
  t.same((await receive(client, url)).Messages ?? [], [], 'still invisible past the queue default of 1 s');
  await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle! }));
  const late = await client.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: url, Entries: [{ Id: 'z', ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 3 }] }));
  t.match(late.Failed, [{ Id: 'z', SenderFault: true, Code: 'MessageNotInflight' }], 'deleted: not in flight');
});

t.test('a long poll is held until a message arrives, and ends empty when the wait runs out', async (t) => {
  const { fake, client, url } = await setup(t);
  const started = Date.now();
  const polling = receive(client, url, { WaitTimeSeconds: 5, VisibilityTimeout: 30 });
  setTimeout(() => fake.api.sendMessage('q', 'late'), 300);
  const { Messages = [] } = await polling;
  const took = Date.now() - started;
  t.equal(Messages[0]?.Body, 'late');
  t.ok(took >= 250 && took < 2_000, `answered when the message arrived (${took} ms)`);
  const emptyStart = Date.now();
  t.same((await receive(client, url, { WaitTimeSeconds: 1 })).Messages ?? [], []);
  t.ok(Date.now() - emptyStart >= 950, 'held for the whole wait');
});

t.test('after maxReceiveCount receives the next receive moves the message to the dead-letter queue', async (t) => {
  const { fake, client } = await setup(t);
  fake.api.createQueue('dlq');
  const url = fake.api.createQueue('redriven', { visibilityTimeoutSeconds: 1, redrive: { deadLetterQueue: 'dlq', maxReceiveCount: 2 } });
  const id = fake.api.sendMessage('redriven', 'poison');
  t.equal((await receive(client, url, { VisibilityTimeout: 0 })).Messages?.length, 1);
  t.equal((await receive(client, url, { VisibilityTimeout: 0 })).Messages?.length, 1);
  t.same((await receive(client, url)).Messages ?? [], [], 'the third receive finds it gone');
  t.same(fake.api.messages('dlq').map((m) => [m.messageId, m.body, m.receiveCount]), [[id, 'poison', 0]]);
});

t.test('batch rules: 1 to 10 entries with distinct ids; failing entries on request; 5xx, dropped connections and held requests', async (t) => {
  const { fake, client, url } = await setup(t, { maxAttempts: 1 });
  const empty = (await client.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: [] })).catch((e: unknown) => e)) as SQSServiceException;
  t.equal(empty.name, 'EmptyBatchRequest');
  const eleven = Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, ReceiptHandle: 'h' }));
  t.equal(((await client.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: eleven })).catch((e: unknown) => e)) as SQSServiceException).name, 'TooManyEntriesInBatchRequest');
  const twice = [{ Id: 'same', ReceiptHandle: 'h' }, { Id: 'same', ReceiptHandle: 'h' }];
  t.equal(((await client.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: twice })).catch((e: unknown) => e)) as SQSServiceException).name, 'BatchEntryIdsNotDistinct');

  fake.api.sendMessage('q', 'm');
  const message = (await receive(client, url)).Messages![0]!;
  fake.api.failBatchEntries('DeleteMessageBatch', 1);
  const failed = await client.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'a', ReceiptHandle: message.ReceiptHandle! }] }));
  t.match(failed.Failed, [{ Id: 'a', SenderFault: false, Code: 'InternalError' }], 'an entry failed on the service side');
  t.equal(fake.api.messages('q').length, 1);

  fake.api.failNext('ReceiveMessage', 'internal-error');
  const server = (await receive(client, url).catch((e: unknown) => e)) as SQSServiceException;
  t.same([server.name, server.$metadata.httpStatusCode, server.$fault], ['InternalError', 500, 'server']);
  fake.api.failNext('ReceiveMessage', 'drop-connection');
  const dropped = (await receive(client, url).catch((e: unknown) => e)) as Error & { code?: string };
  t.equal(dropped.code, 'ECONNRESET', 'the connection closed without an answer');

  fake.api.hold('DeleteMessageBatch');
  let answered = false;
  const held = client.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'b', ReceiptHandle: message.ReceiptHandle! }] })).then((out) => {
    answered = true;
    return out;
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.notOk(answered, 'held unanswered');
  t.equal(fake.api.requests('DeleteMessageBatch').at(-1)?.outcome, 'pending', 'recorded as it arrived');
  fake.api.release('DeleteMessageBatch');
  t.same((await held).Successful, [{ Id: 'b' }], 'answered once released');
});
