// Every source's records go decode → classify → de-duplicate → record, here and only here, in three steps a commit can write ahead.
//
//   prepare  decode and classify (pure): the candidate changes and what was ruled out
//   effects  given which candidates are fresh (the state store's claims), what the batch
//            does: counter increments, key-state operations, the newest event time
//   apply    make it so: counters, key state, the delay histogram, log events
//
// The committer persists the effects between the last two steps, so nothing a scrape
// shows is missing from the checkpoint or the shared store.

import type { Classification, KmsChange } from './classify/kms-change.ts';
import { classifyRecord } from './classify/kms-change.ts';
import { jsonErrorDetail } from './decode/json-error.ts';
import { mayBeChangeText } from './decode/prefilter.ts';
import type { InvalidRecord, RawRecord, RecordBatch } from './record-batch.ts';
import type { ChangeLogEvents } from './record/change-log-events.ts';
import type { ChangeMetrics } from './record/change-metrics.ts';
import { CounterDelta } from './record/counter-ledger.ts';
import type { CounterLedger } from './record/counter-ledger.ts';
import type { BatchCounts } from './record/self-metrics.ts';
import { SelfMetrics } from './record/self-metrics.ts';
import type { KeyOp, KeyState } from './state/key-state.ts';

export interface PipelineDeps {
  readonly ledger: CounterLedger;
  readonly changeMetrics: ChangeMetrics;
  readonly changeLogEvents: ChangeLogEvents;
  readonly selfMetrics: SelfMetrics;
  readonly keyState: KeyState;
  /** Told about each invalid record once it is applied; the operator's log line. */
  readonly onInvalid: (source: string, invalid: InvalidRecord) => void;
  readonly now?: () => number;
}

/** A decoded and classified batch, not yet de-duplicated. */
export interface PreparedBatch {
  readonly source: string;
  readonly receivedAt: number;
  readonly ignored: number;
  readonly invalid: readonly InvalidRecord[];
  /** Every change in the batch, in order, duplicates included. */
  readonly candidates: readonly KmsChange[];
}

export interface BatchOutcome extends BatchCounts {
  /** The changes recorded by this batch, in order (duplicates excluded). */
  readonly changes: readonly KmsChange[];
}

/** What one or more batches do once committed; built by {@link Pipeline.effects}, applied by {@link Pipeline.apply}. */
export class Effects {
  readonly counters = new CounterDelta();
  readonly keyOps: KeyOp[] = [];
  /** The newest (plausible) event time per source. */
  readonly lastEvent = new Map<string, number>();
  readonly changes: { readonly source: string; readonly change: KmsChange; readonly receivedAt: number }[] = [];
  readonly invalid: { readonly source: string; readonly invalid: InvalidRecord }[] = [];
}

function parse(raw: RawRecord): Classification {
  if (typeof raw !== 'string') return classifyRecord(raw);
  // Sources that hand over whole log events (poll, live tail, Firehose) get the same raw prefilter as replay.
  if (!mayBeChangeText(raw)) return { kind: 'ignored' };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    return { kind: 'invalid', reason: 'malformed_json', detail: jsonErrorDetail(error) };
  }
  return classifyRecord(value);
}

/** What a fresh, successful change does to key state. */
export function keyOpOf(change: KmsChange): KeyOp | undefined {
  if (change.outcome !== 'success') return undefined;
  const name = change.entry.eventName;
  if (name !== 'ScheduleKeyDeletion' && name !== 'CancelKeyDeletion' && name !== 'DeleteKey') return undefined;
  const key = change.key;
  if (key === undefined || key.id.startsWith('alias/')) return undefined;
  const ref = { accountId: key.accountId ?? change.accountId, region: key.region ?? change.region, keyId: key.id };
  if (name === 'ScheduleKeyDeletion') return change.deletion === undefined ? undefined : { kind: 'schedule_deletion', key: ref, date: change.deletion.date, eventTime: change.eventTime };
  return { kind: 'settle_deletion', key: ref, eventTime: change.eventTime };
}

export class Pipeline {
  private readonly deps: PipelineDeps;
  private readonly now: () => number;

  constructor(deps: PipelineDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  prepare(source: string, batch: RecordBatch): PreparedBatch {
    const invalid: InvalidRecord[] = [...batch.invalid];
    const candidates: KmsChange[] = [];
    let ignored = batch.skipped;
    for (const raw of batch.records) {
      const result = parse(raw);
      if (result.kind === 'ignored') ignored++;
      else if (result.kind === 'invalid') invalid.push({ reason: result.reason, detail: result.detail });
      else candidates.push(result.change);
    }
    return { source, receivedAt: this.now(), ignored, invalid, candidates };
  }

  /** Adds a prepared batch's effects to `into`; `fresh[i]` says whether candidate i is counted (not a duplicate). */
  effects(prepared: PreparedBatch, fresh: readonly boolean[], into: Effects): BatchOutcome {
    const { source, receivedAt } = prepared;
    const counts = { matched: 0, ignored: prepared.ignored, invalid: prepared.invalid.length, duplicate: 0 };
    const changes: KmsChange[] = [];
    for (const invalid of prepared.invalid) {
      this.deps.selfMetrics.invalid(into.counters, source, invalid.reason);
      into.invalid.push({ source, invalid });
    }
    prepared.candidates.forEach((change, i) => {
      if (fresh[i] !== true) {
        counts.duplicate++;
        return;
      }
      counts.matched++;
      changes.push(change);
      this.deps.changeMetrics.record(into.counters, change);
      const op = keyOpOf(change);
      if (op !== undefined) into.keyOps.push(op);
      const time = SelfMetrics.lastEventCandidate(change.eventTime, receivedAt);
      into.lastEvent.set(source, Math.max(into.lastEvent.get(source) ?? -Infinity, time));
      into.changes.push({ source, change, receivedAt });
    });
    this.deps.selfMetrics.batch(into.counters, source, counts);
    return { ...counts, changes };
  }

  apply(effects: Effects): void {
    this.deps.ledger.apply(effects.counters);
    for (const op of effects.keyOps) this.deps.keyState.apply(op);
    for (const { source, change, receivedAt } of effects.changes) {
      this.deps.selfMetrics.change(source, change.eventTime, receivedAt);
      this.deps.changeLogEvents.emit(change, receivedAt);
    }
    for (const { source, invalid } of effects.invalid) this.deps.onInvalid(source, invalid);
  }
}
