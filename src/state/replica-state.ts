// What one process persists of its own (counters, last-event times, source progress), and who restores each part.

import { z } from 'zod';
import { counterSeriesSchema } from '../record/counter-ledger.ts';
import type { CounterLedger } from '../record/counter-ledger.ts';
import type { SelfMetrics } from '../record/self-metrics.ts';
import { pollProgressSchema } from '../sources/filter-log-events.ts';
import type { SourceProgress } from '../sources/source.ts';
import type { Commit, ReplicaState } from './state-store.ts';

export const replicaSnapshotSchema = z.object({
  counters: z.array(counterSeriesSchema),
  /** The newest event time per source (ms), so the last-event gauge never moves back after a restart. */
  lastEvent: z.record(z.string(), z.number().finite()),
  /** Each source's own progress, validated by that source's schema: malformed progress makes the whole file corrupt. */
  sources: z.object({ poll: pollProgressSchema.optional() }),
  /** Commits written by this replica (the shared store uses it to learn whether a commit whose answer was lost happened). */
  sequence: z.number().int().nonnegative().default(0),
});

export type ReplicaSnapshot = z.infer<typeof replicaSnapshotSchema>;
type SourceSnapshots = ReplicaSnapshot['sources'];

export interface ReplicaParts {
  readonly ledger: CounterLedger;
  readonly selfMetrics: SelfMetrics;
  /** Sources that keep progress, by the key they have in the snapshot. */
  readonly sources: { readonly [K in keyof SourceSnapshots]?: SourceProgress<NonNullable<SourceSnapshots[K]>> };
}

/** The replica's state as a store sees it: each part snapshots and restores itself. */
export function replicaState(parts: ReplicaParts): ReplicaState {
  return {
    snapshot(pending?: Commit): ReplicaSnapshot {
      const sources: SourceSnapshots = {};
      if (parts.sources.poll !== undefined) sources.poll = parts.sources.poll.snapshot();
      return { counters: parts.ledger.snapshot(pending?.counters), lastEvent: parts.selfMetrics.lastEventSnapshot(pending?.lastEvent), sources, sequence: 0 };
    },
    restore(snapshot: ReplicaSnapshot): void {
      parts.ledger.restore(snapshot.counters);
      parts.selfMetrics.restoreLastEvent(snapshot.lastEvent);
      if (snapshot.sources.poll !== undefined) parts.sources.poll?.restore(snapshot.sources.poll);
    },
  };
}
