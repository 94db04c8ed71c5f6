// The resumable manifest of a replay (--manifest FILE): what has been counted and which inputs are done, so an
// interrupted backfill run again with the same arguments continues where it stopped and ends as one run would.
//
// Its state is the checkpoint's: the counters and last-event times (replicaSnapshotSchema), the remembered CloudTrail
// eventIDs and the key state (localStateSchema), restored through the same owners and limits, written the same atomic
// way (temp file, fsync, rename) by the one holder of its lock. Inputs are committed in order, so progress is
// "done through input K of location L". The arguments it was written for are kept: a manifest of other arguments,
// an unreadable one, one in use, or one whose local files changed since is refused, never silently started over.

import { statSync } from 'node:fs';
import lockfile from 'proper-lockfile';
import { z } from 'zod';
import { InputError, ManifestError } from '../errors.ts';
import { loadJsonFile, writeFileAtomically } from '../state/checkpoint-file.ts';
import type { LocalState } from '../state/local-state.ts';
import { localStateSchema } from '../state/local-state.ts';
import { replicaSnapshotSchema } from '../state/replica-state.ts';
import type { ReplicaState } from '../state/state-store.ts';
import type { ResumeState } from './input-progress.ts';

export const MANIFEST_FORMAT = 'kms-change-exporter replay manifest';
export const MANIFEST_VERSION = 1;

/** What decides which inputs a replay reads: a manifest is only ever continued with the same. */
export const replayArgumentsSchema = z.object({
  paths: z.array(z.string()),
  from: z.string().nullable(),
  to: z.string().nullable(),
  accounts: z.array(z.string()).nullable(),
  regions: z.array(z.string()).nullable(),
});

export type ReplayArguments = z.infer<typeof replayArgumentsSchema>;

const localFileSchema = z.object({ location: z.number().int().nonnegative(), path: z.string(), size: z.number().int().nonnegative(), mtimeMs: z.number().finite() });

export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  version: z.literal(MANIFEST_VERSION),
  writtenAt: z.string(),
  arguments: replayArgumentsSchema,
  /** Every location before `location` is done, and in it every input up to `through` (an S3 key or the local path). */
  done: z.object({ location: z.number().int().nonnegative(), through: z.string().nullable() }),
  /** Every input of every location is done: a run with this manifest reads nothing and prints the same. */
  complete: z.boolean(),
  /** The local files done, as they were when read: one changed since is refused rather than counted differently. */
  files: z.array(localFileSchema),
  /** The inputs that failed so far, reported again by the run that ends the replay (and its exit status). */
  errors: z.array(z.object({ path: z.string(), reason: z.string() })),
  replica: replicaSnapshotSchema,
  shared: localStateSchema,
});

export type Manifest = z.infer<typeof manifestSchema>;

type Loaded = { readonly kind: 'missing' } | { readonly kind: 'loaded'; readonly manifest: Manifest } | { readonly kind: 'corrupt'; readonly reason: string };

export function loadManifest(path: string): Loaded {
  const file = loadJsonFile(path, manifestSchema);
  switch (file.kind) {
    case 'missing':
      return file;
    case 'loaded':
      return { kind: 'loaded', manifest: file.value };
    case 'unreadable':
      return { kind: 'corrupt', reason: `cannot be read: ${file.message}` };
    case 'not_json':
      return { kind: 'corrupt', reason: `is not JSON: ${file.message}` };
    case 'unexpected':
      return { kind: 'corrupt', reason: `is not a replay manifest of this version: at ${file.at}, ${file.message}` };
  }
}

const shown = (value: string | readonly string[] | null): string => (value === null ? 'not given' : typeof value === 'string' ? value : value.join(','));

/** Each argument that differs, as a person compares them: "--from was X, now Y". */
export function argumentDifferences(recorded: ReplayArguments, now: ReplayArguments): string[] {
  const differences: string[] = [];
  const compare = (name: string, was: string | readonly string[] | null, is: string | readonly string[] | null): void => {
    if (shown(was) !== shown(is) || (was === null) !== (is === null)) differences.push(`${name} was ${shown(was)}, now ${shown(is)}`);
  };
  if (recorded.paths.length !== now.paths.length || recorded.paths.some((path, i) => path !== now.paths[i])) differences.push(`the paths were ${recorded.paths.join(' ')}, now ${now.paths.join(' ')}`);
  compare('--from', recorded.from, now.from);
  compare('--to', recorded.to, now.to);
  compare('--trail-accounts', recorded.accounts, now.accounts);
  compare('--trail-regions', recorded.regions, now.regions);
  return differences;
}

export interface ManifestOptions {
  readonly path: string;
  readonly arguments: ReplayArguments;
  readonly replica: ReplicaState;
  readonly local: LocalState;
  /** How many eventIDs are remembered (--dedupe-capacity): all of them are kept, so de-duplication resumes exactly. */
  readonly eventIds: number;
  /** Inputs done within this long of the last write wait for the next (or the final) one; 0 writes after each. */
  readonly writeInterval?: number;
  readonly now?: () => number;
  /** A lock not refreshed for this long belongs to a run that died (kill -9), and is taken over (ms). */
  readonly staleLockMs?: number;
  readonly log?: { warn(msg: string): void };
}

/** A replay's manifest, open: locked, verified against the arguments, its state restored. */
export class ReplayManifest implements ResumeState {
  /** The inputs that failed, those of earlier runs first: the replay reports these. */
  readonly errors: InputError[];
  private readonly options: ManifestOptions;
  private readonly unlock: () => Promise<void>;
  private progress: Manifest['done'];
  private complete: boolean;
  private readonly files: Manifest['files'];
  /** How many of `errors` are of inputs done: only those are written (an input not done is read again, and reports again). */
  private doneErrors: number;
  private lastWrite = -Infinity;
  private unwritten = false;

  private constructor(options: ManifestOptions, unlock: () => Promise<void>, manifest: Manifest | undefined) {
    this.options = options;
    this.unlock = unlock;
    this.progress = manifest?.done ?? { location: 0, through: null };
    this.complete = manifest?.complete ?? false;
    this.files = [...(manifest?.files ?? [])];
    this.errors = (manifest?.errors ?? []).map((error) => new InputError(error.path, error.reason));
    this.doneErrors = this.errors.length;
  }

  /**
   * Takes the lock (waiting for a run killed less than staleLockMs ago), loads and checks the file, and restores its
   * state into the replay's before anything is counted. A missing file starts afresh; anything else wrong is refused.
   */
  static async open(options: ManifestOptions): Promise<ReplayManifest> {
    const { path } = options;
    const unlock = await lock(options);
    try {
      const loaded = loadManifest(path);
      if (loaded.kind === 'corrupt') throw new ManifestError(path, `${loaded.reason}; it is left as it is: remove it to start the replay over, or give another --manifest`);
      const manifest = loaded.kind === 'loaded' ? loaded.manifest : undefined;
      if (manifest !== undefined) {
        const differences = argumentDifferences(manifest.arguments, options.arguments);
        if (differences.length > 0) throw new ManifestError(path, `was written for other arguments: ${differences.join('; ')} (run it with the same arguments, or give another --manifest)`);
        for (const file of manifest.files) checkUnchanged(path, file);
        options.local.restore(manifest.shared);
        options.replica.restore(manifest.replica);
      }
      return new ReplayManifest(options, unlock, manifest);
    } catch (error) {
      await unlock().catch(() => {});
      throw error;
    }
  }

  locationDone(location: number): boolean {
    return this.complete || location < this.progress.location;
  }

  after(location: number): string | undefined {
    return location === this.progress.location ? (this.progress.through ?? undefined) : undefined;
  }

  skip(location: number, name: string): boolean {
    if (this.locationDone(location)) return true;
    return location === this.progress.location && this.progress.through !== null && name <= this.progress.through;
  }

  done(location: number, name: string): void {
    this.progress = { location, through: name };
    this.doneErrors = this.errors.length;
    const path = this.options.arguments.paths[location];
    if (path === name) {
      // A local file: kept as it was read, so a resume can tell it has not changed since.
      const stat = statSync(path, { throwIfNoEntry: false });
      if (stat !== undefined) this.files.push({ location, path, size: stat.size, mtimeMs: stat.mtimeMs });
    }
    this.unwritten = true;
    const now = (this.options.now ?? Date.now)();
    if (now - this.lastWrite >= (this.options.writeInterval ?? 1000)) this.write(now);
  }

  /** The last write: `complete` once every location was read to its end (not when the replay was stopped). */
  finish(complete: boolean): void {
    if (complete) {
      this.complete = true;
      this.progress = { location: this.options.arguments.paths.length, through: null };
      this.doneErrors = this.errors.length;
      this.unwritten = true;
    }
    if (this.unwritten) this.write((this.options.now ?? Date.now)());
  }

  async close(): Promise<void> {
    await this.unlock().catch(() => {});
  }

  /** Synchronous, so the state written is exactly that of the inputs done: no commit runs in between. */
  private write(now: number): void {
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      writtenAt: new Date(now).toISOString(),
      arguments: this.options.arguments,
      done: this.progress,
      complete: this.complete,
      files: this.files,
      errors: this.errors.slice(0, this.doneErrors).map((error) => ({ path: error.path, reason: error.reason })),
      replica: this.options.replica.snapshot(),
      shared: this.options.local.snapshot([], this.options.eventIds),
    };
    writeFileAtomically(this.options.path, JSON.stringify(manifest));
    this.lastWrite = now;
    this.unwritten = false;
  }
}

function checkUnchanged(manifestPath: string, file: Manifest['files'][number]): void {
  const stat = statSync(file.path, { throwIfNoEntry: false });
  const was = `size ${file.size}, modified ${new Date(file.mtimeMs).toISOString()}`;
  if (stat === undefined) throw new ManifestError(manifestPath, `records ${file.path} as read (${was}), and it is gone: give another --manifest to replay without it`);
  if (stat.size !== file.size || stat.mtimeMs !== file.mtimeMs) {
    throw new ManifestError(manifestPath, `records ${file.path} as read at ${was}; it is now size ${stat.size}, modified ${new Date(stat.mtimeMs).toISOString()}: give another --manifest to read it again`);
  }
}

/** The manifest's lock: a run killed with SIGKILL leaves it, and it is taken over once stale; a live run keeps it fresh. */
async function lock(options: ManifestOptions): Promise<() => Promise<void>> {
  const { path } = options;
  const stale = options.staleLockMs ?? 5000;
  const tryLock = (): Promise<() => Promise<void>> => lockfile.lock(path, { realpath: false, stale, update: Math.max(1000, Math.floor(stale / 4)) });
  const deadline = Date.now() + stale + 1000;
  let warned = false;
  for (;;) {
    try {
      return await tryLock();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw new ManifestError(path, `cannot be locked: ${(error as Error).message}`);
      if (Date.now() >= deadline) throw new ManifestError(path, 'is in use by another replay (its lock is held and kept fresh): two runs cannot share a manifest');
      if (!warned) options.log?.warn(`the manifest ${path} is locked by another replay, or one that stopped less than ${stale / 1000}s ago: waiting for it`);
      warned = true;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
