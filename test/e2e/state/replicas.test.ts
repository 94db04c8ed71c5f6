// Three `serve --source firehose --state-url redis://...` replicas and a real redis-server count like one process: random routing, Firehose retries, a replica kill -9 and a store outage, checked against a replay of the same records.

import t from 'tap';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../../../src/config.ts';
import { runReplay } from '../../../src/service.ts';
import { TRAIL_TRUTH, trailCopy, truthFor } from '../../support/cloudtrail-stream.ts';
import { postFirehose, subscriptionRecord } from '../../support/firehose-request.ts';
import type { FirehoseRequest } from '../../support/firehose-request.ts';
import { FirehoseSender, seededRandom } from '../../support/firehose-sender.ts';
import { cancelKeyDeletion, pendingDeletionLabels, scheduleKeyDeletion } from '../../support/key-deletion-records.ts';
import { tempDir, waitUntil } from '../../support/prometheus-stack.ts';
import { startRedisServer } from '../../support/redis-server.ts';
import { startReplicas } from '../../support/replica-set.ts';
import type { Replica } from '../../support/replica-set.ts';
import { sample } from '../../support/service-process.ts';

const ACCESS_KEY = 'firehose-access-key-0123456789';
const PENDING = 'kms_key_pending_deletion_timestamp_seconds';
const HOUR = 3_600_000;
/** Log events per request: two subscription payloads of 100 each, as Firehose batches them. */
const LINES_PER_REQUEST = 200;
const CONCURRENCY = 6;
/** The store stays down until the stream has been turned away this often, and for at least this long. */
const OUTAGE_503S = 30;
const OUTAGE_MS = 1_500;
const SEED = Number(process.env['KCE_SEED'] ?? Date.now() % 1_000_000);

// Every copy of the trail gets its own range of event times, one record per second, so no
// two key-state events of a key share a second: the shared store and one process then agree
// on the last word for every key whatever order the records arrive in.
const STREAM_START = Date.now() - 12 * HOUR;
const copyRange = (copy: number): [number, number] => [STREAM_START + copy * 2_000_000, STREAM_START + (copy + 1) * 2_000_000];

/** Every record the replicas were sent, for the one-process replay at the end. */
const sentRecords: string[] = [];

function copyRequests(copy: number): FirehoseRequest[] {
  const lines = trailCopy(copy, ...copyRange(copy)).map((record) => record.message);
  sentRecords.push(...lines);
  const requests: FirehoseRequest[] = [];
  for (let i = 0; i < lines.length; i += LINES_PER_REQUEST) {
    const half = LINES_PER_REQUEST / 2;
    const records = [{ data: subscriptionRecord(lines.slice(i, i + half)) }, { data: subscriptionRecord(lines.slice(i + half, i + LINES_PER_REQUEST)) }];
    requests.push({ requestId: randomUUID(), records, gzip: i % (2 * LINES_PER_REQUEST) === 0 });
  }
  return requests;
}

/**
 * Copies of the trail as Firehose requests, with what Firehose and CloudWatch Logs do on top:
 * every 4th request delivered twice under its id (queued right behind, so the two attempts
 * may race on two replicas), every 5th request's records sent again under a new id.
 */
function portion(copies: readonly number[]): { readonly requests: FirehoseRequest[]; readonly firsts: FirehoseRequest[] } {
  const firsts = copies.flatMap(copyRequests);
  const requests: FirehoseRequest[] = [];
  firsts.forEach((request, i) => {
    requests.push(request);
    if (i % 4 === 0) requests.push(request);
    if (i % 5 === 2) requests.push({ ...request, requestId: randomUUID() });
  });
  return { requests, firsts };
}

async function bodies(replicas: readonly Replica[]): Promise<string[]> {
  return Promise.all(replicas.map((replica) => replica.metrics()));
}

/** The non-zero samples of `name`, keyed by their labels in sorted order. */
function seriesOf(body: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of body.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name || Number(match[3]) === 0) continue;
    const labels = [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, label, value]) => `${label}=${value}`).sort().join(',');
    out.set(labels, (out.get(labels) ?? 0) + Number(match[3]));
  }
  return out;
}

function summed(maps: readonly Map<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const map of maps) for (const [key, value] of map) out[key] = (out[key] ?? 0) + value;
  return out;
}

/** Posts one batch of CloudTrail records to one replica, retrying 503 (the replica may still be restoring). */
async function postTo(replica: Replica, messages: readonly string[]): Promise<void> {
  const request = { requestId: randomUUID(), records: [{ data: subscriptionRecord(messages) }] };
  await waitUntil(`replica ${replica.id} to take a request`, async () => ((await postFirehose(replica.address, ACCESS_KEY, request)).status === 200 ? true : undefined), { timeoutMs: 15_000, intervalMs: 50 });
}

async function pendingEverywhere(replicas: readonly Replica[], keyId: string): Promise<number[]> {
  return (await bodies(replicas)).map((body) => sample(body, PENDING, pendingDeletionLabels(keyId)));
}

const started = Date.now();
const redis = await startRedisServer(t);
const replicas = await startReplicas(t, { stateUrl: redis.url, ids: ['r1', 'r2', 'r3'], accessKey: ACCESS_KEY });
const [r1, r2, r3] = replicas as [Replica, Replica, Replica];
t.comment(`redis-server ${redis.url} and replicas ${replicas.map((r) => `${r.id}=${r.target}`).join(' ')} up in ${Date.now() - started} ms; seed ${SEED}`);

/** The key scheduled for deletion on r1 before r1 is killed and restarted. */
const RESTART_KEY = 'b2b2b2b2-0000-4000-8000-00000000000b';
const RESTART_AT = Date.now() - HOUR;

/** The gauge's value for a ScheduleKeyDeletion at `at` (ms): eventTime, to the second, plus the waiting period. */
const deletionDate = (at: number, days: number): number => Math.floor(at / 1000) + days * 86_400;

/** What the key-state scenarios add to the trail copies' counts. */
const scenario = { ScheduleKeyDeletion: 0, CancelKeyDeletion: 0 };

t.test('ScheduleKeyDeletion on r1, CancelKeyDeletion on r2: the deletion shows on every replica, then on none', async (t) => {
  const keyId = 'a1a1a1a1-0000-4000-8000-00000000000a';
  const at = Date.now() - HOUR;
  const schedule = scheduleKeyDeletion(keyId, at, 7);
  const cancel = cancelKeyDeletion(keyId, at + HOUR / 2);
  sentRecords.push(schedule, cancel);
  scenario.ScheduleKeyDeletion++;
  scenario.CancelKeyDeletion++;

  await postTo(r1, [schedule]);
  const date = deletionDate(at, 7);
  t.same(await pendingEverywhere(replicas, keyId), [date, date, date], 'every replica exports the deletion date r1 recorded');
  await postTo(r2, [cancel]);
  const left = (await bodies(replicas)).map((body) => body.split('\n').filter((line) => line.startsWith(`${PENDING}{`) && line.includes(`key_id="${keyId}"`)));
  t.same(left, [[], [], []], 'no pending-deletion series for the key on any replica');
});

t.test('a replica killed with -9 and restarted with the same --replica-id keeps the shared deletions and continues its counters', async (t) => {
  const schedule = scheduleKeyDeletion(RESTART_KEY, RESTART_AT, 7);
  sentRecords.push(schedule);
  scenario.ScheduleKeyDeletion++;
  await postTo(r1, [schedule]);
  const date = deletionDate(RESTART_AT, 7);
  t.same(await pendingEverywhere(replicas, RESTART_KEY), [date, date, date], 'scheduled on r1, shown by every replica');

  const before = await r1.metrics();
  await r1.kill();
  t.same(await pendingEverywhere([r2, r3], RESTART_KEY), [date, date], 'r1 down: r2 and r3 still show it');
  const restartedAt = Date.now();
  await r1.restart();
  t.comment(`r1 restarted (same id, port ${r1.port}) and restored in ${Date.now() - restartedAt} ms`);
  const after = await r1.metrics();
  t.same(await pendingEverywhere(replicas, RESTART_KEY), [date, date, date], 'after the restart, still on every replica');
  for (const [name, labels] of [
    ['kms_config_changes_total', {}],
    ['kms_config_changes_total', { event_name: 'ScheduleKeyDeletion' }],
    ['kms_config_changes_total', { event_name: 'CancelKeyDeletion' }],
    ['kms_exporter_records_total', { result: 'matched' }],
  ] as const) {
    t.equal(sample(after, name, labels), sample(before, name, labels), `r1's ${name}${JSON.stringify(labels)} continues from ${sample(before, name, labels)}, restored from its snapshot`);
  }
  t.equal(sample(after, 'kms_config_changes_total', { event_name: 'ScheduleKeyDeletion' }), 2, 'r1 counted both ScheduleKeyDeletions it was sent');
});

t.test('a stream sent to random replicas and retried until 200, through a replica kill -9 and a redis-server kill -9: sums exactly like one process', async (t) => {
  const sender = new FirehoseSender({ addresses: replicas.map((replica) => replica.address), accessKey: ACCESS_KEY, random: seededRandom(SEED) });
  const deadline = Date.now() + 45_000;
  const streamStart = Date.now();
  const phases: string[] = [];
  const mark = (what: string) => phases.push(`${what} at +${Date.now() - streamStart} ms (${sender.done} delivered)`);

  // Part 1: r2 is killed with requests in flight, and restarted on the same port and id.
  const first = portion([0, 1, 2, 3, 4]);
  const sending1 = sender.send(first.requests, CONCURRENCY, deadline);
  sending1.catch(() => {});
  await sender.reached(Math.floor(first.requests.length / 2));
  // What a scrape showed is persisted (the scrape waits for commits), so it is the floor after the restart.
  const r2Before = sample(await r2.metrics(), 'kms_config_changes_total');
  mark('kill -9 r2');
  await r2.kill();
  await r2.restart();
  mark('r2 back');
  const r2After = sample(await r2.metrics(), 'kms_config_changes_total');
  t.ok(r2After >= r2Before, `r2's kms_config_changes_total continues after the kill: ${r2Before} scraped before, ${r2After} restored`);
  await sending1;
  mark('part 1 delivered');

  // Part 2: redis-server is killed with commits in flight; the stream keeps coming.
  const second = portion([5, 6, 7, 8, 9]);
  const base = sender.done;
  const sending2 = sender.send(second.requests, CONCURRENCY, deadline);
  sending2.catch(() => {});
  await sender.reached(base + Math.floor(second.requests.length / 2));
  const errorsBefore = (await bodies(replicas)).map((body) => sample(body, 'kms_exporter_state_errors_total', { store: 'redis', error: 'unavailable' }));
  const unavailableBefore = sender.stats.unavailable;
  const postsBefore = sender.stats.posts;
  mark('kill -9 redis-server');
  await redis.kill();
  const killedAt = Date.now();

  await t.test('the store unreachable is an explicit state on every replica', async (t) => {
    for (const replica of replicas) {
      const ready = await waitUntil(`${replica.id} to report the store unreachable`, async () => {
        const answer = await replica.ready();
        return answer.status === 503 ? answer : undefined;
      }, { timeoutMs: 5_000, intervalMs: 20 });
      t.equal(ready.body.status, 'not ready', `${replica.id}: /-/ready answers 503`);
      t.equal(ready.body.sources['state']?.ready, false, `${replica.id}: the state part is not ready`);
      t.match(ready.body.sources['state']?.detail, `state store ${redis.url} unreachable`, `${replica.id}: the detail names the store`);
      const probe = await postFirehose(replica.address, ACCESS_KEY, { requestId: randomUUID(), records: [] });
      t.equal(probe.status, 503, `${replica.id}: POST /firehose answers 503, which Firehose retries`);
      t.match(probe.body['errorMessage'], `not committed: state store unavailable: ${redis.url}`, `${replica.id}: and says why`);
    }
    const during = await bodies(replicas);
    during.forEach((body, i) => {
      const replica = replicas[i]!;
      t.equal(sample(body, 'kms_exporter_state_store_up', { store: 'redis' }), 0, `${replica.id}: /metrics still answers, kms_exporter_state_store_up{store="redis"} 0`);
      t.ok(sample(body, 'kms_exporter_state_errors_total', { store: 'redis', error: 'unavailable' }) > errorsBefore[i]!, `${replica.id}: kms_exporter_state_errors_total{store="redis",error="unavailable"} grew from ${errorsBefore[i]}`);
      t.equal(sample(body, PENDING, pendingDeletionLabels(RESTART_KEY)), deletionDate(RESTART_AT, 7), `${replica.id}: the last known pending deletions are still exported`);
    });
  });
  // The stream keeps coming while the store is away: it is turned away, and retries.
  await waitUntil('503s from the stream during the outage', async () => (sender.stats.unavailable >= unavailableBefore + OUTAGE_503S && Date.now() - killedAt >= OUTAGE_MS ? true : undefined), { timeoutMs: 15_000, intervalMs: 20 });
  mark('restart redis-server');
  await redis.restart();
  for (const replica of replicas) await waitUntil(`${replica.id} to be ready again`, async () => ((await replica.ready()).status === 200 ? true : undefined), { timeoutMs: 10_000, intervalMs: 20 });
  const outageUnavailable = sender.stats.unavailable - unavailableBefore;
  const outagePosts = sender.stats.posts - postsBefore;
  mark('every replica ready again');
  await sending2;
  mark('part 2 delivered');

  // Part 3, after both restarts: Firehose retrying requests acknowledged before them, the same
  // records again under new ids (counted by then: duplicates), and new records.
  const late = [...first.firsts, ...second.firsts].filter((_, i) => i % 6 === 1);
  const again = [...first.firsts, ...second.firsts].filter((_, i) => i % 6 === 4).map((request) => ({ ...request, requestId: randomUUID() }));
  const third = portion([10, 11]);
  await sender.send([...late, ...again, ...third.requests], CONCURRENCY, deadline);
  mark('part 3 delivered');
  t.comment(phases.join('\n'));

  const { stats } = sender;
  t.comment(`deliveries ${stats.deliveries}, POSTs ${stats.posts} (200: ${stats.ok}, 503: ${stats.unavailable}, no answer: ${stats.noAnswer}), retries ${stats.retries}; from the redis-server kill until every replica was ready again: ${outagePosts} POSTs sent, ${outageUnavailable} 503 answers received`);
  t.same(stats.unexpected, [], 'no answer but 200, 503 or a dropped connection');
  t.equal(stats.ok, stats.deliveries, 'every delivery ended in exactly one 200');

  const final = await bodies(replicas);
  const sum = (name: string, labels: Record<string, string> = {}) => final.reduce((total, body) => total + sample(body, name, labels), 0);
  const copies = 12;
  const truth = truthFor(copies);
  const byEventName = { ...truth.byEventName };
  for (const [name, count] of Object.entries(scenario)) byEventName[name] = (byEventName[name] ?? 0) + count;
  const scenarioChanges = scenario.ScheduleKeyDeletion + scenario.CancelKeyDeletion;
  t.comment(`final sums over r1+r2+r3: kms_config_changes_total ${sum('kms_config_changes_total')}, kms_config_change_failures_total ${sum('kms_config_change_failures_total')}, matched ${sum('kms_exporter_records_total', { result: 'matched' })}, duplicate ${sum('kms_exporter_records_total', { result: 'duplicate' })}, acknowledged retries ${sum('kms_exporter_source_events_total', { event: 'retried_request' })}, state errors unavailable ${sum('kms_exporter_state_errors_total', { error: 'unavailable' })} in_doubt ${sum('kms_exporter_state_errors_total', { error: 'in_doubt' })}`);
  t.equal(sum('kms_config_changes_total'), truth.changes + scenarioChanges, `kms_config_changes_total: ${copies} copies of the trail plus the key-state scenarios, each counted once`);
  t.equal(sum('kms_config_change_failures_total'), truth.failures, 'kms_config_change_failures_total');
  t.equal(sum('kms_exporter_records_total', { result: 'matched' }), TRAIL_TRUTH.records.matched * copies + scenarioChanges, 'kms_exporter_records_total{result="matched"}');
  t.same(
    Object.fromEntries(Object.keys(byEventName).map((name) => [name, sum('kms_config_changes_total', { event_name: name })])),
    byEventName,
    'kms_config_changes_total by event_name',
  );
  t.ok(final.every((body) => sample(body, 'kms_exporter_records_total', { result: 'matched' }) > 0), 'every replica took a share');

  // One process fed the same records: every change series, and the key state, must agree.
  const dir = await tempDir(t, 'replicas');
  const file = join(dir, 'sent.jsonl');
  writeFileSync(file, `${sentRecords.join('\n')}\n`);
  const replay = await runReplay([file], loadConfig({}, { sources: ['replay'] }), { env: {}, log: pino({ level: 'silent' }), stdin: Readable.from([]) });
  t.same(replay.errors, [], 'replay of the same records');
  for (const name of ['kms_config_changes_total', 'kms_config_change_failures_total']) {
    t.same(summed(final.map((body) => seriesOf(body, name))), summed([seriesOf(replay.exposition, name)]), `every ${name} series: the sum over replicas equals one process`);
  }
  const onePending = summed([seriesOf(replay.exposition, PENDING)]);
  t.ok(Object.keys(onePending).length > 0, 'the trail leaves keys pending deletion');
  final.forEach((body, i) => t.same(summed([seriesOf(body, PENDING)]), onePending, `${replicas[i]!.id} exports exactly one process's pending deletions`));
});
