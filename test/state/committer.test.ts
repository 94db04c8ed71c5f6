// The committer: concurrent batches commit together, a retry is answered once its first attempt is settled, duplicates are counted once.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { buildCore } from '../../src/service.ts';
import { Committer, outcomeOf } from '../../src/state/committer.ts';
import { MemoryStore } from '../../src/state/local-state.ts';

const record = readFileSync(join(import.meta.dirname, '../fixtures/cloudtrail/DisableKey.json'), 'utf8');
const withId = (id: string) => JSON.stringify({ ...(JSON.parse(record) as object), eventID: id });

async function committer() {
  const core = await buildCore(loadConfig({}), { env: {}, log: pino({ level: 'silent' }) });
  return { core, committer: new Committer(core.pipeline, new MemoryStore(core.local), core.stateMetrics) };
}

t.test('the same request id twice at once: the first is counted, the second answered as a retry', async (t) => {
  const { core, committer: c } = await committer();
  const batch = { records: [withId('a'), withId('b')], skipped: 0, invalid: [] };
  const [first, second] = await Promise.all([c.deliver('firehose', batch, 'r1'), c.deliver('firehose', batch, 'r1')]);
  t.same([first.kind, second.kind], ['committed', 'retry']);
  t.equal(outcomeOf(first).matched, 2);
  t.equal(core.ledger.value('kms_exporter_records_total', { source: 'firehose', result: 'matched' }), 2);
  t.equal(core.ledger.value('kms_exporter_records_total', { source: 'firehose', result: 'duplicate' }), 0, 'a retry is not read again');
});

t.test('an eventID in two batches of one group is counted once; a record without eventID always counts', async (t) => {
  const { core, committer: c } = await committer();
  const noId = JSON.stringify({ ...(JSON.parse(record) as Record<string, unknown>), eventID: undefined });
  const outcomes = await Promise.all([
    c.deliver('poll', { records: [withId('x'), noId], skipped: 0, invalid: [] }),
    c.deliver('live-tail', { records: [withId('x'), noId], skipped: 3, invalid: [] }),
  ]);
  t.same(outcomes.map((o) => [outcomeOf(o).matched, outcomeOf(o).duplicate, outcomeOf(o).ignored]), [
    [2, 0, 0],
    [1, 1, 3],
  ]);
  t.equal(core.ledger.value('kms_config_changes_total', { event_name: 'DisableKey', category: 'key_lifecycle', risk: 'high', aws_account_id: '111122223333', aws_region: 'us-east-1', principal_type: 'AssumedRole', expected: 'false' }), 3);
});

t.test('a scrape waits for the commit in progress and sees all of it', async (t) => {
  const { core, committer: c } = await committer();
  const delivery = c.deliver('firehose', { records: Array.from({ length: 500 }, (_, i) => withId(`id-${i}`)), skipped: 0, invalid: [] });
  const seen = await c.scrape(async () => core.ledger.value('kms_exporter_records_total', { source: 'firehose', result: 'matched' }));
  await delivery;
  t.ok(seen === 0 || seen === 500, `all or nothing of a batch (saw ${seen})`);
  await c.idle();
  t.equal(await c.scrape(async () => core.ledger.value('kms_exporter_records_total', { source: 'firehose', result: 'matched' })), 500);
});
