// Per-key state learned from the stream (pending deletions), bounded by a limit with a documented eviction rule.
//
// Two bounded tables:
// - pending deletions, one per key, exported as kms_key_pending_deletion_timestamp_seconds.
//   When full, the deletion furthest in the future is evicted (or the new one is not kept,
//   if it is itself the furthest): the imminent deletions are the ones an alert must see.
// - the eventTime of the newest lifecycle event applied per key, so a record that arrives
//   late (CloudTrail delivers out of order) cannot undo a newer one. When full, the key
//   changed longest ago is forgotten.
// Every eviction is counted; the sizes and the limit are metrics.

import BTreeModule from 'sorted-btree';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';

const BTree = BTreeModule.default;

/** Where a key lives and what it is called, the labels of its series. */
export interface KeyRef {
  readonly accountId: string;
  readonly region: string;
  readonly keyId: string;
}

export interface PendingDeletion extends KeyRef {
  /** When the key will be deleted (ms since the epoch). */
  readonly date: number;
  /** The eventTime of the ScheduleKeyDeletion that set it. */
  readonly eventTime: number;
}

/** What a change does to key state: derived by the pipeline, applied here (or in the shared store). */
export type KeyOp =
  | { readonly kind: 'schedule_deletion'; readonly key: KeyRef; readonly date: number; readonly eventTime: number }
  | { readonly kind: 'settle_deletion'; readonly key: KeyRef; readonly eventTime: number };

const finite = z.number().finite();

export const pendingDeletionSchema = z.object({ accountId: z.string(), region: z.string(), keyId: z.string().min(1), date: finite, eventTime: finite });

export const keyStateSchema = z.object({
  pendingDeletions: z.array(pendingDeletionSchema),
  /** [key, eventTime] of the newest lifecycle event applied per key, oldest first. */
  lifecycleEvents: z.array(z.tuple([z.string(), finite])),
});

export type KeyStateSnapshot = z.infer<typeof keyStateSchema>;

export function keyName(key: KeyRef): string {
  return `${key.accountId}/${key.region}/${key.keyId}`;
}

/** Sorts by date, then key, so the furthest deletion is the tree's last entry. */
function dateOrder(date: number, name: string): string {
  return `${String(Math.max(0, Math.round(date))).padStart(16, '0')}\u0000${name}`;
}

export interface KeyStateEvents {
  /** An entry was dropped because its table was full. */
  evicted(table: 'pending_deletions' | 'key_lifecycle_events'): void;
}

export class KeyState {
  readonly limit: number;
  private readonly pending = new Map<string, PendingDeletion>();
  private readonly byDate = new BTree<string, string>();
  private readonly lifecycle: LRUCache<string, number>;
  private readonly events: KeyStateEvents;

  constructor(limit: number, events: KeyStateEvents) {
    this.limit = limit;
    this.events = events;
    this.lifecycle = new LRUCache<string, number>({
      max: limit,
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.events.evicted('key_lifecycle_events');
      },
    });
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  get lifecycleCount(): number {
    return this.lifecycle.size;
  }

  pendingDeletions(): IterableIterator<PendingDeletion> {
    return this.pending.values();
  }

  apply(op: KeyOp): void {
    const name = keyName(op.key);
    // peek: a late record that changes nothing must not make its key look recently changed.
    const newest = this.lifecycle.peek(name);
    if (newest !== undefined && newest > op.eventTime) return;
    this.lifecycle.set(name, op.eventTime);
    if (op.kind === 'schedule_deletion') this.setPending({ ...op.key, date: op.date, eventTime: op.eventTime });
    else this.deletePending(name);
  }

  /**
   * The state after `ops`, as the checkpoint stores it; this state is unchanged. The same
   * rules as apply(), on plain copies: a commit's few operations must not cost a copy of
   * the tables' indexes (it was a third of a checkpointed acknowledgement with full state).
   */
  snapshot(ops: readonly KeyOp[] = []): KeyStateSnapshot {
    const lifecycleNames = [...this.lifecycle.rkeys()];
    if (ops.length === 0) return { pendingDeletions: [...this.pending.values()], lifecycleEvents: lifecycleNames.map((name): [string, number] => [name, this.lifecycle.peek(name) ?? 0]) };
    const pending = new Map(this.pending);
    const lifecycle = new Map(lifecycleNames.map((name): [string, number] => [name, this.lifecycle.peek(name) ?? 0]));
    for (const op of ops) {
      const name = keyName(op.key);
      const newest = lifecycle.get(name);
      if (newest !== undefined && newest > op.eventTime) continue;
      lifecycle.delete(name);
      lifecycle.set(name, op.eventTime);
      if (lifecycle.size > this.limit) lifecycle.delete(lifecycle.keys().next().value ?? name);
      pending.delete(name);
      if (op.kind !== 'schedule_deletion') continue;
      if (pending.size >= this.limit) {
        let furthest: PendingDeletion | undefined;
        // The same order as the live table's index: by date, then by key name.
        for (const entry of pending.values()) if (furthest === undefined || entry.date > furthest.date || (entry.date === furthest.date && keyName(entry) > keyName(furthest))) furthest = entry;
        if (furthest === undefined || furthest.date <= op.date) continue;
        pending.delete(keyName(furthest));
      }
      pending.set(name, { ...op.key, date: op.date, eventTime: op.eventTime });
    }
    return { pendingDeletions: [...pending.values()], lifecycleEvents: [...lifecycle] };
  }

  /** Restores through the same limits that guard it at run time. */
  restore(snapshot: KeyStateSnapshot): void {
    for (const [name, time] of snapshot.lifecycleEvents) this.lifecycle.set(name, time);
    for (const entry of snapshot.pendingDeletions) this.setPending(entry);
  }

  /** A shared store's view of the pending deletions replaces ours wholesale. */
  replacePending(entries: Iterable<PendingDeletion>): void {
    this.pending.clear();
    this.byDate.clear();
    for (const entry of entries) this.setPending(entry);
  }

  private setPending(entry: PendingDeletion): void {
    const name = keyName(entry);
    this.deletePending(name);
    if (this.pending.size >= this.limit) {
      const furthest = this.byDate.maxKey();
      const furthestName = furthest === undefined ? undefined : this.byDate.get(furthest);
      const furthestEntry = furthestName === undefined ? undefined : this.pending.get(furthestName);
      this.events.evicted('pending_deletions');
      if (furthestEntry === undefined || furthestName === undefined || furthestEntry.date <= entry.date) return;
      this.deletePending(furthestName);
    }
    this.pending.set(name, entry);
    this.byDate.set(dateOrder(entry.date, name), name);
  }

  private deletePending(name: string): void {
    const old = this.pending.get(name);
    if (old === undefined) return;
    this.pending.delete(name);
    this.byDate.delete(dateOrder(old.date, name));
  }
}
