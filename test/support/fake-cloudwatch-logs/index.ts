// A fake CloudWatch Logs endpoint speaking the real wire protocol (awsJson1_1 and event streams) with a test API and fault injection.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { FaultInjector, type FaultSettings, type ScriptedFault } from './faults.ts';
import {
  DEFAULT_FILTER_SETTINGS,
  LogQueries,
  type CompileFilterPattern,
  type FilterSettings,
} from './filter-log-events.ts';
import {
  DEFAULT_LIVE_TAIL_SETTINGS,
  LiveTailSession,
  type LiveTailSessionStats,
  type LiveTailSettings,
  type LiveTailTarget,
} from './live-tail.ts';
import { Random } from '../../../trail/random.ts';
import { optString, optStringList, parseBody, type JsonObject } from './request-input.ts';
import { LogStore, type CreateLogGroupOptions, type NewLogEvent, type StoredLogEvent } from './store.ts';
import { substringFilterPattern } from './substring-filter-pattern.ts';
import { invalidParameter, resourceNotFound, sendError, sendJson, ServiceError, TARGET_PREFIX } from './wire.ts';

export type { CompileFilterPattern, FilterSettings } from './filter-log-events.ts';
export type { FaultSettings, ScriptedFault, ServerErrorKind } from './faults.ts';
export type { LiveTailSessionStats, LiveTailSettings } from './live-tail.ts';
export type { CreateLogGroupOptions, NewLogEvent } from './store.ts';

export type FakeLogEvent = StoredLogEvent;

export interface FakeCloudWatchLogsOptions {
  /** Seeds every random choice (faults, empty pages, sampling, tokens). Default 1. */
  readonly seed?: number;
  readonly accountId?: string;
  readonly region?: string;
  /** The service clock: default ingestion time, creation time, token age. Default Date.now. */
  readonly now?: () => number;
  /**
   * Filter pattern evaluation for FilterLogEvents and StartLiveTail. Default: the export of
   * test/support/filter-pattern-matcher.ts when that file exists, else a term/phrase substring fallback.
   */
  readonly compileFilterPattern?: CompileFilterPattern;
  readonly filter?: Partial<FilterSettings>;
  readonly liveTail?: Partial<LiveTailSettings>;
  readonly faults?: Partial<FaultSettings>;
  /** How long a nextToken stays valid. Default 24 h. */
  readonly tokenTtlMs?: number;
  /**
   * Reject requests whose SigV4 credential scope is not `<region>/logs`, as the service does
   * (a client configured for another region must not silently work). Default true.
   */
  readonly checkSignatureScope?: boolean;
}

export interface OperationCounters {
  calls: number;
  ok: number;
  dropped: number;
  errors: Record<string, number>;
}

export interface RecordedRequest {
  readonly operation: string;
  readonly input: unknown;
  /** performance.now() when the request was read: for measuring pacing. */
  readonly at: number;
  outcome: string;
}

export type FilterPatternSource = 'option' | 'filter-pattern-matcher.ts' | 'substring-fallback';

export interface FakeCloudWatchLogsApi {
  readonly accountId: string;
  readonly region: string;
  readonly filterPatternSource: FilterPatternSource;
  now(): number;
  createLogGroup(name: string, options?: CreateLogGroupOptions): { readonly name: string; readonly arn: string };
  /** Later calls naming it answer ResourceNotFoundException; its tokens die with it. */
  deleteLogGroup(name: string): boolean;
  logGroupArn(name: string): string;
  /** Appends events to a stream (created on first use); `timestamp` may be hours before ingestion and out of order. */
  putLogEvents(groupName: string, streamName: string, events: readonly NewLogEvent[]): FakeLogEvent[];
  /** A group's events in FilterLogEvents order. */
  events(groupName: string): FakeLogEvent[];
  callCount(operation?: string): number;
  counters(): Record<string, OperationCounters>;
  requests(operation?: string): RecordedRequest[];
  resetCounters(): void;
  setFaults(faults: Partial<FaultSettings>): void;
  clearFaults(): void;
  /** The next `times` calls of `operation` ('*' for any) get `fault`, ahead of rate-based faults. */
  failNext(operation: string, fault: ScriptedFault, times?: number): void;
  setFilterSettings(settings: Partial<FilterSettings>): void;
  /** Applies to sessions started afterwards. */
  setLiveTailSettings(settings: Partial<LiveTailSettings>): void;
  /** Every nextToken issued so far answers InvalidParameterException from now on. */
  expireNextTokens(): void;
  liveTailSessions(): LiveTailSessionStats[];
  /** Ends every open session; returns how many. */
  endLiveTailSessions(how: 'timeout' | 'streaming-error' | 'dropped'): number;
  /** Holds updates in the session buffers as if clients stopped reading (also for sessions started later). */
  stallLiveTail(stalled: boolean): void;
}

export interface FakeCloudWatchLogs {
  /** http://127.0.0.1:PORT — pass as the client's `endpoint`, with `disableHostPrefix: true`. */
  readonly endpoint: string;
  readonly api: FakeCloudWatchLogsApi;
  close(): Promise<void>;
}

const MAX_RECORDED_REQUESTS = 10_000;

export async function startFakeCloudWatchLogs(options: FakeCloudWatchLogsOptions = {}): Promise<FakeCloudWatchLogs> {
  const accountId = options.accountId ?? '123456789012';
  const region = options.region ?? 'us-east-1';
  const now = options.now ?? Date.now;
  const checkScope = options.checkSignatureScope ?? true;
  const seeded = new Random(options.seed ?? 1);
  // One stream per purpose: the throttle decisions depend only on the sequence of calls, not on the pages or samples drawn in between.
  const random = { faults: seeded.stream('faults'), pages: seeded.stream('pages'), sampling: seeded.stream('sampling'), tokens: seeded.stream('tokens') };
  const { compile, source } = await resolveFilterPattern(options.compileFilterPattern);

  const store = new LogStore({ now, accountId, region });
  const faults = new FaultInjector(random.faults, options.faults);
  let filterSettings: FilterSettings = { ...DEFAULT_FILTER_SETTINGS, ...options.filter };
  let liveTailSettings: LiveTailSettings = { ...DEFAULT_LIVE_TAIL_SETTINGS, ...options.liveTail };
  const queries = new LogQueries(
    {
      store,
      compile,
      random: random.pages,
      now,
      tokenTtlMs: options.tokenTtlMs ?? 24 * 60 * 60 * 1000,
      settings: () => filterSettings,
      emptyPageRate: () => faults.settings.emptyPageRate,
    },
    random.tokens,
  );

  const sessions = new Set<LiveTailSession>();
  const allSessions: LiveTailSession[] = [];
  let stalled = false;
  store.onAppend((group, events) => {
    for (const session of sessions) session.offer(group, events);
  });

  let counters: Record<string, OperationCounters> = {};
  let recorded: RecordedRequest[] = [];
  const countersFor = (operation: string): OperationCounters =>
    (counters[operation] ??= { calls: 0, ok: 0, dropped: 0, errors: {} });

  function startLiveTail(input: JsonObject, requestId: string, res: ServerResponse): void {
    const identifiers = optStringList(input, 'logGroupIdentifiers', 1, 10);
    const logStreamNames = optStringList(input, 'logStreamNames', 1, 100);
    const logStreamNamePrefixes = optStringList(input, 'logStreamNamePrefixes', 1, 100);
    const logEventFilterPattern = optString(input, 'logEventFilterPattern', 1024);
    if (!identifiers) throw invalidParameter('logGroupIdentifiers is required.');
    if (logStreamNames && logStreamNamePrefixes) {
      throw invalidParameter('logStreamNames and logStreamNamePrefixes cannot both be specified.');
    }
    if ((logStreamNames || logStreamNamePrefixes) && identifiers.length !== 1) {
      throw invalidParameter('Log stream filters can be used only with exactly one log group.');
    }
    const targets: LiveTailTarget[] = identifiers.map((identifier) => {
      // The API reference asks for ARNs, without a trailing '*'.
      if (!identifier.startsWith('arn:') || identifier.endsWith('*')) {
        throw invalidParameter(`Log group identifier must be a log group ARN without a trailing '*': ${identifier}`);
      }
      const group = store.resolve(identifier);
      if (!group) throw resourceNotFound(`The specified log group does not exist: ${identifier}`);
      return { identifier, group };
    });
    const match = queries.matcher(logEventFilterPattern);
    if (sessions.size >= liveTailSettings.maxConcurrentSessions) {
      throw new ServiceError('LimitExceededException', 'Maximum number of concurrent Live Tail sessions reached.');
    }
    const session = new LiveTailSession({
      res,
      request: {
        requestId,
        sessionId: randomUUID(),
        targets,
        logStreamNames,
        logStreamNamePrefixes,
        logEventFilterPattern,
        match,
      },
      settings: liveTailSettings,
      random: random.sampling,
      now: now(),
      stalled,
      onEnd: (s) => sessions.delete(s),
    });
    sessions.add(session);
    allSessions.push(session);
    session.start();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const raw = await readBody(req);
    const target = req.headers['x-amz-target'];
    const operation =
      typeof target === 'string' && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '(none)';
    const counter = countersFor(operation);
    counter.calls++;
    const at = performance.now();
    const record: RecordedRequest = { operation, input: safeParse(raw), at, outcome: 'pending' };
    recorded.push(record);
    if (recorded.length > MAX_RECORDED_REQUESTS) recorded.shift();

    const decision = faults.decide(operation, at);
    if (decision.delayMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, decision.delayMs));
      if (res.destroyed) {
        record.outcome = 'client-gone';
        return;
      }
    }
    const fail = (error: ServiceError): void => {
      counter.errors[error.code] = (counter.errors[error.code] ?? 0) + 1;
      record.outcome = error.code;
      sendError(res, requestId, error);
    };
    if (decision.kind === 'drop') {
      counter.dropped++;
      record.outcome = 'dropped';
      req.socket.destroy();
      return;
    }
    try {
      if (decision.kind === 'error') throw decision.error;
      if (req.method !== 'POST') throw new ServiceError('UnknownOperationException', 'Only POST is supported.');
      checkSignature(req.headers['authorization'], region, checkScope);
      const input = parseBody(raw);
      switch (operation) {
        case 'FilterLogEvents':
          sendJson(res, requestId, queries.filterLogEvents(input));
          break;
        case 'DescribeLogGroups':
          sendJson(res, requestId, queries.describeLogGroups(input));
          break;
        case 'StartLiveTail':
          startLiveTail(input, requestId, res);
          break;
        default:
          throw new ServiceError('UnknownOperationException', `Operation ${operation} is not supported by the fake.`);
      }
      counter.ok++;
      record.outcome = 'ok';
    } catch (error) {
      if (error instanceof ServiceError) fail(error);
      else fail(new ServiceError('InternalFailure', error instanceof Error ? error.message : String(error), 500));
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // Only reachable if the socket failed under us; nothing left to answer.
      if (!res.headersSent) res.destroy(error instanceof Error ? error : undefined);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const api: FakeCloudWatchLogsApi = {
    accountId,
    region,
    filterPatternSource: source,
    now,
    createLogGroup(name, groupOptions) {
      const group = store.createLogGroup(name, groupOptions);
      return { name: group.name, arn: group.arn };
    },
    deleteLogGroup: (name) => store.deleteLogGroup(name),
    logGroupArn(name) {
      const group = store.get(name);
      if (!group) throw new Error(`log group ${name} does not exist`);
      return group.arn;
    },
    putLogEvents: (groupName, streamName, events) => store.append(groupName, streamName, events),
    events(groupName) {
      const group = store.get(groupName);
      if (!group) throw new Error(`log group ${groupName} does not exist`);
      return [...group.events];
    },
    callCount: (operation) =>
      operation === undefined
        ? Object.values(counters).reduce((sum, c) => sum + c.calls, 0)
        : (counters[operation]?.calls ?? 0),
    counters: () => structuredClone(counters),
    requests: (operation) => recorded.filter((r) => operation === undefined || r.operation === operation),
    resetCounters() {
      counters = {};
      recorded = [];
    },
    setFaults: (settings) => faults.set(settings),
    clearFaults: () => faults.clear(),
    failNext(operation, fault, times = 1) {
      if (!Number.isInteger(times) || times < 1) throw new RangeError('times must be a positive integer');
      faults.script(operation, fault, times);
    },
    setFilterSettings(settings) {
      filterSettings = { ...filterSettings, ...settings };
    },
    setLiveTailSettings(settings) {
      liveTailSettings = { ...liveTailSettings, ...settings };
    },
    expireNextTokens: () => queries.expireTokens(),
    liveTailSessions: () => allSessions.map((s) => ({ ...s.stats })),
    endLiveTailSessions(how) {
      const open = [...sessions];
      for (const session of open) session.end(how);
      return open.length;
    },
    stallLiveTail(value) {
      stalled = value;
      for (const session of sessions) session.stall(value);
    },
  };

  return {
    endpoint: `http://127.0.0.1:${port}`,
    api,
    async close() {
      for (const session of [...sessions]) session.end('server-closed');
      const closed = new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
      server.closeAllConnections();
      await closed;
    },
  };
}

async function resolveFilterPattern(
  given: CompileFilterPattern | undefined,
): Promise<{ compile: CompileFilterPattern; source: FilterPatternSource }> {
  if (given) return { compile: given, source: 'option' };
  // Resolved at run time so this fake still loads (and typechecks) before that file exists.
  const matcherUrl = new URL('../filter-pattern-matcher.ts', import.meta.url);
  if (existsSync(matcherUrl)) {
    const module = (await import(matcherUrl.href)) as { compileFilterPattern?: unknown };
    if (typeof module.compileFilterPattern === 'function') {
      return { compile: module.compileFilterPattern as CompileFilterPattern, source: 'filter-pattern-matcher.ts' };
    }
  }
  return { compile: substringFilterPattern, source: 'substring-fallback' };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function safeParse(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

// Only the credential scope is checked, not the signature: enough to catch a client aimed at the wrong region or service.
function checkSignature(authorization: string | undefined, region: string, enabled: boolean): void {
  if (!enabled) return;
  if (!authorization) {
    throw new ServiceError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(authorization);
  if (!scope) throw new ServiceError('IncompleteSignatureException', 'Authorization header is not a SigV4 signature.');
  if (scope[2] !== 'logs') {
    throw new ServiceError('InvalidSignatureException', `Credential should be scoped to correct service: 'logs'.`);
  }
  if (scope[1] !== region) {
    throw new ServiceError(
      'InvalidSignatureException',
      `Credential should be scoped to a valid region, not '${scope[1]}'. Expected '${region}'.`,
    );
  }
}
