// The heartbeat through the real SDK clients and the wire-level fakes: KMS TagResource → CloudTrail → CloudWatch Logs → poll, with the trail stopped and started.
import t from 'tap';
import type { Test } from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../../../src/config.ts';
import { runReplay } from '../../../src/service.ts';
import { startFakeCloudWatchLogs } from '../../support/fake-cloudwatch-logs/index.ts';
import { startFakeKms } from '../../support/fake-kms/index.ts';
import type { FakeKms } from '../../support/fake-kms/index.ts';
import { TrailDelivery } from '../../support/fake-kms/trail-delivery.ts';
import { inProcessService } from '../../support/in-process-service.ts';
import type { InProcess } from '../../support/in-process-service.ts';
import { eventually, sample } from '../../support/service-process.ts';

const GROUP = 'aws-cloudtrail-logs-111122223333';
const KEY_ID = '0d7f1c2e-5b3a-4c8d-9e6f-1a2b3c4d5e6f';
const LABELS = { aws_account_id: '111122223333', aws_region: 'us-east-1', key_id: KEY_ID };
const SENT = 'kms_exporter_heartbeat_sent_timestamp_seconds';
const SEEN = 'kms_exporter_heartbeat_seen_timestamp_seconds';

interface Rig {
  readonly kms: FakeKms;
  readonly trail: TrailDelivery;
  readonly arn: string;
  readonly running: InProcess;
}

async function rig(t: Test, intervalMs = 100): Promise<Rig> {
  const logs = await startFakeCloudWatchLogs({ accountId: '111122223333', region: 'us-east-1' });
  t.teardown(() => logs.close());
  logs.api.createLogGroup(GROUP);
  const trail = new TrailDelivery(logs.api, GROUP, 50);
  t.teardown(() => trail.close());
  const kms = await startFakeKms({ trail: trail.record });
  t.teardown(() => kms.close());
  const arn = kms.createKey(KEY_ID);
  // The SDK reads endpoints and credentials from the environment, as in production.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: logs.endpoint,
    AWS_ENDPOINT_URL_KMS: kms.endpoint,
    AWS_ACCESS_KEY_ID: 'AKIDHEARTBEAT',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_REGION: 'us-east-1',
  });
  const running = await inProcessService(
    t,
    { source: 'poll', logGroup: GROUP, region: 'us-east-1', heartbeatKey: arn, awsMaxAttempts: '2' },
    { overrides: { pollInterval: 100, heartbeatInterval: intervalMs, lookback: 60_000 } },
  );
  return { kms, trail, arn, running };
}

async function gauges(running: InProcess): Promise<{ readonly sent: number; readonly seen: number; readonly body: string }> {
  const body = await running.scrape();
  return { sent: sample(body, SENT, LABELS), seen: sample(body, SEEN, LABELS), body };
}

t.test('a heartbeat goes out, comes back through the poll and is never counted as a change', async (t) => {
  const { kms, running } = await rig(t);
  let first = 0;
  t.ok(await eventually(async () => (first = (await gauges(running)).sent) > 0, 10_000), 'the first heartbeat was sent');
  t.ok(await eventually(async () => {
    const { seen, body } = await gauges(running);
    // A heartbeat sent after the first one came back: seen moved past the baseline.
    return seen > first && sample(body, 'kms_exporter_records_total', { source: 'poll', result: 'matched' }) >= 2;
  }, 10_000), 'later heartbeats came back through the poll');
  const { body } = await gauges(running);
  t.match(kms.tags(KEY_ID)['kms-change-exporter:heartbeat'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'the canary key carries the send time');
  t.equal(sample(body, 'kms_config_changes_total'), 0, 'no KMS change counted');
  t.equal(sample(body, 'kms_config_change_findings_total'), 0, 'no finding');
  t.ok(sample(body, 'kms_exporter_aws_requests_total', { operation: 'TagResource', outcome: 'success' }) >= 2, 'the calls are counted like every AWS call');
  t.ok(sample(body, 'kms_exporter_last_event_timestamp_seconds', { source: 'poll' }) > 0, 'the heartbeat keeps the source from looking silent');
  t.match(body, new RegExp(`^${SENT}\\{aws_account_id="111122223333",aws_region="us-east-1",key_id="${KEY_ID}"\\} \\d+(\\.\\d+)?$`, 'm'), 'exactly these labels');
});

t.test('a stopped trail makes the lag grow; starting it again closes it', async (t) => {
  const { trail, running } = await rig(t);
  t.ok(await eventually(async () => (await gauges(running)).seen > 0 && trail.counts().delivered >= 1, 10_000));
  trail.stop();
  t.ok(await eventually(async () => {
    const { sent, seen } = await gauges(running);
    return sent - seen >= 0.5;
  }, 10_000), 'sent runs ahead of seen while nothing is delivered');
  const stuck = (await gauges(running)).seen;
  trail.start();
  t.ok(await eventually(async () => {
    const { sent, seen } = await gauges(running);
    return seen > stuck && sent - seen < 0.5;
  }, 10_000), 'seen catches up once the trail delivers again');
  t.ok(trail.counts().dropped >= 3, 'heartbeats were lost while the trail was stopped');
});

t.test('a refused heartbeat is counted by kind and logged; sent does not advance, the next one goes out', async (t) => {
  const { kms, running } = await rig(t);
  t.ok(await eventually(async () => (await gauges(running)).sent > 0, 10_000));
  kms.failNext({ kind: 'error', code: 'AccessDeniedException', message: 'User is not authorized to perform: kms:TagResource' }, 3);
  t.ok(await eventually(async () => sample(await running.scrape(), 'kms_exporter_aws_requests_total', { operation: 'TagResource', outcome: 'access_denied' }) >= 3, 10_000));
  const line = running.logs.lines().find((entry) => entry.msg.startsWith('heartbeat: TagResource'));
  t.match(line, { level: 40, error: 'access_denied', heartbeatKey: `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}` });
  t.match(line?.msg, /^heartbeat: TagResource on arn:aws:kms:us-east-1:111122223333:key\/0d7f1c2e-5b3a-4c8d-9e6f-1a2b3c4d5e6f failed \(access_denied\): User is not authorized/);
  const before = (await gauges(running)).sent;
  t.ok(await eventually(async () => (await gauges(running)).sent > before, 10_000), 'the next heartbeat goes out once KMS accepts it');
});

t.test('replay with --heartbeat-key recognises heartbeats in a backfill and does not count them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'heartbeat-replay-'));
  const file = join(dir, 'trail.json');
  const arn = `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`;
  const beat = (sentAt: string, eventID: string) => ({
    eventVersion: '1.08',
    userIdentity: { type: 'AssumedRole', arn: 'arn:aws:sts::111122223333:assumed-role/kms-change-exporter/pod', accountId: '111122223333' },
    eventTime: sentAt.replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 'kms.amazonaws.com',
    eventName: 'TagResource',
    awsRegion: 'us-east-1',
    requestParameters: { keyId: arn, tags: [{ tagKey: 'kms-change-exporter:heartbeat', tagValue: sentAt }] },
    eventID,
    recipientAccountId: '111122223333',
    resources: [{ accountId: '111122223333', type: 'AWS::KMS::Key', ARN: arn }],
  });
  writeFileSync(file, JSON.stringify({ Records: [beat('2026-12-01T10:00:00.000Z', 'e1'), beat('2026-12-01T10:10:00.000Z', 'e2')] }));
  const run = (settings: Record<string, unknown>) => runReplay([file], loadConfig(settings), { env: {}, log: pino({ level: 'silent' }), stdin: Readable.from([]) });
  const recognised = (await run({ heartbeatKey: arn })).exposition;
  t.equal(sample(recognised, SEEN, LABELS), Date.parse('2026-12-01T10:10:00Z') / 1000, 'the newest heartbeat seen');
  t.equal(sample(recognised, SENT, LABELS), 0, 'replay sends nothing');
  t.equal(sample(recognised, 'kms_config_changes_total'), 0);
  const unknown = (await run({})).exposition;
  t.equal(sample(unknown, 'kms_config_changes_total', { event_name: 'TagResource' }), 2, 'without the setting they are TagResource changes like any other');
});
