// Per-key state learned from the stream (pending deletions, aliases, imported key material expiry), bounded by a limit with a documented eviction rule.
//
// Four bounded tables, each holding at most --key-state-limit entries:
// - pending deletions, one per key, exported as kms_key_pending_deletion_timestamp_seconds.
//   When full, the deletion furthest in the future is evicted (or the new one is not kept,
//   if it is itself the furthest): the imminent deletions are the ones an alert must see.
// - the eventTime of the newest lifecycle event applied per key, so a record that arrives
//   late (CloudTrail delivers out of order) cannot undo a newer one. When full, the key
//   changed longest ago is forgotten.
// - aliases, one per (account, region, alias name), with the eventTime of the newest alias
//   event applied to it, and a reverse index key → aliases. A deleted alias is kept as a
//   tombstone (no key) so a late CreateAlias older than the DeleteAlias cannot bring it back.
//   When full, the alias changed longest ago is forgotten (tombstones count as entries).
// - imported key material expiries, one per key, exported as
//   kms_key_material_expiry_timestamp_seconds, with the eventTime of the newest material event
//   applied. A cleared expiry is kept as a tombstone, sorted after every real expiry, so when
//   full the tombstones go first, then the expiry furthest in the future (as pending deletions).
// Every eviction is counted; the sizes and the limit are metrics.

import BTreeModule from 'sorted-btree';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';

const BTree = BTreeModule.default;

/** Where a key lives and what it is called, the labels of its series. */
export interface KeyRef {
  readonly accountId: string;
  readonly region: string;
  readonly keyId: string;
}

export interface PendingDeletion extends KeyRef {
  /** When the key will be deleted (ms since the epoch). */
  readonly date: number;
  /** The eventTime of the ScheduleKeyDeletion that set it. */
  readonly eventTime: number;
}

/** An alias name where it lives: alias names are scoped per account and region. */
export interface AliasRef {
  readonly accountId: string;
  readonly region: string;
  /** `alias/...` */
  readonly alias: string;
}

/** What an alias points to, or a tombstone (`keyId: null`) once deleted; `eventTime` of the newest alias event applied. */
export interface AliasEntry extends AliasRef {
  readonly keyId: string | null;
  readonly eventTime: number;
}

/** When a key's imported material expires (ms), or a tombstone (`expiry: null`) once cleared; `eventTime` of the newest material event applied. */
export interface MaterialEntry extends KeyRef {
  readonly expiry: number | null;
  readonly eventTime: number;
}

export interface MaterialExpiry extends KeyRef {
  /** When the imported key material expires (ms since the epoch). */
  readonly expiry: number;
}

/** What a change does to key state: derived by the pipeline, applied here (or in the shared store). */
export type KeyOp =
  | { readonly kind: 'schedule_deletion'; readonly key: KeyRef; readonly date: number; readonly eventTime: number }
  | { readonly kind: 'settle_deletion'; readonly key: KeyRef; readonly eventTime: number }
  /** CreateAlias or UpdateAlias: the alias names `keyId` in the alias's own account and region. */
  | { readonly kind: 'set_alias'; readonly alias: AliasRef; readonly keyId: string; readonly eventTime: number }
  | { readonly kind: 'delete_alias'; readonly alias: AliasRef; readonly eventTime: number }
  | { readonly kind: 'set_material_expiry'; readonly key: KeyRef; readonly expiry: number; readonly eventTime: number }
  | { readonly kind: 'clear_material_expiry'; readonly key: KeyRef; readonly eventTime: number };

export type KeyStateTable = 'pending_deletions' | 'key_lifecycle_events' | 'key_aliases' | 'key_material_expiries';

const finite = z.number().finite();

export const pendingDeletionSchema = z.object({ accountId: z.string(), region: z.string(), keyId: z.string().min(1), date: finite, eventTime: finite });
export const aliasEntrySchema = z.object({ accountId: z.string(), region: z.string(), alias: z.string().min(1), keyId: z.string().min(1).nullable(), eventTime: finite });
export const materialEntrySchema = z.object({ accountId: z.string(), region: z.string(), keyId: z.string().min(1), expiry: finite.nullable(), eventTime: finite });

export const keyStateSchema = z.object({
  pendingDeletions: z.array(pendingDeletionSchema),
  /** [key, eventTime] of the newest lifecycle event applied per key, oldest first. */
  lifecycleEvents: z.array(z.tuple([z.string(), finite])),
  /** Aliases (and tombstones), the one changed longest ago first. Optional: checkpoints written before 0.3 have none. */
  aliases: z.array(aliasEntrySchema).optional(),
  /** Imported key material expiries (and tombstones). Optional: checkpoints written before 0.3 have none. */
  materialExpiries: z.array(materialEntrySchema).optional(),
});

export type KeyStateSnapshot = z.infer<typeof keyStateSchema>;

export function keyName(key: KeyRef): string {
  return `${key.accountId}/${key.region}/${key.keyId}`;
}

export function aliasName(alias: AliasRef): string {
  return `${alias.accountId}/${alias.region}/${alias.alias}`;
}

/** A tombstone's place in a by-date order: after every real date (dates are at most 8.64e15 ms, 16 digits). */
export const TOMBSTONE_ORDER = '9'.repeat(17);

/** Sorts by date, then key, so the furthest deletion is the tree's last entry. */
function dateOrder(date: number | null, name: string): string {
  return `${date === null ? TOMBSTONE_ORDER : String(Math.max(0, Math.round(date))).padStart(17, '0')}\u0000${name}`;
}

/** The furthest of two material entries in the table's eviction order (tombstones first, then the latest expiry, then by name). */
function furtherMaterial(a: MaterialEntry, b: MaterialEntry): boolean {
  const order = (entry: MaterialEntry) => dateOrder(entry.expiry, keyName(entry));
  return order(a) > order(b);
}

/** The names people know keys by, learned from the stream: what the log events can ask of the key state. */
export interface KeyNames {
  /** The aliases known to name this key, sorted. */
  aliasesOf(ref: KeyRef): readonly string[];
  /** The key an alias names in its account and region, if known. */
  keyOfAlias(accountId: string, region: string, alias: string): KeyRef | undefined;
}

export interface KeyStateEvents {
  /** An entry was dropped because its table was full. */
  evicted(table: KeyStateTable): void;
}

export class KeyState implements KeyNames {
  readonly limit: number;
  private readonly pending = new Map<string, PendingDeletion>();
  private readonly byDate = new BTree<string, string>();
  private readonly lifecycle: LRUCache<string, number>;
  private readonly aliases: LRUCache<string, AliasEntry>;
  /** key name → its aliases' names (live aliases only), so aliasesOf is cheap. */
  private readonly aliasesByKey = new Map<string, Set<string>>();
  private readonly material = new Map<string, MaterialEntry>();
  private readonly materialOrder = new BTree<string, string>();
  private readonly events: KeyStateEvents;
  /** Set when the tables mirror a shared store: the store counts its evictions, this copy's are not new ones. */
  private mirroring = false;

  constructor(limit: number, events: KeyStateEvents) {
    this.limit = limit;
    this.events = events;
    this.lifecycle = new LRUCache<string, number>({
      max: limit,
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.evicted('key_lifecycle_events');
      },
    });
    this.aliases = new LRUCache<string, AliasEntry>({
      max: limit,
      // Every way out of the table (evicted, replaced, deleted) leaves the reverse index.
      dispose: (entry, name, reason) => {
        this.unindexAlias(name, entry);
        if (reason === 'evict') this.evicted('key_aliases');
      },
    });
  }

  /**
   * The tables mirror a shared store from now on (replaced at each refresh, applied locally
   * between): evictions are counted by the store, which made them, so they are not counted twice.
   */
  mirrorSharedStore(): void {
    this.mirroring = true;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  get lifecycleCount(): number {
    return this.lifecycle.size;
  }

  /** Aliases held, tombstones of deleted ones included (they are what the limit bounds). */
  get aliasCount(): number {
    return this.aliases.size;
  }

  /** Material entries held, tombstones of cleared ones included. */
  get materialCount(): number {
    return this.material.size;
  }

  pendingDeletions(): IterableIterator<PendingDeletion> {
    return this.pending.values();
  }

  /** The keys whose imported material expires, and when. */
  *materialExpiries(): Generator<MaterialExpiry> {
    for (const entry of this.material.values()) if (entry.expiry !== null) yield { accountId: entry.accountId, region: entry.region, keyId: entry.keyId, expiry: entry.expiry };
  }

  /** The aliases known to name this key, sorted. */
  aliasesOf(ref: KeyRef): readonly string[] {
    const names = this.aliasesByKey.get(keyName(ref));
    if (names === undefined) return [];
    const out: string[] = [];
    for (const name of names) {
      const entry = this.aliases.peek(name);
      if (entry !== undefined) out.push(entry.alias);
    }
    return out.sort();
  }

  /** The key an alias names in its account and region, if known. */
  keyOfAlias(accountId: string, region: string, alias: string): KeyRef | undefined {
    const entry = this.aliases.peek(aliasName({ accountId, region, alias }));
    return entry === undefined || entry.keyId === null ? undefined : { accountId, region, keyId: entry.keyId };
  }

  apply(op: KeyOp): void {
    switch (op.kind) {
      case 'schedule_deletion':
      case 'settle_deletion': {
        const name = keyName(op.key);
        // peek: a late record that changes nothing must not make its key look recently changed.
        const newest = this.lifecycle.peek(name);
        if (newest !== undefined && newest > op.eventTime) return;
        this.lifecycle.set(name, op.eventTime);
        if (op.kind === 'schedule_deletion') this.setPending({ ...op.key, date: op.date, eventTime: op.eventTime });
        else this.deletePending(name);
        return;
      }
      case 'set_alias':
      case 'delete_alias': {
        const newest = this.aliases.peek(aliasName(op.alias));
        if (newest !== undefined && newest.eventTime > op.eventTime) return;
        this.setAlias(aliasEntryOf(op));
        return;
      }
      case 'set_material_expiry':
      case 'clear_material_expiry': {
        const newest = this.material.get(keyName(op.key));
        if (newest !== undefined && newest.eventTime > op.eventTime) return;
        this.setMaterial(materialEntryOf(op));
        return;
      }
    }
  }

  /**
   * The state after `ops`, as the checkpoint stores it; this state is unchanged. The same
   * rules as apply(), on plain copies: a commit's few operations must not cost a copy of
   * the tables' indexes (it was a third of a checkpointed acknowledgement with full state).
   * A table no operation touches is not copied at all.
   */
  snapshot(ops: readonly KeyOp[] = []): KeyStateSnapshot {
    const lifecycleNames = [...this.lifecycle.rkeys()];
    const aliasEntries = (): AliasEntry[] => [...this.aliases.rvalues()].filter((entry) => entry !== undefined);
    const touches = (kinds: readonly KeyOp['kind'][]) => ops.some((op) => kinds.includes(op.kind));
    const deletionOps = touches(['schedule_deletion', 'settle_deletion']);
    const aliasOps = touches(['set_alias', 'delete_alias']);
    const materialOps = touches(['set_material_expiry', 'clear_material_expiry']);
    const out: KeyStateSnapshot = deletionOps
      ? { pendingDeletions: [], lifecycleEvents: [] }
      : { pendingDeletions: [...this.pending.values()], lifecycleEvents: lifecycleNames.map((name): [string, number] => [name, this.lifecycle.peek(name) ?? 0]) };
    out.aliases = aliasOps ? [] : aliasEntries();
    out.materialExpiries = materialOps ? [] : [...this.material.values()];
    if (!deletionOps && !aliasOps && !materialOps) return out;

    const pending = new Map(deletionOps ? this.pending : []);
    const lifecycle = new Map(deletionOps ? lifecycleNames.map((name): [string, number] => [name, this.lifecycle.peek(name) ?? 0]) : []);
    const aliases = new Map(aliasOps ? aliasEntries().map((entry): [string, AliasEntry] => [aliasName(entry), entry]) : []);
    const material = new Map(materialOps ? this.material : []);
    for (const op of ops) {
      if (op.kind === 'set_alias' || op.kind === 'delete_alias') {
        const name = aliasName(op.alias);
        const newest = aliases.get(name);
        if (newest !== undefined && newest.eventTime > op.eventTime) continue;
        aliases.delete(name);
        aliases.set(name, aliasEntryOf(op));
        if (aliases.size > this.limit) aliases.delete(aliases.keys().next().value ?? name);
        continue;
      }
      if (op.kind === 'set_material_expiry' || op.kind === 'clear_material_expiry') {
        const name = keyName(op.key);
        const newest = material.get(name);
        if (newest !== undefined && newest.eventTime > op.eventTime) continue;
        material.delete(name);
        const entry = materialEntryOf(op);
        if (material.size >= this.limit) {
          let furthest: MaterialEntry | undefined;
          for (const held of material.values()) if (furthest === undefined || furtherMaterial(held, furthest)) furthest = held;
          if (furthest === undefined || !furtherMaterial(furthest, entry)) continue;
          material.delete(keyName(furthest));
        }
        material.set(name, entry);
        continue;
      }
      const name = keyName(op.key);
      const newest = lifecycle.get(name);
      if (newest !== undefined && newest > op.eventTime) continue;
      lifecycle.delete(name);
      lifecycle.set(name, op.eventTime);
      if (lifecycle.size > this.limit) lifecycle.delete(lifecycle.keys().next().value ?? name);
      pending.delete(name);
      if (op.kind !== 'schedule_deletion') continue;
      if (pending.size >= this.limit) {
        let furthest: PendingDeletion | undefined;
        // The same order as the live table's index: by date, then by key name.
        for (const entry of pending.values()) if (furthest === undefined || entry.date > furthest.date || (entry.date === furthest.date && keyName(entry) > keyName(furthest))) furthest = entry;
        if (furthest === undefined || furthest.date <= op.date) continue;
        pending.delete(keyName(furthest));
      }
      pending.set(name, { ...op.key, date: op.date, eventTime: op.eventTime });
    }
    if (deletionOps) {
      out.pendingDeletions = [...pending.values()];
      out.lifecycleEvents = [...lifecycle];
    }
    if (aliasOps) out.aliases = [...aliases.values()];
    if (materialOps) out.materialExpiries = [...material.values()];
    return out;
  }

  /** Restores through the same limits that guard it at run time. */
  restore(snapshot: KeyStateSnapshot): void {
    for (const [name, time] of snapshot.lifecycleEvents) this.lifecycle.set(name, time);
    for (const entry of snapshot.pendingDeletions) this.setPending(entry);
    for (const entry of snapshot.aliases ?? []) this.setAlias(entry);
    for (const entry of snapshot.materialExpiries ?? []) this.setMaterial(entry);
  }

  /** A shared store's view of the pending deletions replaces ours wholesale. */
  replacePending(entries: Iterable<PendingDeletion>): void {
    this.pending.clear();
    this.byDate.clear();
    for (const entry of entries) this.setPending(entry);
  }

  /** A shared store's view of the aliases replaces ours wholesale (oldest first, so the LRU order is the store's). */
  replaceAliases(entries: Iterable<AliasEntry>): void {
    this.aliases.clear();
    this.aliasesByKey.clear();
    for (const entry of entries) this.setAlias(entry);
  }

  /** A shared store's view of the material expiries replaces ours wholesale. */
  replaceMaterial(entries: Iterable<MaterialEntry>): void {
    this.material.clear();
    this.materialOrder.clear();
    for (const entry of entries) this.setMaterial(entry);
  }

  private evicted(table: KeyStateTable): void {
    if (!this.mirroring) this.events.evicted(table);
  }

  private setPending(entry: PendingDeletion): void {
    const name = keyName(entry);
    this.deletePending(name);
    if (this.pending.size >= this.limit) {
      const furthest = this.byDate.maxKey();
      const furthestName = furthest === undefined ? undefined : this.byDate.get(furthest);
      const furthestEntry = furthestName === undefined ? undefined : this.pending.get(furthestName);
      this.evicted('pending_deletions');
      if (furthestEntry === undefined || furthestName === undefined || furthestEntry.date <= entry.date) return;
      this.deletePending(furthestName);
    }
    this.pending.set(name, entry);
    this.byDate.set(dateOrder(entry.date, name), name);
  }

  private deletePending(name: string): void {
    const old = this.pending.get(name);
    if (old === undefined) return;
    this.pending.delete(name);
    this.byDate.delete(dateOrder(old.date, name));
  }

  private setAlias(entry: AliasEntry): void {
    const name = aliasName(entry);
    // delete first: set() of a held name would keep its place in the eviction order.
    this.aliases.delete(name);
    this.aliases.set(name, entry);
    if (entry.keyId === null) return;
    const key = keyName({ accountId: entry.accountId, region: entry.region, keyId: entry.keyId });
    let names = this.aliasesByKey.get(key);
    if (names === undefined) this.aliasesByKey.set(key, (names = new Set()));
    names.add(name);
  }

  private unindexAlias(name: string, entry: AliasEntry): void {
    if (entry.keyId === null) return;
    const key = keyName({ accountId: entry.accountId, region: entry.region, keyId: entry.keyId });
    const names = this.aliasesByKey.get(key);
    if (names === undefined) return;
    names.delete(name);
    if (names.size === 0) this.aliasesByKey.delete(key);
  }

  private setMaterial(entry: MaterialEntry): void {
    const name = keyName(entry);
    this.deleteMaterial(name);
    if (this.material.size >= this.limit) {
      const furthest = this.materialOrder.maxKey();
      const furthestName = furthest === undefined ? undefined : this.materialOrder.get(furthest);
      const furthestEntry = furthestName === undefined ? undefined : this.material.get(furthestName);
      this.evicted('key_material_expiries');
      if (furthestEntry === undefined || furthestName === undefined || !furtherMaterial(furthestEntry, entry)) return;
      this.deleteMaterial(furthestName);
    }
    this.material.set(name, entry);
    this.materialOrder.set(dateOrder(entry.expiry, name), name);
  }

  private deleteMaterial(name: string): void {
    const old = this.material.get(name);
    if (old === undefined) return;
    this.material.delete(name);
    this.materialOrder.delete(dateOrder(old.expiry, name));
  }
}

function aliasEntryOf(op: Extract<KeyOp, { kind: 'set_alias' | 'delete_alias' }>): AliasEntry {
  return { ...op.alias, keyId: op.kind === 'set_alias' ? op.keyId : null, eventTime: op.eventTime };
}

function materialEntryOf(op: Extract<KeyOp, { kind: 'set_material_expiry' | 'clear_material_expiry' }>): MaterialEntry {
  return { ...op.key, expiry: op.kind === 'set_material_expiry' ? op.expiry : null, eventTime: op.eventTime };
}
