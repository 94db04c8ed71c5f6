// Builds the service (serve) and the replay run from a Config: the pipeline, the state store, the sources and the HTTP app. Tests and bench start here.

import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Logger as PinoLogger } from 'pino';
import { cloudWatchLogs, kmsTagger, s3Archive, sqsClients } from './aws-clients.ts';
import type { TagKey } from './aws-clients.ts';
import { buildFilterPattern } from './catalog/filter-pattern.ts';
import type { Config } from './config.ts';
import { checkReplayConfig, checkServeConfig, eventbridgeCredentials, firehoseAccessKey } from './config.ts';
import type { InputError } from './errors.ts';
import { ConfigError, ListenError, NotRestoredError } from './errors.ts';
import { SERVICE_NAME, VERSION } from './package-info.ts';
import { Pipeline } from './pipeline.ts';
import { ChangeLogEvents } from './record/change-log-events.ts';
import { ChangeMetrics, exportAccountInfo, exportKeyState } from './record/change-metrics.ts';
import { loadAccounts, NO_ACCOUNTS } from './accounts-file.ts';
import { loadExpectations } from './expectations/expectations-file.ts';
import { NO_EXPECTATIONS } from './expectations/expectation-rules.ts';
import { CounterHistory } from './record/counter-history.ts';
import { CounterLedger } from './record/counter-ledger.ts';
import { HeartbeatMetrics } from './record/heartbeat-metrics.ts';
import { HeartbeatSender } from './heartbeat-sender.ts';
import { processMetrics } from './record/process-metrics.ts';
import { declareInstruments } from './record/instruments.ts';
import { openMetricsChunks } from './record/openmetrics-writer.ts';
import type { Instruments } from './record/instruments.ts';
import { SelfMetrics } from './record/self-metrics.ts';
import { StateMetrics } from './record/state-metrics.ts';
import { throttledLog } from './record/throttled-log.ts';
import { buildApp } from './serve/app.ts';
import { loadWebConfig } from './serve/web-config.ts';
import { InflightBudget } from './serve/push-guard.ts';
import type { CloudWatchLogsApi } from './sources/cloudwatch-logs-api.ts';
import { PollSource } from './sources/filter-log-events.ts';
import { EventBridgeSource } from './sources/eventbridge/eventbridge-source.ts';
import { FirehoseSource } from './sources/firehose/firehose-source.ts';
import { LiveTailSource } from './sources/live-tail.ts';
import { printableText } from './printable-text.ts';
import { ReplaySource, untilAborted } from './sources/replay-files.ts';
import type { ReplayOptions } from './sources/replay-files.ts';
import type { Progress } from './replay/progress.ts';
import type { OwnPath } from './classify/pipeline-change.ts';
import type { RecordStreamOptions } from './decode/record-stream.ts';
import { listS3Inputs, openS3Object, S3_SCHEME } from './sources/s3-archive.ts';
import { InlineDecoder, WorkerDecoder } from './replay/input-decoders.ts';
import type { ReplayInput } from './replay/replay-input.ts';
import { runReplayInputs } from './replay/replay-run.ts';
import { localSizes } from './replay/progress.ts';
import { ReplayManifest } from './replay/manifest.ts';
import type { TrailSelection } from './sources/s3-layout.ts';
import type { S3Api } from './sources/s3-api.ts';
import type { Source, SourceContext, SourceStatus } from './sources/source.ts';
import { SqsSource } from './sources/sqs.ts';
import { CheckpointFile } from './state/checkpoint-file.ts';
import { Committer, outcomeOf } from './state/committer.ts';
import { KeyState } from './state/key-state.ts';
import type { KeyNames } from './state/key-state.ts';
import { LocalState, MemoryStore } from './state/local-state.ts';
import { replicaState } from './state/replica-state.ts';
import type { ReplicaParts } from './state/replica-state.ts';
import type { StateStore } from './state/state-store.ts';
import { buildTelemetry } from './telemetry.ts';
import type { Telemetry } from './telemetry.ts';

export interface CoreDeps {
  readonly env: NodeJS.ProcessEnv;
  readonly log: PinoLogger;
  readonly now?: () => number;
  /** An open file descriptor the change log events are written to as JSON lines. */
  readonly logsFd?: number | undefined;
  /** replay --output openmetrics: where the change counters' increments are kept by eventTime. */
  readonly history?: CounterHistory;
}

/** What serve and replay share: telemetry, the counters, the key state and the pipeline. */
export interface Core {
  readonly telemetry: Telemetry;
  readonly instruments: Instruments;
  readonly ledger: CounterLedger;
  readonly selfMetrics: SelfMetrics;
  readonly stateMetrics: StateMetrics;
  readonly keyState: KeyState;
  /** Aliases learned from the stream (aliasesOf, keyOfAlias), for whatever names keys to people (the log events). */
  readonly keyNames: KeyNames;
  readonly local: LocalState;
  readonly pipeline: Pipeline;
  readonly heartbeatMetrics: HeartbeatMetrics;
}

export async function buildCore(config: Config, deps: CoreDeps): Promise<Core> {
  const now = deps.now ?? Date.now;
  const telemetry = await buildTelemetry({ seriesLimit: config.seriesLimit, logsFd: deps.logsFd, env: deps.env });
  const ledger = new CounterLedger();
  const instruments = declareInstruments(telemetry.meterProvider.getMeter(SERVICE_NAME, VERSION), ledger);
  const selfMetrics = new SelfMetrics(ledger, instruments);
  selfMetrics.buildInfo(VERSION, process.version);
  const stateMetrics = new StateMetrics(ledger, instruments);
  const keyState = new KeyState(config.keyStateLimit, { evicted: (table) => stateMetrics.evicted(table) });
  stateMetrics.table('pending_deletions', keyState.limit, () => keyState.pendingCount);
  stateMetrics.table('key_lifecycle_events', keyState.limit, () => keyState.lifecycleCount);
  stateMetrics.table('key_aliases', keyState.limit, () => keyState.aliasCount);
  stateMetrics.table('key_material_expiries', keyState.limit, () => keyState.materialCount);
  exportKeyState(instruments, keyState, telemetry);
  const local = new LocalState({ capacity: config.dedupeCapacity, keyState, metrics: stateMetrics });
  // Read at start, so a bad file stops the start naming its line (exit 2), like any bad setting.
  const accounts = config.accountsFile === undefined ? NO_ACCOUNTS : loadAccounts(config.accountsFile);
  const expectations = config.expectationsFile === undefined ? NO_EXPECTATIONS : loadExpectations(config.expectationsFile);
  exportAccountInfo(instruments, accounts);
  const changeMetrics = new ChangeMetrics(ledger, { keyId: config.labelKeyId, principal: config.labelPrincipal, valueLimit: config.labelValueLimit }, stateMetrics);
  const changeLogEvents = new ChangeLogEvents(telemetry.logsEnabled ? telemetry.loggerProvider.getLogger(SERVICE_NAME, VERSION) : undefined, { keyNames: keyState, accounts });
  const warn = throttledLog(deps.log, now);
  const heartbeatMetrics = new HeartbeatMetrics(instruments);
  const pipeline = new Pipeline({
    ledger,
    changeMetrics,
    changeLogEvents,
    selfMetrics,
    keyState,
    keyNames: keyState,
    assessment: {
      expectations,
      organisationAccounts: new Set(accounts.accounts.keys()),
      ...(accounts.organizationId === undefined ? {} : { organisationId: accounts.organizationId }),
      minDeletionWindowDays: config.minDeletionWindowDays,
    },
    ownPath: ownPathOf(config),
    ...(config.heartbeatKeys.length === 0 ? {} : { heartbeat: { keys: config.heartbeatKeys, metrics: heartbeatMetrics } }),
    ...(deps.history === undefined ? {} : { history: deps.history }),
    now,
    onInvalid: (source, invalid) => warn('warn', { source, reason: invalid.reason }, `invalid record: ${printableText(invalid.detail)}`),
  });
  return { telemetry, instruments, ledger, selfMetrics, stateMetrics, keyState, keyNames: keyState, local, pipeline, heartbeatMetrics };
}

/** The exporter's own log groups, streams and rules, so a pipeline change can say it names them. */
function ownPathOf(config: Config): OwnPath {
  return { logGroups: config.logGroups, deliveryStreams: config.firehoseStreams, rules: config.eventBridgeRules };
}

/** Replay reads records up to --max-record-bytes, and whole documents (subscription payloads) up to 64 MiB. */
export function replayOptions(config: Config, stdin: Readable): ReplayOptions {
  return { stdin, ...recordStreamOptions(config) };
}

function recordStreamOptions(config: Config): RecordStreamOptions {
  return { maxRecordBytes: config.maxRecordBytes, maxDocumentBytes: Math.max(config.maxRecordBytes, 64 * 1024 * 1024) };
}

export interface ReplayResult {
  readonly exposition: string;
  readonly errors: readonly InputError[];
  /** What stdout gets, made chunk by chunk: the exposition, or with --output openmetrics the history (it may throw a HistoryRangeError before the first chunk). */
  readonly output: Iterable<string>;
}

export type ReplayDeps = CoreDeps & { readonly stdin: Readable; readonly signal?: AbortSignal; readonly progress?: Progress };

/** The replay command: every path through the pipeline, then the exposition; `signal` stops the reading (a stream that never ends) and keeps what was read. */
export async function runReplay(paths: readonly string[], config: Config, deps: ReplayDeps): Promise<ReplayResult> {
  checkReplayConfig(config);
  const history = config.replayOutput === 'openmetrics' ? new CounterHistory(config.replayStep) : undefined;
  const core = await buildCore(config, history === undefined ? deps : { ...deps, history });
  const source = { name: 'replay', errorKinds: ['unreadable_input'], eventKinds: [] };
  core.selfMetrics.declareSource(source);
  const committer = new Committer(core.pipeline, new MemoryStore(core.local), core.stateMetrics);
  // Opened (and its state restored) once the known series are declared, before anything is counted.
  const manifest = await openManifest(paths, config, core, deps.log);
  const errors: InputError[] = manifest?.errors ?? [];
  const onError = (error: InputError): void => {
    errors.push(error);
  };
  const now = deps.now ?? Date.now;
  let s3: Promise<S3Api> | undefined;
  const s3Api = (): Promise<S3Api> => (s3 ??= s3Archive(config, core.selfMetrics, deps.env));
  const progress = deps.progress?.live === true ? deps.progress : undefined;
  const setup = {
    options: recordStreamOptions(config),
    ownPath: ownPathOf(config),
    source: source.name,
    openStream: async (input: ReplayInput): Promise<AsyncIterable<Buffer>> =>
      input.kind === 's3' ? openS3Object(await s3Api(), input, deps.signal) : untilAborted(deps.stdin, deps.signal),
    ...(progress === undefined ? {} : { onBytes: (bytes: number) => progress.read(bytes) }),
  };
  const decoder = config.replayJobs === 1 ? new InlineDecoder(setup) : new WorkerDecoder(config.replayJobs, setup);
  try {
    await runReplayInputs({
      inputs: replayInputs(paths, config, s3Api, progress, manifest, deps.signal),
      decoder,
      // Observed now, on this thread: a worker's clock is not the one tests and the log events go by.
      deliver: async (prepared) => outcomeOf(await committer.deliverPrepared({ ...prepared, receivedAt: now() })),
      onError,
      // The counts go to any progress (one that shows nothing ignores them); only a live one has the readers size and count bytes.
      ...(deps.progress === undefined ? {} : { progress: deps.progress }),
      ...(deps.signal === undefined ? {} : { signal: deps.signal }),
      ...(manifest === undefined
        ? {}
        : { skip: (input: ReplayInput) => manifest.skip(input.location, manifestName(input)), committed: (input: ReplayInput) => manifest.done(input.location, manifestName(input)) }),
    });
    manifest?.finish(deps.signal?.aborted !== true);
  } finally {
    await decoder.close();
    await manifest?.close();
  }
  const exposition = await core.telemetry.exposition();
  await core.telemetry.shutdown();
  // The history runs to the end of --to's day when that is later than the last change.
  const until = config.replayTo === undefined ? undefined : Date.parse(`${config.replayTo}T00:00:00Z`) + 86_400_000;
  return { exposition, errors, output: history === undefined ? [exposition] : openMetricsChunks(history, until) };
}

/** --manifest: the replay's resumable manifest, locked, checked against these arguments and restored. */
async function openManifest(paths: readonly string[], config: Config, core: Core, log: PinoLogger): Promise<ReplayManifest | undefined> {
  if (config.replayManifest === undefined) return undefined;
  if (paths.includes('-')) throw new ConfigError('--manifest', 'KMS_EXPORTER_REPLAY_MANIFEST', 'stdin (-) cannot be resumed: give files or s3:// locations');
  return ReplayManifest.open({
    path: config.replayManifest,
    arguments: { paths: [...paths], from: config.replayFrom ?? null, to: config.replayTo ?? null, accounts: config.trailAccounts === undefined ? null : [...config.trailAccounts], regions: config.trailRegions === undefined ? null : [...config.trailRegions] },
    replica: replicaState({ ledger: core.ledger, selfMetrics: core.selfMetrics, sources: {} }),
    local: core.local,
    eventIds: config.dedupeCapacity,
    log: { warn: (msg) => log.warn(msg) },
  });
}

/** A manifest names an input by its S3 key or its local path, within its location. */
function manifestName(input: ReplayInput): string {
  return input.kind === 's3' ? input.key : input.name;
}

/** Every path's inputs in order: an s3:// location's selected log files as its listing goes, a local path (or stdin, `-`) as itself. */
async function* replayInputs(paths: readonly string[], config: Config, s3Api: () => Promise<S3Api>, progress: Progress | undefined, resume: ReplayManifest | undefined, signal: AbortSignal | undefined): AsyncGenerator<ReplayInput> {
  const selection = trailSelection(config);
  for (let i = 0; i < paths.length; ) {
    if (signal?.aborted === true) return;
    const path = paths[i]!;
    if (path.startsWith(S3_SCHEME)) {
      yield* listS3Inputs(path, await s3Api(), { selection, location: i, ...(progress === undefined ? {} : { progress }), ...(resume === undefined ? {} : { resume }) }, signal);
      i++;
      continue;
    }
    let end = i;
    while (end < paths.length && !paths[end]!.startsWith(S3_SCHEME)) end++;
    const local = paths.slice(i, end);
    if (progress !== undefined) for (const size of await localSizes(local)) progress.known(1, size);
    for (const [k, file] of local.entries()) yield file === '-' ? { kind: 'stdin', name: 'stdin', location: i + k } : { kind: 'file', name: file, path: file, location: i + k };
    i = end;
  }
}

/** --trail-accounts, --trail-regions, --from/--to: what replay s3:// reads of an archive. */
function trailSelection(config: Config): TrailSelection {
  return {
    ...(config.trailAccounts === undefined ? {} : { accounts: config.trailAccounts }),
    ...(config.trailRegions === undefined ? {} : { regions: config.trailRegions }),
    ...(config.replayFrom === undefined ? {} : { from: config.replayFrom }),
    ...(config.replayTo === undefined ? {} : { to: config.replayTo }),
  };
}

export interface ServiceDeps extends CoreDeps {
  readonly stdin?: Readable;
  /** The CloudWatch Logs API for poll and live tail; the SDK client when not given. */
  readonly cloudWatchLogs?: CloudWatchLogsApi;
  /** Tags a canary key for the heartbeat; the KMS SDK client when not given. */
  readonly tagKey?: TagKey;
  /** How long stop waits for requests in progress before closing their connections; default 5 s. */
  readonly stopGrace?: number;
}

export interface Service {
  readonly app: FastifyInstance;
  readonly core: Core;
  readonly committer: Committer;
  readonly store: StateStore;
  readonly sources: readonly Source[];
  /** Listens (unless `listen: false`, for app.inject), takes the state store and restores, then runs the sources. Resolves with the address once listening. */
  start(options?: { readonly listen?: boolean }): Promise<string | undefined>;
  /** Resolves once the state is restored and the sources run. */
  readonly restored: Promise<void>;
  /** Drains the sources, closes the server, flushes telemetry, releases the state store. */
  stop(): Promise<void>;
}

async function buildStore(config: Config, core: Core, parts: ReplicaParts, log: PinoLogger, now: () => number): Promise<StateStore> {
  const replica = replicaState(parts);
  const storeLog = { info: (msg: string) => log.info(msg), warn: (msg: string) => log.warn(msg), error: (msg: string) => log.error(msg) };
  if (config.stateUrl !== undefined) {
    // Loaded only when asked for: the Redis client is not needed by one process with a file.
    const { RedisStore } = await import('./state/redis-store.ts');
    return new RedisStore({ url: config.stateUrl, replicaId: config.replicaId, capacity: config.dedupeCapacity, keyState: core.keyState, replica, metrics: core.stateMetrics, log: storeLog, now });
  }
  if (config.checkpointFile !== undefined) return new CheckpointFile({ path: config.checkpointFile, local: core.local, replica, metrics: core.stateMetrics, log: storeLog, now });
  return new MemoryStore(core.local);
}

export async function buildService(config: Config, deps: ServiceDeps): Promise<Service> {
  checkServeConfig(config);
  const web = config.webConfigFile === undefined ? undefined : loadWebConfig(config.webConfigFile);
  const now = deps.now ?? Date.now;
  const log = deps.log;
  const core = await buildCore(config, deps);
  const abort = new AbortController();
  let restored = false;
  let markRestored: () => void = () => {};
  let failRestore: (error: unknown) => void = () => {};
  const restoredPromise = new Promise<void>((resolve, reject) => {
    markRestored = resolve;
    failRestore = reject;
  });
  // Awaited by whoever starts the service; never an unhandled rejection when nobody does.
  restoredPromise.catch(() => {});
  // The committer is created once the store exists; sources only deliver after that.
  let committer: Committer | undefined;
  const warn = throttledLog(log, now);

  const context = (source: string): SourceContext => ({
    deliver: async (batch, requestId) => {
      if (committer === undefined || !restored) throw new NotRestoredError('the state store is not restored yet');
      return committer.deliver(source, batch, requestId);
    },
    error: (kind, detail, error) => {
      core.selfMetrics.sourceError(source, kind);
      warn('warn', { source, error: kind, ...(error === undefined ? {} : { err: error }) }, detail);
    },
    event: (kind, detail) => {
      core.selfMetrics.sourceEvent(source, kind);
      if (detail !== undefined) log.debug({ source, event: kind }, detail);
    },
    now,
  });

  const sources: Source[] = [];
  let poll: PollSource | undefined;
  if (config.sources.includes('replay')) sources.push(new ReplaySource({ ...replayOptions(config, deps.stdin ?? process.stdin), paths: config.replayPaths, context: context('replay') }));
  // One budget of in-flight body bytes for every push route.
  let budget: InflightBudget | undefined;
  const pushBudget = (): InflightBudget => {
    if (budget === undefined) core.selfMetrics.pushBudget((budget = new InflightBudget(config.pushMaxInflightBytes)));
    return budget;
  };
  if (config.sources.includes('firehose')) {
    sources.push(
      new FirehoseSource({
        accessKey: firehoseAccessKey(config, deps.env),
        maxBodyBytes: config.firehoseMaxBodyBytes,
        maxRecordBytes: config.maxRecordBytes,
        budget: pushBudget(),
        context: context('firehose'),
        restored: () => restored,
      }),
    );
  }
  if (config.sources.includes('eventbridge')) {
    const credentials = eventbridgeCredentials(config, deps.env);
    sources.push(new EventBridgeSource({ credentials, answerWithin: config.eventbridgeAnswerTimeout, maxRecordBytes: config.maxRecordBytes, budget: pushBudget(), context: context('eventbridge'), restored: () => restored }));
  }
  if (config.sources.includes('poll') || config.sources.includes('live-tail')) {
    const api = deps.cloudWatchLogs ?? (await cloudWatchLogs(config, core.selfMetrics, deps.env));
    const filterPattern = buildFilterPattern();
    const liveTail = config.sources.includes('live-tail');
    poll = new PollSource({
      name: 'poll',
      api,
      logGroups: config.logGroups,
      filterPattern,
      // With live tail alone, the poll only reconciles what live tail missed.
      interval: liveTail && !config.sources.includes('poll') ? config.reconcileInterval : config.pollInterval,
      latenessWindow: config.latenessWindow,
      lookback: config.lookback,
      staleAfter: config.staleAfter,
      seenLimit: config.dedupeCapacity,
      metrics: core.stateMetrics,
      context: context('poll'),
    });
    sources.push(poll);
    if (liveTail) sources.push(new LiveTailSource({ name: 'live-tail', api, logGroups: config.logGroups, filterPattern, context: context('live-tail') }));
  }
  if (config.sources.includes('sqs')) {
    sources.push(
      new SqsSource({
        queues: config.queueUrls,
        apiFor: await sqsClients(config, core.selfMetrics, deps.env),
        visibilityTimeout: config.sqsVisibilityTimeout / 1000,
        maxRecordBytes: config.maxRecordBytes,
        // The classifier's verdict before delivery: a message it finds invalid is left to the queue's redrive policy.
        inspect: (batch) => core.pipeline.prepare('sqs', batch).invalid,
        staleAfter: config.staleAfter,
        context: context('sqs'),
      }),
    );
  }
  for (const source of sources) core.selfMetrics.declareSource(source);
  const heartbeat =
    config.heartbeatKeys.length === 0
      ? undefined
      : new HeartbeatSender({
          keys: config.heartbeatKeys,
          intervalMs: config.heartbeatInterval,
          tag: deps.tagKey ?? (await kmsTagger(config, core.selfMetrics)),
          metrics: core.heartbeatMetrics,
          now,
          failed: (key, kind, error) => warn('warn', { heartbeatKey: key.arn, error: kind, err: error }, `heartbeat: TagResource on ${key.arn} failed (${kind}): ${printableText((error as Error).message ?? String(error))}`),
        });

  const store = await buildStore(config, core, { ledger: core.ledger, selfMetrics: core.selfMetrics, sources: poll === undefined ? {} : { poll: poll.progress } }, log, now);
  committer = new Committer(core.pipeline, store, core.stateMetrics, core.ledger);
  const commits = committer;

  const status = (): Record<string, SourceStatus> => {
    const parts: Record<string, SourceStatus> = { state: store.status() };
    for (const source of sources) parts[source.name] = restored ? source.status() : { ready: false, detail: 'waiting for the state to be restored' };
    return parts;
  };
  const runtime = processMetrics();
  const app = await buildApp({
    version: VERSION,
    logger: log,
    metrics: async () => {
      if (!restored) throw new NotRestoredError(store.status().detail);
      const ours = await commits.scrape(() => core.telemetry.exposition());
      return `${ours}${ours.endsWith('\n') || ours === '' ? '' : '\n'}${await runtime.exposition()}`;
    },
    status,
    web,
    limits: { headerTimeout: config.headerTimeout, requestTimeout: config.requestTimeout, idleTimeout: config.idleTimeout, maxConnections: config.maxConnections },
    plugins: sources.flatMap((source) => (source.routes === undefined ? [] : [source.routes])),
  });

  const running: Promise<void>[] = [];
  let stopping: Promise<void> | undefined;
  return {
    app,
    core,
    committer,
    store,
    sources,
    restored: restoredPromise,
    async start(options = {}) {
      const { host, port } = config.listenAddress;
      const address = options.listen === false ? undefined : await app.listen({ host, port }).catch((error: unknown) => {
        throw new ListenError(host, port, error);
      });
      running.push(
        (async () => {
          try {
            await store.open(abort.signal);
          } catch (error) {
            if (!abort.signal.aborted) failRestore(error);
            return;
          }
          restored = true;
          markRestored();
          for (const source of sources) {
            running.push(source.run(abort.signal).catch((error: unknown) => log.error({ source: source.name, err: error }, `source ${source.name} stopped: ${(error as Error).message}`)));
          }
          // Once the sources run, so the first heartbeat's record finds them reading.
          if (heartbeat !== undefined) running.push(heartbeat.run(abort.signal).catch((error: unknown) => log.error({ err: error }, `heartbeat stopped: ${(error as Error).message}`)));
        })(),
      );
      return address;
    },
    stop() {
      stopping ??= (async () => {
        abort.abort();
        // A source blocked on a read (replay of an open stdin) must not hold the stop hostage.
        if (config.replayPaths.includes('-')) deps.stdin?.destroy();
        await Promise.race([Promise.allSettled(running), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
        await commits.idle();
        // A sender holding a request body open must not hold the stop hostage either: after the grace, its connection is cut.
        const closed = app.close();
        const grace = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), deps.stopGrace ?? 5000).unref());
        if (!(await Promise.race([closed.then(() => true), grace]))) app.server.closeAllConnections();
        await closed;
        await core.telemetry.shutdown();
        await store.close();
      })();
      return stopping;
    },
  };
}
