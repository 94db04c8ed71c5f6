// A fake SQS endpoint speaking the AWS JSON 1.0 protocol the AWS SDK uses, with long polling, visibility, redrive, a test API and faults.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Random } from '../../../trail/random.ts';
import { SqsFaults, type SqsFaultSettings, type SqsScriptedFault } from './faults.ts';
import { QueueStore, type CreateQueueOptions, type Queue, type StoredMessage } from './queues.ts';
import { invalidParameterValue, queueDoesNotExist, receiptHandleIsInvalid, sendError, sendJson, SqsError, TARGET_PREFIX } from './wire.ts';

export type { SqsFaultSettings, SqsScriptedFault } from './faults.ts';
export type { CreateQueueOptions, RedrivePolicy } from './queues.ts';

export interface FakeSqsOptions {
  readonly seed?: number;
  readonly accountId?: string;
  readonly region?: string;
  readonly now?: () => number;
  readonly faults?: Partial<SqsFaultSettings>;
}

export interface RecordedSqsRequest {
  readonly operation: string;
  readonly input: unknown;
  readonly at: number;
  outcome: string;
  /** ReceiveMessage: how many messages the answer carried. */
  received?: number;
}

export interface FakeMessage {
  readonly messageId: string;
  readonly body: string;
  readonly receiveCount: number;
  readonly inFlight: boolean;
}

export interface FakeSqsApi {
  readonly accountId: string;
  readonly region: string;
  /** Creates a queue (its dead-letter queue first); returns its URL. */
  createQueue(name: string, options?: CreateQueueOptions): string;
  /** Later calls naming it answer QueueDoesNotExist. */
  deleteQueue(name: string): boolean;
  queueUrl(name: string): string;
  /** Sends a message as SendMessage would; returns its MessageId. */
  sendMessage(queue: string, body: string, options?: { readonly sentTimestamp?: number; readonly delaySeconds?: number }): string;
  /** The queue's messages, in flight or not. */
  messages(queue: string): FakeMessage[];
  /** MessageIds deleted with a valid receipt handle, in order. */
  deleted(queue: string): string[];
  requests(operation?: string): RecordedSqsRequest[];
  callCount(operation?: string): number;
  setFaults(faults: Partial<SqsFaultSettings>): void;
  clearFaults(): void;
  failNext(operation: string, fault: SqsScriptedFault, times?: number): void;
  /** The next `count` entries of `operation` batches (DeleteMessageBatch, ChangeMessageVisibilityBatch) fail with InternalError, SenderFault false. */
  failBatchEntries(operation: string, count: number): void;
  /** Requests of `operation` are read, recorded and then held unanswered until {@link release}. */
  hold(operation: string): void;
  release(operation: string): void;
}

export interface FakeSqs {
  /** http://127.0.0.1:PORT: queue URLs are on it. */
  readonly endpoint: string;
  readonly api: FakeSqsApi;
  close(): Promise<void>;
}

type JsonObject = Readonly<Record<string, unknown>>;

const MAX_RECORDED = 10_000;
const SYSTEM_ATTRIBUTES = ['ApproximateReceiveCount', 'ApproximateFirstReceiveTimestamp', 'SentTimestamp', 'SenderId'] as const;

export async function startFakeSqs(options: FakeSqsOptions = {}): Promise<FakeSqs> {
  const accountId = options.accountId ?? '123456789012';
  const region = options.region ?? 'us-east-1';
  const now = options.now ?? Date.now;
  const faults = new SqsFaults(new Random(options.seed ?? 1).stream('faults'), options.faults);
  let base = '';
  const store = new QueueStore({ baseUrl: () => base, accountId, now });
  let recorded: RecordedSqsRequest[] = [];
  const open = new Set<ServerResponse>();

  const queueOf = (input: JsonObject): Queue => {
    const url = input['QueueUrl'];
    if (typeof url !== 'string' || url === '') throw invalidParameterValue('Value for parameter QueueUrl is invalid. Reason: it is required.');
    const queue = store.byUrl(url);
    if (queue === undefined) throw queueDoesNotExist();
    return queue;
  };

  async function receiveMessage(input: JsonObject, res: ServerResponse, record: RecordedSqsRequest): Promise<unknown> {
    const queue = queueOf(input);
    const max = integer(input, 'MaxNumberOfMessages', 1, 10) ?? 1;
    const wait = integer(input, 'WaitTimeSeconds', 0, 20) ?? 0;
    const visibility = integer(input, 'VisibilityTimeout', 0, 43_200) ?? queue.visibilityTimeoutSeconds;
    const wanted = attributeNames(input);
    const deadline = now() + wait * 1000;
    let messages = store.receive(queue, max, visibility);
    // Long polling: held until a message can be received or the wait ends (or the client goes away).
    while (messages.length === 0 && now() < deadline && !res.destroyed) {
      await wakeUp(queue, deadline, res);
      if (store.get(queue.name) !== queue) throw queueDoesNotExist();
      messages = store.receive(queue, max, visibility);
    }
    record.received = messages.length;
    return { Messages: messages.map((message) => wire(message, wanted)) };
  }

  function wakeUp(queue: Queue, deadline: number, res: ServerResponse): Promise<void> {
    return new Promise((resolve) => {
      const soonest = Math.min(deadline, store.nextVisible(queue) ?? Infinity);
      const timer = setTimeout(done, Math.max(1, soonest - now()));
      const off = store.onChange(done);
      res.once('close', done);
      function done(): void {
        clearTimeout(timer);
        off();
        res.off('close', done);
        resolve();
      }
    });
  }

  function wire(message: StoredMessage, wanted: ReadonlySet<string>): unknown {
    const attributes: Record<string, string> = {};
    const values: Record<string, string | undefined> = {
      ApproximateReceiveCount: String(message.receiveCount),
      ApproximateFirstReceiveTimestamp: message.firstReceiveTimestamp === undefined ? undefined : String(message.firstReceiveTimestamp),
      SentTimestamp: String(message.sentTimestamp),
      SenderId: 'AIDAEVENTBRIDGE',
    };
    for (const name of SYSTEM_ATTRIBUTES) if ((wanted.has(name) || wanted.has('All')) && values[name] !== undefined) attributes[name] = values[name];
    return { MessageId: message.messageId, ReceiptHandle: message.receiptHandle, MD5OfBody: message.md5OfBody, Body: message.body, ...(Object.keys(attributes).length > 0 ? { Attributes: attributes } : {}) };
  }

  function entriesOf(input: JsonObject): JsonObject[] {
    const entries = input['Entries'];
    if (!Array.isArray(entries) || entries.length === 0) throw new SqsError('EmptyBatchRequest', 'There should be at least one SendMessageBatchRequestEntry in the request.', { code: 'AWS.SimpleQueueService.EmptyBatchRequest' });
    if (entries.length > 10) throw new SqsError('TooManyEntriesInBatchRequest', `Maximum number of entries per request are 10. You have sent ${entries.length}.`, { code: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest' });
    const ids = new Set<string>();
    for (const entry of entries as unknown[]) {
      const id = (entry as JsonObject | null)?.['Id'];
      if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(id)) throw invalidParameterValue(`A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.`);
      if (ids.has(id)) throw new SqsError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`, { code: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct' });
      ids.add(id);
    }
    return entries as JsonObject[];
  }

  function batch(operation: string, input: JsonObject, each: (queue: Queue, entry: JsonObject) => ReturnType<QueueStore['deleteMessage']>): unknown {
    const queue = queueOf(input);
    const Successful: { Id: string }[] = [];
    const Failed: { Id: string; SenderFault: boolean; Code: string; Message: string }[] = [];
    for (const entry of entriesOf(input)) {
      const id = entry['Id'] as string;
      if (faults.entryFails(operation)) {
        Failed.push({ Id: id, SenderFault: false, Code: 'InternalError', Message: 'We encountered an internal error. Please try again.' });
        continue;
      }
      const outcome = each(queue, entry);
      if (outcome.ok) Successful.push({ Id: id });
      else Failed.push({ Id: id, SenderFault: true, Code: outcome.code, Message: outcome.message });
    }
    return { Successful, Failed };
  }

  const handleOf = (entry: JsonObject): string => {
    const handle = entry['ReceiptHandle'];
    if (typeof handle !== 'string' || handle === '') throw invalidParameterValue('Value for parameter ReceiptHandle is invalid. Reason: it is required.');
    return handle;
  };

  async function operate(operation: string, input: JsonObject, res: ServerResponse, record: RecordedSqsRequest): Promise<unknown> {
    switch (operation) {
      case 'ReceiveMessage':
        return receiveMessage(input, res, record);
      case 'DeleteMessage': {
        const handle = handleOf(input);
        const outcome = store.deleteMessage(queueOf(input), handle);
        if (!outcome.ok) throw receiptHandleIsInvalid(handle);
        return {};
      }
      case 'DeleteMessageBatch':
        return batch(operation, input, (queue, entry) => store.deleteMessage(queue, handleOf(entry)));
      case 'ChangeMessageVisibility': {
        const handle = handleOf(input);
        const outcome = store.changeVisibility(queueOf(input), handle, integer(input, 'VisibilityTimeout', 0, 43_200) ?? 0);
        if (!outcome.ok) throw new SqsError(outcome.code, outcome.message, { code: outcome.code === 'MessageNotInflight' ? 'AWS.SimpleQueueService.MessageNotInflight' : outcome.code });
        return {};
      }
      case 'ChangeMessageVisibilityBatch':
        return batch(operation, input, (queue, entry) => store.changeVisibility(queue, handleOf(entry), integer(entry, 'VisibilityTimeout', 0, 43_200) ?? 0));
      case 'SendMessage': {
        const body = input['MessageBody'];
        if (typeof body !== 'string' || body === '') throw invalidParameterValue('The request must contain the parameter MessageBody.');
        const message = store.send(queueOf(input), body, { delaySeconds: integer(input, 'DelaySeconds', 0, 900) ?? 0 });
        return { MessageId: message.messageId, MD5OfMessageBody: message.md5OfBody };
      }
      default:
        throw new SqsError('UnknownOperationException', `Operation ${operation} is not supported by the fake.`, { code: 'UnknownOperation' });
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const raw = await readBody(req);
    const target = req.headers['x-amz-target'];
    const operation = typeof target === 'string' && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '(none)';
    const record: RecordedSqsRequest = { operation, input: safeParse(raw), at: now(), outcome: 'pending' };
    recorded.push(record);
    if (recorded.length > MAX_RECORDED) recorded.shift();
    const held = faults.held(operation);
    if (held !== undefined) await held;
    const decision = faults.decide(operation);
    if (decision.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, decision.delayMs));
    if (res.destroyed) {
      record.outcome = 'client-gone';
      return;
    }
    if (decision.kind === 'drop') {
      record.outcome = 'dropped';
      req.socket.destroy();
      return;
    }
    try {
      if (decision.kind === 'error') throw decision.error;
      if (req.method !== 'POST') throw new SqsError('UnknownOperationException', 'Only POST is supported.');
      checkSignature(req.headers['authorization'], region);
      const output = await operate(operation, parseBody(raw), res, record);
      if (res.destroyed) {
        record.outcome = 'client-gone';
        return;
      }
      sendJson(res, requestId, output);
      record.outcome = 'ok';
    } catch (error) {
      const failure = error instanceof SqsError ? error : new SqsError('InternalError', error instanceof Error ? error.message : String(error), { status: 500 });
      record.outcome = failure.shape;
      if (!res.destroyed) sendError(res, requestId, failure);
    }
  }

  const server = createServer((req, res) => {
    open.add(res);
    res.once('close', () => open.delete(res));
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.destroy(error instanceof Error ? error : undefined);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const queueNamed = (name: string): Queue => {
    const queue = store.get(name);
    if (queue === undefined) throw new Error(`queue ${name} does not exist`);
    return queue;
  };

  const api: FakeSqsApi = {
    accountId,
    region,
    createQueue: (name, queueOptions) => store.create(name, queueOptions).url,
    deleteQueue(name) {
      const deleted = store.delete(name);
      store.changed();
      return deleted;
    },
    queueUrl: (name) => queueNamed(name).url,
    sendMessage: (name, body, sendOptions) => store.send(queueNamed(name), body, sendOptions).messageId,
    messages: (name) => [...queueNamed(name).messages.values()].map((m) => ({ messageId: m.messageId, body: m.body, receiveCount: m.receiveCount, inFlight: m.visibleAt > now() })),
    deleted: (name) => [...queueNamed(name).deleted],
    requests: (operation) => recorded.filter((r) => operation === undefined || r.operation === operation),
    callCount: (operation) => recorded.filter((r) => operation === undefined || r.operation === operation).length,
    setFaults: (settings) => faults.set(settings),
    clearFaults: () => faults.clear(),
    failNext(operation, fault, times = 1) {
      if (!Number.isInteger(times) || times < 1) throw new RangeError('times must be a positive integer');
      faults.script(operation, fault, times);
    },
    failBatchEntries: (operation, count) => faults.failEntries(operation, count),
    hold: (operation) => faults.hold(operation),
    release: (operation) => faults.release(operation),
  };
  return {
    endpoint: base,
    api,
    async close() {
      faults.clear();
      const closed = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      server.closeAllConnections();
      for (const res of open) res.destroy();
      await closed;
      recorded = [];
    },
  };
}

function integer(input: JsonObject, key: string, min: number, max: number): number | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalidParameterValue(`Value ${String(value)} for parameter ${key} is invalid. Reason: must be between ${min} and ${max}, if provided.`);
  }
  return value;
}

/** MessageSystemAttributeNames (the current name) or the deprecated AttributeNames. */
function attributeNames(input: JsonObject): ReadonlySet<string> {
  const names = new Set<string>();
  for (const key of ['MessageSystemAttributeNames', 'AttributeNames']) {
    const value = input[key];
    if (value === undefined) continue;
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw invalidParameterValue(`Value for parameter ${key} is invalid.`);
    for (const name of value as string[]) names.add(name);
  }
  return names;
}

function parseBody(raw: string): JsonObject {
  let parsed: unknown;
  try {
    parsed = raw.trim() === '' ? {} : JSON.parse(raw);
  } catch {
    throw new SqsError('SerializationException', 'Start of structure or map found where not expected.');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new SqsError('SerializationException', 'Start of structure or map found where not expected.');
  return parsed as JsonObject;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function safeParse(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

// Only the credential scope is checked, not the signature: enough to catch a client aimed at the wrong region or service.
function checkSignature(authorization: string | undefined, region: string): void {
  if (!authorization) throw new SqsError('MissingAuthenticationToken', 'Missing Authentication Token', { code: 'MissingAuthenticationToken', status: 403 });
  const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(authorization);
  if (!scope) throw new SqsError('IncompleteSignature', 'Authorization header is not a SigV4 signature.', { status: 403 });
  if (scope[2] !== 'sqs') throw new SqsError('SignatureDoesNotMatch', `Credential should be scoped to correct service: 'sqs'.`, { status: 403 });
  if (scope[1] !== region) throw new SqsError('SignatureDoesNotMatch', `Credential should be scoped to a valid region, not '${scope[1]}'.`, { status: 403 });
}
