// The poll source: FilterLogEvents over each log group, re-reading a lateness window, resumable from a checkpoint.
//
// CloudTrail reaches CloudWatch Logs minutes late and out of order, and FilterLogEvents
// windows are on the event timestamp. So each cycle reads from (last cycle's end −
// lateness window) to now, and drops log events it has already handed over, by their
// CloudWatch Logs event id (kept while they can still be re-read). What counts as a
// change, and CloudTrail eventID de-duplication, stay in the pipeline.

import type { FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import { z } from 'zod';
import type { StateMetrics } from '../record/state-metrics.ts';
import { AWS_ERROR_KINDS, awsErrorKind } from './aws-errors.ts';
import type { CloudWatchLogsApi } from './cloudwatch-logs-api.ts';
import { COMMIT_FAILED } from './source.ts';
import type { Source, SourceContext, SourceProgress, SourceStatus } from './source.ts';

const finite = z.number().finite();

export const pollProgressSchema = z.object({
  logGroups: z.record(
    z.string(),
    z.object({
      /** The end of the last complete cycle, on the event timestamp (ms). */
      doneUntil: finite,
      /** CloudWatch Logs event ids handed over that a later cycle may read again, with their timestamps. */
      seen: z.array(z.tuple([z.string(), finite])),
    }),
  ),
});

export type PollProgress = z.infer<typeof pollProgressSchema>;

export const POLL_ERROR_KINDS = [...AWS_ERROR_KINDS, COMMIT_FAILED] as const;

export interface PollOptions {
  readonly name: string;
  readonly api: CloudWatchLogsApi;
  /** Log group names or ARNs. */
  readonly logGroups: readonly string[];
  readonly filterPattern: string;
  readonly interval: number;
  readonly latenessWindow: number;
  readonly lookback: number;
  /** The source is not ready when its last complete cycle is older than this. */
  readonly staleAfter: number;
  /** Most CloudWatch Logs event ids remembered per log group; the oldest go first (the eventID de-duplication still holds). */
  readonly seenLimit: number;
  readonly metrics: StateMetrics;
  readonly context: SourceContext;
  readonly onCycle?: (logGroup: string, events: number) => void;
}

function isArn(group: string): boolean {
  return group.startsWith('arn:');
}

export class PollSource implements Source {
  readonly errorKinds: readonly string[] = POLL_ERROR_KINDS;
  readonly eventKinds: readonly string[] = [];
  readonly progress: SourceProgress<PollProgress>;
  private readonly options: PollOptions;
  private readonly doneUntil = new Map<string, number>();
  private readonly seen = new Map<string, Map<string, number>>();
  private lastSuccess: number | undefined;
  private lastError: string | undefined;

  constructor(options: PollOptions) {
    this.options = options;
    for (const group of options.logGroups) this.seen.set(group, new Map());
    options.metrics.table('poll_log_event_ids', options.seenLimit * options.logGroups.length, () => [...this.seen.values()].reduce((sum, ids) => sum + ids.size, 0));
    this.progress = { schema: pollProgressSchema, snapshot: () => this.snapshot(), restore: (progress) => this.restore(progress) };
  }

  get name(): string {
    return this.options.name;
  }

  /** Resumes from a checkpoint; log groups not in it start from the look-back. */
  private restore(progress: PollProgress): void {
    for (const group of this.options.logGroups) {
      const state = progress.logGroups[group];
      if (state === undefined) continue;
      this.doneUntil.set(group, state.doneUntil);
      const seen = new Map<string, number>();
      for (const [id, timestamp] of state.seen.slice(-this.options.seenLimit)) seen.set(id, timestamp);
      this.seen.set(group, seen);
    }
  }

  private snapshot(): PollProgress {
    const logGroups: PollProgress['logGroups'] = {};
    for (const group of this.options.logGroups) {
      const doneUntil = this.doneUntil.get(group);
      const seen = this.seen.get(group) ?? new Map<string, number>();
      if (doneUntil === undefined && seen.size === 0) continue;
      logGroups[group] = { doneUntil: doneUntil ?? this.options.context.now() - this.options.lookback, seen: [...seen] };
    }
    return { logGroups };
  }

  status(): SourceStatus {
    const now = this.options.context.now();
    if (this.lastSuccess === undefined) return { ready: false, detail: this.lastError === undefined ? 'first poll in progress' : `no successful poll yet: ${this.lastError}` };
    const age = Math.round((now - this.lastSuccess) / 1000);
    const ready = now - this.lastSuccess <= this.options.staleAfter;
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
        this.lastSuccess = this.options.context.now();
        this.lastError = undefined;
      }
      await sleep(this.options.interval, signal);
    }
  }

  /** One cycle over one log group; false when it failed (its progress is kept for the next try). */
  async pollGroup(group: string, signal: AbortSignal): Promise<boolean> {
    const end = this.options.context.now();
    // The look-back counts from the first attempt: a first cycle that keeps failing must not
    // slide its start forward, or what happened during the outage would never be read.
    if (!this.doneUntil.has(group)) this.doneUntil.set(group, end - this.options.lookback);
    const doneUntil = this.doneUntil.get(group)!;
    const start = Math.max(0, doneUntil - this.options.latenessWindow);
    const seen = this.seen.get(group) ?? new Map<string, number>();
    this.seen.set(group, seen);
    let events = 0;
    let stage = 'FilterLogEvents';
    try {
      let nextToken: string | undefined;
      do {
        const page = await this.options.api.filterLogEvents(
          { ...(isArn(group) ? { logGroupIdentifier: group } : { logGroupName: group }), startTime: start, endTime: end, filterPattern: this.options.filterPattern, limit: 10_000, ...(nextToken === undefined ? {} : { nextToken }) },
          signal,
        );
        if (signal.aborted) return false;
        nextToken = page.nextToken;
        const fresh = (page.events ?? []).filter((event): event is FilteredLogEvent & { eventId: string } => event.eventId !== undefined && !seen.has(event.eventId));
        if (fresh.length === 0) continue;
        const records = fresh.flatMap((event) => (typeof event.message === 'string' ? [event.message] : []));
        stage = 'commit';
        await this.options.context.deliver({ records, skipped: 0, invalid: [] });
        stage = 'FilterLogEvents';
        // Remembered once committed: a page the state store refused is read again next cycle.
        for (const event of fresh) seen.set(event.eventId, event.timestamp ?? end);
        this.bound(seen);
        events += fresh.length;
      } while (nextToken !== undefined);
    } catch (error) {
      if (signal.aborted) return false;
      const kind = stage === 'commit' ? COMMIT_FAILED : awsErrorKind(error);
      this.lastError = `${group}: ${kind} (${(error as Error).name ?? 'Error'}: ${(error as Error).message})`;
      this.options.context.error(kind, stage === 'commit' ? `a page of ${group} was not committed (${(error as Error).message}); re-read next cycle` : `FilterLogEvents on ${group} failed (${kind}): ${(error as Error).message}; retrying next cycle`, error);
      return false;
    }
    this.doneUntil.set(group, end);
    // Ids older than the next cycle's window cannot come back: forget them.
    const horizon = end - this.options.latenessWindow;
    for (const [id, timestamp] of seen) if (timestamp < horizon) seen.delete(id);
    // The cycle's end is progress too: commit it, so a restart does not re-read a quiet window.
    await this.options.context.deliver({ records: [], skipped: 0, invalid: [] }).catch(() => {});
    this.options.onCycle?.(group, events);
    return true;
  }

  private bound(seen: Map<string, number>): void {
    let excess = seen.size - this.options.seenLimit;
    if (excess <= 0) return;
    this.options.metrics.evicted('poll_log_event_ids', excess);
    for (const id of seen.keys()) {
      if (excess-- <= 0) break;
      seen.delete(id);
    }
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
