// Writes a CounterHistory as OpenMetrics text with timestamps, the input of `promtool tsdb create-blocks-from openmetrics`: each series dense and cumulative, made and written chunk by chunk.
//
// The sample at k·step counts the changes before it (in steps < k). A series starts at the
// step of its first change with 0, so increase() and rate() see its first change (a series
// whose first sample already counted it would show that change to no query), and ends at
// the range's end, which is the step after the last change, or the end of --to when later.
// promtool needs `# EOF`, a timestamp on every sample, and each series' samples in time
// order: it drops an older sample after a newer one of the same series without a word.

import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { HistoryRangeError } from '../errors.ts';
import type { CounterHistory, HistorySeries } from './counter-history.ts';
import type { Labels } from './counter-ledger.ts';
import { COUNTER_HELP, METRIC } from './instruments.ts';

/** The metrics a history is written for, in the order of the plain exposition; self-metrics have no event time. */
export const HISTORY_METRICS = [METRIC.changes, METRIC.failures, METRIC.findings, METRIC.pipelineChanges, METRIC.pipelineFailures] as const;

/** Samples per series at most (about 3.8 years of 1-minute steps): a wrong eventTime far from the others must not make the output endless. */
export const MAX_STEPS = 2_000_000;

/** Chunks are made this large before they are handed to the stream (fewer, larger writes; never the whole output). */
const CHUNK_CHARS = 64 * 1024;

/**
 * The index of the last sample's step: the step after the last change's, or the step `until`
 * (ms, the end of --to) starts, when later. Undefined when nothing was counted. Throws when
 * the range is longer than {@link MAX_STEPS}.
 */
export function historyEnd(history: CounterHistory, until?: number): number | undefined {
  const span = history.span;
  if (span === undefined) return undefined;
  const end = Math.max(span.last + 1, until === undefined ? Number.NEGATIVE_INFINITY : Math.ceil(until / history.step));
  if (end - span.first + 1 > MAX_STEPS) {
    const at = (step: number) => new Date(step * history.step).toISOString();
    throw new HistoryRangeError(
      `the changes and --to span ${at(span.first)} to ${at(end)}: ${end - span.first + 1} steps of ${history.step / 1000}s, more than the ${MAX_STEPS} a series may have; give a larger --step (or look for changes whose eventTime is far from the others)`,
    );
  }
  return end;
}

/** OpenMetrics escapes backslash, double quote and line feed, in label values and in HELP. */
function escape(text: string): string {
  return text.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

function seriesName(name: string, labels: Labels): string {
  const pairs = Object.entries(labels).map(([label, value]) => `${label}="${escape(value)}"`);
  return pairs.length === 0 ? name : `${name}{${pairs.join(',')}}`;
}

/** The family name: OpenMetrics names a counter family without its samples' `_total`. */
function familyName(name: string): string {
  return name.endsWith('_total') ? name.slice(0, -'_total'.length) : name;
}

/** One series' lines, from its first step to `end`, `value timestamp` cumulative. */
function* seriesLines(series: HistorySeries, step: number, end: number): Generator<string> {
  const prefix = `${seriesName(series.name, series.labels)} `;
  const changed = [...series.steps.keys()].sort((a, b) => a - b);
  let next = 0;
  let value = 0;
  for (let k = changed[0] ?? end; k <= end; k++) {
    yield `${prefix}${value} ${(k * step) / 1000}\n`;
    // The sample at k counts steps < k: step k's increments show from k + 1 on.
    if (changed[next] === k) value += series.steps.get(changed[next++]!)!;
  }
}

/** The whole text, in chunks of about 64 KiB, ending with `# EOF`; `until` (ms) extends every series to the end of --to. */
export function* openMetricsChunks(history: CounterHistory, until?: number): Generator<string> {
  const end = historyEnd(history, until);
  let chunk = '';
  if (end !== undefined) {
    const present = new Set(history.names());
    const names = [...HISTORY_METRICS.filter((name) => present.has(name)), ...[...present].filter((name) => !(HISTORY_METRICS as readonly string[]).includes(name))];
    for (const name of names) {
      const family = familyName(name);
      const help = (COUNTER_HELP as Readonly<Record<string, string>>)[name];
      chunk += `# TYPE ${family} counter\n${help === undefined ? '' : `# HELP ${family} ${escape(help)}\n`}`;
      for (const series of history.series(name)) {
        for (const line of seriesLines(series, history.step, end)) {
          chunk += line;
          if (chunk.length >= CHUNK_CHARS) {
            yield chunk;
            chunk = '';
          }
        }
      }
    }
  }
  yield `${chunk}# EOF\n`;
}

/** Writes chunks to a stream, waiting for it to drain whenever it asks (stdout to a slow pipe or disk); rejects on the stream's error. */
export async function writeChunks(chunks: Iterable<string>, out: Writable): Promise<void> {
  for (const chunk of chunks) {
    if (!out.write(chunk)) await once(out, 'drain');
  }
}
