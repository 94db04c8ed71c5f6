// Kinesis Data Firehose's HTTP endpoint request, as it delivers CloudWatch Logs subscription payloads: build one, post it, and retry it the way Firehose does.

import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';

/** A CloudWatch Logs subscription payload carrying `messages` as log events, gzip-compressed and base64-encoded: one Firehose record. */
export function subscriptionRecord(messages: readonly string[], messageType = 'DATA_MESSAGE'): string {
  const payload = {
    messageType,
    owner: '111122223333',
    logGroup: 'aws-cloudtrail-logs-111122223333',
    logStream: '111122223333_CloudTrail_us-east-1',
    subscriptionFilters: ['kms-changes'],
    logEvents: messages.map((message, i) => ({ id: `${37_000_000_000_000 + i}`, timestamp: 1_795_000_000_000, message })),
  };
  return gzipSync(JSON.stringify(payload)).toString('base64');
}

export interface FirehoseRequest {
  readonly requestId: string;
  /** Firehose records: `{ data: base64 }`. */
  readonly records: readonly { readonly data: string }[];
  /** Content-Encoding: gzip on the whole body, as Firehose sends when asked to. */
  readonly gzip?: boolean;
}

export interface FirehoseAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** One POST /firehose with the headers Firehose sends; rejects on a network failure (refused, reset, timed out). */
export async function postFirehose(address: string, accessKey: string, request: FirehoseRequest, timeoutMs = 10_000): Promise<FirehoseAnswer> {
  const json = Buffer.from(JSON.stringify({ requestId: request.requestId, timestamp: Date.now(), records: request.records }));
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-amz-firehose-protocol-version': '1.0',
    'x-amz-firehose-request-id': request.requestId,
    'x-amz-firehose-source-arn': 'arn:aws:firehose:us-east-1:111122223333:deliverystream/kms-changes',
    'x-amz-firehose-access-key': accessKey,
  };
  let body = json;
  if (request.gzip === true) {
    body = gzipSync(json);
    headers['content-encoding'] = 'gzip';
  }
  const response = await fetch(`${address}/firehose`, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export interface InjectRequest {
  readonly method: 'POST';
  readonly url: '/firehose';
  readonly headers: Record<string, string>;
  readonly payload: string;
}

/** The same request for `app.inject`: `messages` in one record. */
export function firehoseRequest(messages: readonly string[], options: { readonly key: string; readonly requestId?: string }): InjectRequest {
  const requestId = options.requestId ?? randomUUID();
  return {
    method: 'POST',
    url: '/firehose',
    headers: {
      'content-type': 'application/json',
      'x-amz-firehose-protocol-version': '1.0',
      'x-amz-firehose-request-id': requestId,
      'x-amz-firehose-source-arn': 'arn:aws:firehose:us-east-1:111122223333:deliverystream/kms-changes',
      'x-amz-firehose-access-key': options.key,
    },
    payload: JSON.stringify({ requestId, timestamp: Date.now(), records: [{ data: subscriptionRecord(messages) }] }),
  };
}
