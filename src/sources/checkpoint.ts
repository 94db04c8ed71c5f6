// The checkpoint file: progress, recent ids, key state and counters, written atomically and held by one process at a time.
//
// It is written after each batch is recorded and before a scrape may see the batch
// (the composition root holds scrapes back meanwhile), so after any crash — kill -9
// included — a restart restores exactly the counters Prometheus may have seen and
// re-reads what came after: nothing is lost, nothing is counted twice, and the
// counters never go backwards.

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import lockfile from 'proper-lockfile';
import { z } from 'zod';
import type { KeyState } from '../record/change-metrics.ts';
import type { CounterSnapshot } from '../record/counter-snapshot.ts';

export const CHECKPOINT_VERSION = 1;

const counterSnapshot = z.object({ name: z.string(), attributes: z.record(z.string(), z.string()), value: z.number().nonnegative() });

const checkpointSchema = z.object({
  version: z.literal(CHECKPOINT_VERSION),
  writtenAt: z.string(),
  sources: z.record(z.string(), z.unknown()),
  cloudTrailEventIds: z.array(z.string()),
  keyState: z.object({
    pending: z.array(z.object({ key: z.string(), accountId: z.string(), region: z.string(), keyId: z.string(), date: z.number() })),
    settled: z.array(z.tuple([z.string(), z.number()])),
  }),
  counters: z.array(counterSnapshot),
});

export interface Checkpoint {
  readonly version: typeof CHECKPOINT_VERSION;
  readonly writtenAt: string;
  /** Each source's own progress, opaque here. */
  readonly sources: Readonly<Record<string, unknown>>;
  readonly cloudTrailEventIds: readonly string[];
  readonly keyState: KeyState;
  readonly counters: readonly CounterSnapshot[];
}

export type LoadResult =
  | { readonly kind: 'missing' }
  | { readonly kind: 'loaded'; readonly checkpoint: Checkpoint }
  | { readonly kind: 'corrupt'; readonly reason: string };

export function loadCheckpoint(path: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'corrupt', reason: `cannot read: ${(error as Error).message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { kind: 'corrupt', reason: `not JSON: ${(error as Error).message}` };
  }
  const parsed = checkpointSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { kind: 'corrupt', reason: `unexpected content at ${issue?.path.join('.') || 'the top'}: ${issue?.message ?? 'invalid'}` };
  }
  return { kind: 'loaded', checkpoint: parsed.data as Checkpoint };
}

/** Temp file, fsync, rename, fsync of the directory: a reader sees the old file or the new one, whole. */
export function saveCheckpoint(path: string, checkpoint: Checkpoint): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(checkpoint));
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

/**
 * Holds the checkpoint for this process. A second instance pointed at the same file
 * waits here (the lock is refreshed while held, and taken over when its holder died),
 * so two processes never count from one checkpoint.
 */
export async function lockCheckpoint(path: string, onWaiting: (reason: string) => void, signal: AbortSignal): Promise<() => Promise<void>> {
  for (;;) {
    try {
      return await lockfile.lock(path, { realpath: false, stale: 20_000, update: 5_000, onCompromised: (error) => onWaiting(`checkpoint lock lost: ${error.message}`) });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
      onWaiting(`${path} is held by another kms-change-exporter; waiting for it`);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      if (signal.aborted) throw new Error('stopped while waiting for the checkpoint lock');
    }
  }
}
