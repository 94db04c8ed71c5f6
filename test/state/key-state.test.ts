// Key state: pending deletions bounded by a limit with the documented eviction rule, late records never undoing newer ones.
import t from 'tap';
import fc from 'fast-check';
import { KeyState, keyName } from '../../src/state/key-state.ts';
import type { KeyOp, KeyRef } from '../../src/state/key-state.ts';

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
      fc.property(fc.array(opArbitrary, { maxLength: 200 }), fc.integer({ min: 1, max: 40 }), (ops, limit) => {
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

t.test('property: snapshot(ops) is exactly the snapshot of the state after applying ops', async (t) => {
  const sorted = (snapshot: ReturnType<KeyState['snapshot']>) => JSON.stringify([[...snapshot.pendingDeletions].sort((a, b) => a.keyId.localeCompare(b.keyId)), snapshot.lifecycleEvents]);
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.array(opArbitrary, { maxLength: 60 }), fc.array(opArbitrary, { maxLength: 30 }), fc.integer({ min: 1, max: 12 }), (before, ops, limit) => {
        const state = new KeyState(limit, { evicted: () => {} });
        for (const op of before) state.apply(op);
        const ahead = state.snapshot(ops);
        for (const op of ops) state.apply(op);
        return sorted(ahead) === sorted(state.snapshot());
      }),
    ),
  );
});
