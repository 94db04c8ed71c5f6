// One SQS queue's loop: long-poll a batch, judge each message, commit, then delete what was committed; visibility kept while that takes.
//
// A message is deleted only once `deliver` has resolved (its records are counted and checkpointed or in the shared
// store). A crash before the delete makes SQS deliver it again after its visibility timeout: the redelivered change
// is a duplicate by CloudTrail eventID. A message the pipeline cannot use is counted invalid once (its MessageId is
// the request id the state store remembers) and never deleted, so the queue's redrive policy moves it to the
// dead-letter queue after maxReceiveCount receives.

import type { Message } from '@aws-sdk/client-sqs';
import type { QueueUrl } from '../catalog/queue-url.ts';
import { awsErrorKind } from './aws-errors.ts';
import { sleep } from './filter-log-events.ts';
import type { SqsApi } from './sqs-api.ts';
import { judgeMessage } from './sqs-message.ts';
import type { Inspect, MessageVerdict } from './sqs-message.ts';
import { COMMIT_FAILED } from './source.ts';
import type { SourceContext } from './source.ts';

/** ReceiveMessage's longest wait and largest batch (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html). */
export const SQS_WAIT_SECONDS = 20;
export const SQS_MAX_MESSAGES = 10;

/** Entries of a DeleteMessageBatch that failed for a reason of SQS's own (SenderFault false) are sent once more. */
const DELETE_ATTEMPTS = 2;
/** Deletes and visibility changes still go out while the service stops, within this long. */
const SETTLE_TIMEOUT = 5_000;

export const SQS_DELETE_FAILED = 'delete_failed';
export const SQS_VISIBILITY_FAILED = 'visibility_failed';
export const SQS_REDELIVERED = 'redelivered';
export const SQS_LEFT_FOR_REDRIVE = 'left_for_redrive';
export const SQS_VISIBILITY_EXTENDED = 'visibility_extended';

export interface SqsQueueOptions {
  readonly queue: QueueUrl;
  readonly api: SqsApi;
  /** Seconds a received message stays invisible to other receivers; extended at half of it while its batch is handled. */
  readonly visibilityTimeout: number;
  readonly maxRecordBytes: number;
  readonly inspect: Inspect;
  readonly context: SourceContext;
  /** First pause after a failed receive (doubling up to 30 s); the SDK has already retried the call. */
  readonly retryDelay: number;
}

interface Received {
  readonly message: Message & { readonly MessageId: string; readonly ReceiptHandle: string };
  readonly verdict: MessageVerdict;
}

export class SqsQueue {
  private readonly options: SqsQueueOptions;
  lastSuccess: number | undefined;
  lastError: string | undefined;

  constructor(options: SqsQueueOptions) {
    this.options = options;
  }

  get url(): string {
    return this.options.queue.url;
  }

  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      let messages: Message[];
      try {
        const output = await this.options.api.receiveMessage(
          {
            QueueUrl: this.url,
            MaxNumberOfMessages: SQS_MAX_MESSAGES,
            // The first receive, and the first after a failure, does not wait: readiness follows within a round trip.
            WaitTimeSeconds: this.lastSuccess === undefined || failures > 0 ? 0 : SQS_WAIT_SECONDS,
            VisibilityTimeout: this.options.visibilityTimeout,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          },
          signal,
        );
        messages = output.Messages ?? [];
        failures = 0;
        this.lastSuccess = this.options.context.now();
        this.lastError = undefined;
      } catch (error) {
        if (signal.aborted) return;
        const kind = awsErrorKind(error);
        this.lastError = `${kind} (${describe(error)})`;
        this.options.context.error(kind, `ReceiveMessage on ${this.url} failed (${kind}): ${describe(error)}; retrying`, error);
        failures++;
        await sleep(Math.min(30_000, this.options.retryDelay * 2 ** Math.min(failures - 1, 5)), signal);
        continue;
      }
      if (messages.length > 0) await this.handle(messages);
    }
  }

  /** Judges, commits and deletes one received batch; the visibility of its messages is extended until that is done. */
  async handle(messages: readonly Message[]): Promise<void> {
    const { context, maxRecordBytes, inspect } = this.options;
    const received: Received[] = [];
    for (const message of messages) {
      if (message.MessageId === undefined || message.ReceiptHandle === undefined) continue;
      const count = Number(message.Attributes?.ApproximateReceiveCount ?? '1');
      if (count > 1) context.event(SQS_REDELIVERED, `message ${message.MessageId} of ${this.url} received for the ${count}th time`);
      const where = `SQS message ${message.MessageId} of ${this.options.queue.name}`;
      received.push({ message: message as Received['message'], verdict: judgeMessage(message.Body, where, maxRecordBytes, inspect) });
    }
    const heartbeat = this.keepInvisible(received);
    try {
      // Delivered one by one but together: the committer writes them in one group commit.
      const deliveries = await Promise.allSettled(
        received.map(({ message, verdict }) =>
          verdict.kind === 'record'
            ? context.deliver(verdict.batch)
            : // The MessageId as request id: counted invalid on its first receive only, however often it comes back.
              context.deliver({ records: [], skipped: 0, invalid: [verdict.invalid] }, `sqs:${message.MessageId}`),
        ),
      );
      const done: Received[] = [];
      let refused: unknown;
      deliveries.forEach((delivery, i) => {
        const item = received[i]!;
        if (delivery.status === 'rejected') refused ??= delivery.reason;
        else if (item.verdict.kind === 'record') done.push(item);
        else context.event(SQS_LEFT_FOR_REDRIVE, `message ${item.message.MessageId} of ${this.url} is invalid (${item.verdict.invalid.reason}): left to the queue's redrive policy`);
      });
      if (refused !== undefined) {
        const left = deliveries.filter((delivery) => delivery.status === 'rejected').length;
        context.error(COMMIT_FAILED, `${left} message(s) of ${this.url} were not committed (${describe(refused)}); left in the queue, received again after the visibility timeout`, refused);
      }
      // No extension may land after the delete (it would fail as not in flight): the last one finishes first.
      await heartbeat.stop();
      if (done.length > 0) await this.delete(done);
    } finally {
      await heartbeat.stop();
    }
  }

  /** Extends the visibility of the batch's messages at half the timeout until stopped. */
  private keepInvisible(received: readonly Received[]): { stop(): Promise<void> } {
    const { api, visibilityTimeout, context } = this.options;
    let extending: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      extending = extending.then(async () => {
        try {
          const entries = received.map(({ message }, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: visibilityTimeout }));
          const output = await api.changeMessageVisibilityBatch({ QueueUrl: this.url, Entries: entries }, AbortSignal.timeout(SETTLE_TIMEOUT));
          for (const failed of output.Failed ?? []) context.error(SQS_VISIBILITY_FAILED, `ChangeMessageVisibility of a message of ${this.url} failed (${failed.Code ?? 'unknown'}): it may be received again before it is deleted`);
          if ((output.Successful ?? []).length > 0) context.event(SQS_VISIBILITY_EXTENDED, `visibility of ${(output.Successful ?? []).length} message(s) of ${this.url} extended by ${visibilityTimeout}s`);
        } catch (error) {
          context.error(awsErrorKind(error), `ChangeMessageVisibilityBatch on ${this.url} failed (${awsErrorKind(error)}): ${describe(error)}`, error);
        }
      });
    }, (visibilityTimeout * 1000) / 2);
    return {
      stop: () => {
        clearInterval(timer);
        return extending;
      },
    };
  }

  /** Deletes committed messages; an entry SQS failed on its side is sent again, anything else is left (received again, a duplicate by eventID). */
  private async delete(items: readonly Received[]): Promise<void> {
    const { api, context } = this.options;
    let pending = items.map(({ message }, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle }));
    for (let attempt = 1; attempt <= DELETE_ATTEMPTS && pending.length > 0; attempt++) {
      let output;
      try {
        output = await api.deleteMessageBatch({ QueueUrl: this.url, Entries: pending }, AbortSignal.timeout(SETTLE_TIMEOUT));
      } catch (error) {
        const kind = awsErrorKind(error);
        context.error(kind, `DeleteMessageBatch on ${this.url} failed (${kind}): ${describe(error)}; ${pending.length} committed message(s) will be received again and counted as duplicates`, error);
        return;
      }
      const failed = output.Failed ?? [];
      const retry = new Set(failed.filter((entry) => entry.SenderFault !== true && attempt < DELETE_ATTEMPTS).map((entry) => entry.Id));
      for (const entry of failed) {
        if (retry.has(entry.Id)) continue;
        context.error(SQS_DELETE_FAILED, `a committed message of ${this.url} was not deleted (${entry.Code ?? 'unknown'}: ${entry.Message ?? ''}); it will be received again and counted as a duplicate`);
      }
      pending = pending.filter((entry) => retry.has(entry.Id));
    }
  }
}

function describe(error: unknown): string {
  const e = error as { name?: unknown; message?: unknown };
  return `${typeof e?.name === 'string' ? e.name : 'Error'}: ${typeof e?.message === 'string' ? e.message : String(error)}`;
}
