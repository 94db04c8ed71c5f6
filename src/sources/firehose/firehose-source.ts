// The Firehose source: POST /firehose speaking the Kinesis Data Firehose HTTP endpoint delivery protocol, feeding the same commit as every source.
//
// A stream may carry CloudWatch Logs subscription payloads, EventBridge events (a rule
// targeting the stream), or both: each record is told apart by its first bytes (firehose-envelope.ts).
//
// Firehose retries every status but 200 and 413, for as long as its retry duration, so:
// 200 only once every record of the request is committed; 413 for what can never succeed
// (a body too large or unreadable, a malformed envelope); 401/403 for a wrong access key
// (a configuration error Firehose should keep retrying until fixed); 503 while the state
// store cannot take the batch or the in-flight body budget is full (nothing of it was
// counted, the retry will be). The key, the size and the budget are checked by the push
// guard before the body is read; a refused connection is closed.

import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NotRestoredError, StateInDoubtError, StateUnavailableError } from '../../errors.ts';
import { BudgetExhaustedError, closeAfterReply, guardPushRoutes } from '../../serve/push-guard.ts';
import type { InflightBudget, Refusal } from '../../serve/push-guard.ts';
import type { Source, SourceContext, SourceStatus } from '../source.ts';
import { decodeFirehoseRequest } from './firehose-envelope.ts';
import { SharedSecret } from '../../serve/shared-secret.ts';

/** Why a whole request was refused or not counted: the `error` label of kms_exporter_source_errors_total. */
export const FIREHOSE_REQUEST_ERRORS = ['unauthorized', 'forbidden', 'too_large', 'malformed_request', 'not_committed', 'over_budget'] as const;

/** A retry of a request already committed: acknowledged, not counted again. An event, not an error. */
export const FIREHOSE_EVENT_KINDS = ['retried_request'] as const;

export interface FirehoseOptions {
  readonly accessKey: string;
  /** Largest body, compressed or not, and after gzip decoding. */
  readonly maxBodyBytes: number;
  /** Largest log event (one CloudTrail record) inside a record: --max-record-bytes. */
  readonly maxRecordBytes: number;
  /** The in-flight body bytes shared by every push route. */
  readonly budget: InflightBudget;
  readonly context: SourceContext;
  /** False until the state store is open and restored: requests get 503 rather than waiting. */
  readonly restored: () => boolean;
}

function answer(reply: FastifyReply, status: number, requestId: string | undefined, errorMessage?: string): FastifyReply {
  const body: Record<string, unknown> = { requestId: requestId ?? '', timestamp: Date.now() };
  if (errorMessage !== undefined) body['errorMessage'] = errorMessage;
  return reply.code(status).type('application/json').send(body);
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

const inflate = promisify(gunzip);

/** The request id to echo in an answer (Node bounds the headers at 16 KiB; the header's id is never remembered). */
function headerRequestId(request: FastifyRequest): string | undefined {
  return header(request.headers['x-amz-firehose-request-id']);
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
  private readonly accessKey: SharedSecret;

  constructor(options: FirehoseOptions) {
    this.options = options;
    this.accessKey = new SharedSecret(options.accessKey);
  }

  status(): SourceStatus {
    return { ready: true, detail: 'accepting deliveries on POST /firehose' };
  }

  async run(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  }

  /** The key check, from the headers alone: run before the body is read. */
  private authenticate(request: FastifyRequest): Refusal | undefined {
    const key = header(request.headers['x-amz-firehose-access-key']);
    if (key === undefined || key === '') return { status: 401, kind: 'unauthorized', message: 'missing access key', detail: 'no X-Amz-Firehose-Access-Key' };
    if (!this.accessKey.matches(key)) return { status: 403, kind: 'forbidden', message: 'invalid access key', detail: 'wrong X-Amz-Firehose-Access-Key' };
    // Nothing can be committed yet: refuse before reading rather than buffer a body to throw away.
    if (!this.options.restored()) return { status: 503, kind: 'not_committed', message: 'restoring state; retry shortly', detail: 'state not restored yet' };
    return undefined;
  }

  readonly routes = async (app: FastifyInstance): Promise<void> => {
    const { context, maxBodyBytes, maxRecordBytes, budget } = this.options;
    await app.register(async (scope) => {
      guardPushRoutes(scope, {
        budget,
        maxBodyBytes,
        authenticate: (request) => this.authenticate(request),
        refuse: (request, reply, refusal) => {
          context.error(refusal.kind, refusal.detail ?? refusal.message);
          return answer(reply, refusal.status, headerRequestId(request), refusal.message);
        },
      });
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBodyBytes }, (_request, body, done) => done(null, body));
      scope.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
        const requestId = headerRequestId(request);
        // The body was not read to its end: nothing more of it is wanted.
        closeAfterReply(request, reply);
        if (error.statusCode === 413) {
          context.error('too_large', error.message);
          return answer(reply, 413, requestId, `request body larger than ${maxBodyBytes} bytes`);
        }
        if (error instanceof BudgetExhaustedError) {
          context.error('over_budget', error.message);
          return answer(reply, 503, requestId, error.message);
        }
        // Firehose always sends application/json; a Content-Type that does not even parse can never succeed, and only 413 stops its retries.
        if (error.statusCode === 415) {
          context.error('malformed_request', 'the Content-Type header is not a media type');
          return answer(reply, 413, requestId, 'malformed request: the Content-Type header is not a media type');
        }
        const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? 400 : 500;
        return answer(reply, status, requestId, error.message);
      });

      // Firehose signs its deliveries with X-Amz-Firehose-Access-Key and cannot send basic auth: the web config's users do not apply here.
      scope.post('/firehose', { config: { basicAuth: false } }, async (request, reply) => {
        const headerId = headerRequestId(request);
        // Without a Content-Type, Fastify runs no parser and leaves no body: an empty one, malformed like any other.
        let body = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
        if (/\bgzip\b/i.test(header(request.headers['content-encoding']) ?? '')) {
          try {
            body = await inflate(body, { maxOutputLength: maxBodyBytes });
          } catch (error) {
            const tooLarge = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
            context.error(tooLarge ? 'too_large' : 'malformed_request', tooLarge ? 'decompressed body too large' : 'body is not valid gzip');
            return answer(reply, 413, headerId, tooLarge ? `request body larger than ${maxBodyBytes} bytes once decompressed` : 'Content-Encoding is gzip but the body is not valid gzip');
          }
        }
        // A record is a whole subscription payload (many log events): bounded like the body, not like one CloudTrail record.
        const decoded = await decodeFirehoseRequest(body.toString('utf8'), { maxPayloadBytes: maxBodyBytes, maxRecordBytes });
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
