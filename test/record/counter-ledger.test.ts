// The counter ledger: write-ahead snapshots equal what applying gives, and restores go through each metric's owner.
import t from 'tap';
import fc from 'fast-check';
import { CounterDelta, CounterLedger } from '../../src/record/counter-ledger.ts';
import type { CounterSeries } from '../../src/record/counter-ledger.ts';

const sorted = (series: readonly CounterSeries[]) => [...series].map((s) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())} ${s.value}`).sort();

t.test('a series is one series whatever the order of its labels', async (t) => {
  const ledger = new CounterLedger();
  ledger.add('c_total', { a: '1', b: '2' }, 1);
  ledger.add('c_total', { b: '2', a: '1' }, 2);
  t.same([...ledger.series('c_total')].map((s) => s.value), [3]);
});

t.test('declared series start at 0 and keep their place; non-positive and non-finite additions are ignored', async (t) => {
  const ledger = new CounterLedger();
  ledger.declare('c_total', { k: 'x' });
  ledger.add('c_total', { k: 'x' }, -5);
  ledger.add('c_total', { k: 'x' }, Number.POSITIVE_INFINITY);
  ledger.add('c_total', { k: 'y' }, 2);
  t.same([...ledger.series('c_total')].map((s) => [s.labels['k'], s.value]), [['x', 0], ['y', 2]]);
});

t.test('restore goes through the owner: relabelled, merged, or dropped; unowned metrics are dropped', async (t) => {
  const ledger = new CounterLedger();
  ledger.own('c_total', (labels) => (labels['k'] === 'drop' ? undefined : { k: labels['k'] === 'a' || labels['k'] === 'b' ? labels['k'] : '__overflow__' }));
  ledger.restore([
    { name: 'c_total', labels: { k: 'a' }, value: 1 },
    { name: 'c_total', labels: { k: 'c' }, value: 2 },
    { name: 'c_total', labels: { k: 'd' }, value: 3 },
    { name: 'c_total', labels: { k: 'drop' }, value: 4 },
    { name: 'unknown_total', labels: {}, value: 5 },
  ]);
  t.same(sorted(ledger.snapshot()), sorted([{ name: 'c_total', labels: { k: 'a' }, value: 1 }, { name: 'c_total', labels: { k: '__overflow__' }, value: 5 }]));
});

const increments = fc.array(fc.record({ name: fc.constantFrom('a_total', 'b_total'), label: fc.constantFrom('x', 'y', 'z'), value: fc.integer({ min: 1, max: 9 }) }), { maxLength: 30 });

t.test('property: snapshot(delta) is the snapshot after apply(delta), and leaves the ledger as it was', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(increments, increments, (before, pending) => {
        const ledger = new CounterLedger();
        for (const { name, label, value } of before) ledger.add(name, { l: label }, value);
        const delta = new CounterDelta();
        for (const { name, label, value } of pending) delta.add(name, { l: label }, value);
        const ahead = sorted(ledger.snapshot(delta));
        const unchanged = sorted(ledger.snapshot());
        ledger.apply(delta);
        const after = sorted(ledger.snapshot());
        return JSON.stringify(ahead) === JSON.stringify(after) && (pending.length > 0 || JSON.stringify(unchanged) === JSON.stringify(after));
      }),
    ),
  );
});
