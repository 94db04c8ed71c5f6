// The in-flight body budget: reservations that fit are taken whole, the rest refused whole, and releases give them back.
import t from 'tap';
import { InflightBudget } from '../../src/serve/push-guard.ts';

t.test('a reservation is taken whole or not at all; the limit itself fits', async (t) => {
  const budget = new InflightBudget(100);
  t.equal(budget.tryReserve(60), true);
  t.equal(budget.tryReserve(41), false, 'one byte over');
  t.equal(budget.used, 60, 'a refused reservation takes nothing');
  t.equal(budget.tryReserve(40), true, 'exactly full');
  t.equal(budget.used, 100);
  t.equal(budget.tryReserve(0), true, 'nothing always fits');
  budget.release(60);
  t.equal(budget.used, 40);
  t.equal(budget.tryReserve(-5), false, 'a negative size is not a reservation');
});

t.test('releasing more than is held never makes room beyond the limit', async (t) => {
  const budget = new InflightBudget(10);
  budget.release(50);
  t.equal(budget.used, 0);
  t.equal(budget.tryReserve(11), false);
  t.equal(budget.limit, 10);
});
