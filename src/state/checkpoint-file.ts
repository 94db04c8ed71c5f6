// The checkpoint file: the one owner of this process's persisted state. Holds the lock, loads, writes atomically, moves a corrupt file aside.
//
// Every commit is written here before it is applied in memory (see pipeline.ts), so after
// any crash, kill -9 included, a restart restores exactly the counters Prometheus may have
// seen and re-reads what came after: nothing is lost, nothing is counted twice, and the
// counters never go backwards. One zod schema describes the whole file.

import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import lockfile from 'proper-lockfile';
import { z } from 'zod';
import { StateUnavailableError } from '../errors.ts';
import type { StateMetrics } from '../record/state-metrics.ts';
import type { SourceStatus } from '../sources/source.ts';
import type { LocalState } from './local-state.ts';
import { localStateSchema } from './local-state.ts';
import { replicaSnapshotSchema } from './replica-state.ts';
import type { Commit, EventClaim, ReplicaState, RequestClaim, StateStore } from './state-store.ts';

export const CHECKPOINT_VERSION = 2;

const finite = z.number().finite();

/** Version 1 (0.1.x): counters and the last-event gauge in one list, key state as pending + settled. Read, converted, never written. */
const checkpointV1Schema = z
  .object({
    version: z.literal(1),
    writtenAt: z.string(),
    sources: z.object({ poll: replicaSnapshotSchema.shape.sources.shape.poll }),
    cloudTrailEventIds: z.array(z.string()),
    keyState: z.object({
      pending: z.array(z.object({ key: z.string(), accountId: z.string(), region: z.string(), keyId: z.string().min(1), date: finite })),
      settled: z.array(z.tuple([z.string(), finite])),
    }),
    counters: z.array(z.object({ name: z.string(), attributes: z.record(z.string(), z.string()), value: finite.nonnegative() })),
  })
  .transform((v1) => {
    const lastEventName = 'kms_exporter_last_event_timestamp_seconds';
    const settled = new Map(v1.keyState.settled);
    return {
      version: CHECKPOINT_VERSION,
      writtenAt: v1.writtenAt,
      replica: {
        counters: v1.counters.filter((c) => c.name !== lastEventName).map((c) => ({ name: c.name, labels: c.attributes, value: c.value })),
        lastEvent: Object.fromEntries(v1.counters.filter((c) => c.name === lastEventName && c.attributes['source'] !== undefined).map((c) => [c.attributes['source']!, c.value * 1000])),
        sources: v1.sources,
        sequence: 0,
      },
      shared: {
        eventIds: v1.cloudTrailEventIds,
        requestIds: [],
        keyState: {
          pendingDeletions: v1.keyState.pending.map(({ accountId, region, keyId, date, key }) => ({ accountId, region, keyId, date, eventTime: settled.get(key) ?? 0 })),
          lifecycleEvents: v1.keyState.settled,
        },
      },
    };
  });

export const checkpointSchema = z.union([
  z.object({ version: z.literal(CHECKPOINT_VERSION), writtenAt: z.string(), replica: replicaSnapshotSchema, shared: localStateSchema }),
  checkpointV1Schema,
]);

export type Checkpoint = z.infer<typeof checkpointSchema>;

export type LoadResult = { readonly kind: 'missing' } | { readonly kind: 'loaded'; readonly checkpoint: Checkpoint } | { readonly kind: 'corrupt'; readonly reason: string };

/** A JSON file read against its schema: missing, or the value, or which step failed and why (each file words it its own way). */
export type JsonFileResult<T> =
  | { readonly kind: 'missing' }
  | { readonly kind: 'loaded'; readonly value: T }
  | { readonly kind: 'unreadable'; readonly message: string }
  | { readonly kind: 'not_json'; readonly message: string }
  | { readonly kind: 'unexpected'; readonly at: string; readonly message: string };

export function loadJsonFile<T>(path: string, schema: z.ZodType<T>): JsonFileResult<T> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'unreadable', message: (error as Error).message };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { kind: 'not_json', message: (error as Error).message };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { kind: 'unexpected', at: issue?.path.join('.') || 'the top', message: issue?.message ?? 'invalid' };
  }
  return { kind: 'loaded', value: parsed.data };
}

export function loadCheckpoint(path: string): LoadResult {
  const file = loadJsonFile(path, checkpointSchema);
  switch (file.kind) {
    case 'missing':
      return file;
    case 'loaded':
      return { kind: 'loaded', checkpoint: file.value };
    case 'unreadable':
      return { kind: 'corrupt', reason: `cannot read: ${file.message}` };
    case 'not_json':
      return { kind: 'corrupt', reason: `not JSON: ${file.message}` };
    case 'unexpected':
      return { kind: 'corrupt', reason: `unexpected content at ${file.at}: ${file.message}` };
  }
}

/** The one temporary name: only the lock holder writes, and a crash leaves one file that the next write replaces. */
function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp`);
}

/** Temp file, fsync, rename, fsync of the directory: a reader sees the old file or the new one, whole. */
export function writeCheckpoint(path: string, checkpoint: Checkpoint): void {
  writeFileAtomically(path, JSON.stringify(checkpoint));
}

/** The checkpoint's write, for any file only one lock holder writes (the replay manifest too). */
export function writeFileAtomically(path: string, text: string): void {
  const temp = tempPath(path);
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** Temporary files of earlier versions were named by pid, so every kill -9 left one behind. */
function removeOrphans(path: string): void {
  const prefix = `.${basename(path)}.`;
  for (const name of readdirSync(dirname(path))) {
    if (name.startsWith(prefix) && name.endsWith('.tmp')) rmSync(join(dirname(path), name), { force: true });
  }
}

export interface CheckpointFileOptions {
  readonly path: string;
  readonly local: LocalState;
  readonly replica: ReplicaState;
  readonly metrics: StateMetrics;
  readonly log: { info(msg: string): void; warn(msg: string): void; error(msg: string): void };
  readonly now?: () => number;
  /** A lock not refreshed for this long belongs to a dead process and is taken over (ms). */
  readonly staleLockMs?: number;
}

export class CheckpointFile implements StateStore {
  readonly kind = 'file';
  private readonly options: CheckpointFileOptions;
  private unlock: (() => Promise<void>) | undefined;
  private state: SourceStatus = { ready: false, detail: 'not opened yet' };
  private lockLost = false;
  private lastWriteFailed = false;

  constructor(options: CheckpointFileOptions) {
    this.options = options;
    options.metrics.store('file', () => !this.lastWriteFailed && !this.lockLost, ['corrupt', 'write_failed', 'lock_lost']);
  }

  async open(signal: AbortSignal): Promise<void> {
    const { path, log } = this.options;
    this.state = { ready: false, detail: `waiting for the lock on ${path}` };
    this.unlock = await this.lock(signal);
    removeOrphans(path);
    const loaded = loadCheckpoint(path);
    if (loaded.kind === 'loaded') {
      this.options.local.restore(loaded.checkpoint.shared);
      this.options.replica.restore(loaded.checkpoint.replica);
      log.info(`resuming from the checkpoint ${path} written at ${loaded.checkpoint.writtenAt}`);
    } else if (loaded.kind === 'corrupt') {
      const aside = `${path}.corrupt-${(this.options.now ?? Date.now)()}`;
      try {
        renameSync(path, aside);
      } catch {
        // keep going: the next write replaces it
      }
      this.options.metrics.error('corrupt');
      log.error(`the checkpoint ${path} is unreadable (${loaded.reason}); moved to ${aside}, starting afresh`);
    } else {
      log.info(`no checkpoint at ${path} yet; starting afresh`);
    }
    this.state = { ready: true, detail: `checkpoint ${path}` };
  }

  async claimEvents(ids: readonly string[]): Promise<EventClaim[]> {
    return this.options.local.claimEvents(ids);
  }

  async claimRequests(ids: readonly string[]): Promise<RequestClaim[]> {
    return this.options.local.claimRequests(ids);
  }

  async persist(commit: Commit): Promise<void> {
    // Not before open: the file is another process's until the lock is ours, and what it holds must be restored before
    // anything is written over it (a flush of deferred increments used to write it here, then open added it back: twice).
    if (this.unlock === undefined) throw new StateUnavailableError(`not writing ${this.options.path}: ${this.state.detail}`);
    const checkpoint: Checkpoint = {
      version: CHECKPOINT_VERSION,
      writtenAt: new Date((this.options.now ?? Date.now)()).toISOString(),
      replica: this.options.replica.snapshot(commit),
      shared: this.options.local.snapshot(commit.keyOps),
    };
    try {
      writeCheckpoint(this.options.path, checkpoint);
      this.lastWriteFailed = false;
    } catch (error) {
      this.lastWriteFailed = true;
      this.options.metrics.error('write_failed');
      this.state = { ready: false, detail: `cannot write ${this.options.path}: ${(error as Error).message}` };
      throw new StateUnavailableError(`cannot write the checkpoint: ${(error as Error).message}`, { cause: error });
    }
    if (!this.state.ready && !this.lockLost) this.state = { ready: true, detail: `checkpoint ${this.options.path}` };
  }

  async release(eventIds: readonly string[], requestIds: readonly string[]): Promise<void> {
    this.options.local.release(eventIds, requestIds);
  }

  async refresh(): Promise<void> {}

  async resolveUncertain(): Promise<boolean> {
    return false;
  }

  status(): SourceStatus {
    return this.state;
  }

  async close(): Promise<void> {
    await this.unlock?.().catch(() => {});
    this.unlock = undefined;
  }

  /**
   * A second instance pointed at the same file waits here (the lock is refreshed while
   * held, and taken over once stale: its holder died), so two processes never count
   * from one checkpoint.
   */
  private async lock(signal: AbortSignal): Promise<() => Promise<void>> {
    const { path, log } = this.options;
    const stale = this.options.staleLockMs ?? 10_000;
    let waitingSince: number | undefined;
    for (;;) {
      try {
        return await lockfile.lock(path, {
          realpath: false,
          stale,
          update: Math.max(1000, Math.floor(stale / 4)),
          onCompromised: (error) => {
            this.lockLost = true;
            this.options.metrics.error('lock_lost');
            this.state = { ready: false, detail: `lost the lock on ${path}: ${error.message}` };
            log.error(`checkpoint lock lost: ${error.message}`);
          },
        });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw new StateUnavailableError(`cannot lock ${path}: ${(error as Error).message}`, { cause: error });
        const now = Date.now();
        // Said once, then every half minute: a second instance may wait for hours.
        if (waitingSince === undefined || now - waitingSince >= 30_000) {
          log.warn(`${path} is held by another kms-change-exporter (or one that died less than ${stale / 1000}s ago); waiting for it`);
          waitingSince = now;
        }
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        if (signal.aborted) throw new StateUnavailableError('stopped while waiting for the checkpoint lock');
      }
    }
  }
}
