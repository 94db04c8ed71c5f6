// The awsJson1_1 and event-stream wire formats the AWS SDK expects from CloudWatch Logs.
import type { ServerResponse } from 'node:http';
import { EventStreamCodec } from '@smithy/eventstream-codec';

export const TARGET_PREFIX = 'Logs_20140328.';
export const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
export const EVENT_STREAM_CONTENT_TYPE = 'application/vnd.amazon.eventstream';

/**
 * A modeled service error. `code` goes to both `__type` and `x-amzn-ErrorType`, which is
 * where the SDK's awsJson1_1 protocol looks for it (body `__type` first, then the header).
 */
export class ServiceError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, message: string, status = 400) {
    super(message);
    this.name = code;
    this.code = code;
    this.status = status;
  }
}

export const invalidParameter = (message: string): ServiceError =>
  new ServiceError('InvalidParameterException', message);

export const resourceNotFound = (message = 'The specified log group does not exist.'): ServiceError =>
  new ServiceError('ResourceNotFoundException', message);

export function sendJson(res: ServerResponse, requestId: string, body: unknown): void {
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(200, {
    'Content-Type': JSON_CONTENT_TYPE,
    'Content-Length': payload.byteLength,
    'x-amzn-RequestId': requestId,
  });
  res.end(payload);
}

export function sendError(res: ServerResponse, requestId: string, error: ServiceError): void {
  const payload = Buffer.from(JSON.stringify({ __type: error.code, message: error.message }), 'utf8');
  res.writeHead(error.status, {
    'Content-Type': JSON_CONTENT_TYPE,
    'Content-Length': payload.byteLength,
    'x-amzn-RequestId': requestId,
    'x-amzn-ErrorType': error.code,
  });
  res.end(payload);
}

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();
// @smithy/util-utf8 is not a direct dependency here; these are the same two functions.
const codec = new EventStreamCodec(
  (bytes: Uint8Array) => textDecoder.decode(bytes),
  (text: string) => textEncoder.encode(text),
);

/** An event-stream message the SDK routes to the union member named `eventType`. */
export function encodeEvent(eventType: string, payload: unknown): Uint8Array {
  return codec.encode({
    headers: {
      ':message-type': { type: 'string', value: 'event' },
      ':event-type': { type: 'string', value: eventType },
      ':content-type': { type: 'string', value: 'application/json' },
    },
    body: textEncoder.encode(JSON.stringify(payload)),
  });
}

/** A modeled in-stream exception: the SDK throws it, typed, from the response stream iterator. */
export function encodeException(exceptionType: string, message: string): Uint8Array {
  return codec.encode({
    headers: {
      ':message-type': { type: 'string', value: 'exception' },
      ':exception-type': { type: 'string', value: exceptionType },
      ':content-type': { type: 'string', value: 'application/json' },
    },
    body: textEncoder.encode(JSON.stringify({ message })),
  });
}

