// The fake's state: log groups, their streams and events, kept in the order FilterLogEvents returns them.

export interface StoredLogEvent {
  readonly eventId: string;
  readonly timestamp: number;
  readonly ingestionTime: number;
  readonly message: string;
  readonly logStreamName: string;
  readonly logGroupName: string;
  /** Global append order: the last tie-breaker, standing in for the PutLogEvents request id. */
  readonly seq: number;
}

export interface LogGroupRecord {
  readonly name: string;
  /** Without the trailing `:*` (DescribeLogGroups' `arn` field has it, `logGroupArn` does not). */
  readonly arn: string;
  readonly accountId: string;
  readonly region: string;
  readonly creationTime: number;
  /** A group deleted and re-created under the same name is a new group: old tokens must not carry over. */
  readonly incarnation: number;
  readonly streams: Set<string>;
  /** Sorted by timestamp, then ingestion time, then append order, as FilterLogEvents returns them. */
  readonly events: StoredLogEvent[];
  storedBytes: number;
}

export interface NewLogEvent {
  /** The event's own time (CloudTrail's eventTime): what startTime/endTime select on. */
  readonly timestamp: number;
  readonly message: string;
  /** When CloudWatch Logs received it; defaults to the fake's clock. May be hours after `timestamp`. */
  readonly ingestionTime?: number;
}

export interface CreateLogGroupOptions {
  /** Another account than the fake's default, e.g. an organization trail's log group owner. */
  readonly accountId?: string;
  readonly region?: string;
  readonly creationTime?: number;
}

export type AppendListener = (group: LogGroupRecord, events: readonly StoredLogEvent[]) => void;

// PutLogEvents' limit: 256 KB per event including 26 bytes of overhead.
export const MAX_EVENT_BYTES = 262_144 - 26;
const GROUP_NAME = /^[.\-_/#A-Za-z0-9]{1,512}$/;
const STREAM_NAME = /^[^:*]{1,512}$/;

export function logGroupArn(region: string, accountId: string, name: string): string {
  return `arn:aws:logs:${region}:${accountId}:log-group:${name}`;
}

/** What orders events: a page cursor is one of these. */
export type EventKey = Pick<StoredLogEvent, 'timestamp' | 'ingestionTime' | 'seq'>;

export function compareEvents(a: EventKey, b: EventKey): number {
  return a.timestamp - b.timestamp || a.ingestionTime - b.ingestionTime || a.seq - b.seq;
}

function isNonNegativeInteger(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

export class LogStore {
  readonly #groups = new Map<string, LogGroupRecord>();
  readonly #listeners = new Set<AppendListener>();
  readonly #now: () => number;
  readonly #accountId: string;
  readonly #region: string;
  #seq = 0;
  #incarnation = 0;

  constructor(options: { now: () => number; accountId: string; region: string }) {
    this.#now = options.now;
    this.#accountId = options.accountId;
    this.#region = options.region;
  }

  createLogGroup(name: string, options: CreateLogGroupOptions = {}): LogGroupRecord {
    if (!GROUP_NAME.test(name)) throw new RangeError(`invalid log group name: ${JSON.stringify(name)}`);
    if (this.#groups.has(name)) throw new Error(`log group ${name} already exists`);
    const accountId = options.accountId ?? this.#accountId;
    const region = options.region ?? this.#region;
    const group: LogGroupRecord = {
      name,
      arn: logGroupArn(region, accountId, name),
      accountId,
      region,
      creationTime: options.creationTime ?? this.#now(),
      incarnation: ++this.#incarnation,
      streams: new Set(),
      events: [],
      storedBytes: 0,
    };
    this.#groups.set(name, group);
    return group;
  }

  deleteLogGroup(name: string): boolean {
    return this.#groups.delete(name);
  }

  get(name: string): LogGroupRecord | undefined {
    return this.#groups.get(name);
  }

  /** A log group by name or ARN; an ARN may carry the `:*` suffix DescribeLogGroups' `arn` has. */
  resolve(identifier: string): LogGroupRecord | undefined {
    if (!identifier.startsWith('arn:')) return this.#groups.get(identifier);
    const arn = identifier.endsWith(':*') ? identifier.slice(0, -2) : identifier;
    for (const group of this.#groups.values()) if (group.arn === arn) return group;
    return undefined;
  }

  list(): LogGroupRecord[] {
    return [...this.#groups.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  append(groupName: string, streamName: string, events: readonly NewLogEvent[]): StoredLogEvent[] {
    const group = this.#groups.get(groupName);
    if (!group) throw new Error(`log group ${groupName} does not exist (create it first)`);
    if (!STREAM_NAME.test(streamName)) throw new RangeError(`invalid log stream name: ${JSON.stringify(streamName)}`);
    const stored: StoredLogEvent[] = [];
    for (const event of events) {
      const ingestionTime = event.ingestionTime ?? this.#now();
      if (!isNonNegativeInteger(event.timestamp) || !isNonNegativeInteger(ingestionTime)) {
        throw new RangeError('timestamp and ingestionTime must be non-negative integer milliseconds');
      }
      if (Buffer.byteLength(event.message, 'utf8') > MAX_EVENT_BYTES) {
        throw new RangeError('log event over 256 KB: CloudWatch Logs would reject it');
      }
      const seq = ++this.#seq;
      stored.push({
        // Real event ids are 56 decimal digits; this keeps the shape and stays unique.
        eventId:
          String(event.timestamp).padStart(20, '0') +
          String(ingestionTime).padStart(16, '0') +
          String(seq).padStart(20, '0'),
        timestamp: event.timestamp,
        ingestionTime,
        message: event.message,
        logStreamName: streamName,
        logGroupName: groupName,
        seq,
      });
    }
    group.streams.add(streamName);
    for (const event of stored) {
      insertSorted(group.events, event);
      group.storedBytes += Buffer.byteLength(event.message, 'utf8') + 26;
    }
    for (const listener of this.#listeners) listener(group, stored);
    return stored;
  }

  onAppend(listener: AppendListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  clear(): void {
    this.#groups.clear();
  }
}

function insertSorted(events: StoredLogEvent[], event: StoredLogEvent): void {
  // Most appends are in order: check the tail before searching.
  const last = events[events.length - 1];
  if (last === undefined || compareEvents(last, event) <= 0) {
    events.push(event);
    return;
  }
  events.splice(firstIndexAfter(events, (e) => compareEvents(e, event) <= 0), 0, event);
}

/** The first index whose event does not satisfy `before` (events satisfying it form a prefix). */
export function firstIndexAfter(events: readonly StoredLogEvent[], before: (e: StoredLogEvent) => boolean): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(events[mid]!)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
