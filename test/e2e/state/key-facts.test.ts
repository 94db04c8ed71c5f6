// Aliases and imported material expiry shared by replicas through a real redis-server: learned on one replica, seen by the other, ordered by eventTime, bounded, restored.

import t from 'tap';
import type { Test } from 'tap';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadConfig } from '../../../src/config.ts';
import { CounterDelta } from '../../../src/record/counter-ledger.ts';
import { buildService } from '../../../src/service.ts';
import type { Service } from '../../../src/service.ts';
import { KeyState } from '../../../src/state/key-state.ts';
import type { KeyOp, KeyStateSnapshot } from '../../../src/state/key-state.ts';
import { subscriptionRecord } from '../../support/firehose-request.ts';
import { scheduleKeyDeletion } from '../../support/key-deletion-records.ts';
import { ACCOUNT, REGION, createAlias, deleteAlias, importKeyMaterial } from '../../support/key-fact-records.ts';
import { startRedisServer } from '../../support/redis-server.ts';
import { sample } from '../../support/service-process.ts';

const ACCESS_KEY = 'firehose-access-key-0123456789';
const HOUR = 3_600_000;
const KEY_A = '1111aaaa-12ab-34cd-56ef-1234567890ab';
const KEY_B = '2222bbbb-12ab-34cd-56ef-1234567890ab';
const ref = (keyId: string) => ({ accountId: ACCOUNT, region: REGION, keyId });

async function replica(t: Test, stateUrl: string, replicaId: string, settings: Record<string, unknown> = {}): Promise<Service> {
  const config = loadConfig({ source: 'firehose', stateUrl, replicaId, ...settings });
  const service = await buildService(config, { env: { KMS_EXPORTER_FIREHOSE_ACCESS_KEY: ACCESS_KEY }, log: pino({ level: 'silent' }) });
  t.teardown(() => service.stop());
  await service.start({ listen: false });
  await service.restored;
  return service;
}

async function post(t: Test, service: Service, ...messages: string[]): Promise<void> {
  const requestId = randomUUID();
  const response = await service.app.inject({
    method: 'POST',
    url: '/firehose',
    headers: { 'content-type': 'application/json', 'x-amz-firehose-access-key': ACCESS_KEY, 'x-amz-firehose-request-id': requestId },
    payload: JSON.stringify({ requestId, timestamp: Date.now(), records: [{ data: subscriptionRecord(messages) }] }),
  });
  t.equal(response.statusCode, 200, 'delivered');
}

/** A scrape: what Prometheus sees, and the moment a replica reads the shared key state (refresh). */
async function scrape(service: Service): Promise<string> {
  return (await service.app.inject({ method: 'GET', url: '/metrics' })).body;
}

t.test('two replicas: an alias created through one is known to the other after its refresh; moved and deleted the same way', async (t) => {
  const redis = await startRedisServer(t);
  const [r1, r2] = [await replica(t, redis.url, 'r1'), await replica(t, redis.url, 'r2')];
  const start = Date.now() - 2 * HOUR;

  await post(t, r1, createAlias('alias/payments-db', KEY_A, start));
  t.same(r2.core.keyState.aliasesOf(ref(KEY_A)), [], 'not before r2 reads the store');
  await scrape(r2);
  t.same(r2.core.keyState.aliasesOf(ref(KEY_A)), ['alias/payments-db'], 'r2 knows the alias after its refresh');
  t.same(r2.core.keyState.keyOfAlias(ACCOUNT, REGION, 'alias/payments-db'), ref(KEY_A));

  await post(t, r2, createAlias('alias/payments-db', KEY_B, start + 60_000, 'UpdateAlias'));
  await scrape(r1);
  t.same(r1.core.keyState.aliasesOf(ref(KEY_A)), [], 'moved away, as r1 sees it');
  t.same(r1.core.keyState.aliasesOf(ref(KEY_B)), ['alias/payments-db']);

  // A CreateAlias older than the UpdateAlias, arriving late on r1, changes nothing in the shared map.
  await post(t, r1, createAlias('alias/payments-db', KEY_A, start + 30_000));
  await scrape(r1);
  await scrape(r2);
  t.same(r1.core.keyState.keyOfAlias(ACCOUNT, REGION, 'alias/payments-db'), ref(KEY_B), 'the late record did not undo the newer one');
  t.same(r2.core.keyState.keyOfAlias(ACCOUNT, REGION, 'alias/payments-db'), ref(KEY_B));

  await post(t, r2, deleteAlias('alias/payments-db', KEY_B, start + 120_000));
  await post(t, r1, createAlias('alias/payments-db', KEY_A, start + 90_000));
  await scrape(r1);
  t.equal(r1.core.keyState.keyOfAlias(ACCOUNT, REGION, 'alias/payments-db'), undefined, 'deleted on r2, and a late CreateAlias on r1 does not bring it back');

  const restarted = await replica(t, redis.url, 'r3');
  await post(t, r1, createAlias('alias/orders', KEY_A, start + 200_000));
  await scrape(restarted);
  t.same(restarted.core.keyState.aliasesOf(ref(KEY_A)), ['alias/orders'], 'a new replica reads the whole map from the store');
});

t.test('two replicas: material imported through one is exported by the other, exactly, until it is deleted', async (t) => {
  const redis = await startRedisServer(t);
  const [r1, r2] = [await replica(t, redis.url, 'r1'), await replica(t, redis.url, 'r2')];
  const validTo = new Date(Math.floor((Date.now() + 30 * 24 * HOUR) / 1000) * 1000);
  await post(t, r1, importKeyMaterial(KEY_A, Date.now() - HOUR, validTo));
  const lines = (body: string) => body.split('\n').filter((line) => line.startsWith('kms_key_material_expiry_timestamp_seconds{'));
  const expected = [`kms_key_material_expiry_timestamp_seconds{aws_account_id="${ACCOUNT}",aws_region="${REGION}",key_id="${KEY_A}"} ${validTo.getTime() / 1000}`];
  t.same(lines(await scrape(r2)), expected, 'on the replica that did not take the record');
  t.same(lines(await scrape(r1)), expected, 'and on the one that did');
  const expired = JSON.stringify({
    eventVersion: '1.08',
    userIdentity: { accountId: ACCOUNT, invokedBy: 'AWS Internal' },
    eventTime: new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
    eventSource: 'kms.amazonaws.com',
    eventName: 'DeleteExpiredKeyMaterial',
    awsRegion: REGION,
    requestParameters: null,
    responseElements: null,
    eventID: randomUUID(),
    eventType: 'AwsServiceEvent',
    recipientAccountId: ACCOUNT,
    serviceEventDetails: { keyId: KEY_A },
  });
  await post(t, r2, expired);
  t.same(lines(await scrape(r1)), [], 'cleared through r2: gone on r1 too');
});

t.test('the shared tables are bounded by --key-state-limit, evictions counted by the replica that made them', async (t) => {
  const redis = await startRedisServer(t);
  const r1 = await replica(t, redis.url, 'r1', { keyStateLimit: '2' });
  const start = Date.now() - HOUR;
  await post(t, r1, createAlias('alias/a', KEY_A, start), createAlias('alias/b', KEY_A, start + 1_000), createAlias('alias/c', KEY_B, start + 2_000));
  const body = await scrape(r1);
  t.equal(sample(body, 'kms_exporter_state_entries', { table: 'key_aliases' }), 2);
  t.equal(sample(body, 'kms_exporter_state_evictions_total', { table: 'key_aliases' }), 1, 'counted once');
  t.same(r1.core.keyState.aliasesOf(ref(KEY_A)), ['alias/b'], 'the alias changed longest ago went');
  t.same(r1.core.keyState.aliasesOf(ref(KEY_B)), ['alias/c']);
  // Pending deletions too (the local copy once counted each eviction the store had counted already).
  await post(t, r1, scheduleKeyDeletion('key-1', start, 7), scheduleKeyDeletion('key-2', start, 8), scheduleKeyDeletion('key-3', start, 9));
  t.equal(sample(await scrape(r1), 'kms_exporter_state_evictions_total', { table: 'pending_deletions' }), 1, 'one pending deletion evicted, counted once');
});

// Few names per table so records collide: deletions and aliases stay within the limit (their
// tables' eviction is checked above), material keys exceed it so its eviction rule is exercised.
const LIMIT = 5;
const scoped = { accountId: ACCOUNT, region: REGION };
const time = fc.integer({ min: 0, max: 50 }).map((n) => 1_790_000_000_000 + n * 1000);
const opArbitrary: fc.Arbitrary<KeyOp> = fc.oneof(
  fc.record({ kind: fc.constant('schedule_deletion' as const), key: fc.integer({ min: 0, max: 3 }).map((n) => ref(`del-${n}`)), date: fc.integer({ min: 1, max: 30 }).map((d) => 1_800_000_000_000 + d * 86_400_000), eventTime: time }),
  fc.record({ kind: fc.constant('settle_deletion' as const), key: fc.integer({ min: 0, max: 3 }).map((n) => ref(`del-${n}`)), eventTime: time }),
  fc.record({ kind: fc.constant('set_alias' as const), alias: fc.constantFrom('a', 'b', 'c', 'd', 'e').map((name) => ({ ...scoped, alias: `alias/${name}` })), keyId: fc.constantFrom(KEY_A, KEY_B), eventTime: time }),
  fc.record({ kind: fc.constant('delete_alias' as const), alias: fc.constantFrom('a', 'b', 'c', 'd', 'e').map((name) => ({ ...scoped, alias: `alias/${name}` })), eventTime: time }),
  fc.record({ kind: fc.constant('set_material_expiry' as const), key: fc.integer({ min: 0, max: 9 }).map((n) => ref(`mat-${n}`)), expiry: fc.integer({ min: 1, max: 6 }).map((d) => 1_800_000_000_000 + d * 86_400_000), eventTime: time }),
  fc.record({ kind: fc.constant('clear_material_expiry' as const), key: fc.integer({ min: 0, max: 9 }).map((n) => ref(`mat-${n}`)), eventTime: time }),
);

/** What a store's view and the in-process rules must agree on, in an order that does not depend on who wrote it. */
function comparable(snapshot: KeyStateSnapshot): string {
  const by = <T>(key: (entry: T) => string) => (a: T, b: T) => key(a).localeCompare(key(b));
  return JSON.stringify([
    [...snapshot.pendingDeletions].sort(by((e) => e.keyId)),
    [...(snapshot.aliases ?? [])].sort(by((e) => e.alias)),
    [...(snapshot.materialExpiries ?? [])].sort(by((e) => e.keyId)),
  ]);
}

t.test('property: the COMMIT script keeps the key state exactly as KeyState does, commit by commit, whatever the order of records', async (t) => {
  const redis = await startRedisServer(t);
  const admin = new Redis(redis.url);
  t.teardown(() => admin.quit());
  const r1 = await replica(t, redis.url, 'r1', { keyStateLimit: String(LIMIT) });
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(fc.array(opArbitrary, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 12 }), async (commits) => {
      runs++;
      await admin.del(...['pending-deletions', 'pending-deletions:by-date', 'lifecycle-events', 'lifecycle-events:by-time', 'aliases', 'aliases:by-time', 'material-expiries', 'material-expiries:by-expiry'].map((name) => `{kms-change-exporter}:${name}`));
      const local = new KeyState(LIMIT, { evicted: () => {} });
      for (const keyOps of commits) {
        await r1.store.persist({ eventIds: [], requestIds: [], keyOps, counters: new CounterDelta(), lastEvent: new Map() });
        for (const op of keyOps) local.apply(op);
      }
      await r1.store.refresh();
      const shared = comparable(r1.core.keyState.snapshot());
      if (shared !== comparable(local.snapshot())) throw new Error(`the store holds ${shared}\nKeyState holds ${comparable(local.snapshot())}`);
    }),
    { numRuns: 40 },
  );
  t.equal(runs, 40, 'held for every run');
});
