// Builds the service (serve) from a Config: the core, the state store, the sources and the HTTP app. Tests and bench start here.

import type { Readable } from 'node:stream';
import { buildCore, replayOptions } from './core.ts';
import type { Core, CoreDeps } from './core.ts';
import type { FastifyInstance } from 'fastify';
import type { Logger as PinoLogger } from 'pino';
import { cloudWatchLogs, kmsTagger, sqsClients } from './aws-clients.ts';
import type { TagKey } from './aws-clients.ts';
import { buildFilterPattern } from './catalog/filter-pattern.ts';
import type { Config } from './config.ts';
import { checkServeConfig, eventbridgeCredentials, firehoseAccessKey } from './config.ts';
import { ListenError, NotRestoredError } from './errors.ts';
import { VERSION } from './package-info.ts';
import { HeartbeatSender } from './heartbeat-sender.ts';
import { processMetrics } from './record/process-metrics.ts';
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
import { ReplaySource } from './sources/replay-files.ts';
import type { Source, SourceContext, SourceStatus } from './sources/source.ts';
import { SqsSource } from './sources/sqs.ts';
import { CheckpointFile } from './state/checkpoint-file.ts';
import { Committer } from './state/committer.ts';
import { MemoryStore } from './state/local-state.ts';
import { replicaState } from './state/replica-state.ts';
import type { ReplicaParts } from './state/replica-state.ts';
import type { StateStore } from './state/state-store.ts';

export type { Core, CoreDeps } from './core.ts';
export { buildCore, replayOptions } from './core.ts';
export type { ReplayDeps, ReplayResult } from './replay/replay-command.ts';
export { runReplay } from './replay/replay-command.ts';

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
