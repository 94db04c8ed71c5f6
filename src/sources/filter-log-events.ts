// The poll source: FilterLogEvents over each log group, re-reading a lateness window, resumable from a checkpoint.
//
// CloudTrail reaches CloudWatch Logs minutes late and out of order, and FilterLogEvents
// windows are on the event timestamp. So each cycle reads from (last cycle's end −
// lateness window) to now, and drops log events it has already handed over, by their
// CloudWatch Logs event id (kept while they can still be re-read). What counts as a
// change, and CloudTrail eventID de-duplication, stay in the pipeline.

import type { CloudWatchLogsClient, FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import { paginateFilterLogEvents } from '@aws-sdk/client-cloudwatch-logs';
import type { RecordBatch } from '../record-batch.ts';
import type { AwsErrorKind } from './aws-errors.ts';
import { awsErrorKind } from './aws-errors.ts';

export interface PollOptions {
  readonly name: string;
  readonly client: CloudWatchLogsClient;
  /** Log group names or ARNs. */
  readonly logGroups: readonly string[];
  readonly filterPattern: string;
  readonly interval: number;
  readonly latenessWindow: number;
  readonly lookback: number;
  readonly now: () => number;
  /** Records a page of log events and commits the checkpoint; resolves once both are done. */
  readonly deliver: (batch: RecordBatch) => Promise<void>;
  readonly onError: (kind: AwsErrorKind, logGroup: string, error: unknown) => void;
  readonly onCycle?: (logGroup: string, events: number) => void;
}

/** One log group's progress, as the checkpoint stores it. */
export interface GroupProgress {
  /** The end of the last complete cycle, on the event timestamp (ms). */
  readonly doneUntil: number;
  /** CloudWatch Logs event ids handed over that a later cycle may read again, with their timestamps. */
  readonly seen: readonly (readonly [id: string, timestamp: number])[];
}

export interface PollProgress {
  readonly logGroups: Readonly<Record<string, GroupProgress>>;
}

function isArn(group: string): boolean {
  return group.startsWith('arn:');
}

export class PollSource {
  private readonly options: PollOptions;
  private readonly doneUntil = new Map<string, number>();
  private readonly seen = new Map<string, Map<string, number>>();
  private lastSuccess: number | undefined;
  private lastError: string | undefined;

  constructor(options: PollOptions) {
    this.options = options;
    for (const group of options.logGroups) this.seen.set(group, new Map());
  }

  get name(): string {
    return this.options.name;
  }

  /** Resumes from a checkpoint; log groups not in it start from the look-back. */
  restore(progress: unknown): void {
    const groups = (progress as PollProgress | undefined)?.logGroups ?? {};
    for (const group of this.options.logGroups) {
      const state = groups[group];
      if (state === undefined || typeof state.doneUntil !== 'number' || !Array.isArray(state.seen)) continue;
      this.doneUntil.set(group, state.doneUntil);
      this.seen.set(group, new Map(state.seen));
    }
  }

  progress(): PollProgress {
    const logGroups: Record<string, GroupProgress> = {};
    for (const group of this.options.logGroups) {
      const doneUntil = this.doneUntil.get(group);
      if (doneUntil === undefined && (this.seen.get(group)?.size ?? 0) === 0) continue;
      logGroups[group] = { doneUntil: doneUntil ?? this.options.now() - this.options.lookback, seen: [...(this.seen.get(group) ?? new Map<string, number>())] };
    }
    return { logGroups };
  }

  status(staleAfter: number): { ready: boolean; detail: string } {
    const now = this.options.now();
    if (this.lastSuccess === undefined) return { ready: false, detail: this.lastError === undefined ? 'first poll in progress' : `no successful poll yet: ${this.lastError}` };
    const age = Math.round((now - this.lastSuccess) / 1000);
    const ready = now - this.lastSuccess <= staleAfter;
    return { ready, detail: `last complete poll of ${this.options.logGroups.length} log group(s) ${age}s ago${this.lastError === undefined ? '' : `; last error: ${this.lastError}`}` };
  }

  /** Polls until aborted; a failing log group is retried on the next cycle, never fatal. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let allOk = true;
      for (const group of this.options.logGroups) {
        if (signal.aborted) return;
        if (!(await this.pollGroup(group, signal))) allOk = false;
      }
      if (allOk) {
        this.lastSuccess = this.options.now();
        this.lastError = undefined;
      }
      await sleep(this.options.interval, signal);
    }
  }

  /** One cycle over one log group; false when it failed (its progress is kept for the next try). */
  async pollGroup(group: string, signal: AbortSignal): Promise<boolean> {
    const end = this.options.now();
    const doneUntil = this.doneUntil.get(group) ?? end - this.options.lookback;
    const start = Math.max(0, doneUntil - this.options.latenessWindow);
    const seen = this.seen.get(group) ?? new Map<string, number>();
    this.seen.set(group, seen);
    let events = 0;
    try {
      const pages = paginateFilterLogEvents(
        { client: this.options.client, pageSize: 10_000 },
        { ...(isArn(group) ? { logGroupIdentifier: group } : { logGroupName: group }), startTime: start, endTime: end, filterPattern: this.options.filterPattern },
      );
      for await (const page of pages) {
        if (signal.aborted) return false;
        const fresh = (page.events ?? []).filter((event) => event.eventId !== undefined && !seen.has(event.eventId));
        if (fresh.length === 0) continue;
        const records: string[] = [];
        for (const event of fresh as (FilteredLogEvent & { eventId: string })[]) {
          seen.set(event.eventId, event.timestamp ?? end);
          if (typeof event.message === 'string') records.push(event.message);
        }
        events += fresh.length;
        await this.options.deliver({ records, skipped: 0, invalid: [] });
      }
    } catch (error) {
      if (signal.aborted) return false;
      const kind = awsErrorKind(error);
      this.lastError = `${group}: ${kind} (${(error as Error).name ?? 'Error'})`;
      this.options.onError(kind, group, error);
      return false;
    }
    this.doneUntil.set(group, end);
    // Ids older than the next cycle's window cannot come back: forget them.
    const horizon = end - this.options.latenessWindow;
    for (const [id, timestamp] of seen) if (timestamp < horizon) seen.delete(id);
    await this.options.deliver({ records: [], skipped: 0, invalid: [] });
    this.options.onCycle?.(group, events);
    return true;
  }
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
