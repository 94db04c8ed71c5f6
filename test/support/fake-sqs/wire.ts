// The AWS JSON 1.0 wire format the AWS SDK speaks to SQS: X-Amz-Target AmazonSQS.<Operation>, and errors as the SDK reads them.
//
// An error carries its shape in `__type` (com.amazonaws.sqs#QueueDoesNotExist) and the query-protocol code with who is
// at fault in `x-amzn-query-error` (AWS.SimpleQueueService.NonExistentQueue;Sender), which the SDK turns into the
// error's `Code` (awsQueryCompatible). https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-api-responses.html
import type { ServerResponse } from 'node:http';

export const TARGET_PREFIX = 'AmazonSQS.';
export const JSON_CONTENT_TYPE = 'application/x-amz-json-1.0';

export class SqsError extends Error {
  /** The modeled shape: the SDK names the error after it. */
  readonly shape: string;
  /** The query-protocol code (x-amzn-query-error). */
  readonly code: string;
  readonly status: number;
  readonly fault: 'Sender' | 'Receiver';

  constructor(shape: string, message: string, options: { readonly code?: string; readonly status?: number; readonly fault?: 'Sender' | 'Receiver' } = {}) {
    super(message);
    this.name = shape;
    this.shape = shape;
    this.code = options.code ?? shape;
    this.status = options.status ?? 400;
    this.fault = options.fault ?? (this.status >= 500 ? 'Receiver' : 'Sender');
  }
}

export const queueDoesNotExist = (): SqsError => new SqsError('QueueDoesNotExist', 'The specified queue does not exist.', { code: 'AWS.SimpleQueueService.NonExistentQueue' });
export const invalidParameterValue = (message: string): SqsError => new SqsError('InvalidParameterValueException', message, { code: 'InvalidParameterValue' });
export const receiptHandleIsInvalid = (handle: string): SqsError => new SqsError('ReceiptHandleIsInvalid', `The input receipt handle "${handle}" is not a valid receipt handle.`);
export const throttled = (): SqsError => new SqsError('RequestThrottled', 'Rate exceeded');
export const internalError = (): SqsError => new SqsError('InternalError', 'We encountered an internal error. Please try again.', { status: 500 });
export const serviceUnavailable = (): SqsError => new SqsError('ServiceUnavailable', 'Service is unavailable. Try again later.', { status: 503 });

export function sendJson(res: ServerResponse, requestId: string, body: unknown): void {
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(200, { 'Content-Type': JSON_CONTENT_TYPE, 'Content-Length': payload.byteLength, 'x-amzn-RequestId': requestId });
  res.end(payload);
}

export function sendError(res: ServerResponse, requestId: string, error: SqsError): void {
  const payload = Buffer.from(JSON.stringify({ __type: `com.amazonaws.sqs#${error.shape}`, message: error.message }), 'utf8');
  res.writeHead(error.status, {
    'Content-Type': JSON_CONTENT_TYPE,
    'Content-Length': payload.byteLength,
    'x-amzn-RequestId': requestId,
    'x-amzn-query-error': `${error.code};${error.fault}`,
  });
  res.end(payload);
}
