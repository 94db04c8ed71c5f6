// Guards a push route against hostile senders before a body byte is buffered: credentials and size in the first hook, one global budget of in-flight body bytes, refused connections closed.
//
// Fastify reads a body only after the onRequest hooks, so a request answered there never
// has its body buffered; the answer carries `Connection: close`, reading stops and the
// socket is destroyed a moment after the answer is written, so a sender that keeps
// streaming is cut off rather than drained.
// Bodies with a Content-Length reserve it from the budget up front; chunked ones reserve
// as their bytes arrive. A reservation lives until the answer is written or the connection
// drops, since the buffered body is held that long.

import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** The bytes of request bodies held at once, across every push route: what hostile senders could make the process buffer. */
export class InflightBudget {
  readonly limit: number;
  private held = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get used(): number {
    return this.held;
  }

  /** Takes `bytes` from the budget, or nothing and false when they do not fit. */
  tryReserve(bytes: number): boolean {
    if (bytes < 0 || this.held + bytes > this.limit) return false;
    this.held += bytes;
    return true;
  }

  release(bytes: number): void {
    this.held = Math.max(0, this.held - bytes);
  }
}

/** Why a request is refused before its body is read: the status, the counted kind and the message in the answer. */
export interface Refusal {
  readonly status: number;
  readonly kind: string;
  readonly message: string;
  /** The operator's log line, when it should say more (or less) than the answer. */
  readonly detail?: string;
}

export interface PushGuardOptions {
  readonly budget: InflightBudget;
  readonly maxBodyBytes: number;
  /** Checks the request's credentials from its headers alone; a refusal is answered before the body is read. */
  readonly authenticate: (request: FastifyRequest) => Refusal | undefined;
  /** Answers a refusal in the route's own format; the guard adds `Connection: close` and closes the connection after it. */
  readonly refuse: (request: FastifyRequest, reply: FastifyReply, refusal: Refusal) => FastifyReply;
}

/** The budget ran out while a chunked body streamed in: Firehose retries a 503, and the retry may fit. */
export class BudgetExhaustedError extends Error {
  override readonly name = 'BudgetExhaustedError';
  readonly code = 'KMS_EXPORTER_PUSH_BUDGET_FULL';
  readonly statusCode = 503;

  constructor(limit: number) {
    super(`the exporter holds ${limit} bytes of request bodies already; retry shortly`);
  }
}

const RESERVED = Symbol('push-guard.reserved');
const RELEASED = Symbol('push-guard.released');

interface Guarded {
  [RESERVED]?: number;
  [RELEASED]?: boolean;
}

/** How long a refused connection lingers, not read, before it is destroyed. */
const LINGER_MS = 1000;

/** The part of a socket's native handle that stops reading; not in Node's types. */
interface ReadableHandle {
  readonly _handle?: { readonly readStop?: () => number } | null;
}

/**
 * Closes the connection once the answer is written: a refused sender's remaining body is never read.
 *
 * Node ends a `Connection: close` socket once the answer is written and destroys it; a
 * sender still writing its body then gets a reset, which can discard the answer before it
 * reads it (200 senders of 10 MiB: about half never saw their 401). So the socket lingers
 * instead, as nginx's lingering close does, but without reading: reading stops, the answer
 * and a FIN go out, and the socket is destroyed a moment later. What the sender keeps
 * sending waits in the kernel's bounded buffers, never in the process.
 */
export function closeAfterReply(request: FastifyRequest, reply: FastifyReply): void {
  reply.header('connection', 'close');
  const socket = request.raw.socket as typeof request.raw.socket | null;
  // app.inject has no real socket to close.
  if (socket === null || typeof socket.destroy !== 'function') return;
  socket.destroySoon = () => {
    (socket as unknown as ReadableHandle)._handle?.readStop?.();
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
  // Whatever Node does once the answer is out, the connection does not outlive the linger.
  reply.raw.once('finish', () => setTimeout(() => socket.destroy(), LINGER_MS).unref());
}

function contentLength(request: FastifyRequest): number | undefined {
  const header = request.headers['content-length'];
  if (header === undefined) return undefined;
  const length = Number(header);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

/** Adds the guard's hooks to a route scope (an encapsulated plugin): they apply to that scope's routes only. */
export function guardPushRoutes(scope: FastifyInstance, options: PushGuardOptions): void {
  const { budget, maxBodyBytes } = options;
  const reserve = (request: FastifyRequest, reply: FastifyReply, bytes: number): boolean => {
    const guarded = request as Guarded;
    // Chunks still streaming in after the answer (a body cut off at its size limit) are discarded, not held:
    // reserving them now would keep them reserved for good, since the release already ran.
    if (guarded[RELEASED] === true) return true;
    if (!budget.tryReserve(bytes)) return false;
    // The answer's 'close' follows its 'finish', and also fires when the sender drops the connection mid-body.
    if (guarded[RESERVED] === undefined) reply.raw.once('close', () => releaseAll(request));
    guarded[RESERVED] = (guarded[RESERVED] ?? 0) + bytes;
    return true;
  };
  const releaseAll = (request: FastifyRequest): void => {
    const guarded = request as Guarded;
    budget.release(guarded[RESERVED] ?? 0);
    guarded[RESERVED] = 0;
    guarded[RELEASED] = true;
  };
  const refuse = (request: FastifyRequest, reply: FastifyReply, refusal: Refusal): FastifyReply => {
    closeAfterReply(request, reply);
    return options.refuse(request, reply, refusal);
  };

  scope.addHook('onRequest', async (request, reply) => {
    const refusal = options.authenticate(request);
    if (refusal !== undefined) return refuse(request, reply, refusal);
    const length = contentLength(request);
    if (length === undefined) return undefined;
    if (length > maxBodyBytes) return refuse(request, reply, { status: 413, kind: 'too_large', message: `request body larger than ${maxBodyBytes} bytes` });
    if (!reserve(request, reply, length)) return refuse(request, reply, { status: 503, kind: 'over_budget', message: `the exporter holds ${budget.limit} bytes of request bodies already; retry shortly` });
    return undefined;
  });

  // A body without a Content-Length (chunked) reserves as it streams in.
  scope.addHook('preParsing', async (request, reply, payload) => {
    if (contentLength(request) !== undefined) return payload;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
        if (!reserve(request, reply, chunk.length)) {
          closeAfterReply(request, reply);
          callback(new BudgetExhaustedError(budget.limit));
          return;
        }
        callback(null, chunk);
      },
    });
    payload.on('error', (error) => counted.destroy(error));
    return payload.pipe(counted);
  });
}
