// What every source hands the pipeline: raw CloudTrail records, plus what decoding already ruled out.

/** Why a record could not be used. A closed set: it is a metric label. */
export type InvalidReason =
  | 'malformed_json'
  | 'not_an_object'
  | 'not_cloudtrail'
  | 'wrong_type'
  | 'too_large'
  | 'truncated'
  | 'bad_gzip'
  | 'bad_base64'
  | 'bad_envelope';

export const INVALID_REASONS: readonly InvalidReason[] = [
  'malformed_json',
  'not_an_object',
  'not_cloudtrail',
  'wrong_type',
  'too_large',
  'truncated',
  'bad_gzip',
  'bad_base64',
  'bad_envelope',
];

export interface InvalidRecord {
  readonly reason: InvalidReason;
  /** One line for the operator: where and what, never the record's content. */
  readonly detail: string;
}

/**
 * A raw CloudTrail record: its JSON text as it came, or an object some envelope
 * already parsed (an S3 log file, a subscription payload).
 */
export type RawRecord = string | object;

export interface RecordBatch {
  readonly records: readonly RawRecord[];
  /** Records ruled out on raw bytes as not being a change: counted `ignored` without parsing. */
  readonly skipped: number;
  readonly invalid: readonly InvalidRecord[];
}

export function emptyBatch(): RecordBatch {
  return { records: [], skipped: 0, invalid: [] };
}
