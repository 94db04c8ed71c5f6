// awsErrorKind over representative SDK and network error shapes: the closed set of `error` label values, and never a throw.
import t from 'tap';
import fc from 'fast-check';
import {
  AccessDeniedException,
  InternalServerException,
  InvalidOperationException,
  InvalidParameterException,
  LimitExceededException,
  ResourceNotFoundException,
  ServiceUnavailableException,
  SessionStreamingException,
  SessionTimeoutException,
  ThrottlingException,
  UnrecognizedClientException,
  ValidationException,
} from '@aws-sdk/client-cloudwatch-logs';
import { NoSuchBucket, NoSuchKey } from '@aws-sdk/client-s3';
import { KmsThrottled, QueueDoesNotExist, RequestThrottled } from '@aws-sdk/client-sqs';
import { AWS_ERROR_KINDS, awsErrorKind } from '../../src/sources/aws-errors.ts';

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });
const named = (name: string, message: string, extra: object = {}) => Object.assign(new Error(message), { name, ...extra });

const CASES: [string, unknown, (typeof AWS_ERROR_KINDS)[number]][] = [
  ['ThrottlingException (the SDK class)', new ThrottlingException({ message: 'Rate exceeded', ...meta(400) }), 'throttled'],
  ['ThrottlingException (a plain error shaped like it)', named('ThrottlingException', 'Rate exceeded', meta(400)), 'throttled'],
  ['TooManyRequestsException', named('TooManyRequestsException', 'Too many requests', meta(429)), 'throttled'],
  ['LimitExceededException', new LimitExceededException({ message: 'Resource limit exceeded', ...meta(400) }), 'throttled'],
  ['an unmodeled 429', named('Unknown', 'UnknownError', meta(429)), 'throttled'],
  ['AccessDeniedException', new AccessDeniedException({ message: 'User is not authorized to perform: logs:FilterLogEvents', ...meta(400) }), 'access_denied'],
  ['UnrecognizedClientException (bad key)', new UnrecognizedClientException({ message: 'The security token included in the request is invalid.', ...meta(400) }), 'access_denied'],
  ['ExpiredTokenException', named('ExpiredTokenException', 'The security token included in the request is expired', meta(400)), 'credentials'],
  ['no credentials anywhere (the default chain found none)', named('CredentialsProviderError', 'Could not load credentials from any providers'), 'credentials'],
  ['InvalidSignatureException', named('InvalidSignatureException', 'Signature expired', meta(400)), 'access_denied'],
  // The SDK names a 403 it cannot read (a proxy's or VPC endpoint's page) Unknown, or a SyntaxError from its JSON parser.
  ['an unmodeled 403', named('Unknown', 'UnknownError', meta(403)), 'access_denied'],
  ['a 403 whose body is not JSON', named('SyntaxError', 'Unexpected token \'<\', "<html>Forb"... is not valid JSON', meta(403)), 'access_denied'],
  ['an unmodeled 401', named('Unknown', 'UnknownError', meta(401)), 'access_denied'],
  ['SQS QueueDoesNotExist', new QueueDoesNotExist({ message: 'The specified queue does not exist.', ...meta(400) }), 'not_found'],
  ['SQS RequestThrottled', new RequestThrottled({ message: 'Rate exceeded', ...meta(400) }), 'throttled'],
  ['SQS KmsThrottled (an SSE-KMS queue)', new KmsThrottled({ message: 'Rate exceeded', ...meta(400) }), 'throttled'],
  // S3 throttles with 503 SlowDown (an unmodeled code, so a plain S3ServiceException named by it).
  ['S3 SlowDown', named('SlowDown', 'Please reduce your request rate.', meta(503)), 'throttled'],
  ['S3 NoSuchKey', new NoSuchKey({ message: 'The specified key does not exist.', ...meta(404) }), 'not_found'],
  ['S3 NoSuchBucket', new NoSuchBucket({ message: 'The specified bucket does not exist', ...meta(404) }), 'not_found'],
  ['ResourceNotFoundException', new ResourceNotFoundException({ message: 'The specified log group does not exist.', ...meta(400) }), 'not_found'],
  ['InvalidParameterException about the nextToken', new InvalidParameterException({ message: 'The specified nextToken is invalid.', ...meta(400) }), 'invalid_token'],
  ['InvalidParameterException about anything else', new InvalidParameterException({ message: 'Invalid filter pattern', ...meta(400) }), 'invalid_request'],
  ['ValidationException', new ValidationException({ message: '1 validation error detected', ...meta(400) }), 'invalid_request'],
  ['InvalidOperationException', new InvalidOperationException({ message: 'The operation is not valid on the specified resource.', ...meta(400) }), 'invalid_request'],
  ['ServiceUnavailableException', new ServiceUnavailableException({ message: 'The server failed to process the request', ...meta(503) }), 'server_error'],
  ['InternalServerException', new InternalServerException({ message: 'Internal error', ...meta(500) }), 'server_error'],
  ['a 502 whose body is not JSON (a load balancer page)', named('SyntaxError', 'Unexpected token \'<\', "<html>" is not valid JSON', meta(502)), 'server_error'],
  ['SessionStreamingException (a live-tail stream broke)', new SessionStreamingException({ message: 'Internal streaming error', $metadata: {} }), 'network'],
  ['ECONNRESET', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'network'],
  ['ECONNREFUSED as the cause', Object.assign(new Error('fetch failed'), { cause: { code: 'ECONNREFUSED' } }), 'network'],
  ['ENOTFOUND (DNS)', Object.assign(new Error('getaddrinfo ENOTFOUND logs.us-east-1.amazonaws.com'), { code: 'ENOTFOUND' }), 'network'],
  ['socket hang up', new Error('socket hang up'), 'network'],
  ['TimeoutError (the SDK handler)', named('TimeoutError', 'Connection timed out after 5000 ms'), 'timeout'],
  ['ETIMEDOUT', Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }), 'timeout'],
  ['AbortError', named('AbortError', 'Request aborted'), 'timeout'],
  // Not an error of live tail: the source counts it as the event session_ended before it gets here.
  ['SessionTimeoutException', new SessionTimeoutException({ message: 'Session timed out', $metadata: {} }), 'other'],
  ['a plain Error', new Error('something unexpected'), 'other'],
  ['a string', 'boom', 'other'],
  ['undefined', undefined, 'other'],
  ['null', null, 'other'],
  // fast-check found these: a name or message that cannot be turned into a string.
  ['a message whose toString is not a function', { message: { toString: [] } }, 'other'],
  ['a name whose toString is not a function', { name: { toString: [] }, $metadata: { httpStatusCode: 503 } }, 'server_error'],
];

t.test('each representative error shape has its kind', async (t) => {
  for (const [what, error, kind] of CASES) t.equal(awsErrorKind(error), kind, what);
});

t.test('property: any value at all gets a kind from the closed set, without a throw', async (t) => {
  const shapes = fc.oneof(
    fc.anything(),
    fc.record({ name: fc.string(), message: fc.anything(), code: fc.anything(), $fault: fc.constantFrom('client', 'server', undefined), $metadata: fc.record({ httpStatusCode: fc.integer({ min: 100, max: 599 }) }), cause: fc.anything() }, { requiredKeys: [] }),
  );
  const result = fc.check(fc.property(shapes, (error) => (AWS_ERROR_KINDS as readonly string[]).includes(awsErrorKind(error))), { numRuns: 1000 });
  t.ok(!result.failed, result.failed ? (fc.defaultReportMessage(result) ?? '') : 'always one of AWS_ERROR_KINDS');
});
