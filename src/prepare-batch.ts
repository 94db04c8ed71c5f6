// The pure first step of the pipeline: a batch of raw records decoded and classified into candidate changes.
//
// Pure (no instruments, no state), so it runs wherever the bytes are: on the main thread, or
// in a replay's decode workers, whose results the main thread de-duplicates and counts in order.

import type { Classification, KmsChange } from './classify/kms-change.ts';
import { classifyRecord } from './classify/kms-change.ts';
import type { OwnPath, PipelineChange } from './classify/pipeline-change.ts';
import { classifyPipelineRecord } from './classify/pipeline-change.ts';
import { lookup } from './catalog/kms-events.ts';
import { lookupPipeline } from './catalog/pipeline-events.ts';
import { unwrapEventBridgeEvent } from './decode/eventbridge-event.ts';
import { jsonErrorDetail } from './decode/json-error.ts';
import { mayBeChangeText } from './decode/prefilter.ts';
import type { InvalidRecord, RawRecord, RecordBatch } from './record-batch.ts';

/** A change either catalog counts: a KMS change or a change of the pipeline itself (`kind: 'pipeline'`). */
export type Candidate = KmsChange | PipelineChange;

export function isPipelineChange(candidate: Candidate): candidate is PipelineChange {
  return (candidate as PipelineChange).kind === 'pipeline';
}

/** A decoded and classified batch, not yet de-duplicated. */
export interface PreparedBatch {
  readonly source: string;
  readonly receivedAt: number;
  readonly ignored: number;
  readonly invalid: readonly InvalidRecord[];
  /** Every change in the batch, of either catalog, in order, duplicates included (de-duplicated together by eventID). */
  readonly candidates: readonly Candidate[];
  /** Each candidate's parsed record, same index: read for its findings once it is known to be fresh (not for duplicates). */
  readonly records: readonly unknown[];
}

type Parsed = Classification | { readonly kind: 'pipeline_change'; readonly change: PipelineChange };

const IGNORED_RECORD = { classification: { kind: 'ignored' } as Parsed, record: undefined };

/** Either catalog's verdict: a record KMS's catalog does not know may be a change of the pipeline itself. */
function classifyEither(value: unknown, own: OwnPath): Parsed {
  const kms = classifyRecord(value);
  return kms.kind === 'ignored' ? classifyPipelineRecord(value, own) : kms;
}

/**
 * The classification of a parsed value, and the CloudTrail record it came from (the findings read its request
 * parameters): an EventBridge event is judged by the record in its detail, whichever path brought it.
 */
function judge(value: unknown, own: OwnPath): { readonly classification: Parsed; readonly record: unknown } {
  const unwrapped = unwrapEventBridgeEvent(value);
  switch (unwrapped.kind) {
    case 'not_eventbridge':
      return { classification: classifyEither(value, own), record: value };
    case 'cloudtrail':
      return { classification: classifyEither(unwrapped.record, own), record: unwrapped.record };
    case 'other_detail_type':
      return IGNORED_RECORD;
    case 'invalid':
      return { classification: { kind: 'invalid', ...unwrapped.invalid }, record: undefined };
  }
}

/** The classification, and the parsed record it came from. */
function parse(raw: RawRecord, own: OwnPath): { readonly classification: Parsed; readonly record: unknown } {
  if (typeof raw !== 'string') return judge(raw, own);
  // Sources that hand over whole log events (poll, live tail, Firehose) get the same raw prefilter as replay.
  if (!mayBeChangeText(raw)) return IGNORED_RECORD;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    return { classification: { kind: 'invalid', reason: 'malformed_json', detail: jsonErrorDetail(error) }, record: undefined };
  }
  return judge(value, own);
}

/** Decodes and classifies a batch: its candidate changes of either catalog, in order, and what was ruled out. */
export function prepareBatch(source: string, batch: RecordBatch, own: OwnPath, receivedAt: number): PreparedBatch {
  const invalid: InvalidRecord[] = [...batch.invalid];
  const candidates: Candidate[] = [];
  const records: unknown[] = [];
  let ignored = batch.skipped;
  for (const raw of batch.records) {
    const { classification: result, record } = parse(raw, own);
    if (result.kind === 'ignored') ignored++;
    else if (result.kind === 'invalid') invalid.push({ reason: result.reason, detail: result.detail });
    else {
      candidates.push(result.change);
      records.push(record);
    }
  }
  return { source, receivedAt, ignored, invalid, candidates, records };
}

/**
 * A prepared batch that crossed a thread as a structured clone: its candidates point at the
 * catalog's own entries again (a clone carries copies).
 */
export function revivePreparedBatch(cloned: PreparedBatch): PreparedBatch {
  const candidates = cloned.candidates.map((candidate): Candidate => {
    if (isPipelineChange(candidate)) {
      const entry = lookupPipeline(candidate.entry.eventSource, candidate.entry.eventName);
      return entry === undefined ? candidate : { ...candidate, entry };
    }
    const entry = lookup(candidate.entry.eventSource, candidate.entry.eventName);
    return entry === undefined ? candidate : { ...candidate, entry };
  });
  return { ...cloned, candidates };
}
