// The seeded generator: a seed replays, named streams are independent, and the picks keep their promises.
import t from 'tap';
import { Random } from '../../trail/random.ts';

const draw = (r: Random, n: number): number[] => Array.from({ length: n }, () => r.uint32());

t.test('a seed replays; a named stream depends only on the seed and its name', async (t) => {
  t.same(draw(new Random(42), 5), draw(new Random(42), 5));
  const a = new Random(42);
  draw(a, 100);
  t.same(draw(a.stream('faults'), 5), draw(new Random(42).stream('faults'), 5), 'drawing from the parent does not shift a stream');
  t.not(draw(new Random(42).stream('faults'), 5).join(), draw(new Random(42).stream('pages'), 5).join(), 'two names, two streams');
  t.not(draw(new Random(42).stream('faults'), 5).join(), draw(new Random(43).stream('faults'), 5).join(), 'two seeds, two streams');
});

t.test('picks, weights, samples and ids', async (t) => {
  const r = new Random(7);
  const picks = new Set(Array.from({ length: 500 }, () => r.weighted([[1, 'a'], [0, 'never'], [3, 'b']] as const)));
  t.same([...picks].sort(), ['a', 'b'], 'a zero weight is never picked');
  const ints = Array.from({ length: 500 }, () => r.between(3, 5));
  t.same([...new Set(ints)].sort(), [3, 4, 5], 'between includes both ends');
  const items = Array.from({ length: 50 }, (_, i) => i);
  const sample = r.sample(items, 10);
  t.equal(sample.length, 10);
  t.same(sample, [...sample].sort((x, y) => x - y), 'a sample keeps the original order');
  t.same(r.shuffle(items).sort((x, y) => x - y), items, 'a shuffle is a permutation');
  t.match(r.uuid(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.match(r.token(), /^[A-Za-z0-9_-]{56}$/);
  t.throws(() => r.pick([]), /empty/);
});
