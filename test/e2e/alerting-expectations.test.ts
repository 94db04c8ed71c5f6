// End to end with --expectations and --accounts: a CI role's routine change reaches only the ticket stand-ins, the same role opening a key policy to "*" pages, through real Prometheus and Alertmanager with the shipped rules and routing.

import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findAlert } from '../support/alertmanager-stand-ins.ts';
import { CRITICAL_STAND_INS, NOTIFY_WITHIN_MS, QUIET_MS, RECEIVERS, RULES, TICKET_STAND_INS, alertsAt, isFiring, latency, startStack } from '../support/alerting-stack.ts';
import { cloudTrailFixture, withRequest } from '../support/key-policy-record.ts';
import { EXPORTER_JOB, ROOT, sleep, tempDir } from '../support/prometheus-stack.ts';

const ACCOUNT = '111122223333';
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/ci/terraform-deployer`;
const RUNBOOK = 'https://github.com/kms-change-exporter/kms-change-exporter/blob/main/alerts/runbook.md#';

/** The team's CI role, matched by its role ARN: the session name (the workflow run's choice) is no part of the rule. */
const EXPECTATIONS = `rules:
  - name: ci-terraform
    description: Terraform applies from CI.
    match:
      principals: ["${ROLE_ARN}"]
      console: false
`;

/** The shipped example: 111122223333 is payments-prod, production, owned by payments-team. */
const ACCOUNTS_FILE = join(ROOT, 'examples/accounts.yml');

/** GitHub Actions assuming the CI role through OIDC: an AssumedRole session whose name changes with every run. */
function ciIdentity(session: string): Record<string, unknown> {
  return {
    type: 'AssumedRole',
    principalId: `AROAEXAMPLECIROLE0001:${session}`,
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/terraform-deployer/${session}`,
    accountId: ACCOUNT,
    accessKeyId: 'ASIAEXAMPLECIKEY0001',
    sessionContext: {
      sessionIssuer: { type: 'Role', principalId: 'AROAEXAMPLECIROLE0001', arn: ROLE_ARN, accountId: ACCOUNT, userName: 'terraform-deployer' },
      webIdFederationData: { federatedProvider: `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`, attributes: {} },
      attributes: { creationDate: '2026-11-21T21:18:02Z', mfaAuthenticated: 'false' },
    },
  };
}

/** A fixture's record as the CI role's call, one JSON line for the replay source. */
function ciRecord(record: Record<string, unknown>, session: string, eventId: string): string {
  delete record['sessionCredentialFromConsole'];
  return `${JSON.stringify({ ...record, userIdentity: ciIdentity(session), eventID: eventId, sourceIPAddress: '198.51.100.23', userAgent: 'APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-aws/5.80.0' })}\n`;
}

/** The account's own administration kept, plus a statement opening Decrypt to anyone: key_policy_public and nothing else. */
const PUBLIC_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
    { Sid: 'Open', Effect: 'Allow', Principal: '*', Action: 'kms:Decrypt', Resource: '*' },
  ],
});

const ACCOUNT_LABELS = { aws_account_id: ACCOUNT, account_name: 'payments-prod', environment: 'production', owner: 'payments-team' } as const;
const KMS_007 = { rule_id: 'KMS-007', compliance: 'APRA,MAS,NIST' } as const;

function expectedChangeLabels(eventName: string, category: string, risk: string): Record<string, string> {
  return { alertname: 'KmsExpectedChange', severity: 'info', ...KMS_007, event_name: eventName, category, risk, ...ACCOUNT_LABELS, aws_region: 'us-east-1', principal_type: 'AssumedRole', expected: 'true', job: EXPORTER_JOB };
}

function expectedChangeAnnotations(eventName: string, category: string, risk: string): Record<string, string> {
  return {
    summary: 'An expected KMS configuration change was made.',
    description: `${eventName} (${category}, ${risk} risk) by a principal of type AssumedRole in AWS account ${ACCOUNT} (payments-prod, production), region us-east-1, matching an expectation (the rule is named in the log event): 1 change(s) in the last 10 minutes.`,
    runbook_url: `${RUNBOOK}kmsexpectedchange`,
  };
}

const EXPOSED_LABELS = {
  alertname: 'KmsKeyPolicyExposed',
  severity: 'critical',
  ...KMS_007,
  finding: 'key_policy_public',
  event_name: 'PutKeyPolicy',
  outcome: 'success',
  ...ACCOUNT_LABELS,
  aws_region: 'us-east-1',
  principal_type: 'AssumedRole',
  expected: 'true',
  job: EXPORTER_JOB,
} as const;

const EXPOSED_ANNOTATIONS = {
  summary: 'A KMS key policy now lets principals outside the organisation use the key.',
  description: `PutKeyPolicy opened a key policy (key_policy_public) by a principal of type AssumedRole, a principal whose routine changes are expected in AWS account ${ACCOUNT} (payments-prod, production), region us-east-1: 1 change(s) in the last 10 minutes. The log event aws.kms.change carries the evidence.`,
  runbook_url: `${RUNBOOK}kmskeypolicyexposed`,
};

/** Each distinct alert seen at these stand-ins, as `stand-in: alertname/event_name`, sorted: alerts of one evaluation in different groups arrive in any order. */
const distinctAlertsAt = (standIns: Parameters<typeof alertsAt>[0], names: readonly string[]): string[] => [...new Set(alertsAt(standIns, names))].sort();

t.test('an expected CI role: its routine TagResource is only ticketed, its PutKeyPolicy opening the key to "*" pages', async (t) => {
  const dir = await tempDir(t, 'expectations');
  const expectationsFile = join(dir, 'expectations.yml');
  await writeFile(expectationsFile, EXPECTATIONS);
  const { standIns, exporter } = await startStack(t, RULES, { args: ['--expectations', expectationsFile, '--accounts', ACCOUNTS_FILE] });
  const PAGERS_AND_CHAT = RECEIVERS.filter((name) => !(TICKET_STAND_INS as readonly string[]).includes(name));
  t.same(PAGERS_AND_CHAT, ['pagerduty-security', 'pagerduty', 'sms', 'slack-warning', 'slack-info', 'email'], 'every shipped receiver but the tickets is watched for silence');

  // (1) The routine change: a ticket, and nothing on a pager, SMS, chat or e-mail.
  const tag = expectedChangeLabels('TagResource', 'tag', 'low');
  const tagFedAt = Date.now();
  await exporter.feed(ciRecord(cloudTrailFixture('TagResource'), 'GitHubActions-12345678901', 'e2e11-tag-0001'));
  for (const ticket of TICKET_STAND_INS) {
    const notification = await standIns.waitFor(ticket, 'KmsExpectedChange for TagResource', isFiring(tag), NOTIFY_WITHIN_MS);
    t.comment(`TagResource -> ${ticket} in ${latency(notification, tagFedAt)} ms`);
    t.same(notification.message.groupLabels, { aws_account_id: ACCOUNT, event_name: 'TagResource' }, `${ticket}: one ticket per account and event name`);
    const alert = findAlert(notification.message, tag, 'firing');
    t.same(alert?.labels, tag, `${ticket}: exactly the expected labels, the account's name, environment and owner joined`);
    t.same(alert?.annotations, expectedChangeAnnotations('TagResource', 'tag', 'low'), `${ticket}: the description names the account`);
  }
  await sleep(QUIET_MS);
  t.same(alertsAt(standIns, PAGERS_AND_CHAT), [], 'the routine change reached no pager, SMS, Slack or e-mail');
  t.same(distinctAlertsAt(standIns, TICKET_STAND_INS), ['servicenow: KmsExpectedChange/TagResource', 'zendesk: KmsExpectedChange/TagResource'], 'only its ticket');

  // (2) The same role, another run, opens the key to the world: the finding pages although the change is expected.
  const policyFedAt = Date.now();
  await exporter.feed(ciRecord(withRequest('PutKeyPolicy', { policy: PUBLIC_POLICY, bypassPolicyLockoutSafetyCheck: false }), 'GitHubActions-12345678902', 'e2e11-policy-0001'));
  for (const standIn of CRITICAL_STAND_INS) {
    const page = await standIns.waitFor(standIn, 'KmsKeyPolicyExposed for PutKeyPolicy', isFiring(EXPOSED_LABELS), NOTIFY_WITHIN_MS);
    t.comment(`PutKeyPolicy -> ${standIn} in ${latency(page, policyFedAt)} ms`);
    t.equal(page.message.receiver, standIn, `sent by the ${standIn} receiver`);
    t.same(page.message.groupLabels, { aws_account_id: ACCOUNT }, `${standIn}: grouped by account`);
    const alert = findAlert(page.message, EXPOSED_LABELS, 'firing');
    t.same(alert?.labels, EXPOSED_LABELS, `${standIn}: critical, expected="true", the finding and the account's name`);
    t.same(alert?.annotations, EXPOSED_ANNOTATIONS, `${standIn}: the description names the finding, the expectation and the account`);
  }
  // The change itself is still an expected one: ticketed as KmsExpectedChange, next to the finding's ticket.
  const policyChange = expectedChangeLabels('PutKeyPolicy', 'policy', 'high');
  for (const ticket of TICKET_STAND_INS) {
    await standIns.waitFor(ticket, 'the KmsKeyPolicyExposed ticket', isFiring(EXPOSED_LABELS), NOTIFY_WITHIN_MS);
    const notification = await standIns.waitFor(ticket, 'KmsExpectedChange for PutKeyPolicy', isFiring(policyChange), NOTIFY_WITHIN_MS);
    t.same(findAlert(notification.message, policyChange, 'firing')?.annotations, expectedChangeAnnotations('PutKeyPolicy', 'policy', 'high'), `${ticket}: the PutKeyPolicy change ticketed as expected`);
  }
  await sleep(QUIET_MS);
  t.same(
    distinctAlertsAt(standIns, RECEIVERS),
    [
      'pagerduty-security: KmsKeyPolicyExposed/PutKeyPolicy',
      'servicenow: KmsExpectedChange/PutKeyPolicy',
      'servicenow: KmsExpectedChange/TagResource',
      'servicenow: KmsKeyPolicyExposed/PutKeyPolicy',
      'sms: KmsKeyPolicyExposed/PutKeyPolicy',
      'zendesk: KmsExpectedChange/PutKeyPolicy',
      'zendesk: KmsExpectedChange/TagResource',
      'zendesk: KmsKeyPolicyExposed/PutKeyPolicy',
    ],
    'the finding paged the security pager and SMS; the changes themselves were only ticketed: no KmsHighRiskChange, nothing on the health pager, Slack or e-mail',
  );
});
