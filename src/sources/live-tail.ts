// The live-tail source: StartLiveTail for seconds-level latency, reconnecting when a session ends or breaks.
//
// Live tail is lossy by design (sampled above 500 events/s, the oldest updates dropped
// when we lag, sessions end after 3 hours), so a slower poll runs beside it and the
// pipeline's CloudTrail eventID de-duplication keeps what both see counted once.

import type { StartLiveTailResponseStream } from '@aws-sdk/client-cloudwatch-logs';
import { AWS_ERROR_KINDS, awsErrorKind } from './aws-errors.ts';
import type { CloudWatchLogsApi } from './cloudwatch-logs-api.ts';
import { sleep } from './filter-log-events.ts';
import { COMMIT_FAILED } from './source.ts';
import type { Source, SourceContext, SourceStatus } from './source.ts';

export interface LiveTailOptions {
  readonly name: string;
  readonly api: CloudWatchLogsApi;
  /** Log group names or ARNs (at most 10); names are resolved to ARNs, which StartLiveTail requires. */
  readonly logGroups: readonly string[];
  readonly filterPattern: string;
  readonly context: SourceContext;
  readonly onSession?: (event: 'start' | 'end') => void;
  /** Backoff between reconnects after a failure (ms); doubles up to 30 s. */
  readonly retryBase?: number;
}

export const LIVE_TAIL_MAX_LOG_GROUPS = 10;

/** Live tail's normal events: an update was sampled (only part of the matches sent); the service ended a session (every 3 hours). */
export const LIVE_TAIL_EVENT_KINDS = ['sampled', 'session_ended'] as const;

export class LiveTailSource implements Source {
  readonly errorKinds: readonly string[] = [...AWS_ERROR_KINDS, COMMIT_FAILED];
  readonly eventKinds: readonly string[] = LIVE_TAIL_EVENT_KINDS;
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

  status(): SourceStatus {
    if (this.connectedSince !== undefined) return { ready: true, detail: `session open for ${Math.round((this.options.context.now() - this.connectedSince) / 1000)}s` };
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
        this.lastError = `${kind} (${(error as Error).name ?? 'Error'}: ${(error as Error).message})`;
        this.options.context.error(kind, `live tail failed (${kind}): ${(error as Error).message}; reconnecting`, error);
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
      const found = await this.options.api.describeLogGroups({ logGroupNamePrefix: group, limit: 50 }, signal);
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
      const response = await this.options.api.startLiveTail({ logGroupIdentifiers: arns, logEventFilterPattern: this.options.filterPattern }, controller.signal);
      let started = false;
      for await (const event of response.responseStream ?? ([] as StartLiveTailResponseStream[])) {
        if (event.sessionStart !== undefined) {
          started = true;
          this.connectedSince = this.options.context.now();
          this.lastError = undefined;
          this.options.onSession?.('start');
        } else if (event.sessionUpdate !== undefined) {
          if (event.sessionUpdate.sessionMetadata?.sampled === true) this.options.context.event('sampled');
          const records = (event.sessionUpdate.sessionResults ?? []).map((result) => result.message).filter((m): m is string => typeof m === 'string');
          // A batch the state store refused is not retried here: the reconciling poll reads it again.
          if (records.length > 0) await this.options.context.deliver({ records, skipped: 0, invalid: [] }).catch((error: unknown) => this.options.context.error(COMMIT_FAILED, `a live-tail update was not committed (${(error as Error).message}); the reconciling poll reads it again`, error));
        }
      }
      return started;
    } catch (error) {
      // The service ends every session after 3 hours with SessionTimeoutException: not a failure.
      if ((error as Error).name === 'SessionTimeoutException') {
        this.options.context.event('session_ended', 'live tail session ended; reconnecting');
        return true;
      }
      throw error;
    } finally {
      outer.removeEventListener('abort', abort);
      controller.abort();
    }
  }
}
