// Unpacks one parsed JSON document into CloudTrail records, whatever envelope it came in.

import type { InvalidRecord, RawRecord } from '../record-batch.ts';
import { isSubscriptionPayload, readSubscriptionPayload } from './subscription-payload.ts';

export interface DocumentSink {
  record(record: RawRecord): void;
  invalid(invalid: InvalidRecord): void;
}

/**
 * A CloudTrail record, an S3 log file (`{"Records":[...]}`), a CloudWatch Logs
 * subscription payload, or an array of records. Anything that is not an object is
 * invalid; an object of unknown shape is passed on as a record for the classifier
 * to judge, so there is one place that decides what a CloudTrail record is.
 */
export function unpackDocument(value: unknown, sink: DocumentSink): void {
  if (Array.isArray(value)) {
    for (const element of value) unpackRecord(element, sink);
    return;
  }
  if (typeof value !== 'object' || value === null) {
    sink.invalid({ reason: 'not_an_object', detail: `expected a JSON object, found ${describe(value)}` });
    return;
  }
  if ('Records' in value) {
    const records = (value as { Records: unknown }).Records;
    if (!Array.isArray(records)) {
      sink.invalid({ reason: 'bad_envelope', detail: 'CloudTrail log file "Records" is not an array' });
      return;
    }
    for (const element of records) unpackRecord(element, sink);
    return;
  }
  if (isSubscriptionPayload(value)) {
    const payload = readSubscriptionPayload(value);
    if (payload.kind === 'invalid') sink.invalid(payload.invalid);
    if (payload.kind === 'data') {
      for (const message of payload.messages) sink.record(message);
      for (const invalid of payload.invalid) sink.invalid(invalid);
    }
    return;
  }
  sink.record(value);
}

function unpackRecord(element: unknown, sink: DocumentSink): void {
  if (typeof element === 'object' && element !== null && !Array.isArray(element)) sink.record(element);
  else sink.invalid({ reason: 'not_an_object', detail: `expected a CloudTrail record object, found ${describe(element)}` });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
