// The queues of the fake: messages, receipt handles, visibility timeouts, receive counts and the redrive to a dead-letter queue.
//
// As SQS documents for standard queues: each receive gives a new receipt handle; a message not deleted within its
// visibility timeout becomes visible again with ApproximateReceiveCount one higher; deleting with the handle of an
// earlier receive succeeds but may not delete the message (here it never does); a message received more than
// maxReceiveCount times moves to the dead-letter queue on its next receive.
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessage.html
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
import { createHash, randomUUID } from 'node:crypto';

export interface RedrivePolicy {
  /** The name of the dead-letter queue (in the same fake). */
  readonly deadLetterQueue: string;
  readonly maxReceiveCount: number;
}

export interface CreateQueueOptions {
  /** The queue's default visibility timeout in seconds (SQS default 30). */
  readonly visibilityTimeoutSeconds?: number;
  readonly redrive?: RedrivePolicy;
}

export interface StoredMessage {
  readonly messageId: string;
  readonly body: string;
  readonly md5OfBody: string;
  readonly sentTimestamp: number;
  receiveCount: number;
  firstReceiveTimestamp: number | undefined;
  /** When it can be received again (ms); in flight while in the future. */
  visibleAt: number;
  /** The handle of the latest receive, the only one that deletes. */
  receiptHandle: string | undefined;
}

export interface Queue {
  readonly name: string;
  readonly url: string;
  readonly visibilityTimeoutSeconds: number;
  readonly redrive: RedrivePolicy | undefined;
  readonly messages: Map<string, StoredMessage>;
  /** Messages deleted by a valid DeleteMessage(Batch), in order: what the consumer acknowledged. */
  readonly deleted: string[];
}

export type Outcome = { readonly ok: true } | { readonly ok: false; readonly code: 'ReceiptHandleIsInvalid' | 'MessageNotInflight'; readonly message: string };

/** Receipt handles name their queue, message and receive, as real ones (opaque to clients) do. */
function receiptHandle(queue: string, messageId: string, receive: number): string {
  return Buffer.from(JSON.stringify({ q: queue, m: messageId, r: receive, n: randomUUID() })).toString('base64');
}

function parseHandle(handle: string): { readonly q: string; readonly m: string } | undefined {
  try {
    const value = JSON.parse(Buffer.from(handle, 'base64').toString('utf8')) as { q?: unknown; m?: unknown };
    return typeof value.q === 'string' && typeof value.m === 'string' ? { q: value.q, m: value.m } : undefined;
  } catch {
    return undefined;
  }
}

export class QueueStore {
  readonly #queues = new Map<string, Queue>();
  readonly #baseUrl: () => string;
  readonly #accountId: string;
  readonly #now: () => number;
  readonly #listeners = new Set<() => void>();

  constructor(options: { readonly baseUrl: () => string; readonly accountId: string; readonly now: () => number }) {
    this.#baseUrl = options.baseUrl;
    this.#accountId = options.accountId;
    this.#now = options.now;
  }

  create(name: string, options: CreateQueueOptions = {}): Queue {
    if (options.redrive !== undefined && !this.#queues.has(options.redrive.deadLetterQueue)) throw new Error(`dead-letter queue ${options.redrive.deadLetterQueue} does not exist: create it first`);
    const queue: Queue = { name, url: `${this.#baseUrl()}/${this.#accountId}/${name}`, visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 30, redrive: options.redrive, messages: new Map(), deleted: [] };
    this.#queues.set(name, queue);
    return queue;
  }

  delete(name: string): boolean {
    return this.#queues.delete(name);
  }

  get(name: string): Queue | undefined {
    return this.#queues.get(name);
  }

  /** The queue a QueueUrl names: by its path /ACCOUNT/NAME, whatever host it was sent to (as the SDK aims at the URL's host). */
  byUrl(url: string): Queue | undefined {
    let path: string;
    try {
      path = new URL(url).pathname;
    } catch {
      return undefined;
    }
    const match = /^\/(\d{12})\/([A-Za-z0-9_-]{1,80}(?:\.fifo)?)$/.exec(path);
    if (match === null || match[1] !== this.#accountId) return undefined;
    return this.#queues.get(match[2]!);
  }

  send(queue: Queue, body: string, options: { readonly sentTimestamp?: number; readonly delaySeconds?: number } = {}): StoredMessage {
    const now = this.#now();
    const message: StoredMessage = {
      messageId: randomUUID(),
      body,
      md5OfBody: createHash('md5').update(body, 'utf8').digest('hex'),
      sentTimestamp: options.sentTimestamp ?? now,
      receiveCount: 0,
      firstReceiveTimestamp: undefined,
      visibleAt: now + (options.delaySeconds ?? 0) * 1000,
      receiptHandle: undefined,
    };
    queue.messages.set(message.messageId, message);
    this.changed();
    return message;
  }

  /** Up to `max` visible messages, now in flight for `visibilitySeconds`; those past maxReceiveCount go to the dead-letter queue instead. */
  receive(queue: Queue, max: number, visibilitySeconds: number): StoredMessage[] {
    const now = this.#now();
    const taken: StoredMessage[] = [];
    for (const message of [...queue.messages.values()]) {
      if (taken.length >= max) break;
      if (message.visibleAt > now) continue;
      if (queue.redrive !== undefined && message.receiveCount >= queue.redrive.maxReceiveCount) {
        this.#moveToDeadLetter(queue, message);
        continue;
      }
      message.receiveCount++;
      message.firstReceiveTimestamp ??= now;
      message.visibleAt = now + visibilitySeconds * 1000;
      message.receiptHandle = receiptHandle(queue.name, message.messageId, message.receiveCount);
      taken.push(message);
    }
    return taken;
  }

  #moveToDeadLetter(queue: Queue, message: StoredMessage): void {
    const dlq = this.#queues.get(queue.redrive!.deadLetterQueue);
    queue.messages.delete(message.messageId);
    if (dlq === undefined) return;
    // The message keeps its id, body and send time; its receive count starts again in the dead-letter queue.
    dlq.messages.set(message.messageId, { ...message, receiveCount: 0, firstReceiveTimestamp: undefined, visibleAt: this.#now(), receiptHandle: undefined });
    this.changed();
  }

  deleteMessage(queue: Queue, handle: string): Outcome {
    const parsed = parseHandle(handle);
    if (parsed === undefined || parsed.q !== queue.name) return { ok: false, code: 'ReceiptHandleIsInvalid', message: `The input receipt handle "${handle}" is not a valid receipt handle.` };
    const message = queue.messages.get(parsed.m);
    // Already deleted, or the handle of an earlier receive: the call succeeds and the message stays.
    if (message === undefined || message.receiptHandle !== handle) return { ok: true };
    queue.messages.delete(message.messageId);
    queue.deleted.push(message.messageId);
    return { ok: true };
  }

  changeVisibility(queue: Queue, handle: string, seconds: number): Outcome {
    const parsed = parseHandle(handle);
    if (parsed === undefined || parsed.q !== queue.name) return { ok: false, code: 'ReceiptHandleIsInvalid', message: `The input receipt handle "${handle}" is not a valid receipt handle.` };
    const message = queue.messages.get(parsed.m);
    const now = this.#now();
    if (message === undefined || message.receiptHandle !== handle || message.visibleAt <= now) {
      return { ok: false, code: 'MessageNotInflight', message: 'Message does not exist or is not available for visibility timeout change.' };
    }
    message.visibleAt = now + seconds * 1000;
    if (seconds === 0) this.changed();
    return { ok: true };
  }

  /** Called on anything that can make a message receivable: long polls wake up. */
  changed(): void {
    for (const listener of this.#listeners) listener();
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The soonest time a message in flight becomes visible again, or undefined. */
  nextVisible(queue: Queue): number | undefined {
    let soonest: number | undefined;
    const now = this.#now();
    for (const message of queue.messages.values()) if (message.visibleAt > now && (soonest === undefined || message.visibleAt < soonest)) soonest = message.visibleAt;
    return soonest;
  }
}
