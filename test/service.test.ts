// The service in-process with a checkpoint: every promise the state makes, each defect the checkpoint once had, as a regression test.
import t from 'tap';
import type { Test } from 'tap';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { buildService } from '../src/service.ts';
import type { Service } from '../src/service.ts';
import { firehoseRequest } from './support/firehose-request.ts';
import { sample } from './support/service-process.ts';

const KEY = 'firehose-access-key-0123456789';
const FIXTURE = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/cloudtrail/ScheduleKeyDeletion.json'), 'utf8')) as Record<string, unknown>;
const NOW = Date.parse('2026-11-25T00:00:00Z');

/** A ScheduleKeyDeletion of key `n`, with its own eventID; `patch` overrides top-level fields and request parameters. */
function scheduleDeletion(n: number, patch: { eventTime?: string; pendingWindowInDays?: unknown; eventID?: string } = {}): string {
  const keyId = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  return JSON.stringify({
    ...FIXTURE,
    eventID: patch.eventID ?? `event-${n}`,
    eventTime: patch.eventTime ?? FIXTURE['eventTime'],
    requestParameters: { keyId, pendingWindowInDays: 'pendingWindowInDays' in patch ? patch.pendingWindowInDays : 7 },
    responseElements: { keyId: `arn:aws:kms:us-east-1:111122223333:key/${keyId}`, keyState: 'PendingDeletion' },
    resources: [{ accountId: '111122223333', type: 'AWS::KMS::Key', ARN: `arn:aws:kms:us-east-1:111122223333:key/${keyId}` }],
  });
}

function tempCheckpoint(): string {
  return join(mkdtempSync(join(tmpdir(), 'kce-service-')), 'checkpoint.json');
}

async function start(t: Test, settings: Record<string, unknown>, options: { now?: () => number; wait?: boolean } = {}): Promise<Service> {
  const service = await buildService(loadConfig({ source: 'firehose', ...settings }), { env: { KMS_EXPORTER_FIREHOSE_ACCESS_KEY: KEY }, log: pino({ level: 'silent' }), now: options.now ?? (() => NOW) });
  t.teardown(() => service.stop());
  await service.start({ listen: false });
  if (options.wait !== false) await service.restored;
  return service;
}

async function post(service: Service, messages: readonly string[], requestId?: string): Promise<number> {
  const response = await service.app.inject(firehoseRequest(messages, { key: KEY, ...(requestId === undefined ? {} : { requestId }) }));
  return response.statusCode;
}

async function scrape(service: Service): Promise<string> {
  const response = await service.app.inject({ method: 'GET', url: '/metrics' });
  return response.body;
}

interface Saved {
  replica: { counters: { name: string; labels: Record<string, string>; value: number }[]; lastEvent: Record<string, number> };
  shared: { eventIds: string[]; keyState: { pendingDeletions: { keyId: string; date: number }[] } };
}

function saved(path: string): Saved {
  return JSON.parse(readFileSync(path, 'utf8')) as Saved;
}

function savedChanges(path: string): number {
  return saved(path)
    .replica.counters.filter((c) => c.name === 'kms_config_changes_total')
    .reduce((sum, c) => sum + c.value, 0);
}

t.test('a scrape never sees a change the checkpoint does not have: scrapes interleaved with concurrent deliveries', async (t) => {
  const checkpoint = tempCheckpoint();
  const service = await start(t, { checkpointFile: checkpoint });
  let violations = 0;
  let scrapes = 0;
  const deliveries = Array.from({ length: 40 }, (_, i) => post(service, [scheduleDeletion(i)]));
  const scraping = (async () => {
    for (let i = 0; i < 40; i++) {
      const seen = sample(await scrape(service), 'kms_config_changes_total');
      scrapes++;
      if (existsSync(checkpoint) && seen > savedChanges(checkpoint)) violations++;
      if (!existsSync(checkpoint) && seen > 0) violations++;
    }
  })();
  const statuses = await Promise.all(deliveries);
  await scraping;
  t.same(new Set(statuses), new Set([200]));
  t.equal(scrapes, 40);
  t.equal(violations, 0, 'no scrape was ahead of the checkpoint');
  t.equal(sample(await scrape(service), 'kms_config_changes_total'), 40);
  t.equal(savedChanges(checkpoint), 40);
});

t.test('Firehose with a checkpoint: a restart restores the counters, the pending deletions and the remembered eventIDs', async (t) => {
  const checkpoint = tempCheckpoint();
  const first = await start(t, { checkpointFile: checkpoint });
  const records = Array.from({ length: 5 }, (_, i) => scheduleDeletion(i));
  t.equal(await post(first, records, 'request-1'), 200);
  await first.stop();
  const second = await start(t, { checkpointFile: checkpoint });
  let body = await scrape(second);
  t.equal(sample(body, 'kms_config_changes_total'), 5, 'counters continue');
  t.equal(body.split('\n').filter((line) => line.startsWith('kms_key_pending_deletion_timestamp_seconds{')).length, 5, 'pending deletions are restored');
  t.equal(await post(second, records, 'request-2'), 200);
  t.equal(await post(second, records, 'request-1'), 200, 'a retry of a request delivered before the restart');
  body = await scrape(second);
  t.equal(sample(body, 'kms_config_changes_total'), 5, 'the same records again are duplicates');
  t.equal(sample(body, 'kms_exporter_records_total', { source: 'firehose', result: 'duplicate' }), 5);
  t.equal(sample(body, 'kms_exporter_source_events_total', { source: 'firehose', event: 'retried_request' }), 1);
});

t.test('a restart from the checkpoint keeps the alias map and the material expiries', async (t) => {
  const fixture = (name: string) => JSON.stringify(JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/cloudtrail', name), 'utf8')));
  const checkpoint = tempCheckpoint();
  const first = await start(t, { checkpointFile: checkpoint });
  t.equal(await post(first, [fixture('CreateAlias.json'), fixture('ImportKeyMaterial.json'), fixture('DeleteAlias.json')]), 200);
  await first.stop();
  const second = await start(t, { checkpointFile: checkpoint });
  const key = { accountId: '111122223333', region: 'us-east-1', keyId: '1234abcd-12ab-34cd-56ef-1234567890ab' };
  t.same(second.core.keyState.aliasesOf(key), ['alias/app-data']);
  t.same(second.core.keyState.keyOfAlias('111122223333', 'us-east-1', 'alias/app-data'), key);
  t.equal(second.core.keyState.keyOfAlias('444455556666', 'eu-west-1', 'alias/legacy-reports'), undefined, 'the deleted alias stays deleted');
  const body = await scrape(second);
  t.equal(sample(body, 'kms_key_material_expiry_timestamp_seconds'), 1798833600, 'the expiry is exported again');
  t.equal(sample(body, 'kms_exporter_state_entries', { table: 'key_aliases' }), 2, 'the alias and the tombstone');
});

t.test('a version 2 checkpoint written before aliases and material expiries existed loads, and is not moved aside', async (t) => {
  const checkpoint = tempCheckpoint();
  writeFileSync(
    checkpoint,
    JSON.stringify({
      version: 2,
      writtenAt: '2026-11-24T00:00:00Z',
      replica: { counters: [], lastEvent: {}, sources: {}, sequence: 0 },
      shared: {
        eventIds: ['event-1'],
        requestIds: [],
        keyState: { pendingDeletions: [{ accountId: '111122223333', region: 'us-east-1', keyId: 'k-1', date: NOW + 86_400_000, eventTime: NOW - 1 }], lifecycleEvents: [['111122223333/us-east-1/k-1', NOW - 1]] },
      },
    }),
  );
  const service = await start(t, { checkpointFile: checkpoint });
  const body = await scrape(service);
  t.equal(sample(body, 'kms_exporter_state_errors_total', { store: 'file', error: 'corrupt' }), 0);
  t.equal(sample(body, 'kms_key_pending_deletion_timestamp_seconds'), (NOW + 86_400_000) / 1000, 'its pending deletion is restored');
  t.equal(sample(body, 'kms_exporter_state_entries', { table: 'key_aliases' }), 0);
  t.equal(await post(service, [scheduleDeletion(2)]), 200);
  t.same(saved(checkpoint).shared.keyState, { ...saved(checkpoint).shared.keyState, aliases: [], materialExpiries: [] }, 'the next write has the new fields');
});

t.test('restored key_id series pass the label-value limiter: the cap does not grow with restarts', async (t) => {
  const checkpoint = tempCheckpoint();
  const settings = { checkpointFile: checkpoint, labelKeyId: true, labelValueLimit: '3' };
  let service = await start(t, settings);
  t.equal(await post(service, Array.from({ length: 3 }, (_, i) => scheduleDeletion(i))), 200);
  await service.stop();
  for (let restart = 1; restart <= 3; restart++) {
    service = await start(t, settings);
    t.equal(await post(service, [scheduleDeletion(100 + restart)]), 200);
    await service.stop();
  }
  service = await start(t, settings);
  const body = await scrape(service);
  const keyIds = new Set([...body.matchAll(/^kms_config_changes_total\{[^}]*key_id="([^"]+)"/gm)].map((m) => m[1]));
  t.equal(keyIds.size, 4, 'three key ids and __overflow__, after three restarts');
  t.equal(sample(body, 'kms_config_changes_total', { key_id: '__overflow__' }), 3);
  t.equal(sample(body, 'kms_config_changes_total'), 6, 'nothing is lost to the limit');
});

t.test('the last-event gauge never moves back after a restart, and never ahead of arrival', async (t) => {
  const checkpoint = tempCheckpoint();
  const first = await start(t, { checkpointFile: checkpoint });
  t.equal(await post(first, [scheduleDeletion(1, { eventTime: '2026-11-24T12:00:00Z' })]), 200);
  await first.stop();
  const second = await start(t, { checkpointFile: checkpoint });
  t.equal(await post(second, [scheduleDeletion(2, { eventTime: '2026-11-24T09:00:00Z' })]), 200, 'a late record arrives first after the restart');
  t.equal(sample(await scrape(second), 'kms_exporter_last_event_timestamp_seconds'), Date.parse('2026-11-24T12:00:00Z') / 1000);
  t.equal(await post(second, [scheduleDeletion(3, { eventTime: '+275760-09-13T00:00:00.000Z' })]), 200, 'a record stamped in the year 275760');
  t.equal(sample(await scrape(second), 'kms_exporter_last_event_timestamp_seconds'), NOW / 1000, 'pinned to its arrival, so KmsSourceSilent still works');
});

t.test('pendingWindowInDays: 1e308 gives a finite deletion date, and the checkpoint it writes loads on the next start', async (t) => {
  const checkpoint = tempCheckpoint();
  const first = await start(t, { checkpointFile: checkpoint });
  t.equal(await post(first, [scheduleDeletion(1, { pendingWindowInDays: 1e308 })]), 200);
  const body = await scrape(first);
  const value = sample(body, 'kms_key_pending_deletion_timestamp_seconds');
  t.equal(value, (Date.parse(String(FIXTURE['eventTime'])) + 30 * 86_400_000) / 1000, 'the default 30-day window, not +Inf');
  await first.stop();
  const second = await start(t, { checkpointFile: checkpoint });
  t.equal(sample(await scrape(second), 'kms_key_pending_deletion_timestamp_seconds'), value, 'restored, not moved aside as corrupt');
  t.equal(sample(await scrape(second), 'kms_exporter_state_errors_total', { error: 'corrupt' }), 0);
});

t.test('malformed poll progress makes the checkpoint corrupt: moved aside and counted, not thrown at restore', async (t) => {
  const checkpoint = tempCheckpoint();
  writeFileSync(
    checkpoint,
    JSON.stringify({
      version: 2,
      writtenAt: '2026-11-24T00:00:00Z',
      replica: { counters: [], lastEvent: {}, sources: { poll: { logGroups: { g: { doneUntil: 'yesterday', seen: 7 } } } } },
      shared: { eventIds: [], requestIds: [], keyState: { pendingDeletions: [], lifecycleEvents: [] } },
    }),
  );
  const service = await start(t, { checkpointFile: checkpoint });
  t.equal(sample(await scrape(service), 'kms_exporter_state_errors_total', { store: 'file', error: 'corrupt' }), 1);
  const dir = join(checkpoint, '..');
  t.equal(readdirSync(dir).filter((name) => name.startsWith('checkpoint.json.corrupt-')).length, 1, 'kept for the operator to read');
  t.equal(await post(service, [scheduleDeletion(1)]), 200, 'and the service counts on');
});

t.test('while another process holds the checkpoint: /metrics and /firehose answer 503 at once, /-/ready says why', async (t) => {
  const checkpoint = tempCheckpoint();
  const release = await lockfile.lock(checkpoint, { realpath: false, stale: 10_000, update: 2_000 });
  const service = await start(t, { checkpointFile: checkpoint }, { wait: false });
  const metrics = await service.app.inject({ method: 'GET', url: '/metrics' });
  t.equal(metrics.statusCode, 503, 'no zeroed counters before the restore');
  t.equal(metrics.body, `not serving yet: waiting for the lock on ${checkpoint}\n`);
  const startedAt = Date.now();
  t.equal(await post(service, [scheduleDeletion(1)]), 503, 'Firehose is told to retry');
  t.ok(Date.now() - startedAt < 1_000, 'without waiting for the lock');
  const ready = await service.app.inject({ method: 'GET', url: '/-/ready' });
  t.equal(ready.statusCode, 503);
  t.same((ready.json() as { sources: Record<string, unknown> }).sources['state'], { ready: false, detail: `waiting for the lock on ${checkpoint}` });
  await release();
  await service.restored;
  t.equal(await post(service, [scheduleDeletion(1)]), 200);
  t.equal(sample(await scrape(service), 'kms_config_changes_total'), 1);
  t.equal(sample(await scrape(service), 'kms_exporter_source_errors_total', { source: 'firehose', error: 'not_committed' }), 1);
});

t.test('temporary files left by a crash are removed; the checkpoint holds no more keys than the limit', async (t) => {
  const checkpoint = tempCheckpoint();
  const dir = join(checkpoint, '..');
  writeFileSync(join(dir, '.checkpoint.json.4242.tmp'), '{"half":');
  writeFileSync(join(dir, '.checkpoint.json.tmp'), '{"half":');
  const service = await start(t, { checkpointFile: checkpoint, keyStateLimit: '100' });
  t.same(readdirSync(dir).filter((name) => name.endsWith('.tmp')), [], 'orphans gone');
  for (let batch = 0; batch < 10; batch++) t.equal(await post(service, Array.from({ length: 200 }, (_, i) => scheduleDeletion(batch * 200 + i))), 200);
  t.equal(saved(checkpoint).shared.keyState.pendingDeletions.length, 100, '2,000 distinct keys, 100 kept');
  const body = await scrape(service);
  t.equal(sample(body, 'kms_exporter_state_entries', { table: 'pending_deletions' }), 100);
  t.equal(sample(body, 'kms_exporter_state_limit', { table: 'pending_deletions' }), 100);
  t.equal(sample(body, 'kms_exporter_state_evictions_total', { table: 'pending_deletions' }), 1900);
});

t.test('a checkpoint that cannot be written refuses the batch (503) and counts nothing of it', async (t) => {
  const checkpoint = tempCheckpoint();
  const service = await start(t, { checkpointFile: checkpoint });
  t.equal(await post(service, [scheduleDeletion(1)]), 200);
  rmSync(join(checkpoint, '..'), { recursive: true, force: true });
  t.equal(await post(service, [scheduleDeletion(2)], 'lost-directory'), 503);
  let body = await scrape(service);
  t.equal(sample(body, 'kms_config_changes_total'), 1, 'the refused batch is not counted');
  // Every attempt counts: the refused batch, and the scrape's own attempt to persist the error it caused.
  t.ok(sample(body, 'kms_exporter_state_errors_total', { store: 'file', error: 'write_failed' }) >= 1, 'the failed write is counted');
  t.equal(sample(body, 'kms_exporter_state_store_up', { store: 'file' }), 0);
  const ready = await service.app.inject({ method: 'GET', url: '/-/ready' });
  t.equal(ready.statusCode, 503);
  // The directory comes back: the retry of the same request id is counted, once.
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(checkpoint, '..'));
  t.equal(await post(service, [scheduleDeletion(2)], 'lost-directory'), 200);
  body = await scrape(service);
  t.equal(sample(body, 'kms_config_changes_total'), 2);
  t.equal(sample(body, 'kms_exporter_state_store_up', { store: 'file' }), 1);
});
