// The state one process keeps for itself (remembered eventIDs and push request ids, key state), and the in-memory store built on it.

import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import type { StateMetrics, StateTable } from '../record/state-metrics.ts';
import type { SourceStatus } from '../sources/source.ts';
import type { KeyOp, KeyState } from './key-state.ts';
import { keyStateSchema } from './key-state.ts';
import type { Commit, EventClaim, RequestClaim, StateStore } from './state-store.ts';

/** How many CloudTrail eventIDs a checkpoint keeps: enough for the overlap of live tail and the reconciling poll. */
export const CHECKPOINT_EVENT_IDS = 50_000;

export const localStateSchema = z.object({
  /** Remembered CloudTrail eventIDs, oldest first. */
  eventIds: z.array(z.string()),
  /** Remembered push request ids, oldest first. */
  requestIds: z.array(z.string()),
  keyState: keyStateSchema,
});

export type LocalStateSnapshot = z.infer<typeof localStateSchema>;

function boundedSet(table: StateTable, max: number, metrics: StateMetrics): LRUCache<string, true> {
  const cache = new LRUCache<string, true>({
    max,
    dispose: (_value, _key, reason) => {
      if (reason === 'evict') metrics.evicted(table);
    },
  });
  metrics.table(table, max, () => cache.size);
  return cache;
}

/** The `count` most recently remembered ids, oldest first: walked from the newest, and no further. */
function newest(cache: LRUCache<string, true>, count: number): string[] {
  const out: string[] = [];
  for (const id of cache.keys()) {
    if (out.length >= count) break;
    out.push(id);
  }
  return out.reverse();
}

export class LocalState {
  readonly keyState: KeyState;
  private readonly eventIds: LRUCache<string, true>;
  private readonly requestIds: LRUCache<string, true>;

  constructor(options: { readonly capacity: number; readonly keyState: KeyState; readonly metrics: StateMetrics }) {
    this.keyState = options.keyState;
    this.eventIds = boundedSet('cloudtrail_event_ids', options.capacity, options.metrics);
    this.requestIds = boundedSet('push_request_ids', options.capacity, options.metrics);
  }

  claimEvents(ids: readonly string[]): EventClaim[] {
    return ids.map((id) => {
      if (this.eventIds.has(id)) return 'duplicate';
      this.eventIds.set(id, true);
      return 'fresh';
    });
  }

  claimRequests(ids: readonly string[]): RequestClaim[] {
    return ids.map((id) => {
      if (this.requestIds.has(id)) return 'delivered';
      this.requestIds.set(id, true);
      return 'new';
    });
  }

  release(eventIds: readonly string[], requestIds: readonly string[]): void {
    for (const id of eventIds) this.eventIds.delete(id);
    for (const id of requestIds) this.requestIds.delete(id);
  }

  /**
   * For the checkpoint: what is remembered once `keyOps` are applied (claims are already in), the `ids` newest ids of
   * each set (a replay manifest keeps them all, so a resumed replay de-duplicates exactly as one run would).
   */
  snapshot(keyOps: readonly KeyOp[] = [], ids = CHECKPOINT_EVENT_IDS): LocalStateSnapshot {
    return {
      eventIds: newest(this.eventIds, ids),
      requestIds: newest(this.requestIds, ids),
      keyState: this.keyState.snapshot(keyOps),
    };
  }

  /** Restores through the same bounds that hold at run time. */
  restore(snapshot: LocalStateSnapshot): void {
    for (const id of snapshot.eventIds) this.eventIds.set(id, true);
    for (const id of snapshot.requestIds) this.requestIds.set(id, true);
    this.keyState.restore(snapshot.keyState);
  }
}

/** No persistence: one process, state lost at exit (replay, and serve without a checkpoint or store). */
export class MemoryStore implements StateStore {
  readonly kind = 'memory';
  private readonly local: LocalState;

  constructor(local: LocalState) {
    this.local = local;
  }

  async open(): Promise<void> {}

  async claimEvents(ids: readonly string[]): Promise<EventClaim[]> {
    return this.local.claimEvents(ids);
  }

  async claimRequests(ids: readonly string[]): Promise<RequestClaim[]> {
    return this.local.claimRequests(ids);
  }

  async persist(_commit: Commit): Promise<void> {}

  async release(eventIds: readonly string[], requestIds: readonly string[]): Promise<void> {
    this.local.release(eventIds, requestIds);
  }

  async refresh(): Promise<void> {}

  async resolveUncertain(): Promise<boolean> {
    return false;
  }

  status(): SourceStatus {
    return { ready: true, detail: 'in memory (no checkpoint): a restart starts from the look-back' };
  }

  async close(): Promise<void> {}
}
