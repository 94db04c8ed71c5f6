#!/usr/bin/env node
// Composition root: the CLI, and the only place that builds OTel providers, AWS clients and the HTTP server.

import { closeSync, openSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { Mutex } from 'async-mutex';
import { Command } from 'commander';
import { pino } from 'pino';
import type { Logger as PinoLogger } from 'pino';
import { setGlobalErrorHandler } from '@opentelemetry/core';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import type { Resource } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BatchLogRecordProcessor, ConsoleLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import type { LogRecordProcessor } from '@opentelemetry/sdk-logs';
import { buildFilterPattern } from './catalog/filter-pattern.ts';
import { buildIamPolicy } from './catalog/iam-policy.ts';
import type { Config } from './config.ts';
import { loadConfig, settingOptions } from './config.ts';
import { ConfigError } from './errors.ts';
import type { InputError } from './errors.ts';
import type { Pipeline } from './pipeline.ts';
import { createPipeline } from './pipeline.ts';
import type { InvalidRecord, RecordBatch } from './record-batch.ts';
import { ChangeLogEvents } from './record/change-log-events.ts';
import { ChangeMetrics } from './record/change-metrics.ts';
import { restoreCounters, snapshotCounters } from './record/counter-snapshot.ts';
import { declareInstruments } from './record/instruments.ts';
import type { Instruments } from './record/instruments.ts';
import { JsonLinesLogExporter } from './record/json-lines-log-exporter.ts';
import { SelfMetrics } from './record/self-metrics.ts';
import type { SourceStatus } from './serve/app.ts';
import { countCalls, paceCalls } from './sources/aws-client-middleware.ts';
import { AWS_ERROR_KINDS } from './sources/aws-errors.ts';
import { CHECKPOINT_VERSION, loadCheckpoint, lockCheckpoint, saveCheckpoint } from './sources/checkpoint.ts';
import { PollSource } from './sources/filter-log-events.ts';
import { LIVE_TAIL_MAX_LOG_GROUPS, LiveTailSource } from './sources/live-tail.ts';
import { replayFiles } from './sources/replay-files.ts';
import type { ReplayOptions } from './sources/replay-files.ts';
import { FIREHOSE_REQUEST_ERRORS, firehoseRoute } from './serve/firehose-route.ts';

const SERVICE_NAME = 'kms-change-exporter';

/** The package version, read from package.json whether running from src/ or dist/src/. */
function readVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === SERVICE_NAME && pkg.version !== undefined) return pkg.version;
    } catch {
      // keep walking up
    }
    dir = dirname(dir);
  }
  return '0.0.0-unknown';
}

const VERSION = readVersion();

export interface Telemetry {
  readonly resource: Resource;
  readonly prometheus: PrometheusExporter;
  readonly meterProvider: MeterProvider;
  readonly loggerProvider: LoggerProvider;
  /** Whether any log record processor is configured; without one, log events are not built at all. */
  readonly logsEnabled: boolean;
  /** The text exposition, as /metrics serves it. */
  exposition(): Promise<string>;
  shutdown(): Promise<void>;
}

/**
 * The OTLP log exporter the standard variables ask for: OTEL_LOGS_EXPORTER=otlp, or an
 * OTLP endpoint set. Unlike the SDK's autoconfiguration we do not default to sending to
 * localhost:4318 when nothing was asked, which would only produce export errors.
 */
async function otlpLogProcessors(env: NodeJS.ProcessEnv): Promise<LogRecordProcessor[]> {
  // The OTel spec reads an empty variable as unset (Helm charts and compose files often set them empty).
  const setting = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const exporters = (setting('OTEL_LOGS_EXPORTER') ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
  for (const name of exporters) {
    if (!['otlp', 'console', 'none'].includes(name)) throw new ConfigError('OTEL_LOGS_EXPORTER', 'OTEL_LOGS_EXPORTER', `expected otlp, console or none, got ${JSON.stringify(name)}`);
  }
  const endpointSet = setting('OTEL_EXPORTER_OTLP_LOGS_ENDPOINT') !== undefined || setting('OTEL_EXPORTER_OTLP_ENDPOINT') !== undefined;
  const wantOtlp = exporters.includes('otlp') || (exporters.length === 0 && endpointSet);
  const processors: LogRecordProcessor[] = [];
  if (exporters.includes('console')) processors.push(new SimpleLogRecordProcessor({ exporter: new ConsoleLogRecordExporter() }));
  if (!wantOtlp || exporters.includes('none')) return processors;
  const protocolVariable = setting('OTEL_EXPORTER_OTLP_LOGS_PROTOCOL') !== undefined ? 'OTEL_EXPORTER_OTLP_LOGS_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = setting(protocolVariable) ?? 'http/protobuf';
  // Loaded only when asked for: each exporter costs start time and memory that replay does not need.
  if (protocol === 'http/protobuf') {
    const { OTLPLogExporter } = await import('@opentelemetry/exporter-logs-otlp-proto');
    processors.push(new BatchLogRecordProcessor({ exporter: new OTLPLogExporter() }));
  } else if (protocol === 'http/json') {
    const { OTLPLogExporter } = await import('@opentelemetry/exporter-logs-otlp-http');
    processors.push(new BatchLogRecordProcessor({ exporter: new OTLPLogExporter() }));
  } else {
    const hint = protocol === 'grpc' ? ' (grpc is not bundled; the Collector accepts both on port 4318)' : '';
    throw new ConfigError(protocolVariable, protocolVariable, `expected http/protobuf or http/json${hint}, got ${JSON.stringify(protocol)}`);
  }
  return processors;
}

/** Export failures reach the operator's log; by default the SDK drops them silently. */
function reportTelemetryErrors(log: PinoLogger): void {
  setGlobalErrorHandler((error) => log.error({ err: error }, 'OpenTelemetry export failed; log records dropped'));
}

const EXPORTER_OPTIONS = { withoutScopeInfo: true, withoutTargetInfo: true } as const;

async function buildTelemetry(config: Config, logsFd: number | undefined, env: NodeJS.ProcessEnv): Promise<Telemetry> {
  const resource = resourceFromAttributes({ 'service.name': SERVICE_NAME, 'service.version': VERSION }).merge(detectResources({ detectors: [envDetector] }));
  const prometheus = new PrometheusExporter({ preventServerStart: true, ...EXPORTER_OPTIONS });
  const serializer = new PrometheusSerializer(undefined, false, undefined, EXPORTER_OPTIONS.withoutTargetInfo, EXPORTER_OPTIONS.withoutScopeInfo);
  const meterProvider = new MeterProvider({
    resource,
    readers: [prometheus],
    views: [{ instrumentName: '*', aggregationCardinalityLimit: config.seriesLimit }],
  });
  const processors = await otlpLogProcessors(env);
  if (logsFd !== undefined) processors.unshift(new SimpleLogRecordProcessor({ exporter: new JsonLinesLogExporter(logsFd) }));
  const loggerProvider = new LoggerProvider({ resource, processors });
  return {
    resource,
    prometheus,
    meterProvider,
    loggerProvider,
    logsEnabled: processors.length > 0,
    async exposition() {
      const { resourceMetrics } = await prometheus.collect();
      return serializer.serialize(resourceMetrics);
    },
    async shutdown() {
      await loggerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

/** Invalid records are logged, but a flood of them must not flood the operator's log. */
function invalidRecordLogger(log: PinoLogger, perMinute = 20): (source: string, invalid: InvalidRecord) => void {
  let windowStart = 0;
  let logged = 0;
  let suppressed = 0;
  return (source, invalid) => {
    const now = Date.now();
    if (now - windowStart > 60_000) {
      if (suppressed > 0) log.warn({ suppressed }, 'invalid records not logged in the last minute');
      windowStart = now;
      logged = 0;
      suppressed = 0;
    }
    if (logged >= perMinute) {
      suppressed++;
      return;
    }
    logged++;
    log.warn({ source, reason: invalid.reason }, `invalid record: ${invalid.detail}`);
  };
}

export interface Wiring {
  readonly instruments: Instruments;
  readonly telemetry: Telemetry;
  readonly pipeline: Pipeline;
  readonly selfMetrics: SelfMetrics;
  readonly changeMetrics: ChangeMetrics;
}

/** Telemetry and pipeline for a config; exported so tests can run the real wiring with a fixed clock. */
export async function wire(config: Config, log: PinoLogger, logsFd: number | undefined, env: NodeJS.ProcessEnv, now: () => number = Date.now): Promise<Wiring> {
  const telemetry = await buildTelemetry(config, logsFd, env);
  const instruments = declareInstruments(telemetry.meterProvider.getMeter(SERVICE_NAME, VERSION));
  const selfMetrics = new SelfMetrics(instruments);
  selfMetrics.buildInfo(VERSION, process.version);
  const changeMetrics = new ChangeMetrics(instruments, { keyId: config.labelKeyId, principal: config.labelPrincipal, valueLimit: config.labelValueLimit });
  const changeLogEvents = new ChangeLogEvents(telemetry.logsEnabled ? telemetry.loggerProvider.getLogger(SERVICE_NAME, VERSION) : undefined);
  const pipeline = createPipeline({ changeMetrics, changeLogEvents, selfMetrics, dedupeCapacity: config.dedupeCapacity, onInvalid: invalidRecordLogger(log), now });
  return { instruments, telemetry, pipeline, selfMetrics, changeMetrics };
}

function openLogsFile(path: string | undefined, allowStdout: boolean): number | undefined {
  if (path === undefined) return undefined;
  if (path === '-') {
    if (!allowStdout) throw new ConfigError('--logs', 'KMS_EXPORTER_LOGS_FILE', 'replay writes metrics to stdout; give --logs a file');
    return 1;
  }
  try {
    return openSync(path, 'w');
  } catch (error) {
    throw new ConfigError('--logs', 'KMS_EXPORTER_LOGS_FILE', `cannot open ${path}: ${(error as Error).message}`);
  }
}

function operatorLog(level: Config['logLevel']): PinoLogger {
  // stderr: stdout carries the exposition (replay) or the log events (--logs -).
  // The Firehose access key must never reach a log line, whatever logs a request.
  const redact = ['req.headers["x-amz-firehose-access-key"]', 'headers["x-amz-firehose-access-key"]'];
  return pino({ level, base: { service: SERVICE_NAME }, redact }, pino.destination({ dest: 2, sync: true }));
}

/** Replay reads records up to --max-record-bytes, and whole documents (subscription payloads) up to 64 MiB. */
function replayOptions(config: Config): ReplayOptions {
  return { stdin: process.stdin, maxRecordBytes: config.maxRecordBytes, maxDocumentBytes: Math.max(config.maxRecordBytes, 64 * 1024 * 1024) };
}

async function runReplay(paths: readonly string[], config: Config, env: NodeJS.ProcessEnv): Promise<number> {
  const log = operatorLog(config.logLevel);
  reportTelemetryErrors(log);
  const logsFd = openLogsFile(config.logsFile, false);
  const { telemetry, pipeline, selfMetrics } = await wire(config, log, logsFd, env);
  selfMetrics.declareSource('replay');
  const errors: InputError[] = [];
  const options = replayOptions(config);
  for await (const batch of replayFiles(paths, options, (error) => errors.push(error))) pipeline.handleBatch('replay', batch);
  process.stdout.write(await telemetry.exposition());
  await telemetry.shutdown();
  if (logsFd !== undefined && logsFd !== 1) closeSync(logsFd);
  for (const error of errors) process.stderr.write(`kms-change-exporter: ${error.message}\n`);
  return errors.length > 0 ? 1 : 0;
}

/** Settings that are valid one by one but not together, checked before anything starts. */
function checkServeConfig(config: Config): void {
  const needsGroups = config.sources.includes('poll') || config.sources.includes('live-tail');
  if (needsGroups && config.logGroups.length === 0) throw new ConfigError('--log-group', 'KMS_EXPORTER_LOG_GROUPS', 'the poll and live-tail sources need at least one log group');
  if (config.sources.includes('live-tail') && config.logGroups.length > LIVE_TAIL_MAX_LOG_GROUPS) {
    throw new ConfigError('--log-group', 'KMS_EXPORTER_LOG_GROUPS', `live tail takes at most ${LIVE_TAIL_MAX_LOG_GROUPS} log groups, got ${config.logGroups.length}`);
  }
  if (config.sources.includes('replay') && config.replayPaths.length === 0) throw new ConfigError('--replay', 'KMS_EXPORTER_REPLAY', 'the replay source needs at least one path');
}

/** The CloudWatch Logs client: default credential chain and region, adaptive retries, paced and counted calls. */
async function buildLogsClient(config: Config, selfMetrics: SelfMetrics, env: NodeJS.ProcessEnv): Promise<CloudWatchLogsClient> {
  const { CloudWatchLogsClient } = await import('@aws-sdk/client-cloudwatch-logs');
  // The SDK reads AWS_ENDPOINT_URL(_CLOUDWATCH_LOGS) itself; a local endpoint has no `stream-` host for live tail.
  const endpointOverride = (env['AWS_ENDPOINT_URL_CLOUDWATCH_LOGS'] ?? env['AWS_ENDPOINT_URL'] ?? '') !== '';
  const client = new CloudWatchLogsClient({
    maxAttempts: config.awsMaxAttempts,
    retryMode: 'adaptive',
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
    ...(endpointOverride ? { disableHostPrefix: true } : {}),
  });
  client.middlewareStack.use(countCalls(selfMetrics));
  client.middlewareStack.use(paceCalls(config.awsCallsPerSecond, new Set(['FilterLogEvents', 'DescribeLogGroups'])));
  return client;
}

/** How many CloudTrail eventIDs a checkpoint keeps: enough for the overlap of live tail and the reconciling poll. */
const CHECKPOINT_EVENT_IDS = 50_000;

async function runServe(config: Config, env: NodeJS.ProcessEnv): Promise<void> {
  checkServeConfig(config);
  const log = operatorLog(config.logLevel);
  reportTelemetryErrors(log);
  const logsFd = openLogsFile(config.logsFile, true);
  const { telemetry, pipeline, selfMetrics, changeMetrics, instruments } = await wire(config, log, logsFd, env);
  const { buildApp } = await import('./serve/app.ts');
  const abort = new AbortController();
  const running: Promise<void>[] = [];
  const statuses = new Map<string, () => SourceStatus>();
  // Held while a batch is recorded and checkpointed, so a scrape never sees counts the checkpoint does not have.
  const commitLock = new Mutex();


  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  let stopping = false;
  let releaseCheckpoint: (() => Promise<void>) | undefined;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: draining sources, closing the server, flushing telemetry');
    abort.abort();
    // A source blocked on a read (replay of an open stdin) must not hold the stop hostage.
    if (config.replayPaths.includes('-')) process.stdin.destroy();
    await Promise.race([Promise.allSettled(running), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
    await commitLock.waitForUnlock();
    await app?.close();
    await telemetry.shutdown();
    await releaseCheckpoint?.().catch(() => {});
    if (logsFd !== undefined && logsFd !== 1) closeSync(logsFd);
    process.exit(0);
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));

  const pollName = 'poll';
  const usesAws = config.sources.includes('poll') || config.sources.includes('live-tail');
  let poll: PollSource | undefined;
  const checkpointPath = config.checkpointFile;

  const saveState = async (): Promise<void> => {
    if (checkpointPath === undefined) return;
    const { resourceMetrics } = await telemetry.prometheus.collect();
    try {
      saveCheckpoint(checkpointPath, {
        version: CHECKPOINT_VERSION,
        writtenAt: new Date().toISOString(),
        sources: poll === undefined ? {} : { [pollName]: poll.progress() },
        cloudTrailEventIds: pipeline.eventIds().slice(-CHECKPOINT_EVENT_IDS),
        keyState: changeMetrics.keyState(),
        counters: snapshotCounters(resourceMetrics),
      });
    } catch (error) {
      selfMetrics.sourceError('checkpoint', 'write_failed');
      log.error({ err: error, path: checkpointPath }, 'cannot write the checkpoint; a restart would re-read from the last good one');
    }
  };
  // Pushed batches (Firehose) can arrive before the checkpoint is restored: they wait for it.
  let markStarted = (): void => {};
  const started = new Promise<void>((resolve) => {
    markStarted = resolve;
  });
  const deliver = (source: string) => async (batch: RecordBatch) => {
    await started;
    await commitLock.runExclusive(async () => {
      pipeline.handleBatch(source, batch);
      await saveState();
    });
  };

  const firehoseKey = config.sources.includes('firehose') ? readFirehoseAccessKey(config, env) : undefined;
  if (firehoseKey !== undefined) statuses.set('firehose', () => ({ ready: true, detail: 'accepting deliveries on POST /firehose' }));
  app = await buildApp({
    version: VERSION,
    logger: log,
    metricsHandler: (req, res) => {
      void commitLock.waitForUnlock().then(() => telemetry.prometheus.getMetricsRequestHandler(req, res));
    },
    sourceStatus: () => Object.fromEntries([...statuses].map(([name, status]) => [name, status()])),
    plugins:
      firehoseKey === undefined
        ? []
        : [
            firehoseRoute({
              accessKey: firehoseKey,
              maxBodyBytes: config.firehoseMaxBodyBytes,
              deliver: deliver('firehose'),
              onRequestError: (kind, detail) => {
                selfMetrics.sourceError('firehose', kind);
                if (kind !== 'retried_request') log.warn({ source: 'firehose', error: kind }, `firehose request refused: ${detail}`);
              },
            }),
          ],
  });
  await app.listen({ host: config.listenAddress.host, port: config.listenAddress.port });

  const errorKinds = { replay: ['unreadable_input'], firehose: [...FIREHOSE_REQUEST_ERRORS], poll: [...AWS_ERROR_KINDS], 'live-tail': [...AWS_ERROR_KINDS, 'sampled'] } as const;
  for (const source of config.sources) selfMetrics.declareSource(source, errorKinds[source]);
  if (config.sources.includes('live-tail') && !config.sources.includes('poll')) selfMetrics.declareSource(pollName, [...AWS_ERROR_KINDS]);

  if (checkpointPath !== undefined) {
    statuses.set('checkpoint', () => ({ ready: false, detail: `waiting for the lock on ${checkpointPath}` }));
    try {
      releaseCheckpoint = await lockCheckpoint(checkpointPath, (reason) => log.warn({ path: checkpointPath }, reason), abort.signal);
    } catch (error) {
      if (abort.signal.aborted) return;
      throw error;
    }
    statuses.delete('checkpoint');
  }

  if (config.sources.includes('replay')) {
    let state: SourceStatus = { ready: false, detail: `reading ${config.replayPaths.length} path(s)` };
    statuses.set('replay', () => state);
    running.push(
      (async () => {
        let failed = 0;
        const options = replayOptions(config);
        for await (const batch of replayFiles(config.replayPaths, options, (error) => {
          if (abort.signal.aborted) return;
          failed++;
          selfMetrics.sourceError('replay', 'unreadable_input');
          log.error({ source: 'replay' }, error.message);
        })) {
          if (abort.signal.aborted) return;
          pipeline.handleBatch('replay', batch);
        }
        state = { ready: true, detail: `read ${config.replayPaths.length - failed} of ${config.replayPaths.length} path(s)` };
        log.info({ source: 'replay' }, 'replay finished; serving its metrics until stopped');
      })(),
    );
  }

  if (usesAws) {
    const client = await buildLogsClient(config, selfMetrics, env);
    const filterPattern = buildFilterPattern();
    const now = Date.now;
    const liveTail = config.sources.includes('live-tail');
    poll = new PollSource({
      name: pollName,
      client,
      logGroups: config.logGroups,
      filterPattern,
      interval: liveTail && !config.sources.includes('poll') ? config.reconcileInterval : config.pollInterval,
      latenessWindow: config.latenessWindow,
      lookback: config.lookback,
      now,
      deliver: deliver(pollName),
      onError: (kind, logGroup, error) => {
        selfMetrics.sourceError(pollName, kind);
        log.warn({ source: pollName, logGroup, error: kind, err: error }, `FilterLogEvents failed (${kind}); retrying next cycle`);
      },
    });
    if (checkpointPath !== undefined) {
      const loaded = loadCheckpoint(checkpointPath);
      if (loaded.kind === 'loaded') {
        restoreCounters(instruments, loaded.checkpoint.counters);
        changeMetrics.restoreKeyState(loaded.checkpoint.keyState);
        pipeline.rememberEventIds(loaded.checkpoint.cloudTrailEventIds);
        poll.restore(loaded.checkpoint.sources[pollName]);
        log.info({ path: checkpointPath, writtenAt: loaded.checkpoint.writtenAt }, 'resuming from the checkpoint');
      } else if (loaded.kind === 'corrupt') {
        const aside = `${checkpointPath}.corrupt-${Date.now()}`;
        try {
          renameSync(checkpointPath, aside);
        } catch {
          // keep going: the next save replaces it
        }
        log.error({ path: checkpointPath, movedTo: aside, reason: loaded.reason }, `the checkpoint is unreadable (${loaded.reason}); starting from the look-back (${config.lookback / 1000}s)`);
        selfMetrics.sourceError('checkpoint', 'corrupt');
      } else {
        log.info({ path: checkpointPath }, `no checkpoint yet; starting from the look-back (${config.lookback / 1000}s)`);
      }
    }
    const pollSource = poll;
    statuses.set(pollName, () => pollSource.status(config.staleAfter));
    running.push(pollSource.run(abort.signal));
    if (liveTail) {
      const tail = new LiveTailSource({
        name: 'live-tail',
        client,
        logGroups: config.logGroups,
        filterPattern,
        now,
        deliver: deliver('live-tail'),
        onError: (kind, error) => {
          selfMetrics.sourceError('live-tail', kind);
          log.warn({ source: 'live-tail', error: kind, err: error }, kind === 'session_ended' ? 'live tail session ended; reconnecting' : `live tail failed (${kind}); reconnecting`);
        },
        onSampled: () => selfMetrics.sourceError('live-tail', 'sampled'),
      });
      statuses.set('live-tail', () => tail.status());
      running.push(tail.run(abort.signal));
    }
  }
  markStarted();
}

/** The Firehose access key, from KMS_EXPORTER_FIREHOSE_ACCESS_KEY or the file named by --firehose-access-key-file. */
function readFirehoseAccessKey(config: Config, env: NodeJS.ProcessEnv): string {
  let key = env['KMS_EXPORTER_FIREHOSE_ACCESS_KEY'];
  if ((key === undefined || key === '') && config.firehoseAccessKeyFile !== undefined) {
    try {
      key = readFileSync(config.firehoseAccessKeyFile, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new ConfigError('--firehose-access-key-file', 'KMS_EXPORTER_FIREHOSE_ACCESS_KEY_FILE', `cannot read ${config.firehoseAccessKeyFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  if (key === undefined || key === '') throw new ConfigError('--firehose-access-key-file', 'KMS_EXPORTER_FIREHOSE_ACCESS_KEY_FILE', 'the firehose source needs an access key: set KMS_EXPORTER_FIREHOSE_ACCESS_KEY or name a file');
  if (Buffer.byteLength(key) > 4096) throw new ConfigError('--firehose-access-key-file', 'KMS_EXPORTER_FIREHOSE_ACCESS_KEY_FILE', 'the access key is longer than Firehose\'s 4096 bytes');
  return key;
}

export function buildProgram(env: NodeJS.ProcessEnv, setExitCode: (code: number) => void): Command {
  const program = new Command()
    .name(SERVICE_NAME)
    .description('Counts AWS KMS configuration changes in a CloudTrail log group as Prometheus metrics and OpenTelemetry log events.')
    .version(VERSION)
    .showHelpAfterError()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  const serve = program.command('serve').description('run the service: the configured sources plus the HTTP server (/metrics, /-/healthy, /-/ready)');
  for (const option of settingOptions('serve')) serve.addOption(option);
  serve.action(async (options: Record<string, unknown>) => runServe(loadConfig(options), env));

  const replay = program
    .command('replay')
    .description('run files (JSON Lines, CloudTrail S3 log files, CloudWatch Logs subscription payloads; plain or gzip) through the pipeline and print the metrics')
    .argument('<paths...>', 'files to read, or - for stdin');
  for (const option of settingOptions('replay')) replay.addOption(option);
  replay.action(async (paths: string[], options: Record<string, unknown>) => setExitCode(await runReplay(paths, loadConfig(options, { sources: ['replay'] }), env)));

  program
    .command('filter-pattern')
    .description('print the CloudWatch Logs filter pattern that selects exactly the catalog events')
    .action(() => {
      process.stdout.write(`${buildFilterPattern()}\n`);
    });

  program
    .command('iam-policy')
    .description('print the least-privilege IAM policy for the chosen sources and log groups')
    .option('--source <names>', 'comma-separated sources: poll, live-tail, firehose, replay', 'poll')
    .option('--log-group <names>', 'comma-separated log group names or ARNs', '')
    .option('--region <region>', 'region of log groups named without an ARN', env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'] ?? '*')
    .option('--account <id>', 'account of log groups named without an ARN', '*')
    .action((options: { source: string; logGroup: string; region: string; account: string }) => {
      const split = (text: string) => text.split(',').map((s) => s.trim()).filter((s) => s !== '');
      process.stdout.write(`${JSON.stringify(buildIamPolicy({ sources: split(options.source), logGroups: split(options.logGroup), region: options.region, account: options.account }), null, 2)}\n`);
    });
  return program;
}

async function main(): Promise<void> {
  const program = buildProgram(process.env, (code) => {
    process.exitCode = code;
  });
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`kms-change-exporter: ${error.message}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    throw error;
  }
}

// Importing this module (tests do) must not run the CLI.
if (import.meta.main) await main();
