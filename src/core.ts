// What serve and replay share: telemetry, the counters, the key state and the pipeline, built from a Config.

import type { Readable } from 'node:stream';
import type { Logger as PinoLogger } from 'pino';
import type { Config } from './config.ts';
import { SERVICE_NAME, VERSION } from './package-info.ts';
import { Pipeline } from './pipeline.ts';
import { ChangeLogEvents } from './record/change-log-events.ts';
import { ChangeMetrics, exportAccountInfo, exportKeyState } from './record/change-metrics.ts';
import { loadAccounts, NO_ACCOUNTS } from './accounts-file.ts';
import { loadExpectations } from './expectations/expectations-file.ts';
import { NO_EXPECTATIONS } from './expectations/expectation-rules.ts';
import type { CounterHistory } from './record/counter-history.ts';
import { CounterLedger } from './record/counter-ledger.ts';
import { HeartbeatMetrics } from './record/heartbeat-metrics.ts';
import { declareInstruments } from './record/instruments.ts';
import type { Instruments } from './record/instruments.ts';
import { SelfMetrics } from './record/self-metrics.ts';
import { StateMetrics } from './record/state-metrics.ts';
import { throttledLog } from './record/throttled-log.ts';
import { printableText } from './printable-text.ts';
import type { ReplayOptions } from './sources/replay-files.ts';
import type { OwnPath } from './classify/pipeline-change.ts';
import type { RecordStreamOptions } from './decode/record-stream.ts';
import { KeyState } from './state/key-state.ts';
import type { KeyNames } from './state/key-state.ts';
import { LocalState } from './state/local-state.ts';
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
export function ownPathOf(config: Config): OwnPath {
  return { logGroups: config.logGroups, deliveryStreams: config.firehoseStreams, rules: config.eventBridgeRules };
}

/** Replay reads records up to --max-record-bytes, and whole documents (subscription payloads) up to 64 MiB. */
export function replayOptions(config: Config, stdin: Readable): ReplayOptions {
  return { stdin, ...recordStreamOptions(config) };
}

export function recordStreamOptions(config: Config): RecordStreamOptions {
  return { maxRecordBytes: config.maxRecordBytes, maxDocumentBytes: Math.max(config.maxRecordBytes, 64 * 1024 * 1024) };
}

