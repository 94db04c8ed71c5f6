// The exporter's own health: records by result, invalid reasons, delay, last event, source errors, build info.

import type { InvalidReason } from '../record-batch.ts';
import { INVALID_REASONS } from '../record-batch.ts';
import type { Instruments } from './instruments.ts';

export const RECORD_RESULTS = ['matched', 'ignored', 'invalid', 'duplicate'] as const;
export type RecordResult = (typeof RECORD_RESULTS)[number];

export interface BatchCounts {
  matched: number;
  ignored: number;
  invalid: number;
  duplicate: number;
}

export class SelfMetrics {
  private readonly instruments: Instruments;
  private readonly lastEventTime = new Map<string, number>();

  constructor(instruments: Instruments) {
    this.instruments = instruments;
  }

  /** Known series start at 0, so dashboards and rate() see the source before its first record. */
  declareSource(source: string, errorKinds: readonly string[] = []): void {
    for (const result of RECORD_RESULTS) this.instruments.records.add(0, { source, result });
    for (const reason of INVALID_REASONS) this.instruments.invalidRecords.add(0, { source, reason });
    for (const error of errorKinds) this.instruments.sourceErrors.add(0, { source, error });
  }

  buildInfo(version: string, nodeVersion: string): void {
    this.instruments.buildInfo.record(1, { version, node_version: nodeVersion });
  }

  batch(source: string, counts: BatchCounts): void {
    for (const result of RECORD_RESULTS) {
      if (counts[result] > 0) this.instruments.records.add(counts[result], { source, result });
    }
  }

  invalid(source: string, reason: InvalidReason): void {
    this.instruments.invalidRecords.add(1, { source, reason });
  }

  /** A KMS change arrived: how late, and the newest eventTime so far. */
  change(source: string, eventTime: number, receivedAt: number): void {
    this.instruments.eventDelay.record(Math.max(0, (receivedAt - eventTime) / 1000), { source });
    const newest = this.lastEventTime.get(source);
    if (newest === undefined || eventTime > newest) {
      this.lastEventTime.set(source, eventTime);
      this.instruments.lastEvent.record(eventTime / 1000, { source });
    }
  }

  sourceError(source: string, error: string): void {
    this.instruments.sourceErrors.add(1, { source, error });
  }

  awsRequest(operation: string, outcome: string): void {
    this.instruments.awsRequests.add(1, { operation, outcome });
  }
}
