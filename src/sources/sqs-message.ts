// What one SQS message body is to the pipeline: the EventBridge event (or CloudTrail record) it carries, or why it is invalid.
//
// An EventBridge rule with an SQS target delivers the event JSON as the message body
// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html). The body is parsed here rather than
// handed over as text: the raw prefilter would count a body that is not JSON at all as `ignored`, and a message
// that is not what the rule sends must be left to the queue's redrive policy, not deleted.

import { jsonErrorDetail } from '../decode/json-error.ts';
import type { InvalidRecord, RecordBatch } from '../record-batch.ts';

export type MessageVerdict = { readonly kind: 'record'; readonly batch: RecordBatch } | { readonly kind: 'invalid'; readonly invalid: InvalidRecord };

/** Whether the pipeline finds a record invalid (the classifier's verdict, taken before the batch is delivered). */
export type Inspect = (batch: RecordBatch) => readonly InvalidRecord[];

export function judgeMessage(body: string | undefined, where: string, maxBytes: number, inspect: Inspect): MessageVerdict {
  if (body === undefined || body === '') return { kind: 'invalid', invalid: { reason: 'malformed_json', detail: `${where}: the message has no body` } };
  const bytes = Buffer.byteLength(body, 'utf8');
  if (bytes > maxBytes) return { kind: 'invalid', invalid: { reason: 'too_large', detail: `${where}: ${bytes} bytes, more than --max-record-bytes (${maxBytes})` } };
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return { kind: 'invalid', invalid: { reason: 'malformed_json', detail: `${where}: ${jsonErrorDetail(error)}` } };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { kind: 'invalid', invalid: { reason: 'not_an_object', detail: `${where}: the body is JSON but not an object` } };
  const batch: RecordBatch = { records: [value], skipped: 0, invalid: [] };
  const invalid = inspect(batch)[0];
  if (invalid !== undefined) return { kind: 'invalid', invalid: { reason: invalid.reason, detail: `${where}: ${invalid.detail}` } };
  return { kind: 'record', batch };
}
