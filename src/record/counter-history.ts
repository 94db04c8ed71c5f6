// The change counters' increments by the step their change's CloudTrail eventTime falls in: what `replay --output openmetrics` writes as Prometheus history.
//
// Only the steps that have changes are held (per series, step → increments), so memory
// grows with series × steps with changes, never with the length of the range: the dense,
// cumulative series are made while writing (openmetrics-writer.ts).

import type { Labels } from './counter-ledger.ts';
import { seriesKey } from './counter-ledger.ts';

export interface HistorySeries {
  readonly name: string;
  readonly labels: Labels;
  /** Increments by step index (floor(eventTime / step)). */
  readonly steps: ReadonlyMap<number, number>;
}

interface MutableHistorySeries extends HistorySeries {
  readonly steps: Map<number, number>;
}

export class CounterHistory {
  /** ms, a whole number of seconds: steps are aligned to multiples of it since the epoch, so two backfills line up. */
  readonly step: number;
  private readonly byName = new Map<string, Map<string, MutableHistorySeries>>();
  private first = Number.POSITIVE_INFINITY;
  private last = Number.NEGATIVE_INFINITY;

  constructor(step: number) {
    if (!Number.isSafeInteger(step) || step < 1000 || step % 1000 !== 0) throw new RangeError(`step must be a whole number of seconds in ms, got ${step}`);
    this.step = step;
  }

  /** The step index an event time falls in: steps are half-open, [k·step, (k+1)·step). */
  stepOf(eventTime: number): number {
    return Math.floor(eventTime / this.step);
  }

  /** A counter increment made by a change at `eventTime` (ms). */
  add(eventTime: number, name: string, labels: Labels, value: number): void {
    if (!(value > 0) || !Number.isFinite(value) || !Number.isFinite(eventTime)) return;
    const step = this.stepOf(eventTime);
    let family = this.byName.get(name);
    if (family === undefined) this.byName.set(name, (family = new Map()));
    const key = seriesKey(name, labels);
    let series = family.get(key);
    if (series === undefined) family.set(key, (series = { name, labels, steps: new Map() }));
    series.steps.set(step, (series.steps.get(step) ?? 0) + value);
    if (step < this.first) this.first = step;
    if (step > this.last) this.last = step;
  }

  /** The first and last step index with a change; undefined when nothing was counted. */
  get span(): { readonly first: number; readonly last: number } | undefined {
    return this.first > this.last ? undefined : { first: this.first, last: this.last };
  }

  /** The metrics that have series, in the order they were first counted. */
  names(): IterableIterator<string> {
    return this.byName.keys();
  }

  /** One metric's series, in the order they were first counted. */
  series(name: string): IterableIterator<HistorySeries> {
    return (this.byName.get(name) ?? new Map<string, MutableHistorySeries>()).values();
  }
}
