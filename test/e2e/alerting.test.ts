// End to end: a CloudTrail change replayed into the running exporter, a real Prometheus with the shipped rules, a real Alertmanager with the shipped routing tree, and stand-ins for every channel.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { TEST_TIMING, alertmanagerTestVariant, findAlert, renderVariant } from '../support/alertmanager-stand-ins.ts';
import type { StandInTarget } from '../support/alertmanager-stand-ins.ts';
import { CRITICAL_STAND_INS, NOTIFY_WITHIN_MS, QUIET_MS, RECEIVERS, RULES, TICKET_STAND_INS, alertsAt, isFiring, latency, shippedAlertmanager, startStack } from '../support/alerting-stack.ts';
import { EXPORTER_JOB, ROOT, requireCommand, sleep, tempDir } from '../support/prometheus-stack.ts';

const ROUTES = join(ROOT, 'alerts/tests/routes.txt');
const FIXTURE = join(ROOT, 'test/fixtures/alertmanager/alertmanager.test.yml');
const RUNBOOK = 'https://github.com/kms-change-exporter/kms-change-exporter/blob/main/alerts/runbook.md#';

/** The change window of the resolution test, shortened from the shipped 10m (see there). */
const SHORT_WINDOW_SECONDS = 10;

/** The documented decisions (alerts/README.md, "send_resolved"), which the stand-ins must keep. */
const SEND_RESOLVED: Readonly<Record<string, boolean>> = {
  'pagerduty-security': false,
  pagerduty: true,
  sms: false,
  'slack-warning': true,
  'slack-info': false,
  email: true,
  servicenow: true,
  zendesk: false,
};

const placeholderUrl = (target: StandInTarget): string => `http://stand-in.invalid/${target.receiver}/${target.integration}/${target.index}`;

/** One fixture record as a JSON line, the way the replay source reads a live stream. */
function cloudTrailLine(fixture: string): string {
  return `${JSON.stringify(JSON.parse(readFileSync(join(ROOT, 'test/fixtures/cloudtrail', fixture), 'utf8')))}\n`;
}

function run(command: string, args: readonly string[]): { status: number | null; output: string } {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

function scheduleKeyDeletionLabels(): Record<string, string> {
  return {
    alertname: 'KmsHighRiskChange',
    severity: 'critical',
    rule_id: 'KMS-007',
    compliance: 'APRA,MAS,NIST',
    event_name: 'ScheduleKeyDeletion',
    category: 'key_lifecycle',
    risk: 'high',
    aws_account_id: '111122223333',
    aws_region: 'us-east-1',
    principal_type: 'IAMUser',
    // Without --expectations nothing is expected, and the label says so.
    expected: 'false',
    job: EXPORTER_JOB,
  };
}

const SCHEDULE_KEY_DELETION_ANNOTATIONS = {
  summary: 'A high-risk KMS configuration change was made.',
  description: 'ScheduleKeyDeletion (key_lifecycle) by a principal of type IAMUser in AWS account 111122223333, region us-east-1: 1 change(s) in the last 10 minutes.',
  runbook_url: `${RUNBOOK}kmshighriskchange`,
};

t.test('the test routing tree is the shipped tree with stand-in receivers', async (t) => {
  const amtool = requireCommand(['amtool']);
  const { config, targets } = alertmanagerTestVariant(shippedAlertmanager, { url: placeholderUrl, shippedDir: '../../../alerts' });
  const rendered = renderVariant(config);
  if (process.env['TAP_SNAPSHOT'] === '1') writeFileSync(FIXTURE, rendered);
  t.equal(readFileSync(FIXTURE, 'utf8'), rendered, 'test/fixtures/alertmanager/alertmanager.test.yml is current (regenerate: TAP_SNAPSHOT=1 npx tap test/e2e/alerting.test.ts)');

  t.same([...new Set(targets.map((target) => target.receiver))], RECEIVERS, 'every shipped receiver has a stand-in');
  for (const target of targets) t.equal(target.sendResolved, SEND_RESOLVED[target.receiver], `${target.receiver} (${target.integration}) keeps send_resolved: ${target.sendResolved}`);

  // Structurally: the same tree and inhibition once the test's timers are set aside.
  const withoutTimers = (route: unknown): unknown =>
    JSON.parse(JSON.stringify(route, (key, value: unknown) => (Object.keys(TEST_TIMING).includes(key) ? undefined : value)));
  const shipped = parse(shippedAlertmanager) as Record<string, unknown>;
  t.same(withoutTimers(config['route']), withoutTimers(shipped['route']), 'the routing tree is the shipped one, timers aside');
  t.same(config['inhibit_rules'], shipped['inhibit_rules'], 'the inhibition rules are the shipped ones');

  const check = run(amtool, ['check-config', FIXTURE]);
  t.equal(check.status, 0, 'amtool check-config accepts the test variant and its templates', { output: check.output });

  // The same routing cases as the shipped config, against the variant: same receivers, same order.
  const cases = readFileSync(ROUTES, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split(/\s+/));
  t.ok(cases.length > 0, 'routing cases found');
  for (const [receivers = '', ...labels] of cases) {
    const result = run(amtool, ['config', 'routes', 'test', `--config.file=${FIXTURE}`, `--verify.receivers=${receivers}`, ...labels]);
    t.equal(result.status, 0, `${labels.find((label) => label.startsWith('alertname=')) ?? labels.join(' ')} -> ${receivers}`, { labels, output: result.output });
  }
});

t.test('shipped rules and routing: a low-risk change reaches only the info route, a ScheduleKeyDeletion pages', async (t) => {
  const { standIns, exporter } = await startStack(t, RULES);

  // A low-risk change first: a critical alert in the same account and region would
  // inhibit it (without the key_id label, inhibition is per account and region).
  const lowRisk = { alertname: 'KmsLowRiskChange', severity: 'info', event_name: 'TagResource', job: EXPORTER_JOB };
  const tagFedAt = Date.now();
  await exporter.feed(cloudTrailLine('TagResource.json'));
  const info = await standIns.waitFor('slack-info', 'KmsLowRiskChange for TagResource', isFiring(lowRisk), NOTIFY_WITHIN_MS);
  t.comment(`TagResource -> slack-info in ${latency(info, tagFedAt)} ms`);
  t.equal(info.message.receiver, 'slack-info', 'sent by the slack-info receiver');
  t.match(findAlert(info.message, lowRisk)?.labels ?? {}, { rule_id: 'KMS-007', compliance: 'APRA,MAS,NIST', aws_account_id: '111122223333', aws_region: 'us-east-1', principal_type: 'IAMUser', risk: 'low' }, 'KMS-007 labels of a low-risk change');
  // Every KMS-007 alert opens a ticket, info included (alerts/README.md, "Routing").
  for (const ticket of TICKET_STAND_INS) await standIns.waitFor(ticket, 'the KmsLowRiskChange ticket', isFiring(lowRisk), NOTIFY_WITHIN_MS);
  await sleep(QUIET_MS);
  t.same(alertsAt(standIns, ['pagerduty-security', 'pagerduty', 'sms', 'slack-warning', 'email']), [], 'nothing reached the pagers, SMS, Slack warnings or e-mail');

  const critical = scheduleKeyDeletionLabels();
  const deletionFedAt = Date.now();
  await exporter.feed(cloudTrailLine('ScheduleKeyDeletion.json'));
  for (const standIn of CRITICAL_STAND_INS) {
    const page = await standIns.waitFor(standIn, 'KmsHighRiskChange for ScheduleKeyDeletion', isFiring(critical), NOTIFY_WITHIN_MS);
    t.comment(`ScheduleKeyDeletion -> ${standIn} in ${latency(page, deletionFedAt)} ms`);
    t.ok(latency(page, deletionFedAt) < NOTIFY_WITHIN_MS, `${standIn} notified within ${NOTIFY_WITHIN_MS / 1000} s`);
    t.equal(page.message.receiver, standIn, `sent by the ${standIn} receiver`);
    t.equal(page.message.status, 'firing', 'a firing notification');
    t.same(page.message.groupLabels, { aws_account_id: '111122223333' }, 'grouped by account (and key, when the exporter labels keys)');
    const alert = findAlert(page.message, critical, 'firing');
    t.same(alert?.labels, critical, 'exactly the expected labels');
    t.same(alert?.annotations, SCHEDULE_KEY_DELETION_ANNOTATIONS, 'summary, description naming account, region, event and principal type, runbook_url');
  }
  for (const ticket of TICKET_STAND_INS) await standIns.waitFor(ticket, 'the KmsHighRiskChange ticket', isFiring(critical), NOTIFY_WITHIN_MS);
  await sleep(QUIET_MS);
  t.same(alertsAt(standIns, ['pagerduty', 'slack-warning', 'email']), [], 'the health pager, Slack warnings and e-mail got nothing');
  t.same(
    alertsAt(standIns, ['slack-info']).filter((line) => line.includes('KmsHighRiskChange')),
    [],
    'the critical alert did not go to the info channel',
  );
});

/** The change series of the example trail, from its golden exposition: labels and count. */
function trailChangeSeries(): { readonly labels: Record<string, string>; readonly count: number }[] {
  const golden = readFileSync(join(ROOT, 'test/fixtures/exposition/example-trail.prom'), 'utf8');
  return [...golden.matchAll(/^kms_config_changes_total\{([^}]*)\} (\d+)$/gm)].map(([, labels = '', count = '0']) => ({
    labels: Object.fromEntries([...labels.matchAll(/(\w+)="([^"]*)"/g)].map(([, name = '', value = '']) => [name, value])),
    count: Number(count),
  }));
}

t.test('the example trail: every change reaches its channels, low-risk ones included', async (t) => {
  const { standIns, exporter } = await startStack(t, RULES);
  const series = trailChangeSeries();
  const routes = {
    high: { alertname: 'KmsHighRiskChange', standIns: ['pagerduty-security', 'sms'] },
    medium: { alertname: 'KmsMediumRiskChange', standIns: ['slack-warning', 'email'] },
    low: { alertname: 'KmsLowRiskChange', standIns: ['slack-info'] },
  } as const;
  // Without an expectations file every change routes by its risk, AWS services' own grants included.
  const expected = series;
  t.ok(expected.some(({ labels }) => labels['risk'] === 'high') && expected.some(({ labels }) => labels['risk'] === 'medium'), 'the trail has high- and medium-risk changes');

  const fedAt = Date.now();
  await exporter.feed(readFileSync(join(ROOT, 'examples/trail.jsonl.gz')));
  exporter.endInput();
  for (const { labels, count } of expected) {
    const route = routes[labels['risk'] as 'high' | 'medium' | 'low'];
    const wanted = { alertname: route.alertname, event_name: labels['event_name'] ?? '', aws_account_id: labels['aws_account_id'] ?? '', aws_region: labels['aws_region'] ?? '', principal_type: labels['principal_type'] ?? '' };
    const what = `${route.alertname} ${wanted.event_name} ${wanted.aws_account_id} ${wanted.aws_region} ${wanted.principal_type}`;
    for (const standIn of [...route.standIns, ...TICKET_STAND_INS]) {
      const notification = await standIns.waitFor(standIn, what, isFiring(wanted), NOTIFY_WITHIN_MS);
      // The first appearance of a series counts its whole value, not 0.
      t.match(findAlert(notification.message, wanted, 'firing')?.annotations['description'] ?? '', `: ${count} change(s) in the last 10 minutes.`, `${what} at ${standIn}: ${count} change(s)`);
    }
  }
  t.ok(expected.some(({ labels }) => labels['risk'] === 'low'), 'the trail has low-risk changes, and they were checked too');
  t.comment(`${expected.length} change series of the trail at their channels within ${Date.now() - fedAt} ms`);
  await sleep(QUIET_MS);
  t.same(alertsAt(standIns, ['pagerduty']), [], 'the health pager got nothing');
  // Inhibition needs the key_id label (off here), so the critical alerts of an account do not mute its info alerts.
  t.comment(`alerts ticketed at servicenow: ${[...new Set(alertsAt(standIns, ['servicenow']).map((line) => line.split(' ')[1]?.split('/')[0]))].join(', ')}`);
});

t.test('a change alert resolves by itself: the resolution reaches the receivers that send it', async (t) => {
  // The shipped change window (10m: how long a change alert fires) would make this test
  // last over ten minutes. It is one documented TUNE setting, `offset 10m` in the five
  // counting recording rules (three KMS *_unjoined, two pipeline); everything else in the rule file is byte for byte the
  // shipped one.
  const lines = readFileSync(RULES, 'utf8').split('\n');
  const isWindow = (line: string): boolean => !/^\s*#/.test(line) && line.includes('offset 10m');
  t.equal(lines.filter(isWindow).length, 5, 'the change window appears in exactly the five counting recording rules (three KMS, two pipeline)');
  const rulesFile = join(await tempDir(t, 'rules'), 'kms-change-exporter.rules.yml');
  await writeFile(rulesFile, lines.map((line) => (isWindow(line) ? line.replace('offset 10m', `offset ${SHORT_WINDOW_SECONDS}s`) : line)).join('\n'));

  const { standIns, exporter } = await startStack(t, rulesFile);
  const critical = scheduleKeyDeletionLabels();
  const fedAt = Date.now();
  await exporter.feed(cloudTrailLine('ScheduleKeyDeletion.json'));
  for (const standIn of [...CRITICAL_STAND_INS, 'servicenow']) await standIns.waitFor(standIn, 'KmsHighRiskChange firing', isFiring(critical), NOTIFY_WITHIN_MS);

  // ServiceNow sends resolutions (its event is cleared); the security pager does not, on
  // purpose: its incident stays open for a human (alerts/README.md, "send_resolved").
  const resolved = await standIns.waitFor(
    'servicenow',
    'KmsHighRiskChange resolved',
    (message) => message.status === 'resolved' && findAlert(message, critical, 'resolved') !== undefined,
    SHORT_WINDOW_SECONDS * 1000 + NOTIFY_WITHIN_MS,
  );
  t.comment(`ScheduleKeyDeletion resolved at servicenow ${latency(resolved, fedAt)} ms after the change was fed`);
  t.ok(latency(resolved, fedAt) >= SHORT_WINDOW_SECONDS * 1000, `resolved once the ${SHORT_WINDOW_SECONDS}s change window had passed, not before`);
  const alert = findAlert(resolved.message, critical, 'resolved');
  t.same(alert?.labels, critical, 'the resolved alert has the same labels');
  t.ok(alert !== undefined && Date.parse(alert.endsAt) > Date.parse(alert.startsAt), 'with an end time after its start');

  await sleep(QUIET_MS);
  for (const standIn of CRITICAL_STAND_INS) {
    const resolutions = standIns.received(standIn).filter((notification) => notification.message.status === 'resolved' || notification.message.alerts.some((a) => a.status === 'resolved'));
    t.same(resolutions, [], `${standIn} (send_resolved: false) got no resolution`);
  }
});
