// The Firehose source: POST /firehose speaking the Kinesis Data Firehose HTTP endpoint delivery protocol, feeding the same commit as every source.
//
// Firehose retries every status but 200 and 413, for as long as its retry duration, so:
// 200 only once every record of the request is committed; 413 for what can never succeed
// (a body too large or unreadable, a malformed envelope); 401/403 for a wrong access key
// (a configuration error Firehose should keep retrying until fixed); 503 while the state
// store cannot take the batch (nothing of it was counted, the retry will be).

import { createHash, timingSafeEqual } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { NotRestoredError, StateInDoubtError, StateUnavailableError } from '../../errors.ts';
import type { Source, SourceContext, SourceStatus } from '../source.ts';
import { decodeFirehoseRequest } from './firehose-envelope.ts';

/** Why a whole request was refused or not counted: the `error` label of kms_exporter_source_errors_total. */
export const FIREHOSE_REQUEST_ERRORS = ['unauthorized', 'forbidden', 'too_large', 'malformed_request', 'not_committed'] as const;

/** A retry of a request already committed: acknowledged, not counted again. An event, not an error. */
export const FIREHOSE_EVENT_KINDS = ['retried_request'] as const;

export interface FirehoseOptions {
  readonly accessKey: string;
  /** Largest body, compressed or not, and after gzip decoding. */
  readonly maxBodyBytes: number;
  readonly context: SourceContext;
  /** False until the state store is open and restored: requests get 503 rather than waiting. */
  readonly restored: () => boolean;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function answer(reply: FastifyReply, status: number, requestId: string | undefined, errorMessage?: string): FastifyReply {
  const body: Record<string, unknown> = { requestId: requestId ?? '', timestamp: Date.now() };
  if (errorMessage !== undefined) body['errorMessage'] = errorMessage;
  return reply.code(status).type('application/json').send(body);
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A commit failure Firehose should retry: the state store is down, restoring, or another replica holds the records. */
function isRetryable(error: unknown): error is Error {
  return error instanceof StateUnavailableError || error instanceof StateInDoubtError || error instanceof NotRestoredError;
}

export class FirehoseSource implements Source {
  readonly name = 'firehose';
  readonly errorKinds: readonly string[] = FIREHOSE_REQUEST_ERRORS;
  readonly eventKinds: readonly string[] = FIREHOSE_EVENT_KINDS;
  private readonly options: FirehoseOptions;
  // Compared as digests: equal lengths for timingSafeEqual, and no early exit on a length mismatch.
  private readonly expected: Buffer;

  constructor(options: FirehoseOptions) {
    this.options = options;
    this.expected = digest(options.accessKey);
  }

  status(): SourceStatus {
    return { ready: true, detail: 'accepting deliveries on POST /firehose' };
  }

  async run(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  }

  readonly routes = async (app: FastifyInstance): Promise<void> => {
    const { context, maxBodyBytes } = this.options;
    await app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBodyBytes }, (_request, body, done) => done(null, body));
      scope.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
        const requestId = header(request.headers['x-amz-firehose-request-id']);
        if (error.statusCode === 413) {
          context.error('too_large', error.message);
          return answer(reply, 413, requestId, `request body larger than ${maxBodyBytes} bytes`);
        }
        const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? 400 : 500;
        return answer(reply, status, requestId, error.message);
      });

      // Firehose signs its deliveries with X-Amz-Firehose-Access-Key and cannot send basic auth: the web config's users do not apply here.
      scope.post('/firehose', { config: { basicAuth: false } }, async (request, reply) => {
        const headerId = header(request.headers['x-amz-firehose-request-id']);
        const key = header(request.headers['x-amz-firehose-access-key']);
        if (key === undefined || key === '') {
          context.error('unauthorized', 'no X-Amz-Firehose-Access-Key');
          return answer(reply, 401, headerId, 'missing access key');
        }
        if (!timingSafeEqual(digest(key), this.expected)) {
          context.error('forbidden', 'wrong X-Amz-Firehose-Access-Key');
          return answer(reply, 403, headerId, 'invalid access key');
        }
        if (!this.options.restored()) {
          context.error('not_committed', 'state not restored yet');
          return answer(reply, 503, headerId, 'restoring state; retry shortly');
        }
        // Without a Content-Type, Fastify runs no parser and leaves no body: an empty one, malformed like any other.
        let body = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
        if (/\bgzip\b/i.test(header(request.headers['content-encoding']) ?? '')) {
          try {
            body = gunzipSync(body, { maxOutputLength: maxBodyBytes });
          } catch (error) {
            const tooLarge = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
            context.error(tooLarge ? 'too_large' : 'malformed_request', tooLarge ? 'decompressed body too large' : 'body is not valid gzip');
            return answer(reply, 413, headerId, tooLarge ? `request body larger than ${maxBodyBytes} bytes once decompressed` : 'Content-Encoding is gzip but the body is not valid gzip');
          }
        }
        // A record is a whole subscription payload (many log events): bounded like the body, not like one CloudTrail record.
        const decoded = decodeFirehoseRequest(body.toString('utf8'), maxBodyBytes);
        if (decoded.kind === 'malformed') {
          context.error('malformed_request', decoded.reason);
          return answer(reply, 413, decoded.requestId ?? headerId, `malformed request: ${decoded.reason}`);
        }
        try {
          const delivery = await context.deliver(decoded.batch, decoded.requestId);
          if (delivery.kind === 'retry') context.event('retried_request', decoded.requestId);
        } catch (error) {
          if (!isRetryable(error)) throw error;
          context.error('not_committed', error.message);
          return answer(reply, 503, decoded.requestId, `not committed: ${error.message}`);
        }
        return answer(reply, 200, decoded.requestId);
      });
    });
  };
}
