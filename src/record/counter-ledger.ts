// Every counter's values as plain data: exported through observable instruments, changed by batches of deltas, snapshotted and restored whole.
//
// Holding the values ourselves (rather than inside OTel's synchronous counters) is what
// lets a commit be written ahead: the checkpoint is the ledger plus a batch's deltas,
// written before the deltas are applied, so a scrape can never see a count the state
// store does not have, and a restore puts back exactly what was written.

import { z } from 'zod';

export type Labels = Readonly<Record<string, string>>;

export interface CounterSeries {
  readonly name: string;
  readonly labels: Labels;
  readonly value: number;
}

export const counterSeriesSchema = z.object({
  name: z.string().min(1),
  labels: z.record(z.string(), z.string()),
  value: z.number().finite().nonnegative(),
});

/** What a metric's owner says about a restored series: the labels to keep it under, or undefined to drop it. */
export type AdmitLabels = (labels: Labels) => Labels | undefined;

/** Where counter increments go: a batch's delta, or a sink that also keeps them elsewhere (the history of replay --output openmetrics). */
export interface CounterSink {
  add(name: string, labels: Labels, delta: number): void;
}

/** One series' identity: its name and labels, in any label order. */
export function seriesKey(name: string, labels: Labels): string {
  const names = Object.keys(labels).sort();
  let key = name;
  for (const label of names) key += `\u0000${label}\u0001${labels[label]}`;
  return key;
}

interface MutableSeries {
  readonly name: string;
  readonly labels: Labels;
  value: number;
}

/** Increments not yet applied: one batch's (or one group commit's) effect on the counters. */
export class CounterDelta implements CounterSink {
  private readonly series = new Map<string, MutableSeries>();

  add(name: string, labels: Labels, delta: number): void {
    if (delta === 0) return;
    this.addAt(seriesKey(name, labels), name, labels, delta);
  }

  /** Adds every increment of `other` (a commit taking the increments made outside commits). */
  merge(other: CounterDelta): void {
    for (const [key, series] of other.entries()) this.addAt(key, series.name, series.labels, series.value);
  }

  private addAt(key: string, name: string, labels: Labels, delta: number): void {
    const found = this.series.get(key);
    if (found === undefined) this.series.set(key, { name, labels, value: delta });
    else found.value += delta;
  }

  get size(): number {
    return this.series.size;
  }

  entries(): IterableIterator<[string, CounterSeries]> {
    return this.series.entries();
  }

  /** The sum of one metric's increments whose labels include `match`. */
  sum(name: string, match: Labels = {}): number {
    let total = 0;
    for (const series of this.series.values()) {
      if (series.name === name && Object.entries(match).every(([k, v]) => series.labels[k] === v)) total += series.value;
    }
    return total;
  }
}

export class CounterLedger {
  private readonly byName = new Map<string, Map<string, MutableSeries>>();
  private readonly owners = new Map<string, AdmitLabels>();
  /** Increments made outside a commit (a source error, an AWS call), held until the next commit persists them. */
  private deferred: CounterDelta | undefined;
  private onDeferred: (() => void) | undefined;

  /** The component that owns a metric decides how its restored series are admitted (limits, known label sets). */
  own(name: string, admit: AdmitLabels): void {
    this.owners.set(name, admit);
    if (!this.byName.has(name)) this.byName.set(name, new Map());
  }

  /** Known series start at 0 (Prometheus "avoid missing metrics"). */
  declare(name: string, labels: Labels): void {
    const key = seriesKey(name, labels);
    const series = this.metric(name);
    if (!series.has(key)) series.set(key, { name, labels, value: 0 });
  }

  add(name: string, labels: Labels, delta: number): void {
    if (!(delta > 0) || !Number.isFinite(delta)) return;
    if (this.deferred !== undefined) {
      this.deferred.add(name, labels, delta);
      this.onDeferred?.();
      return;
    }
    this.addAt(seriesKey(name, labels), name, labels, delta);
  }

  /**
   * With a persistent store, increments made outside a commit wait for the next one (which
   * `notify` asks for), so they too are persisted before a scrape can see them: no series
   * ever goes down across a restart.
   */
  deferOutsideCommits(notify: () => void): void {
    this.deferred = new CounterDelta();
    this.onDeferred = notify;
  }

  get hasDeferred(): boolean {
    return (this.deferred?.size ?? 0) > 0;
  }

  /** The increments waiting for a commit; the commit applies them, or gives them back. */
  takeDeferred(): CounterDelta {
    const taken = this.deferred ?? new CounterDelta();
    if (this.deferred !== undefined) this.deferred = new CounterDelta();
    return taken;
  }

  /** Adds at once, persisted or not: the state store's own failures, which a store that is down cannot persist first. */
  addNow(name: string, labels: Labels, delta: number): void {
    if (!(delta > 0) || !Number.isFinite(delta)) return;
    this.addAt(seriesKey(name, labels), name, labels, delta);
  }

  /** Applies increments now, persisted or not (after a commit failed, the increments made outside it are shown anyway). */
  applyNow(delta: CounterDelta): void {
    for (const [key, series] of delta.entries()) this.addAt(key, series.name, series.labels, series.value);
  }

  apply(delta: CounterDelta): void {
    this.applyNow(delta);
  }

  /** One metric's series, in the order they first appeared. */
  series(name: string): IterableIterator<CounterSeries> {
    return this.metric(name).values();
  }

  value(name: string, labels: Labels): number {
    return this.byName.get(name)?.get(seriesKey(name, labels))?.value ?? 0;
  }

  /** Every series, with `pending` added as if applied (the write-ahead snapshot); the ledger is unchanged. */
  snapshot(pending?: CounterDelta): CounterSeries[] {
    const out: CounterSeries[] = [];
    const extra = new Map(pending?.entries() ?? []);
    for (const series of this.byName.values()) {
      for (const [key, { name, labels, value }] of series) {
        const more = extra.get(key);
        if (more !== undefined) extra.delete(key);
        out.push({ name, labels, value: value + (more?.value ?? 0) });
      }
    }
    for (const { name, labels, value } of extra.values()) out.push({ name, labels, value });
    return out;
  }

  /**
   * Puts restored values back, each through its metric's owner (so label limits and
   * closed label sets hold after a restart as they do at run time). Values are added:
   * a restore runs before anything is counted. Metrics nobody owns are dropped.
   */
  restore(snapshot: readonly CounterSeries[]): void {
    for (const { name, labels, value } of snapshot) {
      const admit = this.owners.get(name);
      if (admit === undefined) continue;
      const admitted = admit(labels);
      if (admitted === undefined) continue;
      this.addAt(seriesKey(name, admitted), name, admitted, value);
    }
  }

  private metric(name: string): Map<string, MutableSeries> {
    let series = this.byName.get(name);
    if (series === undefined) {
      series = new Map();
      this.byName.set(name, series);
    }
    return series;
  }

  private addAt(key: string, name: string, labels: Labels, delta: number): void {
    const series = this.metric(name);
    const found = series.get(key);
    if (found === undefined) series.set(key, { name, labels, value: delta });
    else found.value += delta;
  }
}
