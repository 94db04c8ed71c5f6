// The pending-deletion gauge across scrapes: exactly the keys pending now, whatever was pending before.
import t from 'tap';
import type { Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { buildService } from '../../src/service.ts';
import type { Service } from '../../src/service.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/cloudtrail');
const KEY = '1234abcd-12ab-34cd-56ef-1234567890ab';

function fixture(name: string, changes: { key?: string; eventId?: string; deletionDate?: string } = {}): string {
  let text = JSON.stringify(JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'))).replaceAll(KEY, changes.key ?? KEY);
  if (changes.eventId !== undefined) text = text.replace(/"eventID":"[^"]+"/, `"eventID":"${changes.eventId}"`);
  if (changes.deletionDate !== undefined) text = text.replace(/"deletionDate":"[^"]+"/, `"deletionDate":"${changes.deletionDate}"`);
  return text;
}

async function served(t: Test, overrides: Record<string, unknown> = {}): Promise<Service> {
  const service = await buildService(loadConfig({ source: 'firehose', ...overrides }), { env: { KMS_EXPORTER_FIREHOSE_ACCESS_KEY: 'k' }, log: pino({ level: 'silent' }) });
  await service.start({ listen: false });
  await service.restored;
  t.teardown(() => service.stop());
  return service;
}

async function pendingKeys(service: Service): Promise<string[]> {
  const body = (await service.app.inject({ url: '/metrics' })).body;
  return [...body.matchAll(/^kms_key_pending_deletion_timestamp_seconds\{([^}]*)\}/gm)].map((m) => /key_id="([^"]+)"/.exec(m[1]!)?.[1] ?? m[1]!);
}

t.test('a cancelled deletion leaves the gauge at the next scrape, not only in a fresh process', async (t) => {
  const service = await served(t);
  await service.committer.deliver('test', { records: [fixture('ScheduleKeyDeletion.json')], skipped: 0, invalid: [] });
  t.same(await pendingKeys(service), [KEY]);
  await service.committer.deliver('test', { records: [fixture('CancelKeyDeletion.json')], skipped: 0, invalid: [] });
  t.same(await pendingKeys(service), [], 'gone, family and all');
});

t.test('with keys churning past --key-state-limit, every scrape shows the key state: no stale key, no overflow series', async (t) => {
  // A series limit below the key state limit: the gauge is bounded by the key state, not folded by the SDK.
  const service = await served(t, { keyStateLimit: '4', seriesLimit: '3' });
  const keys = Array.from({ length: 12 }, (_, i) => `${String(i).padStart(8, '0')}-12ab-34cd-56ef-1234567890ab`);
  for (const [i, key] of keys.entries()) {
    // Each deletion nearer than the last, so each evicts the furthest one kept.
    const record = fixture('ScheduleKeyDeletion.json', { key, eventId: `${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`, deletionDate: `Dec ${25 - i}, 2026 18:58:30 PM` });
    await service.committer.deliver('test', { records: [record], skipped: 0, invalid: [] });
    const expected = [...service.core.keyState.pendingDeletions()].map((entry) => entry.keyId).sort();
    t.same((await pendingKeys(service)).sort(), expected, `after ${i + 1} keys`);
  }
  t.same((await pendingKeys(service)).sort(), keys.slice(-4).sort(), 'the four nearest deletions');
});
