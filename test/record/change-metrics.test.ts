// The per-key gauges across scrapes (pending deletion, imported material expiry), and the pipeline counters across a restart.
import t from 'tap';
import type { Test } from 'tap';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/** The kms_key_material_expiry_timestamp_seconds family as scraped: HELP, TYPE and samples, or nothing. */
async function materialFamily(service: Service): Promise<string[]> {
  const body = (await service.app.inject({ url: '/metrics' })).body;
  return body.split('\n').filter((line) => /^(# (HELP|TYPE) )?kms_key_material_expiry_timestamp_seconds\b/.test(line));
}

t.test('imported key material expiry: the exact samples on /metrics, and gone once the material is deleted', async (t) => {
  const service = await served(t);
  const imported = '6f8b2a41-3c7d-4e9a-b1f0-2d5c8e7a9b34';
  await service.committer.deliver('test', { records: [fixture('ImportKeyMaterial.json')], skipped: 0, invalid: [] });
  t.same(await materialFamily(service), [
    '# HELP kms_key_material_expiry_timestamp_seconds When the imported key material of a KMS key expires, as a Unix timestamp (ImportKeyMaterial with KEY_MATERIAL_EXPIRES); removed when the material is deleted or the key is.',
    '# TYPE kms_key_material_expiry_timestamp_seconds gauge',
    `kms_key_material_expiry_timestamp_seconds{aws_account_id="111122223333",aws_region="us-east-1",key_id="${imported}"} 1798833600`,
  ]);
  await service.committer.deliver('test', { records: [fixture('DeleteImportedKeyMaterial.json')], skipped: 0, invalid: [] });
  t.same(await materialFamily(service), [], 'deleted: no series (a stale one would keep an expiry alert firing)');
  const body = (await service.app.inject({ url: '/metrics' })).body;
  t.match(body, /^kms_exporter_state_entries\{table="key_material_expiries"\} 1$/m, 'the tombstone is what the table holds');
});

t.test('a late ImportKeyMaterial older than the DeleteExpiredKeyMaterial already applied does not bring the series back', async (t) => {
  const service = await served(t);
  await service.committer.deliver('test', { records: [fixture('DeleteExpiredKeyMaterial.json')], skipped: 0, invalid: [] });
  await service.committer.deliver('test', { records: [fixture('ImportKeyMaterial.json')], skipped: 0, invalid: [] });
  t.same(await materialFamily(service), []);
});

t.test('material expiries past --key-state-limit: the nearest are exported, the rest counted as evicted', async (t) => {
  const service = await served(t, { keyStateLimit: '2' });
  const keys = ['00000001-3c7d-4e9a-b1f0-2d5c8e7a9b34', '00000002-3c7d-4e9a-b1f0-2d5c8e7a9b34', '00000003-3c7d-4e9a-b1f0-2d5c8e7a9b34'];
  const validTo = ['Mar 1, 2027 8:00:00 PM', 'Feb 1, 2027 8:00:00 PM', 'Jan 1, 2027 8:00:00 PM'];
  for (const [i, key] of keys.entries()) {
    const record = fixture('ImportKeyMaterial.json', { eventId: `${String(i).padStart(8, '0')}-0000-4000-8000-000000000000` }).replaceAll('6f8b2a41-3c7d-4e9a-b1f0-2d5c8e7a9b34', key).replace('Jan 1, 2027 8:00:00 PM', validTo[i]!);
    await service.committer.deliver('test', { records: [record], skipped: 0, invalid: [] });
  }
  const samples = (await materialFamily(service)).filter((line) => !line.startsWith('#'));
  t.same(samples, [
    `kms_key_material_expiry_timestamp_seconds{aws_account_id="111122223333",aws_region="us-east-1",key_id="${keys[1]}"} ${Date.parse('2027-02-01T20:00:00Z') / 1000}`,
    `kms_key_material_expiry_timestamp_seconds{aws_account_id="111122223333",aws_region="us-east-1",key_id="${keys[2]}"} ${Date.parse('2027-01-01T20:00:00Z') / 1000}`,
  ]);
  t.match((await service.app.inject({ url: '/metrics' })).body, /^kms_exporter_state_evictions_total\{table="key_material_expiries"\} 1$/m);
});

t.test('pipeline counters survive a restart from the checkpoint, under their closed label set, and a redelivery is not counted again', async (t) => {
  const checkpointFile = join(mkdtempSync(join(tmpdir(), 'pipeline-checkpoint-')), 'state.json');
  const stop = JSON.stringify(JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/cloudtrail-pipeline/StopLogging.json'), 'utf8')));
  const sample = 'kms_pipeline_changes_total{event_name="StopLogging",event_source="cloudtrail.amazonaws.com",category="trail",blinding="blinds",aws_account_id="438465128930",aws_region="ap-southeast-2",principal_type="IAMUser"} 1';
  const pipelineSamples = async (service: Service): Promise<string[]> =>
    (await service.app.inject({ url: '/metrics' })).body.split('\n').filter((line) => line.startsWith('kms_pipeline_'));
  const first = await buildService(loadConfig({ source: 'firehose', checkpointFile }), { env: { KMS_EXPORTER_FIREHOSE_ACCESS_KEY: 'k' }, log: pino({ level: 'silent' }) });
  await first.start({ listen: false });
  await first.restored;
  await first.committer.deliver('test', { records: [stop], skipped: 0, invalid: [] });
  t.same(await pipelineSamples(first), [sample]);
  await first.stop();

  const second = await served(t, { checkpointFile });
  t.same(await pipelineSamples(second), [sample], 'restored as written');
  await second.committer.deliver('test', { records: [stop], skipped: 0, invalid: [] });
  t.same(await pipelineSamples(second), [sample], 'the same eventID after a restart is a duplicate');
});
