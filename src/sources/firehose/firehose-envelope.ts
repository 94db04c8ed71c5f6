// Decodes a Kinesis Data Firehose HTTP endpoint request carrying CloudWatch Logs subscription payloads or EventBridge events.
//
// The body is `{"requestId", "timestamp", "records": [{"data": base64}]}`. Each record is
// told by its first bytes: gzip (1f 8b) is a CloudWatch Logs subscription payload (CloudWatch
// Logs always compresses); `{` is JSON, the event itself as an EventBridge rule writes it to
// Firehose (not compressed, one event per record, no delimiter added:
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-custom-bus-target-firehose.html),
// or newline-delimited / concatenated objects when a transform made them so; a bare
// CloudTrail record is taken too. Both kinds may share a request. A bad
// record is invalid with a reason and the good ones beside it still count; only an
// envelope that cannot be read at all fails the request. Records are inflated off the
// event loop (zlib's thread pool), one at a time, each stopped at its budget: a request of
// records that each inflate to the limit neither blocks scrapes nor holds more than one.

import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { InvalidRecord, RawRecord, RecordBatch } from '../../record-batch.ts';
import { splitJsonObjects } from '../../decode/concatenated-json.ts';
import { jsonErrorDetail } from '../../decode/json-error.ts';
import { isSubscriptionPayload, readSubscriptionPayload } from '../../decode/subscription-payload.ts';

/** Firehose sends 1 to 10,000 records per request. */
export const FIREHOSE_MAX_RECORDS = 10_000;

/** Firehose request ids are UUIDs; anything much longer is not one, and would be held in memory as a remembered id. */
export const FIREHOSE_MAX_REQUEST_ID_LENGTH = 256;

export type EnvelopeResult =
  | { readonly kind: 'ok'; readonly requestId: string; readonly batch: RecordBatch; readonly controlMessages: number }
  | { readonly kind: 'malformed'; readonly requestId: string | undefined; readonly reason: string };

const GZIP_MAGIC = [0x1f, 0x8b] as const;
const OPEN_BRACE = 0x7b;

const inflate = promisify(gunzip);

export interface EnvelopeLimits {
  /** Largest decompressed record, a whole subscription payload: a gzip bomb inside one record is invalid, not an out-of-memory. */
  readonly maxPayloadBytes: number;
  /** Largest log event message (one CloudTrail record), as --max-record-bytes bounds every source's records. */
  readonly maxRecordBytes: number;
}

/** The first byte that is not JSON white space opens an object. */
function isJsonObject(bytes: Buffer): boolean {
  for (const byte of bytes) {
    if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) continue;
    return byte === OPEN_BRACE;
  }
  return false;
}

/**
 * The events (or bare CloudTrail records) of a JSON record, parsed, into `out`; each piece that is not one, into `invalid`.
 * One event per record, the usual case, is one JSON.parse; only a record that is not one JSON value is cut into pieces.
 */
function readJsonRecord(bytes: Buffer, index: number, maxRecordBytes: number, out: RawRecord[], invalid: InvalidRecord[]): void {
  const text = bytes.toString('utf8');
  const take = (value: unknown): void => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid.push({ reason: 'not_an_object', detail: `records[${index}]: a JSON value that is not an object` });
    // CloudWatch Logs always compresses its payloads: one that is not was not sent by it.
    else if (isSubscriptionPayload(value)) invalid.push({ reason: 'bad_gzip', detail: `records[${index}] is a subscription payload that is not gzip-compressed (CloudWatch Logs always compresses)` });
    else out.push(value);
  };
  if (bytes.length <= maxRecordBytes) {
    try {
      take(JSON.parse(text));
      return;
    } catch {
      // Not one value: several, or a malformed one; cut below.
    }
  }
  for (const piece of splitJsonObjects(text)) {
    // Cheap first: a string of n UTF-16 units is at most 3n bytes of UTF-8.
    if (piece.length * 3 > maxRecordBytes && Buffer.byteLength(piece) > maxRecordBytes) {
      invalid.push({ reason: 'too_large', detail: `records[${index}]: an event larger than ${maxRecordBytes} bytes` });
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(piece);
    } catch (error) {
      invalid.push({ reason: 'malformed_json', detail: `records[${index}]: ${jsonErrorDetail(error)}` });
      continue;
    }
    take(value);
  }
}

function malformed(requestId: string | undefined, reason: string): EnvelopeResult {
  return { kind: 'malformed', requestId, reason };
}

/** Reads a request body; never rejects. */
export async function decodeFirehoseRequest(body: string, limits: EnvelopeLimits): Promise<EnvelopeResult> {
  const { maxPayloadBytes, maxRecordBytes } = limits;
  let envelope: unknown;
  try {
    envelope = JSON.parse(body);
  } catch (error) {
    return malformed(undefined, `body is not JSON: ${(error as Error).message}`);
  }
  if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope)) return malformed(undefined, 'body is not a JSON object');
  const { requestId, records } = envelope as { requestId?: unknown; records?: unknown };
  const id = typeof requestId === 'string' ? requestId : undefined;
  if (id === undefined || id === '') return malformed(undefined, 'requestId is missing, empty or not a string');
  if (id.length > FIREHOSE_MAX_REQUEST_ID_LENGTH) return malformed(undefined, `requestId is longer than ${FIREHOSE_MAX_REQUEST_ID_LENGTH} characters`);
  if (!Array.isArray(records)) return malformed(id, 'records is missing or not an array');
  if (records.length > FIREHOSE_MAX_RECORDS) return malformed(id, `records holds ${records.length} entries, more than Firehose's ${FIREHOSE_MAX_RECORDS}`);

  const out: RawRecord[] = [];
  const invalid: InvalidRecord[] = [];
  let controlMessages = 0;
  for (const [index, record] of records.entries()) {
    const data = typeof record === 'object' && record !== null ? (record as { data?: unknown }).data : undefined;
    if (typeof data !== 'string') {
      invalid.push({ reason: 'bad_envelope', detail: `records[${index}].data is missing or not a string` });
      continue;
    }
    // Node's decoder skips characters that are not base64; re-encoding shows whether any were there
    // (and is far cheaper than a regular expression over a long string).
    const bytes = Buffer.from(data, 'base64');
    if (data.length % 4 !== 0 || bytes.toString('base64') !== data) {
      invalid.push({ reason: 'bad_base64', detail: `records[${index}].data is not base64` });
      continue;
    }
    let text: string;
    if (bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1]) {
      try {
        text = (await inflate(bytes, { maxOutputLength: maxPayloadBytes })).toString('utf8');
      } catch (error) {
        const tooLarge = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
        invalid.push({ reason: tooLarge ? 'too_large' : 'bad_gzip', detail: `records[${index}]: ${tooLarge ? `larger than ${maxPayloadBytes} bytes once decompressed` : 'not a complete gzip stream'}` });
        continue;
      }
    } else if (isJsonObject(bytes)) {
      readJsonRecord(bytes, index, maxRecordBytes, out, invalid);
      continue;
    } else {
      // CloudWatch Logs always gzips, and an EventBridge event is a JSON object: this is neither.
      invalid.push({ reason: 'bad_gzip', detail: `records[${index}] is neither gzip-compressed (a CloudWatch Logs subscription payload) nor a JSON object (an EventBridge event)` });
      continue;
    }
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch (error) {
      invalid.push({ reason: 'malformed_json', detail: `records[${index}]: ${(error as Error).message}` });
      continue;
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      invalid.push({ reason: 'bad_envelope', detail: `records[${index}] is not a subscription payload object` });
      continue;
    }
    const result = readSubscriptionPayload(payload);
    if (result.kind === 'control') controlMessages++;
    else if (result.kind === 'invalid') invalid.push({ ...result.invalid, detail: `records[${index}]: ${result.invalid.detail}` });
    else {
      for (const message of result.messages) {
        // Cheap first: a string of n UTF-16 units is at most 3n bytes of UTF-8.
        if (message.length * 3 > maxRecordBytes && Buffer.byteLength(message) > maxRecordBytes) {
          invalid.push({ reason: 'too_large', detail: `records[${index}]: a log event larger than ${maxRecordBytes} bytes` });
        } else out.push(message);
      }
      for (const bad of result.invalid) invalid.push({ ...bad, detail: `records[${index}]: ${bad.detail}` });
    }
  }
  return { kind: 'ok', requestId: id, batch: { records: out, skipped: 0, invalid }, controlMessages };
}
