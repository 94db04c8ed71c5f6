// CloudWatch Logs subscription payloads: the envelope that carries log events to Firehose, Lambda and files.

import type { InvalidRecord } from '../record-batch.ts';

export type SubscriptionPayloadResult =
  | { readonly kind: 'data'; readonly messages: readonly string[]; readonly invalid: readonly InvalidRecord[] }
  | { readonly kind: 'control' }
  | { readonly kind: 'invalid'; readonly invalid: InvalidRecord };

/** True when a parsed JSON object is shaped like a subscription payload rather than a record. */
export function isSubscriptionPayload(value: object): boolean {
  return 'messageType' in value && 'logEvents' in value;
}

/**
 * The log event messages of a payload. CONTROL_MESSAGE payloads (CloudWatch Logs
 * checking the destination is reachable) carry no records and are skipped.
 */
export function readSubscriptionPayload(value: object): SubscriptionPayloadResult {
  const { messageType, logEvents } = value as { messageType?: unknown; logEvents?: unknown };
  if (messageType === 'CONTROL_MESSAGE') return { kind: 'control' };
  if (messageType !== 'DATA_MESSAGE') {
    return { kind: 'invalid', invalid: { reason: 'bad_envelope', detail: `subscription payload has messageType ${JSON.stringify(messageType)}, expected DATA_MESSAGE or CONTROL_MESSAGE` } };
  }
  if (!Array.isArray(logEvents)) {
    return { kind: 'invalid', invalid: { reason: 'bad_envelope', detail: 'subscription payload logEvents is not an array' } };
  }
  const messages: string[] = [];
  const invalid: InvalidRecord[] = [];
  for (const [index, event] of logEvents.entries()) {
    const message = typeof event === 'object' && event !== null ? (event as { message?: unknown }).message : undefined;
    if (typeof message === 'string') messages.push(message);
    else invalid.push({ reason: 'wrong_type', detail: `subscription payload logEvents[${index}].message is not a string` });
  }
  return { kind: 'data', messages, invalid };
}
