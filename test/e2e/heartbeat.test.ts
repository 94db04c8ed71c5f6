// The heartbeat end to end: the exporter tags its canary key in the fake KMS, the call comes back as a CloudTrail record through the fake CloudWatch Logs and the poll; a stopped trail raises KmsPipelineHeartbeatMissing in a real Prometheus with the shipped rule, and a resumed one resolves it.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeCloudWatchLogs } from '../support/fake-cloudwatch-logs/index.ts';
import { startFakeKms } from '../support/fake-kms/index.ts';
import { TrailDelivery } from '../support/fake-kms/trail-delivery.ts';
import { RULES } from '../support/alerting-stack.ts';
import { startPrometheus, tempDir, waitUntil } from '../support/prometheus-stack.ts';
import { sample, startService } from '../support/service-process.ts';

const GROUP = 'aws-cloudtrail-logs-111122223333';
const KEY_ID = '0d7f1c2e-5b3a-4c8d-9e6f-1a2b3c4d5e6f';
/** The shipped 20 minutes, shortened: heartbeats every second, delivered 0.3 s later. */
const THRESHOLD_SECONDS = 5;

t.test('stopping delivery raises KmsPipelineHeartbeatMissing in Prometheus; resuming it resolves the alert', async (t) => {
  const logs = await startFakeCloudWatchLogs({ accountId: '111122223333', region: 'us-east-1' });
  t.teardown(() => logs.close());
  logs.api.createLogGroup(GROUP);
  const trail = new TrailDelivery(logs.api, GROUP, 300);
  t.teardown(() => trail.close());
  const kms = await startFakeKms({ trail: trail.record });
  t.teardown(() => kms.close());
  const arn = kms.createKey(KEY_ID);

  const service = await startService(
    ['--source', 'poll', '--poll-interval', '1s', '--lookback', '10m', '--log-group', GROUP, '--heartbeat-key', arn, '--heartbeat-interval', '1s'],
    { AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: logs.endpoint, AWS_ENDPOINT_URL_KMS: kms.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDHEARTBEAT', AWS_SECRET_ACCESS_KEY: 'secret' },
  );
  t.teardown(() => service.kill());

  // The shipped rules, with only the heartbeat threshold shortened (the chart's rules.thresholds.heartbeatMissingMinutes).
  const shipped = readFileSync(RULES, 'utf8');
  t.equal(shipped.match(/^ +> 1200$/gm)?.length, 1, 'the shipped rule has its one 1200 s threshold');
  const rulesFile = join(await tempDir(t, 'heartbeat-rules'), 'rules.yml');
  await writeFile(rulesFile, shipped.replace(/^( +)> 1200$/m, `$1> ${THRESHOLD_SECONDS}`));
  const target = service.address.replace('http://', '');
  const prometheus = await startPrometheus(t, { targets: [target], ruleFiles: [rulesFile] });
  await prometheus.waitForScrape([target]);

  const firing = 'ALERTS{alertname="KmsPipelineHeartbeatMissing", alertstate="firing"}';
  const lag = `max without (instance) (kms_exporter_heartbeat_sent_timestamp_seconds) - max without (instance) (kms_exporter_heartbeat_seen_timestamp_seconds)`;
  // Heartbeats come back: the lag stays around one interval plus the delivery and poll delays.
  await prometheus.waitForValue(`kms_exporter_heartbeat_seen_timestamp_seconds{key_id="${KEY_ID}"} > ${Date.now() / 1000}`, () => true, 30_000);
  const healthy = await prometheus.query(lag);
  t.ok(Number(healthy.data?.result[0]?.value?.[1]) < THRESHOLD_SECONDS, `lag while delivering: ${healthy.data?.result[0]?.value?.[1]} s`);
  t.same((await prometheus.query(firing)).data?.result, [], 'no alert while heartbeats come back');
  const body = await service.metrics();
  t.equal(sample(body, 'kms_config_changes_total'), 0, 'the heartbeats are not counted as changes');

  trail.stop();
  const stoppedAt = Date.now();
  const [alert] = await prometheus.waitForValue(firing, () => true, 60_000);
  t.comment(`fired ${Date.now() - stoppedAt} ms after the trail stopped`);
  t.same(alert?.metric, { __name__: 'ALERTS', alertname: 'KmsPipelineHeartbeatMissing', alertstate: 'firing', severity: 'critical', job: 'kms-change-exporter', aws_account_id: '111122223333', aws_region: 'us-east-1', key_id: KEY_ID });
  // The newest heartbeat seen when the trail stopped was sent up to one interval, the delivery delay and a poll before: the lag passes the threshold that much sooner, never sooner still.
  t.ok(Date.now() - stoppedAt >= (THRESHOLD_SECONDS - 3) * 1000, 'not before the lag can have passed the threshold');
  t.ok(trail.counts().dropped >= THRESHOLD_SECONDS, `heartbeats lost meanwhile: ${trail.counts().dropped}`);

  trail.start();
  const resumedAt = Date.now();
  await waitUntil('the alert to resolve', async () => ((await prometheus.query(firing)).data?.result.length === 0 ? true : undefined), { timeoutMs: 60_000, child: prometheus.child });
  t.comment(`resolved ${Date.now() - resumedAt} ms after the trail resumed`);
  t.ok(Number((await prometheus.query(lag)).data?.result[0]?.value?.[1]) <= THRESHOLD_SECONDS, 'the lag closed');
});
