// The replay command: files, stdin and S3 archives through the pipeline, decoded ahead (in worker threads with --jobs N) and counted in order, then the exposition or its history.

import type { Readable } from 'node:stream';
import type { Logger as PinoLogger } from 'pino';
import { s3Archive } from '../aws-clients.ts';
import type { Config } from '../config.ts';
import { checkReplayConfig } from '../config.ts';
import type { InputError } from '../errors.ts';
import { ConfigError } from '../errors.ts';
import { CounterHistory } from '../record/counter-history.ts';
import { openMetricsChunks } from '../record/openmetrics-writer.ts';
import { untilAborted } from '../sources/replay-files.ts';
import type { Progress } from './progress.ts';
import { listS3Inputs, openS3Object, S3_SCHEME } from '../sources/s3-archive.ts';
import { InlineDecoder, ThreadedDecoder } from './input-decoders.ts';
import type { ReplayInput } from './replay-input.ts';
import { runReplayInputs } from './replay-run.ts';
import { localSizes } from './progress.ts';
import { ReplayManifest } from './manifest.ts';
import type { TrailSelection } from '../sources/s3-layout.ts';
import type { S3Api } from '../sources/s3-api.ts';
import { Committer, outcomeOf } from '../state/committer.ts';
import { MemoryStore } from '../state/local-state.ts';
import { replicaState } from '../state/replica-state.ts';
import { buildCore, ownPathOf, recordStreamOptions } from '../core.ts';
import type { Core, CoreDeps } from '../core.ts';

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
  const decoder = config.replayJobs === 1 ? new InlineDecoder(setup) : new ThreadedDecoder(config.replayJobs, setup);
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

