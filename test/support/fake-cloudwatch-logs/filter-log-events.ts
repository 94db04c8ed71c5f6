// FilterLogEvents and DescribeLogGroups: validation, scanning in bounded chunks, opaque expiring page tokens.
import { PageTokens } from './page-tokens.ts';
import type { Random } from '../../../trail/random.ts';
import { optInteger, optString, optStringList, type JsonObject } from './request-input.ts';
import { compareEvents, firstIndexAfter, type EventKey, type LogGroupRecord, type LogStore, type StoredLogEvent } from './store.ts';
import { invalidParameter, resourceNotFound } from './wire.ts';

export type CompileFilterPattern = (pattern: string) => (message: string) => boolean;

export interface FilterSettings {
  /**
   * Events examined per FilterLogEvents call before it answers: the real service scans in
   * bounded chunks, so a page can be empty (nothing matched in the chunk) while nextToken
   * continues. A page also ends at `limit` matches or `maxPageBytes`.
   */
  readonly scanChunk: number;
  readonly maxPageBytes: number;
  /** The API reference says events later than endTime are not returned: an inclusive end. */
  readonly endTimeInclusive: boolean;
}

export const DEFAULT_FILTER_SETTINGS: FilterSettings = {
  scanChunk: 1000,
  maxPageBytes: 1_048_576,
  endTimeInclusive: true,
};

/** Where a paginated query stands; bound to the query so a token cannot be replayed against another. */
interface FilterCursor {
  readonly query: string;
  readonly after: EventKey | null;
}

interface DescribeCursor {
  readonly query: string;
  readonly afterName: string;
}

export interface FilterDeps {
  readonly store: LogStore;
  readonly compile: CompileFilterPattern;
  readonly random: Random;
  readonly now: () => number;
  readonly tokenTtlMs: number;
  readonly settings: () => FilterSettings;
  readonly emptyPageRate: () => number;
}

export class LogQueries {
  readonly #deps: FilterDeps;
  readonly #filterTokens: PageTokens<FilterCursor>;
  readonly #describeTokens: PageTokens<DescribeCursor>;
  readonly #matchers = new Map<string, (message: string) => boolean>();

  constructor(deps: FilterDeps, tokenRandom: Random) {
    this.#deps = deps;
    this.#filterTokens = new PageTokens({ random: tokenRandom, now: deps.now, ttlMs: deps.tokenTtlMs });
    this.#describeTokens = new PageTokens({ random: tokenRandom, now: deps.now, ttlMs: deps.tokenTtlMs });
  }

  expireTokens(): void {
    this.#filterTokens.expireAll();
    this.#describeTokens.expireAll();
  }

  /** Compiles once per pattern; a pattern the matcher rejects is the service's InvalidParameterException. */
  matcher(pattern: string | undefined): (message: string) => boolean {
    if (pattern === undefined || pattern.trim() === '') return () => true;
    let match = this.#matchers.get(pattern);
    if (!match) {
      try {
        match = this.#deps.compile(pattern);
      } catch (error) {
        throw invalidParameter(`Invalid filter pattern: ${error instanceof Error ? error.message : String(error)}`);
      }
      this.#matchers.set(pattern, match);
    }
    return match;
  }

  filterLogEvents(input: JsonObject): Record<string, unknown> {
    const logGroupName = optString(input, 'logGroupName', 512);
    const logGroupIdentifier = optString(input, 'logGroupIdentifier', 2048);
    const logStreamNames = optStringList(input, 'logStreamNames', 1, 100);
    const logStreamNamePrefix = optString(input, 'logStreamNamePrefix', 512);
    const startTime = optInteger(input, 'startTime', 0, Number.MAX_SAFE_INTEGER);
    const endTime = optInteger(input, 'endTime', 0, Number.MAX_SAFE_INTEGER);
    const filterPattern = optString(input, 'filterPattern', 1024);
    const nextToken = optString(input, 'nextToken');
    const limit = optInteger(input, 'limit', 1, 10_000) ?? 10_000;

    if ((logGroupName === undefined) === (logGroupIdentifier === undefined)) {
      throw invalidParameter('Exactly one of logGroupName or logGroupIdentifier must be specified.');
    }
    if (logStreamNames !== undefined && logStreamNamePrefix !== undefined) {
      throw invalidParameter('logStreamNames and logStreamNamePrefix cannot both be specified.');
    }
    if (startTime !== undefined && endTime !== undefined && startTime > endTime) {
      throw invalidParameter('startTime must be less than or equal to endTime.');
    }
    const group = this.#deps.store.resolve((logGroupName ?? logGroupIdentifier)!);
    if (!group) throw resourceNotFound();
    const match = this.matcher(filterPattern);

    const query = JSON.stringify([
      group.arn,
      group.incarnation,
      startTime,
      endTime,
      filterPattern ?? '',
      logStreamNames ?? null,
      logStreamNamePrefix ?? null,
    ]);
    let after: FilterCursor['after'] = null;
    if (nextToken !== undefined) {
      const cursor = this.#filterTokens.redeem(nextToken);
      if (cursor.query !== query) throw invalidParameter('The specified nextToken is invalid.');
      after = cursor.after;
    }

    // Like a time-bounded scan that found nothing yet: an empty page whose token resumes at the same place.
    if (this.#deps.random.float() < this.#deps.emptyPageRate()) {
      return { events: [], nextToken: this.#filterTokens.issue({ query, after }) };
    }

    const { scanChunk, maxPageBytes, endTimeInclusive } = this.#deps.settings();
    const events = group.events;
    const resumeAfter = after;
    let i =
      resumeAfter !== null
        ? firstIndexAfter(events, (e) => compareEvents(e, resumeAfter) <= 0)
        : startTime !== undefined
          ? firstIndexAfter(events, (e) => e.timestamp < startTime)
          : 0;
    const streams = logStreamNames ? new Set(logStreamNames) : undefined;
    const page: StoredLogEvent[] = [];
    let pageBytes = 0;
    let scanned = 0;
    let exhausted = false;
    for (;;) {
      const event = events[i];
      if (
        event === undefined ||
        (endTime !== undefined && (endTimeInclusive ? event.timestamp > endTime : event.timestamp >= endTime))
      ) {
        exhausted = true;
        break;
      }
      if (scanned >= scanChunk) break;
      const selected =
        (streams === undefined || streams.has(event.logStreamName)) &&
        (logStreamNamePrefix === undefined || event.logStreamName.startsWith(logStreamNamePrefix)) &&
        match(event.message);
      if (selected) {
        const bytes = Buffer.byteLength(event.message, 'utf8') + 26;
        // A full page stops before this event, so the next page starts with it.
        if (page.length >= limit || (page.length > 0 && pageBytes + bytes > maxPageBytes)) break;
        page.push(event);
        pageBytes += bytes;
      }
      scanned++;
      after = { timestamp: event.timestamp, ingestionTime: event.ingestionTime, seq: event.seq };
      i++;
    }

    const output: Record<string, unknown> = {
      events: page.map((e) => ({
        logStreamName: e.logStreamName,
        timestamp: e.timestamp,
        message: e.message,
        ingestionTime: e.ingestionTime,
        eventId: e.eventId,
      })),
    };
    if (!exhausted) output['nextToken'] = this.#filterTokens.issue({ query, after });
    return output;
  }

  describeLogGroups(input: JsonObject): Record<string, unknown> {
    const prefix = optString(input, 'logGroupNamePrefix', 512);
    const pattern = optString(input, 'logGroupNamePattern', 512);
    const identifiers = optStringList(input, 'logGroupIdentifiers', 1, 50);
    const nextToken = optString(input, 'nextToken');
    const limit = optInteger(input, 'limit', 1, 50) ?? 50;
    if (prefix !== undefined && pattern !== undefined) {
      throw invalidParameter('logGroupNamePrefix and logGroupNamePattern cannot both be specified.');
    }
    const query = JSON.stringify([prefix ?? null, pattern ?? null, identifiers ?? null]);
    let afterName = '';
    if (nextToken !== undefined) {
      const cursor = this.#describeTokens.redeem(nextToken);
      if (cursor.query !== query) throw invalidParameter('The specified nextToken is invalid.');
      afterName = cursor.afterName;
    }
    const wanted = identifiers?.map((id) => this.#deps.store.resolve(id)?.name);
    const all = this.#deps.store.list().filter(
      (g) =>
        g.name > afterName &&
        (prefix === undefined || g.name.startsWith(prefix)) &&
        (pattern === undefined || g.name.toLowerCase().includes(pattern.toLowerCase())) &&
        (wanted === undefined || wanted.includes(g.name)),
    );
    const page = all.slice(0, limit);
    const output: Record<string, unknown> = { logGroups: page.map(describeGroup) };
    const last = page[page.length - 1];
    if (all.length > limit && last) output['nextToken'] = this.#describeTokens.issue({ query, afterName: last.name });
    return output;
  }
}

function describeGroup(group: LogGroupRecord): Record<string, unknown> {
  return {
    logGroupName: group.name,
    creationTime: group.creationTime,
    metricFilterCount: 0,
    arn: `${group.arn}:*`,
    storedBytes: group.storedBytes,
    logGroupClass: 'STANDARD',
    logGroupArn: group.arn,
  };
}
