// handleBatch: every source's records go decode → classify → de-duplicate → record, here and only here.

import { LRUCache } from 'lru-cache';
import type { Classification, KmsChange } from './classify/kms-change.ts';
import { classifyRecord } from './classify/kms-change.ts';
import { mayBeChangeText } from './decode/prefilter.ts';
import type { InvalidRecord, RawRecord, RecordBatch } from './record-batch.ts';
import type { ChangeLogEvents } from './record/change-log-events.ts';
import type { ChangeMetrics } from './record/change-metrics.ts';
import type { BatchCounts, SelfMetrics } from './record/self-metrics.ts';

export interface PipelineDeps {
  readonly changeMetrics: ChangeMetrics;
  readonly changeLogEvents: ChangeLogEvents;
  readonly selfMetrics: SelfMetrics;
  /** How many CloudTrail eventIDs to remember for de-duplication. */
  readonly dedupeCapacity: number;
  /** Told about each invalid record; the operator's log line. */
  readonly onInvalid: (source: string, invalid: InvalidRecord) => void;
  readonly now?: () => number;
}

export interface BatchOutcome extends BatchCounts {
  /** The changes recorded by this batch, in order (duplicates excluded). */
  readonly changes: readonly KmsChange[];
}

export interface Pipeline {
  handleBatch(source: string, batch: RecordBatch): BatchOutcome;
  /** Remembers eventIDs already recorded (a checkpoint being restored), so they are not counted again. */
  rememberEventIds(ids: Iterable<string>): void;
  /** The remembered eventIDs, newest last. */
  eventIds(): string[];
}

function parse(raw: RawRecord): Classification {
  if (typeof raw !== 'string') return classifyRecord(raw);
  // Sources that hand over whole log events (poll, live tail, Firehose) get the same raw prefilter as replay.
  if (!mayBeChangeText(raw)) return { kind: 'ignored' };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    return { kind: 'invalid', reason: 'malformed_json', detail: (error as Error).message };
  }
  return classifyRecord(value);
}

export function createPipeline(deps: PipelineDeps): Pipeline {
  const seen = new LRUCache<string, true>({ max: deps.dedupeCapacity });
  const now = deps.now ?? Date.now;

  function invalid(source: string, counts: BatchCounts, record: InvalidRecord): void {
    counts.invalid++;
    deps.selfMetrics.invalid(source, record.reason);
    deps.onInvalid(source, record);
  }

  return {
    handleBatch(source, batch) {
      const receivedAt = now();
      const counts = { matched: 0, ignored: batch.skipped, invalid: 0, duplicate: 0 };
      const changes: KmsChange[] = [];
      for (const record of batch.invalid) invalid(source, counts, record);
      for (const raw of batch.records) {
        const result = parse(raw);
        if (result.kind === 'ignored') {
          counts.ignored++;
          continue;
        }
        if (result.kind === 'invalid') {
          invalid(source, counts, { reason: result.reason, detail: result.detail });
          continue;
        }
        const change = result.change;
        if (change.eventId !== undefined) {
          if (seen.has(change.eventId)) {
            counts.duplicate++;
            continue;
          }
          seen.set(change.eventId, true);
        }
        counts.matched++;
        changes.push(change);
        deps.changeMetrics.record(change);
        deps.changeLogEvents.emit(change, receivedAt);
        deps.selfMetrics.change(source, change.eventTime, receivedAt);
      }
      deps.selfMetrics.batch(source, counts);
      return { ...counts, changes };
    },
    rememberEventIds(ids) {
      for (const id of ids) seen.set(id, true);
    },
    eventIds() {
      return [...seen.rkeys()];
    },
  };
}
