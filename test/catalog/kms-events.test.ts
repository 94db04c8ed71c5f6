// The catalog table: every DESIGN.md event once, with the documented category and risk.
import t from 'tap';
import { CATALOG, lookup, SEVERITY_BY_RISK } from '../../src/catalog/kms-events.ts';

t.test('catalog has the 31 DESIGN.md events, each once', async (t) => {
  t.equal(CATALOG.length, 31);
  t.equal(new Set(CATALOG.map((e) => e.eventName)).size, 31);
});

t.test('lookup matches on event source and name', async (t) => {
  t.equal(lookup('kms.amazonaws.com', 'ScheduleKeyDeletion')?.risk, 'high');
  t.equal(lookup('kms.amazonaws.com', 'TagResource')?.category, 'tag');
  t.equal(lookup('ec2.amazonaws.com', 'TagResource'), undefined);
  t.equal(lookup('kms.amazonaws.com', 'Decrypt'), undefined);
  t.equal(SEVERITY_BY_RISK[lookup('kms.amazonaws.com', 'CreateGrant')!.risk], 'warning');
});
