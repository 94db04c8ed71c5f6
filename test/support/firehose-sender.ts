// One Firehose delivery stream in front of several replicas: each attempt goes to a random replica (a load balancer without affinity), and anything but 200 is retried, as Firehose does.

import type { FirehoseRequest } from './firehose-request.ts';
import { postFirehose } from './firehose-request.ts';

export interface SenderStats {
  /** Requests handed to the sender (each ends in exactly one 200). */
  deliveries: number;
  /** HTTP attempts, retries included. */
  posts: number;
  ok: number;
  /** 503 answers: the state store down, another replica committing the same records, a replica still restoring. */
  unavailable: number;
  /** Attempts that got no answer: the replica was killed, refused the connection, or reset it. */
  noAnswer: number;
  /** Attempts after the first, for any reason. */
  retries: number;
  /** Answers Firehose would also retry but that this stream must never see (401, 403, 413, 500...), as `status: message`. */
  unexpected: string[];
}

/** Deterministic choices (which replica, how long to wait), so a failing run can be replayed with its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export class FirehoseSender {
  readonly stats: SenderStats = { deliveries: 0, posts: 0, ok: 0, unavailable: 0, noAnswer: 0, retries: 0, unexpected: [] };
  /** Deliveries answered 200 so far. */
  done = 0;
  private readonly addresses: readonly string[];
  private readonly accessKey: string;
  private readonly random: () => number;
  private readonly retryDelayMs: number;

  constructor(options: { readonly addresses: readonly string[]; readonly accessKey: string; readonly random: () => number; readonly retryDelayMs?: number }) {
    this.addresses = options.addresses;
    this.accessKey = options.accessKey;
    this.random = options.random;
    this.retryDelayMs = options.retryDelayMs ?? 50;
  }

  /** Delivers every request with `concurrency` in flight; resolves once each was answered 200, or rejects at the deadline naming a request still unanswered. */
  async send(requests: readonly FirehoseRequest[], concurrency: number, deadline: number): Promise<void> {
    this.stats.deliveries += requests.length;
    const queue = [...requests];
    const worker = async (): Promise<void> => {
      for (let request = queue.shift(); request !== undefined; request = queue.shift()) {
        await this.deliver(request, deadline);
        this.done++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }

  /** Resolves once `count` deliveries have been answered 200. */
  async reached(count: number): Promise<void> {
    while (this.done < count) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  private async deliver(request: FirehoseRequest, deadline: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) this.stats.retries++;
      if (Date.now() > deadline) throw new Error(`request ${request.requestId} still not answered 200 after ${attempt - 1} attempts at the deadline`);
      const address = this.addresses[Math.floor(this.random() * this.addresses.length)]!;
      this.stats.posts++;
      let status: number;
      let message = '';
      try {
        const answer = await postFirehose(address, this.accessKey, request);
        status = answer.status;
        message = String(answer.body['errorMessage'] ?? '');
      } catch {
        status = 0;
      }
      if (status === 200) {
        this.stats.ok++;
        return;
      }
      if (status === 503) this.stats.unavailable++;
      else if (status === 0) this.stats.noAnswer++;
      else this.stats.unexpected.push(`${status}: ${message}`);
      await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs * (1 + this.random())));
    }
  }
}
