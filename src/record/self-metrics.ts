// The exporter's own health: records by result, invalid reasons, delay, last event, source errors and events, AWS calls, build info.

import type { InvalidReason } from '../record-batch.ts';
import { INVALID_REASONS } from '../record-batch.ts';
import type { CounterDelta, CounterLedger, Labels } from './counter-ledger.ts';
import type { Instruments } from './instruments.ts';
import { METRIC } from './instruments.ts';

export const RECORD_RESULTS = ['matched', 'ignored', 'invalid', 'duplicate'] as const;
export type RecordResult = (typeof RECORD_RESULTS)[number];

export interface BatchCounts {
  matched: number;
  ignored: number;
  invalid: number;
  duplicate: number;
}

/** What the self-metrics need to know of a source to start its series at 0. */
export interface SourceDeclaration {
  readonly name: string;
  readonly errorKinds: readonly string[];
  readonly eventKinds: readonly string[];
}

/** A restored series is kept only under exactly the label names its metric has. */
function exactly(...names: string[]): (labels: Labels) => Labels | undefined {
  const wanted = [...names].sort().join(',');
  return (labels) => (Object.keys(labels).sort().join(',') === wanted ? labels : undefined);
}

/** Arrival can only be later than the event: a clock far ahead in a record must not pin the gauge (and silence KmsSourceSilent). */
function plausibleEventTime(eventTime: number, receivedAt: number): number {
  return Math.min(eventTime, receivedAt);
}

export class SelfMetrics {
  private readonly ledger: CounterLedger;
  private readonly instruments: Instruments;
  private readonly lastEventTime = new Map<string, number>();

  constructor(ledger: CounterLedger, instruments: Instruments) {
    this.ledger = ledger;
    this.instruments = instruments;
    ledger.own(METRIC.records, exactly('source', 'result'));
    ledger.own(METRIC.invalidRecords, exactly('source', 'reason'));
    ledger.own(METRIC.sourceErrors, exactly('source', 'error'));
    ledger.own(METRIC.sourceEvents, exactly('source', 'event'));
    ledger.own(METRIC.awsRequests, exactly('operation', 'outcome'));
    instruments.lastEvent.addCallback((result) => {
      for (const [source, time] of this.lastEventTime) result.observe(time / 1000, { source });
    });
  }

  /** Known series start at 0, so dashboards and rate() see the source before its first record. */
  declareSource(source: SourceDeclaration): void {
    for (const result of RECORD_RESULTS) this.ledger.declare(METRIC.records, { source: source.name, result });
    for (const reason of INVALID_REASONS) this.ledger.declare(METRIC.invalidRecords, { source: source.name, reason });
    for (const error of source.errorKinds) this.ledger.declare(METRIC.sourceErrors, { source: source.name, error });
    for (const event of source.eventKinds) this.ledger.declare(METRIC.sourceEvents, { source: source.name, event });
  }

  /** The push endpoints' in-flight body bytes and their budget; not exported without a push source. */
  pushBudget(budget: { readonly used: number; readonly limit: number }): void {
    this.instruments.pushInflight.addCallback((result) => result.observe(budget.used));
    this.instruments.pushInflightLimit.addCallback((result) => result.observe(budget.limit));
  }

  buildInfo(version: string, nodeVersion: string): void {
    this.instruments.buildInfo.record(1, { version, node_version: nodeVersion });
  }

  batch(delta: CounterDelta, source: string, counts: BatchCounts): void {
    for (const result of RECORD_RESULTS) delta.add(METRIC.records, { source, result }, counts[result]);
  }

  invalid(delta: CounterDelta, source: string, reason: InvalidReason): void {
    delta.add(METRIC.invalidRecords, { source, reason }, 1);
  }

  /** The newest eventTime per source once `pending` (a commit's changes) is applied. */
  lastEventSnapshot(pending?: ReadonlyMap<string, number>): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(this.lastEventTime);
    for (const [source, time] of pending ?? []) out[source] = Math.max(out[source] ?? -Infinity, time);
    return out;
  }

  /** Restored times only ever move the gauge forward. */
  restoreLastEvent(times: Readonly<Record<string, number>>): void {
    for (const [source, time] of Object.entries(times)) this.advanceLastEvent(source, time);
  }

  /** The time a change would set the gauge to (the commit's write-ahead view). */
  static lastEventCandidate(eventTime: number, receivedAt: number): number {
    return plausibleEventTime(eventTime, receivedAt);
  }

  /** A KMS change was applied: how late, and the newest eventTime so far. */
  change(source: string, eventTime: number, receivedAt: number): void {
    this.instruments.eventDelay.record(Math.max(0, (receivedAt - eventTime) / 1000), { source });
    this.advanceLastEvent(source, plausibleEventTime(eventTime, receivedAt));
  }

  sourceError(source: string, error: string): void {
    this.ledger.add(METRIC.sourceErrors, { source, error }, 1);
  }

  sourceEvent(source: string, event: string): void {
    this.ledger.add(METRIC.sourceEvents, { source, event }, 1);
  }

  awsRequest(operation: string, outcome: string): void {
    this.ledger.add(METRIC.awsRequests, { operation, outcome }, 1);
  }

  private advanceLastEvent(source: string, time: number): void {
    if (!Number.isFinite(time)) return;
    const newest = this.lastEventTime.get(source);
    if (newest === undefined || time > newest) this.lastEventTime.set(source, time);
  }
}
