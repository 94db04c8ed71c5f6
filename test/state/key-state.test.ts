// Key state: pending deletions, aliases and material expiries bounded by a limit with the documented eviction rules, late records never undoing newer ones.
import t from 'tap';
import fc from 'fast-check';
import { KeyState, keyName } from '../../src/state/key-state.ts';
import type { AliasRef, KeyOp, KeyRef, KeyStateTable } from '../../src/state/key-state.ts';

const DAY = 86_400_000;
const key = (n: number): KeyRef => ({ accountId: '111122223333', region: 'us-east-1', keyId: `key-${n}` });
const schedule = (n: number, date: number, eventTime = 0): KeyOp => ({ kind: 'schedule_deletion', key: key(n), date, eventTime });
const settle = (n: number, eventTime: number): KeyOp => ({ kind: 'settle_deletion', key: key(n), eventTime });

function pendingIds(state: KeyState): string[] {
  return [...state.pendingDeletions()].map((entry) => entry.keyId).sort();
}

t.test('a cancelled or completed deletion leaves no pending entry', async (t) => {
  const state = new KeyState(10, { evicted: () => t.fail('nothing is full') });
  state.apply(schedule(1, 30 * DAY, 1));
  state.apply(schedule(2, 30 * DAY, 1));
  state.apply(settle(1, 2));
  t.same(pendingIds(state), ['key-2']);
});

t.test('a late ScheduleKeyDeletion older than the CancelKeyDeletion already applied changes nothing', async (t) => {
  const state = new KeyState(10, { evicted: () => {} });
  state.apply(settle(1, 2_000));
  state.apply(schedule(1, 30 * DAY, 1_000));
  t.same(pendingIds(state), [], 'the cancel is newer');
  state.apply(schedule(1, 30 * DAY, 3_000));
  t.same(pendingIds(state), ['key-1'], 'a newer schedule applies');
});

t.test('when full, the deletion furthest away is evicted, or the new one is not kept if it is the furthest', async (t) => {
  const evicted: string[] = [];
  const state = new KeyState(3, { evicted: (table) => evicted.push(table) });
  state.apply(schedule(1, 10 * DAY));
  state.apply(schedule(2, 20 * DAY));
  state.apply(schedule(3, 30 * DAY));
  state.apply(schedule(4, 5 * DAY));
  t.same(pendingIds(state), ['key-1', 'key-2', 'key-4'], 'the 30-day deletion made room for the 5-day one');
  state.apply(schedule(5, 40 * DAY));
  t.same(pendingIds(state), ['key-1', 'key-2', 'key-4'], 'a deletion further away than all kept ones is not kept');
  t.same(evicted.filter((table) => table === 'pending_deletions'), ['pending_deletions', 'pending_deletions'], 'both are counted');
  state.apply(schedule(2, 1 * DAY, 1));
  t.same(pendingIds(state), ['key-1', 'key-2', 'key-4'], 're-scheduling a kept key needs no room');
  t.equal([...state.pendingDeletions()].find((entry) => entry.keyId === 'key-2')?.date, DAY);
});

t.test('the lifecycle table forgets the key changed longest ago when full', async (t) => {
  const evicted: string[] = [];
  const state = new KeyState(2, { evicted: (table) => evicted.push(table) });
  state.apply(settle(1, 1));
  state.apply(settle(2, 2));
  state.apply(settle(3, 3));
  t.equal(state.lifecycleCount, 2);
  t.same(evicted, ['key_lifecycle_events']);
  t.same(state.snapshot().lifecycleEvents.map(([name]) => name), [keyName(key(2)), keyName(key(3))]);
});

t.test('snapshot(ops) is the state after ops, and leaves the state unchanged', async (t) => {
  const state = new KeyState(10, { evicted: () => {} });
  state.apply(schedule(1, DAY, 1));
  const after = state.snapshot([settle(1, 2), schedule(2, 2 * DAY, 2)]);
  t.same(after.pendingDeletions.map((entry) => entry.keyId), ['key-2']);
  t.same(pendingIds(state), ['key-1']);
});

t.test('restore goes through the same limit: a checkpoint written with a larger limit is cut by the rule', async (t) => {
  const big = new KeyState(100, { evicted: () => {} });
  for (let n = 0; n < 50; n++) big.apply(schedule(n, (n + 1) * DAY, n));
  const evicted: string[] = [];
  const small = new KeyState(10, { evicted: (table) => evicted.push(table) });
  small.restore(big.snapshot());
  t.equal(small.pendingCount, 10);
  t.same(pendingIds(small), Array.from({ length: 10 }, (_, n) => `key-${n}`).sort(), 'the ten nearest deletions are kept');
  t.equal(evicted.filter((table) => table === 'pending_deletions').length, 40);
});

type DeletionOp = Extract<KeyOp, { kind: 'schedule_deletion' | 'settle_deletion' }>;

// A reference model: unbounded, the newest event per key wins.
function model(ops: readonly DeletionOp[]): Map<string, number> {
  const newest = new Map<string, number>();
  const pending = new Map<string, number>();
  for (const op of ops) {
    const name = keyName(op.key);
    const seen = newest.get(name);
    if (seen !== undefined && seen > op.eventTime) continue;
    newest.set(name, op.eventTime);
    if (op.kind === 'schedule_deletion') pending.set(name, op.date);
    else pending.delete(name);
  }
  return pending;
}

const opArbitrary = fc.oneof(
  fc.record({ kind: fc.constant('schedule_deletion' as const), key: fc.integer({ min: 0, max: 30 }).map(key), date: fc.integer({ min: 0, max: 60 }).map((d) => d * DAY), eventTime: fc.integer({ min: 0, max: 1000 }) }),
  fc.record({ kind: fc.constant('settle_deletion' as const), key: fc.integer({ min: 0, max: 30 }).map(key), eventTime: fc.integer({ min: 0, max: 1000 }) }),
);

t.test('property: never more pending entries than the limit; with room for every key, exactly the reference model', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.array(opArbitrary, { maxLength: 200 }), fc.integer({ min: 1, max: 40 }), (ops: DeletionOp[], limit) => {
        const state = new KeyState(limit, { evicted: () => {} });
        for (const op of ops) state.apply(op);
        if (state.pendingCount > limit) return false;
        if (limit < 31) return true;
        const expected = model(ops);
        const actual = new Map([...state.pendingDeletions()].map((entry) => [keyName(entry), entry.date]));
        return expected.size === actual.size && [...expected].every(([name, date]) => actual.get(name) === date);
      }),
    ),
  );
});


const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const alias = (name: string, accountId = ACCOUNT, region = REGION): AliasRef => ({ accountId, region, alias: `alias/${name}` });
const setAlias = (name: string, keyN: number, eventTime: number, accountId = ACCOUNT): KeyOp => ({ kind: 'set_alias', alias: alias(name, accountId), keyId: `key-${keyN}`, eventTime });
const deleteAlias = (name: string, eventTime: number): KeyOp => ({ kind: 'delete_alias', alias: alias(name), eventTime });
const setExpiry = (n: number, expiry: number, eventTime = 0): KeyOp => ({ kind: 'set_material_expiry', key: key(n), expiry, eventTime });
const clearExpiry = (n: number, eventTime: number): KeyOp => ({ kind: 'clear_material_expiry', key: key(n), eventTime });

function expiries(state: KeyState): [string, number][] {
  return [...state.materialExpiries()].map((entry): [string, number] => [entry.keyId, entry.expiry]).sort(([a], [b]) => a.localeCompare(b));
}

t.test('CreateAlias names a key; UpdateAlias moves the alias to another key; DeleteAlias removes it', async (t) => {
  const state = new KeyState(10, { evicted: () => t.fail('nothing is full') });
  state.apply(setAlias('payments-db', 1, 1));
  state.apply(setAlias('payments', 1, 2));
  t.same(state.aliasesOf(key(1)), ['alias/payments', 'alias/payments-db'], 'sorted');
  t.same(state.keyOfAlias(ACCOUNT, REGION, 'alias/payments-db'), key(1));
  state.apply(setAlias('payments-db', 2, 3));
  t.same(state.aliasesOf(key(1)), ['alias/payments'], 'moved away from the old key');
  t.same(state.aliasesOf(key(2)), ['alias/payments-db'], 'and onto the new one');
  t.same(state.keyOfAlias(ACCOUNT, REGION, 'alias/payments-db'), key(2));
  state.apply(deleteAlias('payments-db', 4));
  t.same(state.aliasesOf(key(2)), []);
  t.equal(state.keyOfAlias(ACCOUNT, REGION, 'alias/payments-db'), undefined);
  t.same(state.aliasesOf(key(3)), [], 'a key no alias names');
});

t.test('alias names are scoped per account and region', async (t) => {
  const state = new KeyState(10, { evicted: () => {} });
  state.apply(setAlias('app', 1, 1, '111122223333'));
  state.apply(setAlias('app', 2, 1, '444455556666'));
  t.same(state.keyOfAlias('111122223333', REGION, 'alias/app'), key(1));
  t.same(state.keyOfAlias('444455556666', REGION, 'alias/app'), { accountId: '444455556666', region: REGION, keyId: 'key-2' });
  t.equal(state.keyOfAlias('111122223333', 'eu-west-1', 'alias/app'), undefined, 'another region has its own aliases');
  t.same(state.aliasesOf(key(1)), ['alias/app']);
  t.same(state.aliasesOf({ accountId: '444455556666', region: REGION, keyId: 'key-1' }), [], 'the same key id in another account is another key');
});

t.test('a late alias record never undoes a newer one: a CreateAlias older than the DeleteAlias applied stays deleted', async (t) => {
  const state = new KeyState(10, { evicted: () => {} });
  state.apply(deleteAlias('reports', 2_000));
  state.apply(setAlias('reports', 1, 1_000));
  t.equal(state.keyOfAlias(ACCOUNT, REGION, 'alias/reports'), undefined, 'the delete is newer');
  state.apply(setAlias('reports', 2, 3_000));
  state.apply(setAlias('reports', 1, 2_500));
  t.same(state.keyOfAlias(ACCOUNT, REGION, 'alias/reports'), key(2), 'an UpdateAlias older than the one applied does not move it back');
  t.same(state.aliasesOf(key(1)), []);
});

t.test('the alias table forgets the alias changed longest ago when full, and counts it', async (t) => {
  const evicted: KeyStateTable[] = [];
  const state = new KeyState(2, { evicted: (table) => evicted.push(table) });
  state.apply(setAlias('a', 1, 1));
  state.apply(setAlias('b', 1, 2));
  state.apply(setAlias('a', 2, 3));
  state.apply(setAlias('c', 3, 4));
  t.same(evicted, ['key_aliases']);
  t.equal(state.aliasCount, 2);
  t.same(state.aliasesOf(key(1)), [], 'b went, and with it its entry in the reverse index');
  t.same(state.aliasesOf(key(2)), ['alias/a'], 'a was changed since, so it stays');
  t.same(state.aliasesOf(key(3)), ['alias/c']);
});

t.test('imported material expiry: set by ImportKeyMaterial, cleared by a later clear, a late import older than the clear changes nothing', async (t) => {
  const state = new KeyState(10, { evicted: () => {} });
  state.apply(setExpiry(1, 100 * DAY, 1));
  state.apply(setExpiry(2, 200 * DAY, 1));
  t.same(expiries(state), [['key-1', 100 * DAY], ['key-2', 200 * DAY]]);
  state.apply(clearExpiry(1, 5));
  state.apply(setExpiry(1, 100 * DAY, 3));
  t.same(expiries(state), [['key-2', 200 * DAY]], 'the clear is newer than the late import');
  state.apply(setExpiry(1, 150 * DAY, 6));
  t.same(expiries(state), [['key-1', 150 * DAY], ['key-2', 200 * DAY]], 'a newer import applies');
});

t.test('when the material table is full, tombstones go first, then the expiry furthest away; a new furthest one is not kept', async (t) => {
  const evicted: KeyStateTable[] = [];
  const state = new KeyState(3, { evicted: (table) => evicted.push(table) });
  state.apply(setExpiry(1, 10 * DAY, 1));
  state.apply(setExpiry(2, 30 * DAY, 1));
  state.apply(clearExpiry(3, 1));
  t.equal(state.materialCount, 3, 'the tombstone is held');
  state.apply(setExpiry(4, 40 * DAY, 1));
  t.same(expiries(state), [['key-1', 10 * DAY], ['key-2', 30 * DAY], ['key-4', 40 * DAY]], 'the tombstone made room');
  state.apply(setExpiry(5, 5 * DAY, 1));
  t.same(expiries(state), [['key-1', 10 * DAY], ['key-2', 30 * DAY], ['key-5', 5 * DAY]], 'the 40-day expiry made room for the 5-day one');
  state.apply(setExpiry(6, 50 * DAY, 1));
  t.same(expiries(state), [['key-1', 10 * DAY], ['key-2', 30 * DAY], ['key-5', 5 * DAY]], 'an expiry further than all kept ones is not kept');
  t.same(evicted, ['key_material_expiries', 'key_material_expiries', 'key_material_expiries']);
});

t.test('snapshot and restore keep aliases, their order and their tombstones, and material expiries', async (t) => {
  const state = new KeyState(10, { evicted: () => {} });
  state.apply(setAlias('a', 1, 1));
  state.apply(setAlias('b', 2, 2));
  state.apply(deleteAlias('c', 3));
  state.apply(setExpiry(1, 100 * DAY, 1));
  state.apply(clearExpiry(2, 2));
  const snapshot = state.snapshot();
  const restored = new KeyState(10, { evicted: () => {} });
  restored.restore(JSON.parse(JSON.stringify(snapshot)));
  t.same(restored.snapshot(), snapshot, 'the same state, in the same order');
  t.same(restored.aliasesOf(key(2)), ['alias/b']);
  restored.apply(setAlias('c', 3, 2));
  t.equal(restored.keyOfAlias(ACCOUNT, REGION, 'alias/c'), undefined, 'the restored tombstone still holds off a late CreateAlias');
  t.same(expiries(restored), [['key-1', 100 * DAY]]);
});

t.test('a snapshot written before aliases and material (no such fields) restores', async (t) => {
  const state = new KeyState(10, { evicted: () => {} });
  state.restore({ pendingDeletions: [{ ...key(1), date: DAY, eventTime: 1 }], lifecycleEvents: [[keyName(key(1)), 1]] });
  t.same(pendingIds(state), ['key-1']);
  t.equal(state.aliasCount, 0);
  t.equal(state.materialCount, 0);
});

t.test('restore goes through the same limits: aliases and expiries from a larger limit are cut by their rules', async (t) => {
  const big = new KeyState(100, { evicted: () => {} });
  for (let n = 0; n < 20; n++) {
    big.apply(setAlias(`a-${n}`, n, n));
    big.apply(setExpiry(n, (n + 1) * DAY, n));
  }
  const evicted: KeyStateTable[] = [];
  const small = new KeyState(5, { evicted: (table) => evicted.push(table) });
  small.restore(big.snapshot());
  t.same([15, 16, 17, 18, 19].flatMap((n) => small.aliasesOf(key(n))), ['alias/a-15', 'alias/a-16', 'alias/a-17', 'alias/a-18', 'alias/a-19'], 'the five changed last');
  t.same(expiries(small).map(([id]) => id), ['key-0', 'key-1', 'key-2', 'key-3', 'key-4'], 'the five nearest expiries');
  t.equal(evicted.filter((table) => table === 'key_aliases').length, 15);
  t.equal(evicted.filter((table) => table === 'key_material_expiries').length, 15);
});

// Alias ops over few names and keys, each with a distinct event time per alias (ties have no order to keep).
const aliasOpsArbitrary = fc
  .array(
    fc.record({ name: fc.constantFrom('a', 'b', 'c', 'd'), keyN: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }), eventTime: fc.integer({ min: 0, max: 10_000 }) }),
    { maxLength: 40 },
  )
  .map((specs) => {
    const seen = new Set<string>();
    return specs
      .filter((spec) => !seen.has(`${spec.name}@${spec.eventTime}`) && seen.add(`${spec.name}@${spec.eventTime}`))
      .map((spec): KeyOp => (spec.keyN === undefined ? deleteAlias(spec.name, spec.eventTime) : setAlias(spec.name, spec.keyN, spec.eventTime)));
  });

function aliasView(ops: readonly KeyOp[]): string {
  const state = new KeyState(100, { evicted: () => {} });
  for (const op of ops) state.apply(op);
  const byAlias = ['a', 'b', 'c', 'd'].map((name) => state.keyOfAlias(ACCOUNT, REGION, `alias/${name}`)?.keyId ?? '-');
  const byKey = [0, 1, 2, 3].map((n) => state.aliasesOf(key(n)).join(','));
  return JSON.stringify([byAlias, byKey]);
}

const eventTimeOf = (op: KeyOp) => op.eventTime;

t.test('property: any interleaving that keeps each alias\'s eventTime order gives the same aliases as in order', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(aliasOpsArbitrary, fc.infiniteStream(fc.nat()), (ops, choices) => {
        const inOrder = [...ops].sort((a, b) => eventTimeOf(a) - eventTimeOf(b));
        // Per alias queues in eventTime order, merged by a random choice of queue at each step.
        const queues = new Map<string, KeyOp[]>();
        for (const op of inOrder) {
          const name = op.kind === 'set_alias' || op.kind === 'delete_alias' ? op.alias.alias : '';
          queues.set(name, [...(queues.get(name) ?? []), op]);
        }
        const interleaved: KeyOp[] = [];
        const pick = choices[Symbol.iterator]();
        for (let live = [...queues.values()].filter((q) => q.length > 0); live.length > 0; live = live.filter((q) => q.length > 0)) {
          interleaved.push(live[(pick.next().value as number) % live.length]!.shift()!);
        }
        return aliasView(interleaved) === aliasView(inOrder);
      }),
    ),
  );
});

t.test('property: with distinct event times per alias, any delivery order at all gives the aliases of the in-order stream', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(aliasOpsArbitrary.chain((ops) => fc.tuple(fc.constant(ops), fc.shuffledSubarray(ops, { minLength: ops.length, maxLength: ops.length }))), ([ops, shuffled]) => {
        const inOrder = [...ops].sort((a, b) => eventTimeOf(a) - eventTimeOf(b));
        return aliasView(shuffled) === aliasView(inOrder);
      }),
    ),
  );
});

const anyOpArbitrary = fc.oneof(
  opArbitrary,
  fc.record({ kind: fc.constant('set_alias' as const), alias: fc.constantFrom('a', 'b', 'c', 'd', 'e').map((name) => alias(name)), keyId: fc.integer({ min: 0, max: 5 }).map((n) => `key-${n}`), eventTime: fc.integer({ min: 0, max: 1000 }) }),
  fc.record({ kind: fc.constant('delete_alias' as const), alias: fc.constantFrom('a', 'b', 'c', 'd', 'e').map((name) => alias(name)), eventTime: fc.integer({ min: 0, max: 1000 }) }),
  fc.record({ kind: fc.constant('set_material_expiry' as const), key: fc.integer({ min: 0, max: 15 }).map(key), expiry: fc.integer({ min: 0, max: 60 }).map((d) => d * DAY), eventTime: fc.integer({ min: 0, max: 1000 }) }),
  fc.record({ kind: fc.constant('clear_material_expiry' as const), key: fc.integer({ min: 0, max: 15 }).map(key), eventTime: fc.integer({ min: 0, max: 1000 }) }),
);

t.test('property: snapshot(ops) is exactly the snapshot of the state after applying ops', async (t) => {
  const sorted = (snapshot: ReturnType<KeyState['snapshot']>) =>
    JSON.stringify([
      [...snapshot.pendingDeletions].sort((a, b) => a.keyId.localeCompare(b.keyId)),
      snapshot.lifecycleEvents,
      // In order: the order is the eviction order a restore rebuilds.
      snapshot.aliases,
      [...(snapshot.materialExpiries ?? [])].sort((a, b) => a.keyId.localeCompare(b.keyId)),
    ]);
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.array(anyOpArbitrary, { maxLength: 60 }), fc.array(anyOpArbitrary, { maxLength: 30 }), fc.integer({ min: 1, max: 12 }), (before, ops, limit) => {
        const state = new KeyState(limit, { evicted: () => {} });
        for (const op of before) state.apply(op);
        const ahead = state.snapshot(ops);
        for (const op of ops) state.apply(op);
        return sorted(ahead) === sorted(state.snapshot());
      }),
    ),
  );
});
