// The live-tail source: StartLiveTail for seconds-level latency, reconnecting when a session ends or breaks.
//
// Live tail is lossy by design (sampled above 500 events/s, the oldest updates dropped
// when we lag, sessions end after 3 hours), so a slower poll runs beside it and the
// pipeline's CloudTrail eventID de-duplication keeps what both see counted once.

import type { CloudWatchLogsClient, StartLiveTailResponseStream } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeLogGroupsCommand, StartLiveTailCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { RecordBatch } from '../record-batch.ts';
import type { AwsErrorKind } from './aws-errors.ts';
import { awsErrorKind } from './aws-errors.ts';
import { sleep } from './filter-log-events.ts';

export interface LiveTailOptions {
  readonly name: string;
  readonly client: CloudWatchLogsClient;
  /** Log group names or ARNs (at most 10); names are resolved to ARNs, which StartLiveTail requires. */
  readonly logGroups: readonly string[];
  readonly filterPattern: string;
  readonly now: () => number;
  readonly deliver: (batch: RecordBatch) => Promise<void>;
  readonly onError: (kind: AwsErrorKind, error: unknown) => void;
  /** An update was sampled: live tail sent only part of the matching events. */
  readonly onSampled: () => void;
  readonly onSession?: (event: 'start' | 'end') => void;
  /** Backoff between reconnects after a failure (ms); doubles up to 30 s. */
  readonly retryBase?: number;
}

export const LIVE_TAIL_MAX_LOG_GROUPS = 10;

export class LiveTailSource {
  private readonly options: LiveTailOptions;
  private arns: string[] | undefined;
  private connectedSince: number | undefined;
  private lastError: string | undefined;

  constructor(options: LiveTailOptions) {
    if (options.logGroups.length > LIVE_TAIL_MAX_LOG_GROUPS) throw new Error(`live tail takes at most ${LIVE_TAIL_MAX_LOG_GROUPS} log groups, got ${options.logGroups.length}`);
    this.options = options;
  }

  get name(): string {
    return this.options.name;
  }

  status(): { ready: boolean; detail: string } {
    if (this.connectedSince !== undefined) return { ready: true, detail: `session open for ${Math.round((this.options.now() - this.connectedSince) / 1000)}s` };
    return { ready: false, detail: this.lastError === undefined ? 'connecting' : `reconnecting after: ${this.lastError}` };
  }

  async run(signal: AbortSignal): Promise<void> {
    const base = this.options.retryBase ?? 1000;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const completed = await this.session(signal);
        failures = completed ? 0 : failures + 1;
      } catch (error) {
        if (signal.aborted) return;
        failures++;
        const kind = awsErrorKind(error);
        this.lastError = `${kind} (${(error as Error).name ?? 'Error'})`;
        this.options.onError(kind, error);
      }
      this.connectedSince = undefined;
      this.options.onSession?.('end');
      // A session that ran its course (3 h) reconnects at once; a failing one backs off.
      if (failures > 0) await sleep(Math.min(30_000, base * 2 ** Math.min(failures - 1, 5)), signal);
    }
  }

  private async resolveArns(signal: AbortSignal): Promise<string[]> {
    if (this.arns !== undefined) return this.arns;
    const arns: string[] = [];
    for (const group of this.options.logGroups) {
      if (group.startsWith('arn:')) {
        arns.push(group.replace(/:\*$/, ''));
        continue;
      }
      const found = await this.options.client.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: group, limit: 50 }), { abortSignal: signal });
      const match = found.logGroups?.find((g) => g.logGroupName === group);
      const arn = match?.logGroupArn ?? match?.arn?.replace(/:\*$/, '');
      if (arn === undefined) throw Object.assign(new Error(`log group ${group} not found`), { name: 'ResourceNotFoundException' });
      arns.push(arn);
    }
    this.arns = arns;
    return arns;
  }

  /** One session; true when it ended normally (timeout or end of stream), false when it never started. */
  private async session(outer: AbortSignal): Promise<boolean> {
    const arns = await this.resolveArns(outer);
    // Breaking out of the stream does not close the HTTP request: aborting does.
    const controller = new AbortController();
    const abort = () => controller.abort();
    outer.addEventListener('abort', abort, { once: true });
    try {
      const response = await this.options.client.send(new StartLiveTailCommand({ logGroupIdentifiers: arns, logEventFilterPattern: this.options.filterPattern }), { abortSignal: controller.signal });
      let started = false;
      for await (const event of response.responseStream ?? ([] as StartLiveTailResponseStream[])) {
        if (event.sessionStart !== undefined) {
          started = true;
          this.connectedSince = this.options.now();
          this.lastError = undefined;
          this.options.onSession?.('start');
        } else if (event.sessionUpdate !== undefined) {
          if (event.sessionUpdate.sessionMetadata?.sampled === true) this.options.onSampled();
          const records = (event.sessionUpdate.sessionResults ?? []).map((result) => result.message).filter((m): m is string => typeof m === 'string');
          if (records.length > 0) await this.options.deliver({ records, skipped: 0, invalid: [] });
        }
      }
      return started;
    } catch (error) {
      // The service ends every session after 3 hours with SessionTimeoutException: not a failure.
      if ((error as Error).name === 'SessionTimeoutException') {
        this.options.onError('session_ended', error);
        return true;
      }
      throw error;
    } finally {
      outer.removeEventListener('abort', abort);
      controller.abort();
    }
  }
}
