// Opaque, expiring pagination tokens held server-side, so a client can only send back what it was given.
import type { Random } from '../../../trail/random.ts';
import { invalidParameter } from './wire.ts';

interface Issued<T> {
  readonly state: T;
  readonly issuedAt: number;
  expired: boolean;
}

export class PageTokens<T> {
  readonly #issued = new Map<string, Issued<T>>();
  readonly #random: Random;
  readonly #now: () => number;
  #ttlMs: number;

  constructor(options: { random: Random; now: () => number; ttlMs: number }) {
    this.#random = options.random;
    this.#now = options.now;
    this.#ttlMs = options.ttlMs;
  }

  set ttlMs(value: number) {
    this.#ttlMs = value;
  }

  issue(state: T): string {
    let token = this.#random.token();
    while (this.#issued.has(token)) token = this.#random.token();
    this.#issued.set(token, { state, issuedAt: this.#now(), expired: false });
    return token;
  }

  /** Tokens stay valid for repeated use until they expire: an SDK retry resends the same token. */
  redeem(token: string): T {
    const issued = this.#issued.get(token);
    if (!issued) throw invalidParameter('The specified nextToken is invalid.');
    if (issued.expired || this.#now() - issued.issuedAt > this.#ttlMs) {
      throw invalidParameter('The specified nextToken has expired.');
    }
    return issued.state;
  }

  expireAll(): void {
    for (const issued of this.#issued.values()) issued.expired = true;
  }
}
