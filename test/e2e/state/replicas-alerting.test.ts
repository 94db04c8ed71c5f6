// Three replicas sharing a real redis-server, scraped by a real Prometheus with the shipped rules: one change and one pending deletion give one alert each, not one per replica.

import t from 'tap';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { postFirehose, subscriptionRecord } from '../../support/firehose-request.ts';
import { cancelKeyDeletion, scheduleKeyDeletion } from '../../support/key-deletion-records.ts';
import { ROOT, sleep, startPrometheus, waitUntil } from '../../support/prometheus-stack.ts';
import type { Prometheus, PromSample } from '../../support/prometheus-stack.ts';
import { startRedisServer } from '../../support/redis-server.ts';
import { startReplicas } from '../../support/replica-set.ts';
import type { Replica } from '../../support/replica-set.ts';

const RULES = join(ROOT, 'alerts/kms-change-exporter.rules.yml');
const ACCESS_KEY = 'firehose-access-key-0123456789';
const DAY = 86_400_000;
const KEY_ID = 'c3c3c3c3-0000-4000-8000-00000000000c';
/** Evaluations (1 s apart) an alert's series set must hold still for before it is counted. */
const SETTLE_MS = 4_000;

async function deliver(replica: Replica, messages: readonly string[]): Promise<void> {
  const request = { requestId: randomUUID(), records: [{ data: subscriptionRecord(messages) }] };
  await waitUntil(`${replica.id} to take a request`, async () => ((await postFirehose(replica.address, ACCESS_KEY, request)).status === 200 ? true : undefined), { timeoutMs: 15_000, intervalMs: 50 });
}

/** Every ALERTS series matching `selector` during the last few evaluations: a duplicate shows even if it came and went. */
async function alertSeries(prometheus: Prometheus, selector: string): Promise<PromSample[]> {
  const response = await prometheus.query(`max_over_time(ALERTS{${selector}}[${SETTLE_MS / 1000}s])`);
  if (response.status !== 'success') throw new Error(`ALERTS query failed: ${response.error}`);
  return [...(response.data?.result ?? [])];
}

const started = Date.now();
const redis = await startRedisServer(t);
const replicas = await startReplicas(t, { stateUrl: redis.url, ids: ['r1', 'r2', 'r3'], accessKey: ACCESS_KEY });
const [r1, r2, r3] = replicas as [Replica, Replica, Replica];
const prometheus = await startPrometheus(t, { targets: replicas.map((replica) => replica.target), ruleFiles: [RULES] });
await prometheus.waitForScrape(replicas.map((replica) => replica.target));
t.comment(`redis-server, 3 replicas and Prometheus ${prometheus.url} up and scraping in ${Date.now() - started} ms`);

t.test('a deletion scheduled through r1 two days away: KmsKeyDeletionImminent fires once, and resolves once r2 records the cancel', async (t) => {
  const scheduledAt = Date.now() - 5 * DAY;
  const schedule = scheduleKeyDeletion(KEY_ID, scheduledAt, 7);
  await deliver(r1, [schedule]);
  // The same record delivered again through the other replicas (CloudWatch Logs and Firehose are at-least-once).
  await deliver(r2, [schedule]);
  await deliver(r3, [schedule]);

  await prometheus.waitForValue(`count(kms_key_pending_deletion_timestamp_seconds{key_id="${KEY_ID}"}) == 3`, () => true);
  t.pass('every replica exports the deletion: three series in Prometheus, one per instance');
  await prometheus.waitForValue(`ALERTS{alertname="KmsKeyDeletionImminent", key_id="${KEY_ID}", alertstate="firing"}`, () => true);
  await sleep(SETTLE_MS);
  const imminent = await alertSeries(prometheus, `alertname="KmsKeyDeletionImminent", key_id="${KEY_ID}"`);
  t.equal(imminent.length, 1, 'one KmsKeyDeletionImminent alert, not one per replica');
  t.same(imminent[0]?.metric, {
    alertname: 'KmsKeyDeletionImminent',
    alertstate: 'firing',
    severity: 'critical',
    rule_id: 'KMS-007',
    compliance: 'APRA,MAS,NIST',
    job: 'kms-change-exporter',
    aws_account_id: '111122223333',
    aws_region: 'us-east-1',
    key_id: KEY_ID,
  }, 'labelled by the key, not by the replica that exported it');

  const high = await alertSeries(prometheus, 'alertname="KmsHighRiskChange", event_name="ScheduleKeyDeletion"');
  // Change alerts are summed over replicas: no instance label, one alert per change series.
  t.same(high.map((series) => [series.metric['instance'], series.value?.[1]]), [[undefined, '1']], 'one KmsHighRiskChange for the ScheduleKeyDeletion, counted once; the re-deliveries through r2 and r3 raise none');

  await deliver(r2, [cancelKeyDeletion(KEY_ID, scheduledAt + DAY)]);
  await waitUntil('KmsKeyDeletionImminent to resolve', async () => {
    const response = await prometheus.query(`ALERTS{alertname="KmsKeyDeletionImminent", key_id="${KEY_ID}"}`);
    return response.status === 'success' && response.data?.result.length === 0 ? true : undefined;
  }, { timeoutMs: 30_000, child: prometheus.child });
  t.pass('the cancel recorded by r2 resolves the alert: no replica still exports the deletion');
  const cancelled = await prometheus.query(`kms_key_pending_deletion_timestamp_seconds{key_id="${KEY_ID}"}`);
  t.same(cancelled.data?.result, [], 'no pending-deletion series on any instance');
  await sleep(SETTLE_MS);
  const low = await alertSeries(prometheus, 'alertname="KmsLowRiskChange", event_name="CancelKeyDeletion"');
  t.same(low.map((series) => series.metric['instance']), [undefined], 'one KmsLowRiskChange for the CancelKeyDeletion, with no replica in its labels');
});
