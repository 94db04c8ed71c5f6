// An in-memory CloudWatch Logs behind the narrow CloudWatchLogsApi: FilterLogEvents pages, DescribeLogGroups, scripted live-tail sessions, injected errors, recorded inputs.
//
// It honours what the poll and live-tail sources depend on: startTime and endTime
// (both inclusive, as the API reference says), limit, opaque nextTokens bound to their
// query, empty pages in the middle of a result (the real service scans in bounded
// chunks), and an abort signal on every call. Errors are the SDK's own exception
// classes, or anything shaped like them, thrown where the SDK would throw them.

import type {
  DescribeLogGroupsCommandInput,
  DescribeLogGroupsCommandOutput,
  FilteredLogEvent,
  FilterLogEventsCommandInput,
  FilterLogEventsCommandOutput,
  StartLiveTailCommandInput,
  StartLiveTailCommandOutput,
  StartLiveTailResponseStream,
} from '@aws-sdk/client-cloudwatch-logs';
import { InvalidParameterException, ResourceNotFoundException } from '@aws-sdk/client-cloudwatch-logs';
import type { CloudWatchLogsApi } from '../../src/sources/cloudwatch-logs-api.ts';

export type Operation = 'filterLogEvents' | 'describeLogGroups' | 'startLiveTail';

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';

export interface PutEvent {
  readonly message: string;
  /** The log event's timestamp (ms): for CloudTrail, the record's eventTime. */
  readonly timestamp: number;
}

interface StoredEvent {
  readonly eventId: string;
  readonly timestamp: number;
  readonly message: string;
  readonly seq: number;
}

interface LogGroup {
  readonly name: string;
  readonly arn: string;
  readonly events: StoredEvent[];
}

interface Cursor {
  readonly query: string;
  /** The (timestamp, seq) of the last event handed out; the next page starts after it. */
  readonly after: readonly [number, number];
  /** Empty pages still to answer before the next events. */
  readonly empties: number;
}

interface Failure {
  readonly operation: Operation;
  readonly error: unknown;
  /** Calls of the operation that still succeed before this one fails. */
  skip: number;
  /** How many calls fail once skipping is over. */
  times: number;
}

/** The CloudWatch Logs event id the fake gives the n-th event it ingests (0-based, across log groups). */
export function logEventId(n: number): string {
  return `3700000000000000000000${String(n).padStart(4, '0')}`;
}

function abortError(): Error {
  return Object.assign(new Error('Request aborted'), { name: 'AbortError' });
}

function metadata(): { httpStatusCode: number } {
  return { httpStatusCode: 200 };
}

export class FakeLogsApi implements CloudWatchLogsApi {
  /** Every call, in order, with a copy of its input. */
  readonly calls: { readonly operation: Operation; readonly input: Record<string, unknown> }[] = [];
  /** Live-tail sessions, in the order they were started. */
  readonly sessions: LiveTailSession[] = [];
  /** Most events per FilterLogEvents page (the request's limit still applies). */
  pageSize = 10_000;
  /** Empty pages answered between two pages of events. */
  emptyPagesBetween = 0;
  private readonly groups = new Map<string, LogGroup>();
  private readonly failures: Failure[] = [];
  private readonly tokens = new Map<string, Cursor>();
  private readonly gates = new Map<Operation, Promise<void>>();
  private readonly sessionWaiters: (() => void)[] = [];
  private nextSeq = 0;
  private nextToken = 0;

  createLogGroup(name: string): string {
    const arn = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${name}`;
    this.groups.set(name, { name, arn, events: [] });
    return arn;
  }

  /** Ingests log events; each gets the next CloudWatch Logs event id. */
  put(group: string, events: readonly PutEvent[]): void {
    const target = this.group(group);
    if (target === undefined) throw new Error(`no log group ${group} in the fake`);
    for (const { message, timestamp } of events) {
      const seq = this.nextSeq++;
      target.events.push({ eventId: logEventId(seq), timestamp, message, seq });
    }
    target.events.sort((a, b) => a.timestamp - b.timestamp || a.seq - b.seq);
  }

  /** The next call(s) of `operation` throw `error`, after `after` calls that succeed. */
  fail(operation: Operation, error: unknown, options: { readonly after?: number; readonly times?: number } = {}): void {
    this.failures.push({ operation, error, skip: options.after ?? 0, times: options.times ?? 1 });
  }

  clearFailures(): void {
    this.failures.length = 0;
  }

  /** Calls of `operation` wait until the returned function is called. */
  block(operation: Operation): () => void {
    let release: () => void = () => {};
    this.gates.set(operation, new Promise<void>((resolve) => (release = resolve)));
    return () => {
      this.gates.delete(operation);
      release();
    };
  }

  inputs(operation: Operation): Record<string, unknown>[] {
    return this.calls.filter((call) => call.operation === operation).map((call) => call.input);
  }

  /** Resolves with session `index` (0-based) once the source has started it. */
  async session(index: number): Promise<LiveTailSession> {
    while (this.sessions.length <= index) await new Promise<void>((resolve) => this.sessionWaiters.push(resolve));
    return this.sessions[index]!;
  }

  async filterLogEvents(input: FilterLogEventsCommandInput, signal: AbortSignal): Promise<FilterLogEventsCommandOutput> {
    await this.enter('filterLogEvents', input, signal);
    const identifier = input.logGroupIdentifier ?? input.logGroupName;
    if ((input.logGroupName === undefined) === (input.logGroupIdentifier === undefined)) {
      throw new InvalidParameterException({ message: 'Exactly one of logGroupName or logGroupIdentifier must be specified.', $metadata: { httpStatusCode: 400 } });
    }
    const group = this.group(identifier!);
    if (group === undefined) throw new ResourceNotFoundException({ message: 'The specified log group does not exist.', $metadata: { httpStatusCode: 400 } });
    const start = input.startTime ?? 0;
    const end = input.endTime ?? Number.MAX_SAFE_INTEGER;
    const query = JSON.stringify([group.arn, start, end, input.filterPattern ?? '']);
    let cursor: Cursor = { query, after: [-Infinity, -Infinity], empties: 0 };
    if (input.nextToken !== undefined) {
      const found = this.tokens.get(input.nextToken);
      if (found === undefined || found.query !== query) throw new InvalidParameterException({ message: 'The specified nextToken is invalid.', $metadata: { httpStatusCode: 400 } });
      this.tokens.delete(input.nextToken);
      cursor = found;
    }
    if (cursor.empties > 0) return { events: [], nextToken: this.issue({ ...cursor, empties: cursor.empties - 1 }), $metadata: metadata() };
    const [afterTime, afterSeq] = cursor.after;
    const remaining = group.events.filter((e) => e.timestamp >= start && e.timestamp <= end && (e.timestamp > afterTime || (e.timestamp === afterTime && e.seq > afterSeq)));
    const page = remaining.slice(0, Math.min(this.pageSize, input.limit ?? 10_000));
    const events: FilteredLogEvent[] = page.map((e) => ({ logStreamName: `${ACCOUNT}_CloudTrail_${REGION}`, timestamp: e.timestamp, message: e.message, ingestionTime: e.timestamp + 1, eventId: e.eventId }));
    const last = page.at(-1);
    if (last === undefined || page.length === remaining.length) return { events, $metadata: metadata() };
    return { events, nextToken: this.issue({ query, after: [last.timestamp, last.seq], empties: this.emptyPagesBetween }), $metadata: metadata() };
  }

  async describeLogGroups(input: DescribeLogGroupsCommandInput, signal: AbortSignal): Promise<DescribeLogGroupsCommandOutput> {
    await this.enter('describeLogGroups', input, signal);
    const prefix = input.logGroupNamePrefix ?? '';
    const names = [...this.groups.keys()].filter((name) => name.startsWith(prefix)).sort();
    const logGroups = names.slice(0, input.limit ?? 50).map((name) => {
      const arn = this.groups.get(name)!.arn;
      // DescribeLogGroups gives both: `arn` with the `:*` suffix, `logGroupArn` without.
      return { logGroupName: name, arn: `${arn}:*`, logGroupArn: arn };
    });
    return { logGroups, $metadata: metadata() };
  }

  async startLiveTail(input: StartLiveTailCommandInput, signal: AbortSignal): Promise<StartLiveTailCommandOutput> {
    await this.enter('startLiveTail', input, signal);
    const session = new LiveTailSession(input, signal);
    this.sessions.push(session);
    for (const wake of this.sessionWaiters.splice(0)) wake();
    return { responseStream: session.stream(), $metadata: metadata() };
  }

  private group(identifier: string): LogGroup | undefined {
    const byName = this.groups.get(identifier);
    if (byName !== undefined) return byName;
    const arn = identifier.replace(/:\*$/, '');
    return [...this.groups.values()].find((group) => group.arn === arn);
  }

  private issue(cursor: Cursor): string {
    const token = `token-${++this.nextToken}`;
    this.tokens.set(token, cursor);
    return token;
  }

  /** Records the call, waits at a gate, and throws an injected failure. */
  private async enter(operation: Operation, input: object, signal: AbortSignal): Promise<void> {
    this.calls.push({ operation, input: structuredClone(input) as Record<string, unknown> });
    const gate = this.gates.get(operation);
    if (gate !== undefined) {
      let stop: () => void = () => {};
      const aborted = new Promise<void>((resolve) => (stop = resolve));
      signal.addEventListener('abort', stop, { once: true });
      await Promise.race([gate, aborted]);
      signal.removeEventListener('abort', stop);
    }
    if (signal.aborted) throw abortError();
    const failure = this.failures.find((f) => f.operation === operation);
    if (failure === undefined) return;
    if (failure.skip > 0) {
      failure.skip--;
      return;
    }
    if (--failure.times <= 0) this.failures.splice(this.failures.indexOf(failure), 1);
    throw failure.error;
  }
}

type Item = { readonly kind: 'event'; readonly event: StartLiveTailResponseStream } | { readonly kind: 'error'; readonly error: unknown } | { readonly kind: 'end' };

/**
 * One StartLiveTail response stream, fed by the test. Like the SDK's, it yields events,
 * throws the stream's exceptions (SessionTimeoutException...) from the iterator, and
 * throws AbortError once the request is aborted.
 */
export class LiveTailSession {
  readonly input: StartLiveTailCommandInput;
  /** True once the consumer has left the stream (ended, thrown or aborted). */
  closed = false;
  private readonly signal: AbortSignal;
  private readonly queue: Item[] = [];
  private wake: (() => void) | undefined;
  private waiting = false;
  private readonly drainWaiters: (() => void)[] = [];

  constructor(input: StartLiveTailCommandInput, signal: AbortSignal) {
    this.input = input;
    this.signal = signal;
    signal.addEventListener('abort', () => this.wake?.(), { once: true });
  }

  push(...events: StartLiveTailResponseStream[]): this {
    for (const event of events) this.queue.push({ kind: 'event', event });
    this.wake?.();
    return this;
  }

  /** The stream throws `error` after what was pushed before it. */
  fail(error: unknown): this {
    this.queue.push({ kind: 'error', error });
    this.wake?.();
    return this;
  }

  /** The stream ends without an exception after what was pushed before. */
  end(): this {
    this.queue.push({ kind: 'end' });
    this.wake?.();
    return this;
  }

  /** Resolves once the consumer has handled everything pushed so far (it asks for more), or has left the stream. */
  async drained(): Promise<void> {
    while (!this.closed && !(this.waiting && this.queue.length === 0)) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  async *stream(): AsyncGenerator<StartLiveTailResponseStream> {
    try {
      for (;;) {
        while (this.queue.length === 0) {
          if (this.signal.aborted) throw abortError();
          this.waiting = true;
          this.notify();
          await new Promise<void>((resolve) => (this.wake = resolve));
          this.waiting = false;
        }
        const item = this.queue.shift()!;
        if (item.kind === 'end') return;
        if (item.kind === 'error') throw item.error;
        yield item.event;
      }
    } finally {
      this.closed = true;
      this.notify();
    }
  }

  private notify(): void {
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }
}
