// Turns classified KMS changes into the change counters and the per-key pending-deletion gauge.

import type { Attributes, ObservableResult } from '@opentelemetry/api';
import type { KmsChange } from '../classify/kms-change.ts';
import type { Instruments } from './instruments.ts';

export interface ChangeLabelOptions {
  /** Add `key_id` to the change counters. */
  readonly keyId: boolean;
  /** Add `principal` to the change counters. */
  readonly principal: boolean;
  /** Distinct values each opt-in label may take before new ones fold into {@link OVERFLOW_VALUE}. */
  readonly valueLimit: number;
}

/** The label value that stands for every key or principal past the limit. */
export const OVERFLOW_VALUE = '__overflow__';

/**
 * Keeps an open-ended label to a bounded set of values. The SDK's cardinality limit
 * bounds series per collection cycle only (cumulative series still grow), and would
 * fold whole series into one without event names; this keeps every other label and
 * folds only the open-ended value.
 */
export class LabelValueLimiter {
  private readonly seen = new Set<string>();
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  admit(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.limit) return OVERFLOW_VALUE;
    this.seen.add(value);
    return value;
  }
}

interface PendingDeletion {
  readonly accountId: string;
  readonly region: string;
  readonly keyId: string;
  readonly date: number;
}

/** The key-state part that must survive a restart, written to and read from the checkpoint. */
export interface KeyState {
  readonly pending: readonly (PendingDeletion & { readonly key: string })[];
  readonly settled: readonly (readonly [key: string, eventTime: number])[];
}

export class ChangeMetrics {
  private readonly instruments: Instruments;
  private readonly options: ChangeLabelOptions;
  private readonly keyIds: LabelValueLimiter;
  private readonly principals: LabelValueLimiter;
  private readonly pending = new Map<string, PendingDeletion>();
  /** The eventTime of the newest lifecycle event applied per key, so late arrivals cannot undo newer ones. */
  private readonly lastLifecycleEvent = new Map<string, number>();

  constructor(instruments: Instruments, options: ChangeLabelOptions) {
    this.instruments = instruments;
    this.options = options;
    this.keyIds = new LabelValueLimiter(options.valueLimit);
    this.principals = new LabelValueLimiter(options.valueLimit);
    instruments.pendingDeletion.addCallback((result) => this.observePending(result));
  }

  record(change: KmsChange): void {
    const labels: Attributes = {
      event_name: change.entry.eventName,
      category: change.entry.category,
      risk: change.entry.risk,
      aws_account_id: change.accountId,
      aws_region: change.region,
      principal_type: change.principal.type,
    };
    if (this.options.keyId) labels['key_id'] = this.keyIds.admit(change.key?.id ?? change.customKeyStoreId ?? 'none');
    if (this.options.principal) labels['principal'] = this.principals.admit(change.principal.label);
    if (change.outcome === 'failure') {
      labels['error_code'] = change.errorCode ?? 'unknown';
      this.instruments.failures.add(1, labels);
      return;
    }
    this.instruments.changes.add(1, labels);
    this.applyKeyLifecycle(change);
  }

  /** Pending deletions, for the checkpoint. */
  keyState(): KeyState {
    return {
      pending: [...this.pending].map(([key, value]) => ({ key, ...value })),
      settled: [...this.lastLifecycleEvent],
    };
  }

  restoreKeyState(state: KeyState): void {
    for (const { key, ...value } of state.pending) this.pending.set(key, value);
    for (const [key, time] of state.settled) this.lastLifecycleEvent.set(key, time);
  }

  private applyKeyLifecycle(change: KmsChange): void {
    const name = change.entry.eventName;
    if (name !== 'ScheduleKeyDeletion' && name !== 'CancelKeyDeletion' && name !== 'DeleteKey') return;
    const key = change.key;
    if (key === undefined || key.id.startsWith('alias/')) return;
    const accountId = key.accountId ?? change.accountId;
    const region = key.region ?? change.region;
    const id = `${accountId}/${region}/${key.id}`;
    const newest = this.lastLifecycleEvent.get(id);
    if (newest !== undefined && newest > change.eventTime) return;
    this.lastLifecycleEvent.set(id, change.eventTime);
    if (name === 'ScheduleKeyDeletion' && change.deletion !== undefined) {
      this.pending.set(id, { accountId, region, keyId: key.id, date: change.deletion.date });
    } else {
      this.pending.delete(id);
    }
  }

  private observePending(result: ObservableResult): void {
    for (const { accountId, region, keyId, date } of this.pending.values()) {
      result.observe(date / 1000, { aws_account_id: accountId, aws_region: region, key_id: keyId });
    }
  }
}
