// The one shape of every state store (in memory, the checkpoint file, Redis/Valkey): claim, persist ahead of applying, restore.
//
// A commit goes: claim the batch's CloudTrail eventIDs and push request ids (which are
// ours to count?), persist what the batch does, then apply it in memory. A store that
// cannot persist makes the commit fail before anything is applied, so a failed commit
// leaves no trace a scrape could see, and the source retries it (a push source answers
// a status the sender retries).

import type { SourceStatus } from '../sources/source.ts';
import type { CounterDelta } from '../record/counter-ledger.ts';
import type { KeyOp } from './key-state.ts';
import type { ReplicaSnapshot } from './replica-state.ts';

/** fresh: ours to count; duplicate: counted before; in_doubt: another replica is committing it right now. */
export type EventClaim = 'fresh' | 'duplicate' | 'in_doubt';
/** new: never delivered; delivered: a retry of a committed request; in_doubt: another replica is committing it. */
export type RequestClaim = 'new' | 'delivered' | 'in_doubt';

export interface Commit {
  /** The CloudTrail eventIDs counted by this commit (claimed fresh). */
  readonly eventIds: readonly string[];
  /** The push request ids this commit delivers. */
  readonly requestIds: readonly string[];
  readonly keyOps: readonly KeyOp[];
  readonly counters: CounterDelta;
  readonly lastEvent: ReadonlyMap<string, number>;
}

/** The parts of this process's state that a store persists and gives back at start. */
export interface ReplicaState {
  snapshot(pending?: Commit): ReplicaSnapshot;
  restore(snapshot: ReplicaSnapshot): void;
}

export interface StateStore {
  readonly kind: 'memory' | 'file' | 'redis';
  /** Takes the store (lock, connection) and restores every component's state; resolves once restored. */
  open(signal: AbortSignal): Promise<void>;
  claimEvents(ids: readonly string[]): Promise<EventClaim[]>;
  claimRequests(ids: readonly string[]): Promise<RequestClaim[]>;
  /** Makes a commit durable; rejects (and keeps nothing of it) when the store cannot. */
  persist(commit: Commit): Promise<void>;
  /**
   * After a persist that failed with `uncertain` (sent, but the answer was lost): whether it
   * was taken after all. The committer then applies its effects, so nothing is lost or doubled.
   */
  resolveUncertain(): Promise<boolean>;
  /** Gives back the claims of a commit that will not be persisted. */
  release(eventIds: readonly string[], requestIds: readonly string[]): Promise<void>;
  /** Brings shared views (key state held by the shared store) up to date before a scrape. */
  refresh(): Promise<void>;
  status(): SourceStatus;
  close(): Promise<void>;
}
