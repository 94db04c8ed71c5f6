// POST /firehose: the Kinesis Data Firehose HTTP endpoint delivery protocol, feeding the same pipeline as every source.
//
// Firehose retries every status but 200 and 413, for as long as its retry duration, so:
// 200 only once every record of the request has been recorded; 413 for what can never
// succeed (a body too large or unreadable, a malformed envelope); 401/403 for a wrong
// access key (a configuration error Firehose should keep retrying until fixed).

import { createHash, timingSafeEqual } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { RecordBatch } from '../record-batch.ts';
import { decodeFirehoseRequest } from '../sources/firehose-envelope.ts';

/** Why a whole request was refused or not counted: the `error` label of kms_exporter_source_errors_total. */
export const FIREHOSE_REQUEST_ERRORS = ['unauthorized', 'forbidden', 'too_large', 'malformed_request', 'retried_request'] as const;

export interface FirehoseRouteDeps {
  readonly accessKey: string;
  /** Largest body, compressed or not, and after gzip decoding. */
  readonly maxBodyBytes: number;
  /** Records the batch; resolves once it is counted (and checkpointed, when there is a checkpoint). */
  readonly deliver: (batch: RecordBatch) => Promise<void>;
  /** A request that failed as a whole, by kind: unauthorized, forbidden, too_large, malformed_request, retried_request. */
  readonly onRequestError: (kind: string, detail: string) => void;
  /** How many request ids to remember, so a retry of a delivered request is not counted again. */
  readonly requestIdCapacity?: number;
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

export function firehoseRoute(deps: FirehoseRouteDeps): (app: FastifyInstance) => Promise<void> {
  // Compared as digests: equal lengths for timingSafeEqual, and no early exit on a length mismatch.
  const expected = digest(deps.accessKey);
  const delivered = new LRUCache<string, true>({ max: deps.requestIdCapacity ?? 100_000 });
  const inFlight = new Map<string, Promise<void>>();

  return async (app) => {
    await app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: deps.maxBodyBytes }, (_request, body, done) => done(null, body));
      scope.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
        const requestId = header(request.headers['x-amz-firehose-request-id']);
        if (error.statusCode === 413) {
          deps.onRequestError('too_large', error.message);
          return answer(reply, 413, requestId, `request body larger than ${deps.maxBodyBytes} bytes`);
        }
        const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? 400 : 500;
        return answer(reply, status, requestId, error.message);
      });

      scope.post('/firehose', async (request, reply) => {
        const headerId = header(request.headers['x-amz-firehose-request-id']);
        const key = header(request.headers['x-amz-firehose-access-key']);
        if (key === undefined || key === '') {
          deps.onRequestError('unauthorized', 'no X-Amz-Firehose-Access-Key');
          return answer(reply, 401, headerId, 'missing access key');
        }
        if (!timingSafeEqual(digest(key), expected)) {
          deps.onRequestError('forbidden', 'wrong X-Amz-Firehose-Access-Key');
          return answer(reply, 403, headerId, 'invalid access key');
        }
        let body = request.body as Buffer;
        if (/\bgzip\b/i.test(header(request.headers['content-encoding']) ?? '')) {
          try {
            body = gunzipSync(body, { maxOutputLength: deps.maxBodyBytes });
          } catch (error) {
            const tooLarge = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
            deps.onRequestError(tooLarge ? 'too_large' : 'malformed_request', tooLarge ? 'decompressed body too large' : 'body is not valid gzip');
            return answer(reply, 413, headerId, tooLarge ? `request body larger than ${deps.maxBodyBytes} bytes once decompressed` : 'Content-Encoding is gzip but the body is not valid gzip');
          }
        }
        // A record is a whole subscription payload (many log events): bounded like the body, not like one CloudTrail record.
        const decoded = decodeFirehoseRequest(body.toString('utf8'), deps.maxBodyBytes);
        if (decoded.kind === 'malformed') {
          deps.onRequestError('malformed_request', decoded.reason);
          return answer(reply, 413, decoded.requestId ?? headerId, `malformed request: ${decoded.reason}`);
        }
        // Firehose sends a retry with the same request id: once recorded (or being recorded,
        // when the retry overtakes a slow first attempt), it is acknowledged, not counted again.
        const pending = inFlight.get(decoded.requestId);
        if (delivered.has(decoded.requestId) || pending !== undefined) {
          deps.onRequestError('retried_request', decoded.requestId);
          await pending;
          return answer(reply, 200, decoded.requestId);
        }
        const delivery = deps.deliver(decoded.batch);
        inFlight.set(decoded.requestId, delivery);
        try {
          await delivery;
          delivered.set(decoded.requestId, true);
        } finally {
          inFlight.delete(decoded.requestId);
        }
        return answer(reply, 200, decoded.requestId);
      });
    });
  };
}
