// Every source's records go decode → classify → de-duplicate → record, here and only here, in three steps a commit can write ahead.
//
//   prepare  decode and classify (pure): the candidate changes and what was ruled out
//   effects  given which candidates are fresh (the state store's claims), what the batch
//            does: counter increments, key-state operations, the newest event time
//   apply    make it so: counters, key state, the delay histogram, log events
//
// The committer persists the effects between the last two steps, so nothing a scrape
// shows is missing from the checkpoint or the shared store.

import type { Assessment, AssessmentOptions } from './classify/assessment.ts';
import { assessChange } from './classify/assessment.ts';
import type { Heartbeat, HeartbeatKey } from './classify/heartbeat-record.ts';
import { heartbeatOf } from './classify/heartbeat-record.ts';
import type { KeyIdentity } from './classify/key-identity.ts';
import type { KmsChange } from './classify/kms-change.ts';
import type { OwnPath, PipelineChange } from './classify/pipeline-change.ts';
import { NO_OWN_PATH } from './classify/pipeline-change.ts';
import type { PreparedBatch } from './prepare-batch.ts';
import { isPipelineChange, prepareBatch } from './prepare-batch.ts';
import type { InvalidRecord, RecordBatch } from './record-batch.ts';
import type { ChangeLogEvents } from './record/change-log-events.ts';
import type { ChangeMetrics } from './record/change-metrics.ts';
import type { HeartbeatMetrics } from './record/heartbeat-metrics.ts';
import type { CounterHistory } from './record/counter-history.ts';
import { CounterDelta } from './record/counter-ledger.ts';
import type { CounterLedger, CounterSink, Labels } from './record/counter-ledger.ts';
import type { BatchCounts } from './record/self-metrics.ts';
import { SelfMetrics } from './record/self-metrics.ts';
import type { KeyNames, KeyOp, KeyState } from './state/key-state.ts';

export interface PipelineDeps {
  readonly ledger: CounterLedger;
  readonly changeMetrics: ChangeMetrics;
  readonly changeLogEvents: ChangeLogEvents;
  readonly selfMetrics: SelfMetrics;
  readonly keyState: KeyState;
  /** What makes a change dangerous or expected (findings and expectations); aliases come from the key state's names. */
  readonly assessment: Omit<AssessmentOptions, 'aliasesOf'>;
  /** Aliases learned from the stream, for expectations on `keys` (the local view; a shared store's is refreshed before each scrape). */
  readonly keyNames: KeyNames;
  /** Told about each invalid record once it is applied; the operator's log line. */
  readonly onInvalid: (source: string, invalid: InvalidRecord) => void;
  /** The exporter's own log groups, streams and rules, so a pipeline change can say it names them. */
  readonly ownPath?: OwnPath;
  /** The canary keys of --heartbeat-key: their heartbeat records are the exporter's own, never counted as changes. */
  readonly heartbeat?: { readonly keys: readonly HeartbeatKey[]; readonly metrics: HeartbeatMetrics };
  /** replay --output openmetrics: every change's counter increments, kept at its eventTime once applied. */
  readonly history?: CounterHistory;
  readonly now?: () => number;
}

export interface BatchOutcome extends BatchCounts {
  /** The KMS changes recorded by this batch, in order (duplicates excluded). */
  readonly changes: readonly KmsChange[];
  /** The pipeline changes recorded by this batch, in order (duplicates excluded). */
  readonly pipelineChanges: readonly PipelineChange[];
}

/** What one or more batches do once committed; built by {@link Pipeline.effects}, applied by {@link Pipeline.apply}. */
export class Effects {
  readonly counters = new CounterDelta();
  readonly keyOps: KeyOp[] = [];
  /** The newest (plausible) event time per source. */
  readonly lastEvent = new Map<string, number>();
  readonly changes: { readonly source: string; readonly change: KmsChange; readonly assessment: Assessment; readonly receivedAt: number }[] = [];
  readonly pipelineChanges: { readonly change: PipelineChange; readonly receivedAt: number }[] = [];
  readonly heartbeats: { readonly source: string; readonly heartbeat: Heartbeat; readonly eventTime: number; readonly receivedAt: number }[] = [];
  readonly invalid: { readonly source: string; readonly invalid: InvalidRecord }[] = [];
  /** With a history: each change's counter increments (the same ones `counters` has) at the change's eventTime. */
  readonly timed: { readonly eventTime: number; readonly name: string; readonly labels: Labels; readonly value: number }[] = [];
}

/** An alias name as KMS allows it: `alias/` then 1 to 250 of letters, digits, `/`, `_`, `-`. */
const ALIAS_NAME = /^alias\/[A-Za-z0-9/_-]{1,250}$/;
/** KMS key ids are 36 characters (40 with `mrk-`): a longer one is not a key, and would make each entry of a table as big as a record. */
const MAX_KEY_ID = 128;

/**
 * What a fresh, successful change does to key state: none, one or more operations (DeleteKey
 * both settles a pending deletion and clears the key's material expiry). Failed attempts
 * change nothing. CreateKey carries no alias (the CreateKey API has no alias parameter; the
 * console sends a CreateAlias of its own), so aliases come from the alias events only.
 */
export function keyOpsOf(change: KmsChange): KeyOp[] {
  if (change.outcome !== 'success') return [];
  const { eventName } = change.entry;
  const { eventTime } = change;
  const key = change.key !== undefined && change.key.id.length <= MAX_KEY_ID ? change.key : undefined;
  const scope = { accountId: key?.accountId ?? change.accountId, region: key?.region ?? change.region };
  if (eventName === 'CreateAlias' || eventName === 'UpdateAlias' || eventName === 'DeleteAlias') {
    const alias = change.aliasName;
    if (alias === undefined || !ALIAS_NAME.test(alias)) return [];
    if (eventName === 'DeleteAlias') return [{ kind: 'delete_alias', alias: { ...scope, alias }, eventTime }];
    if (key === undefined || key.id.startsWith('alias/')) return [];
    return [{ kind: 'set_alias', alias: { ...scope, alias }, keyId: key.id, eventTime }];
  }
  if (key === undefined || key.id.startsWith('alias/')) return [];
  const ref = { ...scope, keyId: key.id };
  switch (eventName) {
    case 'ScheduleKeyDeletion':
      return change.deletion === undefined ? [] : [{ kind: 'schedule_deletion', key: ref, date: change.deletion.date, eventTime }];
    case 'CancelKeyDeletion':
      return [{ kind: 'settle_deletion', key: ref, eventTime }];
    case 'DeleteKey':
      return [
        { kind: 'settle_deletion', key: ref, eventTime },
        { kind: 'clear_material_expiry', key: ref, eventTime },
      ];
    case 'ImportKeyMaterial': {
      const material = change.keyMaterial;
      if (material === undefined) return [];
      if (!material.expires) return [{ kind: 'clear_material_expiry', key: ref, eventTime }];
      return material.validTo === undefined ? [] : [{ kind: 'set_material_expiry', key: ref, expiry: material.validTo, eventTime }];
    }
    case 'DeleteImportedKeyMaterial':
    case 'DeleteExpiredKeyMaterial':
      return [{ kind: 'clear_material_expiry', key: ref, eventTime }];
    default:
      return [];
  }
}

export class Pipeline {
  private readonly deps: PipelineDeps;
  private readonly now: () => number;

  constructor(deps: PipelineDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  prepare(source: string, batch: RecordBatch): PreparedBatch {
    return prepareBatch(source, batch, this.deps.ownPath ?? NO_OWN_PATH, this.now());
  }

  private aliasesOf(change: KmsChange): (keyId: string, key: KeyIdentity) => readonly string[] {
    return (keyId, key) => this.deps.keyNames.aliasesOf({ accountId: key.accountId ?? change.accountId, region: key.region ?? change.region, keyId });
  }

  /**
   * Where one change's counter increments go: the batch's delta, and with a history also its timed
   * increments, so the history has exactly the labels (limiter decisions included) the counters have.
   */
  private countersOf(into: Effects, eventTime: number): CounterSink {
    if (this.deps.history === undefined) return into.counters;
    return {
      add(name, labels, value) {
        into.counters.add(name, labels, value);
        into.timed.push({ eventTime, name, labels, value });
      },
    };
  }

  /** Adds a prepared batch's effects to `into`; `fresh[i]` says whether candidate i is counted (not a duplicate). */
  effects(prepared: PreparedBatch, fresh: readonly boolean[], into: Effects): BatchOutcome {
    const { source, receivedAt } = prepared;
    const counts = { matched: 0, ignored: prepared.ignored, invalid: prepared.invalid.length, duplicate: 0 };
    const changes: KmsChange[] = [];
    const pipelineChanges: PipelineChange[] = [];
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
      // The pipeline's own events have their own counters and log event; KMS state, delay and last-event time stay KMS's.
      if (isPipelineChange(change)) {
        pipelineChanges.push(change);
        this.deps.changeMetrics.recordPipeline(this.countersOf(into, change.eventTime), change);
        into.pipelineChanges.push({ change, receivedAt });
        return;
      }
      const heartbeat = this.deps.heartbeat === undefined ? undefined : heartbeatOf(change, prepared.records[i], this.deps.heartbeat.keys);
      if (heartbeat !== undefined) {
        // The exporter's own TagResource on its canary key: proof the path delivers, not a user's change. It
        // feeds the source's last-event time and delay (it is a KMS change that came through), nothing else.
        into.lastEvent.set(source, Math.max(into.lastEvent.get(source) ?? -Infinity, SelfMetrics.lastEventCandidate(change.eventTime, receivedAt)));
        into.heartbeats.push({ source, heartbeat, eventTime: change.eventTime, receivedAt });
        return;
      }
      changes.push(change);
      // Assessed here, not in prepare: a poll re-reads its lateness window every cycle, and duplicates need no findings.
      const assessment = assessChange(change, prepared.records[i], { ...this.deps.assessment, aliasesOf: this.aliasesOf(change) });
      this.deps.changeMetrics.record(this.countersOf(into, change.eventTime), change, assessment);
      into.keyOps.push(...keyOpsOf(change));
      const time = SelfMetrics.lastEventCandidate(change.eventTime, receivedAt);
      into.lastEvent.set(source, Math.max(into.lastEvent.get(source) ?? -Infinity, time));
      into.changes.push({ source, change, assessment, receivedAt });
    });
    this.deps.selfMetrics.batch(into.counters, source, counts);
    return { ...counts, changes, pipelineChanges };
  }

  apply(effects: Effects): void {
    this.deps.ledger.apply(effects.counters);
    for (const { eventTime, name, labels, value } of effects.timed) this.deps.history?.add(eventTime, name, labels, value);
    for (const op of effects.keyOps) this.deps.keyState.apply(op);
    for (const { source, change, assessment, receivedAt } of effects.changes) {
      this.deps.selfMetrics.change(source, change.eventTime, receivedAt);
      this.deps.changeLogEvents.emit(change, assessment, receivedAt);
    }
    for (const { change, receivedAt } of effects.pipelineChanges) this.deps.changeLogEvents.emitPipeline(change, receivedAt);
    for (const { source, heartbeat, eventTime, receivedAt } of effects.heartbeats) {
      this.deps.selfMetrics.change(source, eventTime, receivedAt);
      // A tag value later than its arrival cannot be a send time: it must not pin the gauge and silence the alert.
      this.deps.heartbeat?.metrics.seenAt(heartbeat.key, Math.min(heartbeat.sentAt, receivedAt));
    }
    for (const { source, invalid } of effects.invalid) this.deps.onInvalid(source, invalid);
  }
}
