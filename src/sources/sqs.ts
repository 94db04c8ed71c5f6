// The sqs source: EventBridge events pulled from one or more SQS queues an EventBridge rule targets; no inbound HTTPS.

import type { QueueUrl } from '../catalog/queue-url.ts';
import { AWS_ERROR_KINDS } from './aws-errors.ts';
import type { SqsApi } from './sqs-api.ts';
import type { Inspect } from './sqs-message.ts';
import { SQS_DELETE_FAILED, SQS_LEFT_FOR_REDRIVE, SQS_REDELIVERED, SQS_VISIBILITY_EXTENDED, SQS_VISIBILITY_FAILED, SqsQueue } from './sqs-queue.ts';
import { COMMIT_FAILED } from './source.ts';
import type { Source, SourceContext, SourceStatus } from './source.ts';

export const SQS_ERROR_KINDS = [...AWS_ERROR_KINDS, COMMIT_FAILED, SQS_DELETE_FAILED, SQS_VISIBILITY_FAILED] as const;
export const SQS_EVENT_KINDS = [SQS_REDELIVERED, SQS_LEFT_FOR_REDRIVE, SQS_VISIBILITY_EXTENDED] as const;

export interface SqsSourceOptions {
  readonly queues: readonly QueueUrl[];
  /** The API each queue is called through (one client per region and endpoint). */
  readonly apiFor: (queue: QueueUrl) => SqsApi;
  readonly visibilityTimeout: number;
  readonly maxRecordBytes: number;
  readonly inspect: Inspect;
  /** A queue whose last successful receive is older than this makes the source not ready. */
  readonly staleAfter: number;
  readonly context: SourceContext;
  readonly retryDelay?: number;
}

export class SqsSource implements Source {
  readonly name = 'sqs';
  readonly errorKinds: readonly string[] = SQS_ERROR_KINDS;
  readonly eventKinds: readonly string[] = SQS_EVENT_KINDS;
  readonly queues: readonly SqsQueue[];
  private readonly options: SqsSourceOptions;

  constructor(options: SqsSourceOptions) {
    this.options = options;
    this.queues = options.queues.map(
      (queue) =>
        new SqsQueue({
          queue,
          api: options.apiFor(queue),
          visibilityTimeout: options.visibilityTimeout,
          maxRecordBytes: options.maxRecordBytes,
          inspect: options.inspect,
          context: options.context,
          retryDelay: options.retryDelay ?? 1000,
        }),
    );
  }

  /** Each queue long-polls on its own: a failing queue never holds the others up. */
  async run(signal: AbortSignal): Promise<void> {
    await Promise.all(this.queues.map((queue) => queue.run(signal)));
  }

  status(): SourceStatus {
    const now = this.options.context.now();
    const problems: string[] = [];
    let oldest = 0;
    for (const queue of this.queues) {
      if (queue.lastSuccess === undefined) problems.push(`${queue.url}: ${queue.lastError === undefined ? 'first receive in progress' : `no successful receive yet: ${queue.lastError}`}`);
      else if (now - queue.lastSuccess > this.options.staleAfter) problems.push(`${queue.url}: last successful receive ${Math.round((now - queue.lastSuccess) / 1000)}s ago${queue.lastError === undefined ? '' : `: ${queue.lastError}`}`);
      else oldest = Math.max(oldest, now - queue.lastSuccess);
    }
    if (problems.length > 0) return { ready: false, detail: problems.join('; ') };
    return { ready: true, detail: `${this.queues.length} queue(s) received from, the longest ${Math.round(oldest / 1000)}s ago` };
  }
}
