// State shared by replicas through Redis or Valkey: CloudTrail eventIDs, push request ids and key state, claimed and committed atomically.
//
// A commit is two scripts. CLAIM marks each of the batch's eventIDs (and its request id)
// as being committed by this replica, unless it is committed already (a duplicate) or
// another replica is committing it right now (in doubt: the sender retries). COMMIT,
// after the batch's effects are computed but before they are applied in memory, moves
// the claims to the committed set, applies the key-state operations in event-time order,
// and writes this replica's own snapshot (its counters, last-event times and poll
// progress) in the same atomic step. So a replica killed at any point has either
// committed a batch (counters in its snapshot, ids marked) or not (its provisional claims
// expire and another replica counts the retry): counted once in the sum over replicas.
//
// Every key carries the hash tag {kms-change-exporter}: one slot, and one ACL pattern
// (~{kms-change-exporter}:*) covers them. The client speaks to one primary (no cluster
// redirects): ElastiCache with cluster mode disabled, or any Redis/Valkey.

import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { StateUnavailableError } from '../errors.ts';
import type { StateMetrics } from '../record/state-metrics.ts';
import type { SourceStatus } from '../sources/source.ts';
import type { AliasEntry, KeyOp, KeyState, MaterialEntry, PendingDeletion } from './key-state.ts';
import { aliasEntrySchema, aliasName, keyName, materialEntrySchema, pendingDeletionSchema } from './key-state.ts';
import { replicaSnapshotSchema } from './replica-state.ts';
import type { Commit, EventClaim, ReplicaState, RequestClaim, StateStore } from './state-store.ts';

const TAG = '{kms-change-exporter}';

/** How long a provisional claim holds off other replicas: longer than any commit takes, short enough for a retry after a crash. */
const CLAIM_TTL_MS = 30_000;

const KEYS = {
  events: `${TAG}:events`,
  eventClaims: `${TAG}:event-claims`,
  eventClaimExpiry: `${TAG}:event-claims:expiry`,
  requests: `${TAG}:requests`,
  requestClaims: `${TAG}:request-claims`,
  requestClaimExpiry: `${TAG}:request-claims:expiry`,
  pending: `${TAG}:pending-deletions`,
  pendingDates: `${TAG}:pending-deletions:by-date`,
  lifecycle: `${TAG}:lifecycle-events`,
  lifecycleOrder: `${TAG}:lifecycle-events:by-time`,
  aliases: `${TAG}:aliases`,
  aliasOrder: `${TAG}:aliases:by-time`,
  material: `${TAG}:material-expiries`,
  materialOrder: `${TAG}:material-expiries:by-expiry`,
} as const;

function replicaKey(replicaId: string): string {
  return `${TAG}:replica:${replicaId}`;
}

// KEYS: committed zset, claims hash, claim-expiry zset. ARGV: replica, ttl ms, ids...
// Answers per id: 'fresh' (claimed for us), 'duplicate' (committed before), 'in_doubt'.
const CLAIM = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local stale = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(stale) do
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
end
local out = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  if redis.call('ZSCORE', KEYS[1], id) then
    out[#out + 1] = 'duplicate'
  else
    local owner = redis.call('HGET', KEYS[2], id)
    if owner == false or owner == ARGV[1] then
      redis.call('HSET', KEYS[2], id, ARGV[1])
      redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), id)
      out[#out + 1] = 'fresh'
    else
      out[#out + 1] = 'in_doubt'
    end
  end
end
return out
`;

// KEYS: claims hash, claim-expiry zset. ARGV: replica, ids... Drops only our own claims.
const RELEASE = `
for i = 2, #ARGV do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
    redis.call('ZREM', KEYS[2], ARGV[i])
  end
end
return 1
`;

// KEYS: events, event claims, event claim expiry, requests, request claims, request claim expiry,
//       pending, pending by date, lifecycle, lifecycle by time, this replica's snapshot,
//       aliases, aliases by time, material expiries, material by expiry.
// ARGV: replica, capacity, key limit, snapshot JSON, #events, #requests, #ops, events..., requests...,
//       then per op: kind, name, event time, date, entry JSON. Kinds: 's' schedule / 'x' settle a
//       deletion (name: the key), 'a' set / 'd' delete an alias (name: account/region/alias),
//       'm' set / 'c' clear a material expiry (name: the key; date: the expiry).
// Each table keeps the eventTime of the newest event applied per name (in its entry), so a late
// record never undoes a newer one. Deleted aliases and cleared expiries stay as tombstones
// (keyId / expiry null): aliases are evicted oldest eventTime first; material expiries are
// ordered by expiry with tombstones last (score +inf), and the furthest is evicted first.
// Answers {'ok', evicted events, evicted requests, evicted pending, evicted lifecycle, evicted aliases, evicted material} or {'lost', id}.
const COMMIT = `
local replica = ARGV[1]
local capacity = tonumber(ARGV[2])
local keyLimit = tonumber(ARGV[3])
local nEvents = tonumber(ARGV[5])
local nRequests = tonumber(ARGV[6])
local nOps = tonumber(ARGV[7])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function owned(claims, committed, id)
  local owner = redis.call('HGET', claims, id)
  if owner == replica then return true end
  return owner == false and not redis.call('ZSCORE', committed, id)
end
local first = 8
for i = first, first + nEvents - 1 do
  if not owned(KEYS[2], KEYS[1], ARGV[i]) then return {'lost', ARGV[i]} end
end
for i = first + nEvents, first + nEvents + nRequests - 1 do
  if not owned(KEYS[5], KEYS[4], ARGV[i]) then return {'lost', ARGV[i]} end
end
local function settle(committed, claims, expiry, from, to)
  for i = from, to do
    redis.call('ZADD', committed, now, ARGV[i])
    redis.call('HDEL', claims, ARGV[i])
    redis.call('ZREM', expiry, ARGV[i])
  end
  local excess = redis.call('ZCARD', committed) - capacity
  if excess > 0 then redis.call('ZREMRANGEBYRANK', committed, 0, excess - 1) else excess = 0 end
  return excess
end
-- The eventTime of the entry held under name in a table of JSON entries, or nil.
local function heldTime(entries, name)
  local held = redis.call('HGET', entries, name)
  if held == false then return nil end
  local ok, entry = pcall(cjson.decode, held)
  if not ok or type(entry) ~= 'table' then return nil end
  return tonumber(entry['eventTime'])
end
local evictedEvents = settle(KEYS[1], KEYS[2], KEYS[3], first, first + nEvents - 1)
local evictedRequests = settle(KEYS[4], KEYS[5], KEYS[6], first + nEvents, first + nEvents + nRequests - 1)
local evictedPending = 0
local evictedAliases = 0
local evictedMaterial = 0
local at = first + nEvents + nRequests
for _ = 1, nOps do
  local kind, name, eventTime, date, json = ARGV[at], ARGV[at + 1], tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3]), ARGV[at + 4]
  at = at + 5
  if kind == 'a' or kind == 'd' then
    local newest = heldTime(KEYS[12], name)
    if newest == nil or newest <= eventTime then
      if redis.call('HEXISTS', KEYS[12], name) == 0 and redis.call('HLEN', KEYS[12]) >= keyLimit then
        local oldest = redis.call('ZRANGE', KEYS[13], 0, 0)
        if oldest[1] ~= nil then
          redis.call('HDEL', KEYS[12], oldest[1])
          redis.call('ZREM', KEYS[13], oldest[1])
          evictedAliases = evictedAliases + 1
        end
      end
      redis.call('HSET', KEYS[12], name, json)
      redis.call('ZADD', KEYS[13], eventTime, name)
    end
  elseif kind == 'm' or kind == 'c' then
    local newest = heldTime(KEYS[14], name)
    if newest == nil or newest <= eventTime then
      redis.call('HDEL', KEYS[14], name)
      redis.call('ZREM', KEYS[15], name)
      local score, scoreArg = math.huge, '+inf'
      if kind == 'm' then score, scoreArg = date, ARGV[at - 2] end
      local keep = true
      if redis.call('HLEN', KEYS[14]) >= keyLimit then
        evictedMaterial = evictedMaterial + 1
        local furthest = redis.call('ZREVRANGE', KEYS[15], 0, 0, 'WITHSCORES')
        -- Equal scores: ZREVRANGE gives the greatest name, the local table's order too.
        local held = furthest[2] == 'inf' and math.huge or tonumber(furthest[2])
        local further = furthest[1] ~= nil and (held > score or (held == score and furthest[1] > name))
        if further then
          redis.call('HDEL', KEYS[14], furthest[1])
          redis.call('ZREM', KEYS[15], furthest[1])
        else
          keep = false
        end
      end
      if keep then
        redis.call('HSET', KEYS[14], name, json)
        redis.call('ZADD', KEYS[15], scoreArg, name)
      end
    end
  else
    local newest = redis.call('HGET', KEYS[9], name)
    if newest == false or tonumber(newest) <= eventTime then
      redis.call('HSET', KEYS[9], name, eventTime)
      redis.call('ZADD', KEYS[10], eventTime, name)
      redis.call('HDEL', KEYS[7], name)
      redis.call('ZREM', KEYS[8], name)
      if kind == 's' then
        local keep = true
        if redis.call('HLEN', KEYS[7]) >= keyLimit then
          evictedPending = evictedPending + 1
          local furthest = redis.call('ZREVRANGE', KEYS[8], 0, 0, 'WITHSCORES')
          if furthest[1] == nil or tonumber(furthest[2]) <= date then
            keep = false
          else
            redis.call('HDEL', KEYS[7], furthest[1])
            redis.call('ZREM', KEYS[8], furthest[1])
          end
        end
        if keep then
          redis.call('HSET', KEYS[7], name, json)
          redis.call('ZADD', KEYS[8], date, name)
        end
      end
    end
  end
end
local evictedLifecycle = redis.call('ZCARD', KEYS[10]) - keyLimit
if evictedLifecycle > 0 then
  local oldest = redis.call('ZRANGE', KEYS[10], 0, evictedLifecycle - 1)
  for _, name in ipairs(oldest) do redis.call('HDEL', KEYS[9], name) end
  redis.call('ZREMRANGEBYRANK', KEYS[10], 0, evictedLifecycle - 1)
else
  evictedLifecycle = 0
end
redis.call('SET', KEYS[11], ARGV[4])
return {'ok', evictedEvents, evictedRequests, evictedPending, evictedLifecycle, evictedAliases, evictedMaterial}
`;

class Script {
  private readonly source: string;
  private readonly sha: string;

  constructor(source: string) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

const SCRIPTS = { claim: new Script(CLAIM), release: new Script(RELEASE), commit: new Script(COMMIT) };

export interface RedisStoreOptions {
  readonly url: URL;
  readonly replicaId: string;
  /** Most eventIDs (and request ids) remembered; the oldest are forgotten first. */
  readonly capacity: number;
  /** The local view of the shared key state (exported as the pending-deletion gauge). */
  readonly keyState: KeyState;
  readonly replica: ReplicaState;
  readonly metrics: StateMetrics;
  readonly log: { info(msg: string): void; warn(msg: string): void; error(msg: string): void };
  readonly now?: () => number;
}

/** The store's address for messages, without credentials. */
function describe(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
}

export class RedisStore implements StateStore {
  readonly kind = 'redis';
  private readonly options: RedisStoreOptions;
  private readonly redis: Redis;
  private readonly where: string;
  private up = false;
  private lastError: string | undefined;
  private opened = false;
  /** A commit whose outcome is unknown (the connection broke after sending it): its sequence number. */
  private uncertain: number | undefined;
  private sequence = 0;
  private readonly sizes = { events: 0, requests: 0, lifecycle: 0 };
  private closing = false;

  constructor(options: RedisStoreOptions) {
    this.options = options;
    this.where = describe(options.url);
    this.redis = new Redis(options.url.toString(), {
      // Fail fast while disconnected: a push request gets 503 and is retried, rather than waiting.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      commandTimeout: 5_000,
      retryStrategy: (times) => Math.min(200 * times, 2_000),
    });
    this.redis.on('ready', () => {
      if (!this.up) options.log.info(`connected to the state store ${this.where}`);
      this.up = true;
      this.lastError = undefined;
    });
    this.redis.on('error', (error: Error) => {
      this.lastError = error.message;
    });
    this.redis.on('close', () => {
      if (this.up && !this.closing) options.log.warn(`lost the state store ${this.where}; push requests get 503 until it is back`);
      this.up = false;
    });
    // The store counts the evictions it makes (COMMIT's answer); the local copy's would count them again.
    options.keyState.mirrorSharedStore();
    options.metrics.store('redis', () => this.up, ['corrupt', 'unavailable', 'in_doubt']);
    options.metrics.table('cloudtrail_event_ids', options.capacity, () => this.sizes.events);
    options.metrics.table('push_request_ids', options.capacity, () => this.sizes.requests);
    options.metrics.table('key_lifecycle_events', options.keyState.limit, () => this.sizes.lifecycle);
  }

  async open(signal: AbortSignal): Promise<void> {
    // The first connection is awaited (the client keeps retrying), not failed: the store may start after us.
    for (;;) {
      if (signal.aborted) return;
      if (this.up) {
        try {
          await this.load();
          return;
        } catch {
          // lost again while loading: wait for the next connection
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  private async load(): Promise<void> {
    const text = await this.call(() => this.redis.get(replicaKey(this.options.replicaId)));
    if (text !== null) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      const parsed = replicaSnapshotSchema.safeParse(json);
      if (parsed.success) {
        this.options.replica.restore(parsed.data);
        this.sequence = parsed.data.sequence;
        this.options.log.info(`resuming replica ${this.options.replicaId} from ${this.where}`);
      } else {
        this.options.metrics.error('corrupt');
        this.options.log.error(`the state of replica ${this.options.replicaId} in ${this.where} is unreadable; starting its counters afresh`);
      }
    }
    await this.refresh();
    this.opened = true;
  }

  async claimEvents(ids: readonly string[]): Promise<EventClaim[]> {
    this.settleUncertain();
    const answers = await this.call(() => SCRIPTS.claim.run(this.redis, [KEYS.events, KEYS.eventClaims, KEYS.eventClaimExpiry], [this.options.replicaId, CLAIM_TTL_MS, ...ids]));
    return (answers as string[]).map((answer) => (answer === 'fresh' || answer === 'duplicate' ? answer : 'in_doubt'));
  }

  async claimRequests(ids: readonly string[]): Promise<RequestClaim[]> {
    this.settleUncertain();
    const answers = await this.call(() => SCRIPTS.claim.run(this.redis, [KEYS.requests, KEYS.requestClaims, KEYS.requestClaimExpiry], [this.options.replicaId, CLAIM_TTL_MS, ...ids]));
    return (answers as string[]).map((answer) => (answer === 'fresh' ? 'new' : answer === 'duplicate' ? 'delivered' : 'in_doubt'));
  }

  async persist(commit: Commit): Promise<void> {
    this.settleUncertain();
    const snapshot = { ...this.options.replica.snapshot(commit), sequence: this.sequence + 1 };
    const ops = commit.keyOps.flatMap((op) => opArguments(op));
    const keys = [KEYS.events, KEYS.eventClaims, KEYS.eventClaimExpiry, KEYS.requests, KEYS.requestClaims, KEYS.requestClaimExpiry, KEYS.pending, KEYS.pendingDates, KEYS.lifecycle, KEYS.lifecycleOrder, replicaKey(this.options.replicaId), KEYS.aliases, KEYS.aliasOrder, KEYS.material, KEYS.materialOrder];
    const args = [this.options.replicaId, this.options.capacity, this.options.keyState.limit, JSON.stringify(snapshot), commit.eventIds.length, commit.requestIds.length, commit.keyOps.length, ...commit.eventIds, ...commit.requestIds, ...ops];
    let answer: unknown;
    try {
      answer = await SCRIPTS.commit.run(this.redis, keys, args);
    } catch (error) {
      // An error reply means the script did not run (it checks before it writes); anything else (the
      // connection broke, the answer timed out) may have come after it ran: find out before the next commit.
      const uncertain = (error as Error).name !== 'ReplyError';
      if (uncertain) this.uncertain = snapshot.sequence;
      throw this.unavailable(error, uncertain);
    }
    const [status, ...rest] = answer as [string, ...(string | number)[]];
    if (status !== 'ok') {
      // ioredis sends an unanswered command again once it has reconnected. If the connection
      // dropped after the server ran this commit, the second run finds our claims committed and
      // answers 'lost': our snapshot then carries this commit's sequence, and the commit stands
      // (only the evictions the first run reported are not known).
      let stored: number | undefined;
      try {
        stored = await this.storedSequence();
      } catch (error) {
        this.uncertain = snapshot.sequence;
        throw this.unavailable(error, true);
      }
      if (stored !== snapshot.sequence) throw new StateUnavailableError(`the claim on ${String(rest[0])} expired and another replica took it; retry`);
    }
    this.sequence = snapshot.sequence;
    const [events, requests, pending, lifecycle, aliases, material] = rest.map(Number);
    if (events) this.options.metrics.evicted('cloudtrail_event_ids', events);
    if (requests) this.options.metrics.evicted('push_request_ids', requests);
    if (pending) this.options.metrics.evicted('pending_deletions', pending);
    if (lifecycle) this.options.metrics.evicted('key_lifecycle_events', lifecycle);
    if (aliases) this.options.metrics.evicted('key_aliases', aliases);
    if (material) this.options.metrics.evicted('key_material_expiries', material);
  }

  /** Whether the commit of unknown outcome happened; the committer applies its effects then. */
  async resolveUncertain(): Promise<boolean> {
    if (this.uncertain === undefined) return false;
    const happened = (await this.call(() => this.storedSequence())) === this.uncertain;
    if (happened) this.sequence = this.uncertain;
    this.uncertain = undefined;
    return happened;
  }

  /** The sequence of this replica's last commit the store holds (its snapshot's). */
  private async storedSequence(): Promise<number | undefined> {
    const text = await this.redis.get(replicaKey(this.options.replicaId));
    const parsed = replicaSnapshotSchema.safeParse(text === null ? undefined : safeJson(text));
    return parsed.success ? parsed.data.sequence : undefined;
  }

  async release(eventIds: readonly string[], requestIds: readonly string[]): Promise<void> {
    if (eventIds.length > 0) await this.call(() => SCRIPTS.release.run(this.redis, [KEYS.eventClaims, KEYS.eventClaimExpiry], [this.options.replicaId, ...eventIds]));
    if (requestIds.length > 0) await this.call(() => SCRIPTS.release.run(this.redis, [KEYS.requestClaims, KEYS.requestClaimExpiry], [this.options.replicaId, ...requestIds]));
  }

  /** The shared key state (pending deletions, aliases, material expiries) and table sizes as of now; the last known view stays while the store is away. */
  async refresh(): Promise<void> {
    if (!this.up) return;
    try {
      const [pending, aliases, aliasOrder, material, events, requests, lifecycle] = await Promise.all([
        this.redis.hvals(KEYS.pending),
        this.redis.hgetall(KEYS.aliases),
        // Oldest first, so the local table's eviction order is the store's.
        this.redis.zrange(KEYS.aliasOrder, '0', '-1'),
        this.redis.hvals(KEYS.material),
        this.redis.zcard(KEYS.events),
        this.redis.zcard(KEYS.requests),
        this.redis.zcard(KEYS.lifecycleOrder),
      ]);
      this.options.keyState.replacePending(parsedEntries(pending, pendingDeletionSchema.safeParse));
      this.options.keyState.replaceAliases(parsedEntries(aliasOrder.flatMap((name) => (aliases[name] === undefined ? [] : [aliases[name]])), aliasEntrySchema.safeParse));
      this.options.keyState.replaceMaterial(parsedEntries(material, materialEntrySchema.safeParse));
      this.sizes.events = events;
      this.sizes.requests = requests;
      this.sizes.lifecycle = lifecycle;
    } catch (error) {
      this.lastError = (error as Error).message;
    }
  }

  status(): SourceStatus {
    if (!this.up) return { ready: false, detail: `state store ${this.where} unreachable${this.lastError === undefined ? '' : `: ${this.lastError}`}; push requests get 503 and are retried` };
    if (!this.opened) return { ready: false, detail: `restoring replica ${this.options.replicaId} from ${this.where}` };
    return { ready: true, detail: `shared state in ${this.where} (replica ${this.options.replicaId})` };
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private settleUncertain(): void {
    if (this.uncertain !== undefined) throw new StateUnavailableError('the outcome of the last commit is not known yet', { uncertain: true });
  }

  private async call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  private unavailable(error: unknown, uncertain = false): StateUnavailableError {
    this.options.metrics.error('unavailable');
    this.lastError = (error as Error).message;
    return new StateUnavailableError(`${this.where}: ${(error as Error).message}`, { cause: error, uncertain });
  }
}

function opArguments(op: KeyOp): (string | number)[] {
  switch (op.kind) {
    case 'settle_deletion':
      return ['x', keyName(op.key), op.eventTime, 0, ''];
    case 'schedule_deletion': {
      const pending: PendingDeletion = { ...op.key, date: op.date, eventTime: op.eventTime };
      return ['s', keyName(op.key), op.eventTime, op.date, JSON.stringify(pending)];
    }
    case 'set_alias':
    case 'delete_alias': {
      const entry: AliasEntry = { ...op.alias, keyId: op.kind === 'set_alias' ? op.keyId : null, eventTime: op.eventTime };
      return [op.kind === 'set_alias' ? 'a' : 'd', aliasName(op.alias), op.eventTime, 0, JSON.stringify(entry)];
    }
    case 'set_material_expiry':
    case 'clear_material_expiry': {
      const expiry = op.kind === 'set_material_expiry' ? op.expiry : null;
      const entry: MaterialEntry = { ...op.key, expiry, eventTime: op.eventTime };
      return [op.kind === 'set_material_expiry' ? 'm' : 'c', keyName(op.key), op.eventTime, expiry ?? 0, JSON.stringify(entry)];
    }
  }
}

/** The entries that parse; a malformed one (written by hand, or by another version) is skipped, not fatal. */
function parsedEntries<T>(texts: readonly string[], parse: (value: unknown) => { success: true; data: T } | { success: false }): T[] {
  const out: T[] = [];
  for (const text of texts) {
    const parsed = parse(safeJson(text));
    if (parsed.success) out.push(parsed.data);
  }
  return out;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
