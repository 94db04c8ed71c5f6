// Names an AWS SDK or network failure by kind: the `error` label of kms_exporter_source_errors_total.

/** A closed set, so the label cannot grow with AWS's error vocabulary. */
export const AWS_ERROR_KINDS = [
  'throttled',
  'server_error',
  'access_denied',
  'credentials',
  'not_found',
  'invalid_token',
  'invalid_request',
  'network',
  'timeout',
  'other',
] as const;

export type AwsErrorKind = (typeof AWS_ERROR_KINDS)[number];

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET']);

export function awsErrorKind(error: unknown): AwsErrorKind {
  const e = error as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number }; $fault?: string; cause?: unknown };
  // Read as strings only when they are: this runs in a source's catch, where a throw would stop the source.
  const name = typeof e?.name === 'string' ? e.name : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  const status = e?.$metadata?.httpStatusCode;
  if (name === 'AbortError' || name === 'TimeoutError' || e?.code === 'ETIMEDOUT' || name === 'RequestTimeout') return 'timeout';
  // S3 throttles with a 503 named SlowDown.
  if (/Throttl|TooManyRequests|LimitExceeded|RequestLimitExceeded|^SlowDown$/.test(name) || status === 429) return 'throttled';
  // No credentials found by the default chain, or expired ones: a different fix from a missing permission.
  if (name === 'CredentialsProviderError' || name === 'TokenProviderError' || /ExpiredToken|RequestExpired/.test(name) || /Could not load credentials/.test(message)) return 'credentials';
  // By status too: a 401/403 the SDK cannot read (a proxy's or VPC endpoint's page) is named Unknown or SyntaxError.
  if (/AccessDenied|UnrecognizedClient|InvalidSignature|ExpiredToken|NotAuthorized|Unauthorized/.test(name) || status === 401 || status === 403) return 'access_denied';
  // SQS names a missing queue QueueDoesNotExist (query code AWS.SimpleQueueService.NonExistentQueue); KMS a missing key NotFoundException; S3 NoSuchKey and NoSuchBucket.
  if (name === 'ResourceNotFoundException' || name === 'NotFoundException' || name === 'QueueDoesNotExist' || name === 'NoSuchKey' || name === 'NoSuchBucket') return 'not_found';
  if (name === 'InvalidParameterException' && /token/i.test(message)) return 'invalid_token';
  // A live-tail session ending on time (SessionTimeoutException) is an event the source counts, not an error.
  if (name === 'SessionStreamingException') return 'network';
  if (name === 'InvalidParameterException' || name === 'ValidationException' || name === 'InvalidOperationException' || name === 'KMSInvalidStateException') return 'invalid_request';
  if (e?.$fault === 'server' || (status !== undefined && status >= 500)) return 'server_error';
  if (NETWORK_CODES.has(e?.code ?? '') || NETWORK_CODES.has((e?.cause as { code?: string } | undefined)?.code ?? '') || /socket hang up|ECONNRESET|network/i.test(message)) return 'network';
  return 'other';
}
