// Counter values read out of the meter and added back after a restart, so counters continue instead of resetting.

import type { Attributes, Counter, Gauge } from '@opentelemetry/api';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import type { Instruments } from './instruments.ts';
import { METRIC } from './instruments.ts';

export interface CounterSnapshot {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The instruments whose values survive a restart: every counter, and the last-event gauge. */
function persistent(instruments: Instruments): ReadonlyMap<string, { add(value: number, attributes: Attributes): void }> {
  const counter = (c: Counter) => ({ add: (value: number, attributes: Attributes) => c.add(value, attributes) });
  const gauge = (g: Gauge) => ({ add: (value: number, attributes: Attributes) => g.record(value, attributes) });
  return new Map([
    [METRIC.changes, counter(instruments.changes)],
    [METRIC.failures, counter(instruments.failures)],
    [METRIC.records, counter(instruments.records)],
    [METRIC.invalidRecords, counter(instruments.invalidRecords)],
    [METRIC.sourceErrors, counter(instruments.sourceErrors)],
    [METRIC.awsRequests, counter(instruments.awsRequests)],
    [METRIC.lastEvent, gauge(instruments.lastEvent)],
  ]);
}

const NAMES: ReadonlySet<string> = new Set([METRIC.changes, METRIC.failures, METRIC.records, METRIC.invalidRecords, METRIC.sourceErrors, METRIC.awsRequests, METRIC.lastEvent]);

export function snapshotCounters(resourceMetrics: ResourceMetrics): CounterSnapshot[] {
  const out: CounterSnapshot[] = [];
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (!NAMES.has(metric.descriptor.name)) continue;
      if (metric.dataPointType !== DataPointType.SUM && metric.dataPointType !== DataPointType.GAUGE) continue;
      for (const point of metric.dataPoints) {
        const attributes: Record<string, string> = {};
        for (const [key, value] of Object.entries(point.attributes)) attributes[key] = String(value);
        if (attributes['otel.metric.overflow'] !== undefined) continue;
        out.push({ name: metric.descriptor.name, attributes, value: point.value as number });
      }
    }
  }
  return out;
}

export function restoreCounters(instruments: Instruments, snapshots: readonly CounterSnapshot[]): void {
  const targets = persistent(instruments);
  for (const { name, attributes, value } of snapshots) targets.get(name)?.add(value, attributes);
}
