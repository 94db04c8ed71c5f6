// Commits batches: claim, persist ahead, apply, in groups; and gates scrapes so a scrape never overlaps a commit.
//
// Batches that arrive while a commit is being written wait and go together in the next
// one (group commit): one checkpoint write, or one pair of Redis calls, acknowledges many
// concurrent Firehose requests. A scrape holds the same lock until its body is rendered.

import { Mutex } from 'async-mutex';
import { StateInDoubtError, StateUnavailableError } from '../errors.ts';
import type { BatchOutcome } from '../pipeline.ts';
import type { PreparedBatch } from '../prepare-batch.ts';
import { Effects } from '../pipeline.ts';
import type { Pipeline } from '../pipeline.ts';
import type { RecordBatch } from '../record-batch.ts';
import { emptyBatch } from '../record-batch.ts';
import type { CounterDelta, CounterLedger } from '../record/counter-ledger.ts';
import type { StateMetrics } from '../record/state-metrics.ts';
import type { DeliveryOutcome } from '../sources/source.ts';
import type { StateStore } from './state-store.ts';

interface Pending {
  readonly source: string;
  readonly batch: RecordBatch;
  /** Decoded and classified already (by a replay's decode worker): not prepared again. */
  readonly prepared?: PreparedBatch;
  readonly requestId: string | undefined;
  readonly resolve: (outcome: DeliveryOutcome) => void;
  readonly reject: (error: unknown) => void;
}

/** Most batches taken into one commit: bounds the work a commit holds the lock for. */
const MAX_GROUP = 256;

export class Committer {
  private readonly pipeline: Pipeline;
  private readonly store: StateStore;
  private readonly metrics: StateMetrics;
  private readonly lock = new Mutex();
  private queue: Pending[] = [];
  private draining = false;
  /** The effects of a commit the store may have taken although its answer was lost. */
  private uncertain: { readonly effects: Effects; readonly outside: CounterDelta | undefined } | undefined;
  private readonly ledger: CounterLedger | undefined;
  private flushTimer: NodeJS.Timeout | undefined;

  /**
   * With a `ledger` and a persistent store, counter increments made outside commits (source
   * errors, AWS calls) wait for the next commit, which is asked for within 200 ms.
   */
  constructor(pipeline: Pipeline, store: StateStore, metrics: StateMetrics, ledger?: CounterLedger) {
    this.pipeline = pipeline;
    this.store = store;
    this.metrics = metrics;
    if (ledger !== undefined && store.kind !== 'memory') {
      this.ledger = ledger;
      ledger.deferOutsideCommits(() => this.flushSoon());
    }
  }

  private flushSoon(): void {
    if (this.flushTimer !== undefined) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      // An empty batch: the commit persists and applies what waits outside commits.
      this.deliver('', emptyBatch()).catch(() => {});
    }, 200);
    this.flushTimer.unref();
  }

  /** Resolves once the batch is counted and persisted; `retry` when its request id was delivered before. */
  deliver(source: string, batch: RecordBatch, requestId?: string): Promise<DeliveryOutcome> {
    return this.enqueue({ source, batch, requestId });
  }

  /** Like {@link deliver}, for a batch decoded and classified elsewhere (a replay's decode worker). */
  deliverPrepared(prepared: PreparedBatch): Promise<DeliveryOutcome> {
    return this.enqueue({ source: prepared.source, batch: emptyBatch(), prepared, requestId: undefined });
  }

  private enqueue(item: Omit<Pending, 'resolve' | 'reject'>): Promise<DeliveryOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ...item, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  /** Runs `render` while no commit is in progress (and none starts until it is done). */
  async scrape<T>(render: () => Promise<T>): Promise<T> {
    // What was counted outside commits is persisted first, so the scrape shows it.
    if (this.ledger?.hasDeferred === true) await this.deliver('', emptyBatch()).catch(() => {});
    return this.lock.runExclusive(async () => {
      await this.store.refresh();
      return render();
    });
  }

  /** Resolves when every batch delivered so far is committed or failed. */
  async idle(): Promise<void> {
    while (this.draining || this.queue.length > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await this.lock.waitForUnlock();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const group = this.queue.splice(0, MAX_GROUP);
        await this.lock.runExclusive(() => this.commitGroup(group));
      }
    } finally {
      this.draining = false;
    }
  }

  private async commitGroup(group: readonly Pending[]): Promise<void> {
    const items: Item[] = group.map((pending) => ({ pending, prepared: pending.prepared ?? this.pipeline.prepare(pending.source, pending.batch), fate: 'count', follows: undefined, outcome: undefined }));
    let requestIds: string[] = [];
    let eventIds: string[] = [];
    const outside = this.ledger?.takeDeferred();
    try {
      if (this.uncertain !== undefined) {
        // Until we know whether the last commit happened, nothing else may be claimed or counted.
        const { effects, outside: before } = this.uncertain;
        if (await this.store.resolveUncertain()) this.pipeline.apply(effects);
        else if (before !== undefined) this.ledger?.applyNow(before);
        this.uncertain = undefined;
      }
      // A retry of a delivered request is acknowledged, not counted again; the same id twice
      // in one group (a retry overtaking its first attempt) is answered with the first.
      const firstById = new Map<string, Item>();
      for (const item of items) {
        const id = item.pending.requestId;
        if (id === undefined) continue;
        const first = firstById.get(id);
        if (first === undefined) firstById.set(id, item);
        else item.follows = first;
      }
      const asked = [...firstById.keys()];
      const answers = asked.length === 0 ? [] : await this.store.claimRequests(asked);
      asked.forEach((id, i) => {
        const item = firstById.get(id)!;
        if (answers[i] === 'delivered') item.fate = 'retry';
        else if (answers[i] === 'in_doubt') item.fate = 'in_doubt';
        else requestIds.push(id);
      });

      // Each CloudTrail eventID is claimed once per group; later copies are duplicates.
      const counted = items.filter((item) => item.follows === undefined && item.fate === 'count');
      const asking = [...new Set(counted.flatMap((item) => item.prepared.candidates.flatMap((change) => (change.eventId === undefined ? [] : [change.eventId]))))];
      const claims = asking.length === 0 ? [] : await this.store.claimEvents(asking);
      const claimOf = new Map(asking.map((id, i) => [id, claims[i] ?? 'duplicate']));
      for (const item of counted) {
        if (item.prepared.candidates.some((change) => change.eventId !== undefined && claimOf.get(change.eventId) === 'in_doubt')) item.fate = 'in_doubt';
      }

      // Batches in doubt go back to their sender; their claims are not kept.
      const doubtful = items.filter((item) => item.fate === 'in_doubt');
      if (doubtful.length > 0) {
        this.metrics.error('in_doubt');
        const theirs = new Set(doubtful.flatMap((item) => item.prepared.candidates.map((change) => change.eventId)));
        for (const item of counted) if (item.fate === 'count') for (const change of item.prepared.candidates) theirs.delete(change.eventId);
        const droppedRequests = doubtful.flatMap((item) => (item.pending.requestId === undefined ? [] : [item.pending.requestId]));
        const droppedEvents = asking.filter((id) => theirs.has(id) && claimOf.get(id) === 'fresh');
        requestIds = requestIds.filter((id) => !droppedRequests.includes(id));
        await this.store.release(droppedEvents, droppedRequests);
        for (const id of droppedEvents) claimOf.delete(id);
      }

      const effects = new Effects();
      if (outside !== undefined) effects.counters.merge(outside);
      const taken = new Set<string>();
      for (const item of counted) {
        if (item.fate !== 'count') continue;
        const fresh = item.prepared.candidates.map((change) => {
          if (change.eventId === undefined) return true;
          if (claimOf.get(change.eventId) !== 'fresh' || taken.has(change.eventId)) return false;
          taken.add(change.eventId);
          return true;
        });
        item.outcome = this.pipeline.effects(item.prepared, fresh, effects);
      }
      eventIds = [...taken];

      try {
        await this.store.persist({ eventIds, requestIds, keyOps: effects.keyOps, counters: effects.counters, lastEvent: effects.lastEvent });
      } catch (error) {
        if (error instanceof StateUnavailableError && error.uncertain) {
          this.uncertain = { effects, outside };
          for (const item of items) item.pending.reject(error);
          return;
        }
        throw error;
      }
      this.pipeline.apply(effects);
      for (const item of items) settle(item);
    } catch (error) {
      // What was counted outside the commit happened: shown now, persisted with a later commit.
      if (outside !== undefined) this.ledger?.applyNow(outside);
      await this.store.release(eventIds, requestIds).catch(() => {});
      for (const item of items) item.pending.reject(error);
    }
  }
}

type Fate = 'count' | 'retry' | 'in_doubt';

interface Item {
  readonly pending: Pending;
  readonly prepared: PreparedBatch;
  fate: Fate;
  /** The earlier item of the group with the same request id. */
  follows: Item | undefined;
  outcome: BatchOutcome | undefined;
}

function settle(item: Item): void {
  const fate = item.follows?.fate ?? item.fate;
  if (fate === 'in_doubt') item.pending.reject(new StateInDoubtError(1));
  else if (fate === 'retry' || item.follows !== undefined) item.pending.resolve({ kind: 'retry' });
  else item.pending.resolve({ kind: 'committed', outcome: item.outcome ?? EMPTY_OUTCOME });
}

const EMPTY_OUTCOME: BatchOutcome = { matched: 0, ignored: 0, invalid: 0, duplicate: 0, changes: [], pipelineChanges: [] };

/** The outcome of a committed batch, or what a retry of a delivered one reports (nothing new). */
export function outcomeOf(delivery: DeliveryOutcome): BatchOutcome {
  return delivery.kind === 'committed' ? delivery.outcome : EMPTY_OUTCOME;
}
