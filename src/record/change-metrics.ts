// Turns classified KMS changes into the change counters, and key state into the per-key pending-deletion and material-expiry gauges.

import type { Assessment } from '../classify/assessment.ts';
import type { KmsChange } from '../classify/kms-change.ts';
import type { PipelineChange } from '../classify/pipeline-change.ts';
import type { AccountDirectory } from '../accounts-file.ts';
import type { KeyState } from '../state/key-state.ts';
import type { Telemetry } from '../telemetry.ts';
import type { CounterLedger, CounterSink, Labels } from './counter-ledger.ts';
import type { Instruments } from './instruments.ts';
import { METRIC } from './instruments.ts';
import type { StateMetrics } from './state-metrics.ts';

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
  readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  get size(): number {
    return this.seen.size;
  }

  admit(value: string): string {
    if (value === OVERFLOW_VALUE || this.seen.has(value)) return value;
    if (this.seen.size >= this.limit) return OVERFLOW_VALUE;
    this.seen.add(value);
    return value;
  }
}

const BASE_LABELS = ['event_name', 'category', 'risk', 'aws_account_id', 'aws_region', 'principal_type'] as const;
const FINDING_LABELS = ['finding', 'event_name', 'outcome', 'aws_account_id', 'aws_region', 'principal_type'] as const;
/** The pipeline counters' labels: a closed set, no opt-in identities (the log event names the trail, group or rule). */
const PIPELINE_LABELS = ['event_name', 'event_source', 'category', 'blinding', 'aws_account_id', 'aws_region', 'principal_type'] as const;

export class ChangeMetrics {
  private readonly options: ChangeLabelOptions;
  private readonly keyIds: LabelValueLimiter;
  private readonly principals: LabelValueLimiter;

  constructor(ledger: CounterLedger, options: ChangeLabelOptions, stateMetrics: StateMetrics) {
    this.options = options;
    this.keyIds = new LabelValueLimiter(options.valueLimit);
    this.principals = new LabelValueLimiter(options.valueLimit);
    if (options.keyId) stateMetrics.table('key_id_label_values', options.valueLimit, () => this.keyIds.size);
    if (options.principal) stateMetrics.table('principal_label_values', options.valueLimit, () => this.principals.size);
    ledger.own(METRIC.changes, (labels) => this.admitRestored(labels, false));
    ledger.own(METRIC.failures, (labels) => this.admitRestored(labels, true));
    ledger.own(METRIC.findings, (labels) => this.admitRestoredFinding(labels));
    ledger.own(METRIC.pipelineChanges, (labels) => admitRestoredPipeline(labels, false));
    ledger.own(METRIC.pipelineFailures, (labels) => admitRestoredPipeline(labels, true));
  }

  /** A change of the pipeline itself: kms_pipeline_changes_total or kms_pipeline_change_failures_total, never the KMS counters. */
  recordPipeline(delta: CounterSink, change: PipelineChange): void {
    const labels: Record<string, string> = {
      event_name: change.entry.eventName,
      event_source: change.entry.eventSource,
      category: change.entry.category,
      blinding: change.blinding,
      aws_account_id: change.accountId,
      aws_region: change.region,
      principal_type: change.principal.type,
    };
    if (change.outcome === 'failure') delta.add(METRIC.pipelineFailures, { ...labels, error_code: change.errorCode ?? 'unknown' }, 1);
    else delta.add(METRIC.pipelineChanges, labels, 1);
  }

  record(delta: CounterSink, change: KmsChange, assessment: Assessment): void {
    const expected = assessment.expectation === undefined ? 'false' : 'true';
    const labels: Record<string, string> = {
      event_name: change.entry.eventName,
      category: change.entry.category,
      risk: change.entry.risk,
      aws_account_id: change.accountId,
      aws_region: change.region,
      principal_type: change.principal.type,
      expected,
    };
    const optIn: Record<string, string> = {};
    if (this.options.keyId) optIn['key_id'] = this.keyIds.admit(change.key?.id ?? change.customKeyStoreId ?? 'none');
    if (this.options.principal) optIn['principal'] = this.principals.admit(change.principal.label);
    Object.assign(labels, optIn);
    if (change.outcome === 'failure') {
      labels['error_code'] = change.errorCode ?? 'unknown';
      delta.add(METRIC.failures, labels, 1);
    } else {
      delta.add(METRIC.changes, labels, 1);
    }
    // Once per change and finding name, however many statements raised it.
    for (const finding of assessment.findingNames) {
      delta.add(METRIC.findings, { finding, event_name: change.entry.eventName, outcome: change.outcome, aws_account_id: change.accountId, aws_region: change.region, principal_type: change.principal.type, expected, ...optIn }, 1);
    }
  }

  /**
   * A restored series passes the same limits as a new one: the opt-in labels go through
   * their limiters (a restart cannot grow the cap), and labels this configuration does not
   * have are dropped, so a series keeps the shape new ones have.
   */
  private admitRestored(labels: Labels, failure: boolean): Labels | undefined {
    if (!BASE_LABELS.every((name) => typeof labels[name] === 'string')) return undefined;
    const out: Record<string, string> = {};
    for (const name of BASE_LABELS) out[name] = labels[name]!;
    // A checkpoint from before expectations existed: nothing was expected then.
    out['expected'] = labels['expected'] === 'true' ? 'true' : 'false';
    if (this.options.keyId) out['key_id'] = this.keyIds.admit(labels['key_id'] ?? 'none');
    if (this.options.principal) out['principal'] = this.principals.admit(labels['principal'] ?? 'unknown');
    if (failure) out['error_code'] = labels['error_code'] ?? 'unknown';
    return out;
  }

  private admitRestoredFinding(labels: Labels): Labels | undefined {
    if (!FINDING_LABELS.every((name) => typeof labels[name] === 'string')) return undefined;
    const out: Record<string, string> = {};
    for (const name of FINDING_LABELS) out[name] = labels[name]!;
    out['expected'] = labels['expected'] === 'true' ? 'true' : 'false';
    if (this.options.keyId) out['key_id'] = this.keyIds.admit(labels['key_id'] ?? 'none');
    if (this.options.principal) out['principal'] = this.principals.admit(labels['principal'] ?? 'unknown');
    return out;
  }
}

function admitRestoredPipeline(labels: Labels, failure: boolean): Labels | undefined {
  if (!PIPELINE_LABELS.every((name) => typeof labels[name] === 'string')) return undefined;
  const out: Record<string, string> = {};
  for (const name of PIPELINE_LABELS) out[name] = labels[name]!;
  if (failure) out['error_code'] = labels['error_code'] ?? 'unknown';
  return out;
}

/** kms_aws_account_info: one series per account of the --accounts file, set once at start. */
export function exportAccountInfo(instruments: Instruments, directory: AccountDirectory): void {
  for (const [id, info] of directory.accounts) {
    const labels: Record<string, string> = { aws_account_id: id, account_name: info.name };
    if (info.environment !== '') labels['environment'] = info.environment;
    if (info.owner !== '') labels['owner'] = info.owner;
    instruments.accountInfo.record(1, labels);
  }
}

/**
 * Exports the key state's pending deletions as kms_key_pending_deletion_timestamp_seconds
 * and its imported material expiries as kms_key_material_expiry_timestamp_seconds: at every
 * scrape exactly the keys held now, so a cancelled, deleted or evicted key's series goes,
 * and each gauge is bounded by --key-state-limit (not folded at --series-limit).
 */
export function exportKeyState(instruments: Instruments, keyState: KeyState, telemetry: Pick<Telemetry, 'snapshotGauge'>): void {
  telemetry.snapshotGauge(METRIC.pendingDeletion, instruments.pendingDeletion, function* () {
    for (const { accountId, region, keyId, date } of keyState.pendingDeletions()) yield { attributes: { aws_account_id: accountId, aws_region: region, key_id: keyId }, value: date / 1000 };
  });
  telemetry.snapshotGauge(METRIC.materialExpiry, instruments.materialExpiry, function* () {
    for (const { accountId, region, keyId, expiry } of keyState.materialExpiries()) yield { attributes: { aws_account_id: accountId, aws_region: region, key_id: keyId }, value: expiry / 1000 };
  });
}
