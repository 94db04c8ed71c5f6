// The EventBridge source: POST /eventbridge for an API destination, one event per request, counted through the same commit as every source before the answer.
//
// What EventBridge does with each answer (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html,
// "API destination error retry behavior" and the timeout note): it retries 401, 407, 409, 429 and 5xx answers and times
// out a request after 5 seconds (retried too), for up to 24 hours and 185 attempts by default, then drops the event or
// puts it in the rule's dead-letter queue; every other 4xx is final. So:
//   200  counted (matched, ignored, or a duplicate of an event already counted);
//   400  the event can never be counted: not JSON, not an object, not CloudTrail. Counted invalid first; not retried;
//   401  missing or wrong credentials (API key or basic): retried, so events still arrive once a rotated key is fixed;
//   413  larger than any event EventBridge can send (not retried);
//   503  nothing of it was committed yet (state store down or restoring, body budget full, commit slower than the
//        answer deadline): retried, and the retry is safe, since a commit that finished late made the event a
//        duplicate by its CloudTrail eventID.
// Credentials, size and budget are checked from the headers, before the body is read (push guard).

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { jsonErrorDetail } from '../../decode/json-error.ts';
import { NotRestoredError, StateInDoubtError, StateUnavailableError } from '../../errors.ts';
import type { BatchOutcome } from '../../pipeline.ts';
import type { RecordBatch } from '../../record-batch.ts';
import { BudgetExhaustedError, closeAfterReply, guardPushRoutes } from '../../serve/push-guard.ts';
import type { InflightBudget, Refusal } from '../../serve/push-guard.ts';
import type { DeliveryOutcome, Source, SourceContext, SourceStatus } from '../source.ts';
import { SharedSecret } from '../../serve/shared-secret.ts';

/**
 * The largest body: a PutEvents entry is at most 256 KB, and "the event in EventBridge is always larger than the entry
 * size due to the necessary characters and keys of the JSON representation of the event"
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html): 256 KiB, plus 8 KiB for the
 * envelope's keys, id, account, region and time. A larger body is not an event EventBridge sent.
 */
export const EVENTBRIDGE_MAX_BODY_BYTES = 256 * 1024 + 8 * 1024;

/** Why a request was refused or not counted: the `error` label of kms_exporter_source_errors_total. */
export const EVENTBRIDGE_REQUEST_ERRORS = ['unauthorized', 'too_large', 'malformed_request', 'not_committed', 'over_budget', 'commit_timeout'] as const;

/** A commit that finished after its request was answered 503 (EventBridge's retry will be a duplicate). An event, not an error. */
export const EVENTBRIDGE_EVENT_KINDS = ['late_commit'] as const;

/** Commits answered before they settled, at most: each holds its event; beyond this, requests get 503 before their body is read. */
export const EVENTBRIDGE_MAX_LATE_COMMITS = 64;

export interface EventBridgeCredentials {
  /** The connection's API key, sent in `header` (lower case). */
  readonly apiKey?: { readonly header: string; readonly value: string };
  /** The connection's basic auth user and password. */
  readonly basic?: { readonly user: string; readonly password: string };
}

export interface EventBridgeOptions {
  readonly credentials: EventBridgeCredentials;
  /** How long a request may take, from its arrival to its answer, before it is answered 503 (EventBridge gives up at 5 s). */
  readonly answerWithin: number;
  /** Largest event (one CloudTrail record in its envelope): --max-record-bytes. */
  readonly maxRecordBytes: number;
  /** The in-flight body bytes shared by every push route. */
  readonly budget: InflightBudget;
  readonly context: SourceContext;
  /** False until the state store is open and restored: requests get 503 rather than waiting. */
  readonly restored: () => boolean;
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A commit failure EventBridge should retry: the state store is down, restoring, or another replica holds the event. */
function isRetryable(error: unknown): error is Error {
  return error instanceof StateUnavailableError || error instanceof StateInDoubtError || error instanceof NotRestoredError;
}

function answer(reply: FastifyReply, status: number, body: Record<string, unknown>): FastifyReply {
  return reply.code(status).type('application/json').send(body);
}

/** What one event did, for the answer: the result it was counted under. */
function resultOf(outcome: BatchOutcome): 'matched' | 'duplicate' | 'invalid' | 'ignored' {
  if (outcome.matched > 0) return 'matched';
  if (outcome.duplicate > 0) return 'duplicate';
  if (outcome.invalid > 0) return 'invalid';
  return 'ignored';
}

/** The one record of a request body, or why it is none. */
function eventOf(body: Buffer, maxRecordBytes: number): RecordBatch {
  const none = (reason: 'malformed_json' | 'not_an_object' | 'too_large', detail: string): RecordBatch => ({ records: [], skipped: 0, invalid: [{ reason, detail }] });
  if (body.length > maxRecordBytes) return none('too_large', `the event is larger than ${maxRecordBytes} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (error) {
    return none('malformed_json', `the request body is not JSON: ${jsonErrorDetail(error)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return none('not_an_object', 'the request body is not a JSON object');
  return { records: [value], skipped: 0, invalid: [] };
}

const TIMED_OUT = Symbol('timed out');

export class EventBridgeSource implements Source {
  readonly name = 'eventbridge';
  readonly errorKinds: readonly string[] = EVENTBRIDGE_REQUEST_ERRORS;
  readonly eventKinds: readonly string[] = EVENTBRIDGE_EVENT_KINDS;
  private readonly options: EventBridgeOptions;
  private readonly apiKey: { readonly header: string; readonly secret: SharedSecret } | undefined;
  private readonly basic: SharedSecret | undefined;
  private late = 0;

  constructor(options: EventBridgeOptions) {
    this.options = options;
    const { apiKey, basic } = options.credentials;
    this.apiKey = apiKey === undefined ? undefined : { header: apiKey.header.toLowerCase(), secret: new SharedSecret(apiKey.value) };
    this.basic = basic === undefined ? undefined : new SharedSecret(`Basic ${Buffer.from(`${basic.user}:${basic.password}`).toString('base64')}`);
  }

  status(): SourceStatus {
    return { ready: true, detail: 'accepting events on POST /eventbridge' };
  }

  async run(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  }

  /** Whether the request carries the connection's API key or its basic credentials; each configured one is compared, in constant time. */
  private authorized(request: FastifyRequest): boolean {
    let ok = false;
    if (this.apiKey !== undefined) {
      const key = header(request.headers[this.apiKey.header]);
      if (key !== undefined && key !== '' && this.apiKey.secret.matches(key)) ok = true;
    }
    if (this.basic !== undefined) {
      const authorization = header(request.headers.authorization);
      // Either order of the scheme's case: RFC 7617 makes it case-insensitive; EventBridge sends "Basic".
      const normalised = authorization?.replace(/^basic /i, 'Basic ');
      if (normalised !== undefined && this.basic.matches(normalised)) ok = true;
    }
    return ok;
  }

  /** The checks from the headers alone: run before the body is read. */
  private authenticate(request: FastifyRequest): Refusal | undefined {
    if (!this.authorized(request)) {
      const which = [this.apiKey === undefined ? [] : [`no valid ${this.apiKey.header} header`], this.basic === undefined ? [] : ['no valid basic credentials']].flat().join(' and ');
      return { status: 401, kind: 'unauthorized', message: 'unauthorized', detail: which };
    }
    if (!this.options.restored()) return { status: 503, kind: 'not_committed', message: 'restoring state; retry shortly', detail: 'state not restored yet' };
    if (this.late >= EVENTBRIDGE_MAX_LATE_COMMITS) {
      return { status: 503, kind: 'not_committed', message: 'the state store is slow; retry shortly', detail: `${this.late} commits answered before they finished are still waiting` };
    }
    return undefined;
  }

  /** Commits the batch, or gives up waiting after `ms` (the commit goes on; a retry of it will be a duplicate). */
  private async deliverWithin(batch: RecordBatch, ms: number): Promise<DeliveryOutcome | typeof TIMED_OUT> {
    const { context } = this.options;
    const delivery = context.deliver(batch);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, ms));
    });
    try {
      const first = await Promise.race([delivery, timeout]);
      if (first === TIMED_OUT) {
        this.late++;
        delivery.then(
          () => context.event('late_commit', 'a commit answered 503 finished; its retry will be a duplicate'),
          () => {},
        ).finally(() => this.late--).catch(() => {});
      }
      return first;
    } finally {
      clearTimeout(timer);
    }
  }

  readonly routes = async (app: FastifyInstance): Promise<void> => {
    const { context, budget, answerWithin, maxRecordBytes } = this.options;
    const challenge = this.basic === undefined ? undefined : 'Basic realm="kms-change-exporter", charset="UTF-8"';
    await app.register(async (scope) => {
      guardPushRoutes(scope, {
        budget,
        maxBodyBytes: EVENTBRIDGE_MAX_BODY_BYTES,
        authenticate: (request) => this.authenticate(request),
        refuse: (_request, reply, refusal) => {
          context.error(refusal.kind, refusal.detail ?? refusal.message);
          if (refusal.status === 401 && challenge !== undefined) void reply.header('www-authenticate', challenge);
          return answer(reply, refusal.status, { error: refusal.kind, message: refusal.message });
        },
      });
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: EVENTBRIDGE_MAX_BODY_BYTES }, (_request, body, done) => done(null, body));
      scope.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
        closeAfterReply(request, reply);
        if (error.statusCode === 413) {
          context.error('too_large', error.message);
          return answer(reply, 413, { error: 'too_large', message: `request body larger than ${EVENTBRIDGE_MAX_BODY_BYTES} bytes` });
        }
        if (error instanceof BudgetExhaustedError) {
          context.error('over_budget', error.message);
          return answer(reply, 503, { error: 'over_budget', message: error.message });
        }
        // A Content-Type that does not parse can never succeed: a final 400, not a retried one.
        if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
          context.error('malformed_request', error.message);
          return answer(reply, 400, { error: 'malformed_request', message: error.message });
        }
        return answer(reply, 500, { error: 'internal', message: error.message });
      });

      // The connection's own credentials authenticate this route: the web config's users are not asked for.
      scope.post('/eventbridge', { config: { basicAuth: false } }, async (request, reply) => {
        // Without a Content-Type, Fastify runs no parser and leaves no body: an empty one, malformed like any other.
        const body = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
        const batch = eventOf(body, maxRecordBytes);
        let delivery: DeliveryOutcome | typeof TIMED_OUT;
        try {
          delivery = await this.deliverWithin(batch, answerWithin - reply.elapsedTime);
        } catch (error) {
          if (!isRetryable(error)) throw error;
          context.error('not_committed', error.message);
          return answer(reply, 503, { error: 'not_committed', message: `not committed: ${error.message}` });
        }
        if (delivery === TIMED_OUT) {
          context.error('commit_timeout', `the commit took longer than ${answerWithin} ms; answered 503 so that EventBridge retries`);
          return answer(reply, 503, { error: 'commit_timeout', message: `not committed within ${answerWithin} ms; retry` });
        }
        const result = delivery.kind === 'committed' ? resultOf(delivery.outcome) : 'duplicate';
        if (result === 'invalid') {
          const detail = batch.invalid[0]?.detail ?? 'the event is not an EventBridge event carrying a CloudTrail record, nor a CloudTrail record';
          return answer(reply, 400, { result, message: `counted invalid: ${detail}` });
        }
        return answer(reply, 200, { result });
      });
    });
  };
}
