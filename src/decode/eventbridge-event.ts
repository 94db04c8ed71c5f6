// Recognises an EventBridge event that carries a CloudTrail record and hands the record in its `detail` on.
//
// CloudTrail puts every management event on each account's default bus as
//   {"version":"0","id":…,"detail-type":"AWS API Call via CloudTrail","source":"aws.kms","account":…,
//    "time":…,"region":…,"resources":[],"detail":{ the CloudTrail record }}
// with the detail types listed in https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html
// (API calls, console sign-ins and actions, service events, Insights). Only API calls and service events can be
// configuration changes; the others are ignored. An EventBridge event reaches us through an API destination, a
// Firehose stream, an SQS queue or a file: every path goes through this one function.

import type { InvalidRecord } from '../record-batch.ts';

/** The detail types whose `detail` is a CloudTrail record the catalogs may count. */
export const CLOUDTRAIL_DETAIL_TYPES: readonly string[] = ['AWS API Call via CloudTrail', 'AWS Service Event via CloudTrail'];

export type Unwrapped =
  /** Not an EventBridge event: the value is judged as a CloudTrail record itself. */
  | { readonly kind: 'not_eventbridge' }
  /** An EventBridge event of a CloudTrail detail type: `record` is its detail. */
  | { readonly kind: 'cloudtrail'; readonly record: Record<string, unknown> }
  /** An EventBridge event of another detail type (sign-ins, Insights, other services' own events). */
  | { readonly kind: 'other_detail_type' }
  | { readonly kind: 'invalid'; readonly invalid: InvalidRecord };

const NOT_EVENTBRIDGE: Unwrapped = Object.freeze({ kind: 'not_eventbridge' });
const OTHER: Unwrapped = Object.freeze({ kind: 'other_detail_type' });

/**
 * An object is an EventBridge event when it has the envelope's own keys, `detail-type` and `detail` (a CloudTrail record
 * never has a key with a hyphen, so this cannot take a record for an envelope).
 */
export function isEventBridgeEvent(value: object): boolean {
  return 'detail-type' in value && 'detail' in value;
}

export function unwrapEventBridgeEvent(value: unknown): Unwrapped {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !isEventBridgeEvent(value)) return NOT_EVENTBRIDGE;
  const event = value as Record<string, unknown>;
  const detailType = event['detail-type'];
  if (typeof detailType !== 'string') return { kind: 'invalid', invalid: { reason: 'bad_envelope', detail: 'EventBridge event "detail-type" is not a string' } };
  if (!CLOUDTRAIL_DETAIL_TYPES.includes(detailType)) return OTHER;
  const detail = event['detail'];
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
    return { kind: 'invalid', invalid: { reason: 'bad_envelope', detail: `EventBridge event of detail-type "${detailType}": "detail" is not an object` } };
  }
  return { kind: 'cloudtrail', record: detail as Record<string, unknown> };
}
