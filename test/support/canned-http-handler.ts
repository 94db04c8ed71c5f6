// An in-process request handler for a real SDK client: each request gets the next canned answer of its operation (awsJson 1.1, as CloudWatch Logs speaks it), or a canned network error. No sockets.

import { Readable } from 'node:stream';
import type { HttpRequest, HttpResponse, RetryErrorInfo, RetryStrategyV2, RetryToken } from '@smithy/types';

export type Canned = { readonly status: number; readonly body?: object | string; readonly errorType?: string } | Error;

export const ok = (body: object = {}): Canned => ({ status: 200, body });

/** An error answer as AWS sends it: the type in x-amzn-errortype and in the JSON body's __type. */
export const awsErrorAnswer = (status: number, type: string, message: string): Canned => ({ status, errorType: type, body: { __type: type, message } });

export class CannedHttpHandler {
  /** Every request, in order: its operation and when it reached the handler (ms, real time). */
  readonly requests: { readonly operation: string; readonly at: number }[] = [];
  private readonly answers = new Map<string, Canned[]>();

  /** The next requests of `operation` get these answers, in order; after them, 200 with an empty body. */
  answer(operation: string, ...answers: Canned[]): this {
    this.answers.set(operation, [...(this.answers.get(operation) ?? []), ...answers]);
    return this;
  }

  async handle(request: HttpRequest): Promise<{ response: HttpResponse }> {
    const target = Object.entries(request.headers).find(([name]) => name.toLowerCase() === 'x-amz-target')?.[1] ?? '';
    const operation = target.slice(target.lastIndexOf('.') + 1);
    this.requests.push({ operation, at: Date.now() });
    const next = this.answers.get(operation)?.shift() ?? ok();
    if (next instanceof Error) throw next;
    const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `req-${this.requests.length}` };
    if (next.errorType !== undefined) headers['x-amzn-errortype'] = next.errorType;
    const body = typeof next.body === 'string' ? next.body : JSON.stringify(next.body ?? {});
    return { response: { statusCode: next.status, headers, body: Readable.from([Buffer.from(body)]) } };
  }
}

/** The SDK's retry decisions without its backoff delays, so a test of retries takes no time: retries throttling, transient and server errors. */
export function immediateRetries(maxAttempts: number): RetryStrategyV2 {
  const token = (count: number): RetryToken => ({ getRetryCount: () => count, getRetryDelay: () => 0 });
  return {
    acquireInitialRetryToken: async () => token(0),
    refreshRetryTokenForRetry: async (previous: RetryToken, info: RetryErrorInfo) => {
      if (info.errorType === 'CLIENT_ERROR' || previous.getRetryCount() + 1 >= maxAttempts) throw new Error('no more retries');
      return token(previous.getRetryCount() + 1);
    },
    recordSuccess: () => {},
  };
}
