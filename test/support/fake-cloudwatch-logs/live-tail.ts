// StartLiveTail sessions: sessionStart, periodic sampled sessionUpdates, a bounded buffer, and in-stream exceptions.
import type { ServerResponse } from 'node:http';
import type { Random } from '../../../trail/random.ts';
import type { LogGroupRecord, StoredLogEvent } from './store.ts';
import { encodeEvent, encodeException } from './wire.ts';

export interface LiveTailSettings {
  /** The service sends a sessionUpdate every second; tests shorten it. */
  readonly updateIntervalMs: number;
  /** Above this many matching events in one update, a random sample of this size is sent with sampled=true (500 real). */
  readonly maxEventsPerUpdate: number;
  /** Updates waiting for a client that does not read: past either bound the oldest are dropped (10 / 5,000 real). */
  readonly bufferMaxUpdates: number;
  readonly bufferMaxEvents: number;
  /** After this the session ends with SessionTimeoutException (3 h real). */
  readonly maxSessionDurationMs: number;
  /** Concurrent sessions before StartLiveTail answers LimitExceededException. */
  readonly maxConcurrentSessions: number;
}

export const DEFAULT_LIVE_TAIL_SETTINGS: LiveTailSettings = {
  updateIntervalMs: 1000,
  maxEventsPerUpdate: 500,
  bufferMaxUpdates: 10,
  bufferMaxEvents: 5000,
  maxSessionDurationMs: 3 * 60 * 60 * 1000,
  maxConcurrentSessions: 15,
};

export type LiveTailEnd = 'timeout' | 'streaming-error' | 'dropped' | 'client-closed' | 'server-closed';

export interface LiveTailSessionStats {
  readonly sessionId: string;
  readonly requestId: string;
  readonly logGroupIdentifiers: readonly string[];
  readonly startedAt: number;
  updatesSent: number;
  eventsSent: number;
  /** Matching events left out of sampled updates. */
  eventsSampledOut: number;
  /** Updates (and their events) dropped from the buffer because the client lagged. */
  updatesDropped: number;
  eventsDropped: number;
  ended: LiveTailEnd | null;
}

export interface LiveTailTarget {
  /** As the client named it: echoed in sessionStart and in each result's logGroupIdentifier. */
  readonly identifier: string;
  readonly group: LogGroupRecord;
}

export interface LiveTailRequest {
  readonly requestId: string;
  readonly sessionId: string;
  readonly targets: readonly LiveTailTarget[];
  readonly logStreamNames: readonly string[] | undefined;
  readonly logStreamNamePrefixes: readonly string[] | undefined;
  readonly logEventFilterPattern: string | undefined;
  readonly match: (message: string) => boolean;
}

interface Pending {
  readonly identifier: string;
  readonly event: StoredLogEvent;
}

interface Queued {
  readonly bytes: Uint8Array;
  readonly events: number;
}

export class LiveTailSession {
  readonly stats: LiveTailSessionStats;
  readonly #res: ServerResponse;
  readonly #request: LiveTailRequest;
  readonly #settings: LiveTailSettings;
  readonly #random: Random;
  readonly #onEnd: (session: LiveTailSession) => void;
  #pending: Pending[] = [];
  readonly #outbox: Queued[] = [];
  #outboxEvents = 0;
  #stalled = false;
  #awaitingDrain = false;
  #ticker: NodeJS.Timeout | undefined;
  #deadline: NodeJS.Timeout | undefined;

  constructor(options: {
    res: ServerResponse;
    request: LiveTailRequest;
    settings: LiveTailSettings;
    random: Random;
    now: number;
    stalled: boolean;
    onEnd: (session: LiveTailSession) => void;
  }) {
    this.#res = options.res;
    this.#request = options.request;
    this.#settings = options.settings;
    this.#random = options.random;
    this.#onEnd = options.onEnd;
    this.#stalled = options.stalled;
    this.stats = {
      sessionId: options.request.sessionId,
      requestId: options.request.requestId,
      logGroupIdentifiers: options.request.targets.map((t) => t.identifier),
      startedAt: options.now,
      updatesSent: 0,
      eventsSent: 0,
      eventsSampledOut: 0,
      updatesDropped: 0,
      eventsDropped: 0,
      ended: null,
    };
  }

  get ended(): boolean {
    return this.stats.ended !== null;
  }

  start(): void {
    const r = this.#request;
    const sessionStart: Record<string, unknown> = {
      requestId: r.requestId,
      sessionId: r.sessionId,
      logGroupIdentifiers: r.targets.map((t) => t.identifier),
    };
    if (r.logStreamNames) sessionStart['logStreamNames'] = r.logStreamNames;
    if (r.logStreamNamePrefixes) sessionStart['logStreamNamePrefixes'] = r.logStreamNamePrefixes;
    if (r.logEventFilterPattern !== undefined) sessionStart['logEventFilterPattern'] = r.logEventFilterPattern;
    this.#res.writeHead(200, {
      'Content-Type': 'application/vnd.amazon.eventstream',
      'x-amzn-RequestId': r.requestId,
    });
    // The SDK does not hand the stream to the caller until the first message arrives.
    this.#res.write(encodeEvent('sessionStart', sessionStart));
    this.#res.on('close', () => this.#finish('client-closed'));
    this.#ticker = setInterval(() => this.#tick(), this.#settings.updateIntervalMs);
    this.#deadline = setTimeout(
      () => this.end('timeout'),
      this.#settings.maxSessionDurationMs,
    );
  }

  /** Called for every append: live tail shows what is ingested now, whatever the event's own timestamp. */
  offer(group: LogGroupRecord, events: readonly StoredLogEvent[]): void {
    if (this.ended) return;
    const target = this.#request.targets.find((t) => t.group === group);
    if (!target) return;
    const { logStreamNames, logStreamNamePrefixes, match } = this.#request;
    for (const event of events) {
      if (logStreamNames && !logStreamNames.includes(event.logStreamName)) continue;
      if (logStreamNamePrefixes && !logStreamNamePrefixes.some((p) => event.logStreamName.startsWith(p))) continue;
      if (!match(event.message)) continue;
      this.#pending.push({ identifier: target.identifier, event });
    }
  }

  /** While stalled, updates pile up in the buffer as if the client stopped reading. */
  stall(stalled: boolean): void {
    this.#stalled = stalled;
    if (!stalled) this.#flush();
  }

  /** Ends the session: the in-stream exception for 'timeout'/'streaming-error', a reset connection for 'dropped'. */
  end(how: 'timeout' | 'streaming-error' | 'dropped' | 'server-closed'): void {
    if (this.ended) return;
    if (how === 'dropped' || how === 'server-closed') {
      this.#finish(how);
      this.#res.destroy();
      return;
    }
    this.#finish(how);
    // What was already buffered still reaches the client, then the exception and the end of the stream.
    for (const queued of this.#outbox.splice(0)) this.#write(queued);
    this.#res.end(
      how === 'timeout'
        ? encodeException('SessionTimeoutException', 'Session timed out after its maximum duration.')
        : encodeException('SessionStreamingException', 'An unknown error occurred while streaming the session.'),
    );
  }

  #tick(): void {
    const batch = this.#pending;
    this.#pending = [];
    const limit = this.#settings.maxEventsPerUpdate;
    let chosen = batch;
    const sampled = batch.length > limit;
    if (sampled) {
      chosen = this.#random.sample(batch, limit);
      this.stats.eventsSampledOut += batch.length - limit;
    }
    const update = {
      sessionMetadata: { sampled },
      sessionResults: chosen.map(({ identifier, event }) => ({
        logStreamName: event.logStreamName,
        logGroupIdentifier: identifier,
        message: event.message,
        timestamp: event.timestamp,
        ingestionTime: event.ingestionTime,
      })),
    };
    this.#outbox.push({ bytes: encodeEvent('sessionUpdate', update), events: chosen.length });
    this.#outboxEvents += chosen.length;
    while (
      this.#outbox.length > this.#settings.bufferMaxUpdates ||
      (this.#outboxEvents > this.#settings.bufferMaxEvents && this.#outbox.length > 0)
    ) {
      const dropped = this.#outbox.shift()!;
      this.#outboxEvents -= dropped.events;
      this.stats.updatesDropped++;
      this.stats.eventsDropped += dropped.events;
    }
    this.#flush();
  }

  // Real backpressure counts too: once the socket stops accepting, updates wait in the bounded buffer.
  #flush(): void {
    while (!this.#stalled && !this.#awaitingDrain && !this.ended && this.#outbox.length > 0) {
      const queued = this.#outbox.shift()!;
      this.#outboxEvents -= queued.events;
      if (!this.#write(queued)) {
        this.#awaitingDrain = true;
        this.#res.once('drain', () => {
          this.#awaitingDrain = false;
          this.#flush();
        });
      }
    }
  }

  #write(queued: Queued): boolean {
    this.stats.updatesSent++;
    this.stats.eventsSent += queued.events;
    return this.#res.write(queued.bytes);
  }

  #finish(how: LiveTailEnd): void {
    if (this.ended) return;
    this.stats.ended = how;
    clearInterval(this.#ticker);
    clearTimeout(this.#deadline);
    this.#onEnd(this);
  }
}
