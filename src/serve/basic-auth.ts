// Basic auth against the web config's bcrypt hashes, with verified credentials cached so a scrape is not a bcrypt each time.

import { createHash } from 'node:crypto';
import { Mutex } from 'async-mutex';
import bcrypt from 'bcryptjs';
import { LRUCache } from 'lru-cache';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: the route authenticates its callers itself (the Firehose access key) and basic auth is not asked for. */
    readonly basicAuth?: boolean;
  }
}

/**
 * A cost-10 hash of a password nobody knows: an unknown user costs the same bcrypt as a
 * known one, so the answer's timing does not tell which user names exist.
 */
const UNKNOWN_USER_HASH = '$2b$10$m7J5dz2/ThpLCXo6L.XvaekJsnzI0E3Va8my1YgFvmUvVCnSsa/SK';

/** The body and challenge exporter-toolkit answers with. */
export const UNAUTHORIZED = { status: 401, challenge: 'Basic', body: 'Unauthorized\n' } as const;

export interface BasicAuthOptions {
  /** Distinct (user, password) pairs whose bcrypt outcome is remembered. */
  readonly cacheSize?: number;
}

export class BasicAuth {
  private readonly users: ReadonlyMap<string, string>;
  /** Keyed by a digest of user and password, never the password itself; failures are remembered too, so a retrying wrong client costs one bcrypt. */
  private readonly verified: LRUCache<string, boolean>;
  /** Concurrent requests with the same credentials share one bcrypt. */
  private readonly inFlight = new Map<string, Promise<boolean>>();
  /** One bcrypt at a time, as exporter-toolkit does: a flood of wrong passwords queues instead of taking every core. */
  private readonly bcrypt = new Mutex();

  constructor(users: ReadonlyMap<string, string>, options: BasicAuthOptions = {}) {
    this.users = users;
    this.verified = new LRUCache({ max: options.cacheSize ?? 1024 });
  }

  /** Whether the Authorization header carries the credentials of a configured user. */
  async check(authorization: string | undefined): Promise<boolean> {
    const credentials = parseBasic(authorization);
    if (credentials === undefined) return false;
    const known = this.users.get(credentials.user);
    const hash = known ?? UNKNOWN_USER_HASH;
    const key = createHash('sha256').update(credentials.user).update('\0').update(hash).update('\0').update(credentials.password).digest('base64');
    const cached = this.verified.get(key);
    if (cached !== undefined) return cached && known !== undefined;
    let pending = this.inFlight.get(key);
    if (pending === undefined) {
      pending = this.bcrypt.runExclusive(() => bcrypt.compare(credentials.password, hash)).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    const matches = await pending;
    this.verified.set(key, matches);
    return matches && known !== undefined;
  }
}

/** `Basic base64(user:password)`; the password may itself contain ':'. */
function parseBasic(authorization: string | undefined): { user: string; password: string } | undefined {
  const match = /^basic +([A-Za-z0-9+/=]+) *$/i.exec(authorization ?? '');
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
