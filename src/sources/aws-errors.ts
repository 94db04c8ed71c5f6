// Names an AWS SDK or network failure by kind: the `error` label of kms_exporter_source_errors_total.

/** A closed set, so the label cannot grow with AWS's error vocabulary. */
export const AWS_ERROR_KINDS = [
  'throttled',
  'server_error',
  'access_denied',
  'not_found',
  'invalid_token',
  'invalid_request',
  'network',
  'timeout',
  'session_ended',
  'other',
] as const;

export type AwsErrorKind = (typeof AWS_ERROR_KINDS)[number];

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET']);

export function awsErrorKind(error: unknown): AwsErrorKind {
  const e = error as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number }; $fault?: string; cause?: unknown };
  const name = e?.name ?? '';
  const status = e?.$metadata?.httpStatusCode;
  if (name === 'AbortError' || name === 'TimeoutError' || e?.code === 'ETIMEDOUT' || name === 'RequestTimeout') return 'timeout';
  if (/Throttl|TooManyRequests|LimitExceeded|RequestLimitExceeded/.test(name) || status === 429) return 'throttled';
  if (/AccessDenied|UnrecognizedClient|InvalidSignature|ExpiredToken|NotAuthorized|Unauthorized/.test(name)) return 'access_denied';
  if (name === 'ResourceNotFoundException') return 'not_found';
  if (name === 'InvalidParameterException' && /token/i.test(e.message ?? '')) return 'invalid_token';
  if (name === 'SessionTimeoutException' || name === 'SessionStreamingException') return 'session_ended';
  if (name === 'InvalidParameterException' || name === 'ValidationException' || name === 'InvalidOperationException') return 'invalid_request';
  if (e?.$fault === 'server' || (status !== undefined && status >= 500)) return 'server_error';
  if (NETWORK_CODES.has(e?.code ?? '') || NETWORK_CODES.has((e?.cause as { code?: string } | undefined)?.code ?? '') || /socket hang up|ECONNRESET|network/i.test(e?.message ?? '')) return 'network';
  return 'other';
}
