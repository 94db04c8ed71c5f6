// Findings, expectations, aliases and account names through the whole pipeline: replayed records in, exact samples and log events out.
import t from 'tap';
import type { Test } from 'tap';
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { runReplay } from '../src/service.ts';
import { cloudTrailFixture, withRequest } from './support/key-policy-record.ts';

const ALICE = cloudTrailFixture('CreateAlias')['userIdentity'];
const PUBLIC_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*', Resource: '*' },
    { Sid: 'Open', Effect: 'Allow', Principal: '*', Action: ['kms:Decrypt'], Resource: '*' },
  ],
});

function record(fixture: string, eventId: string, minute: number, request?: Record<string, unknown>): string {
  const value = request === undefined ? cloudTrailFixture(fixture) : withRequest(fixture, request);
  value['userIdentity'] = ALICE;
  value['eventID'] = eventId;
  value['eventTime'] = `2026-11-20T20:${String(minute).padStart(2, '0')}:00Z`;
  return JSON.stringify(value);
}

async function replay(t: Test, records: readonly string[], settings: Record<string, unknown>) {
  const dir = mkdtempSync(join(tmpdir(), 'findings-'));
  const trail = join(dir, 'trail.jsonl');
  writeFileSync(trail, `${records.join('\n')}\n`);
  const logsPath = join(dir, 'logs.jsonl');
  const logsFd = openSync(logsPath, 'w');
  const result = await runReplay([trail], loadConfig(settings), { env: {}, log: pino({ level: 'silent' }), logsFd, stdin: Readable.from([]) });
  closeSync(logsFd);
  t.same(result.errors, []);
  const logs = readFileSync(logsPath, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { body: string; attributes: Record<string, unknown> });
  return { exposition: result.exposition, logs, dir };
}

function samples(exposition: string, metric: string): string[] {
  return exposition.split('\n').filter((line) => line.startsWith(`${metric}{`));
}

const ACCOUNTS = 'organizationId: o-a1b2c3d4e5\naccounts:\n  "111122223333": { name: payments-prod, environment: production, owner: payments-team }\n';
const EXPECTATIONS = 'rules:\n  - name: alice-automation\n    match:\n      principals: ["arn:aws:iam::111122223333:user/Alice"]\n';

t.test('an expected principal: routine changes are expected="true", a finding is counted all the same, and the log names alias, account and rule', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'findings-files-'));
  writeFileSync(join(dir, 'accounts.yml'), ACCOUNTS);
  writeFileSync(join(dir, 'expectations.yml'), EXPECTATIONS);
  const { exposition, logs } = await replay(
    t,
    [record('CreateAlias', 'e1', 1), record('TagResource', 'e2', 2), record('PutKeyPolicy', 'e3', 3, { policy: PUBLIC_POLICY, bypassPolicyLockoutSafetyCheck: false })],
    { accounts: join(dir, 'accounts.yml'), expectations: join(dir, 'expectations.yml') },
  );
  t.same(samples(exposition, 'kms_config_change_findings_total'), [
    'kms_config_change_findings_total{finding="key_policy_public",event_name="PutKeyPolicy",outcome="success",aws_account_id="111122223333",aws_region="us-east-1",principal_type="IAMUser",expected="true"} 1',
  ]);
  t.same(samples(exposition, 'kms_config_changes_total'), [
    'kms_config_changes_total{event_name="CreateAlias",category="alias",risk="low",aws_account_id="111122223333",aws_region="us-east-1",principal_type="IAMUser",expected="true"} 1',
    'kms_config_changes_total{event_name="TagResource",category="tag",risk="low",aws_account_id="111122223333",aws_region="us-east-1",principal_type="IAMUser",expected="true"} 1',
    'kms_config_changes_total{event_name="PutKeyPolicy",category="policy",risk="high",aws_account_id="111122223333",aws_region="us-east-1",principal_type="IAMUser",expected="true"} 1',
  ]);
  t.same(samples(exposition, 'kms_aws_account_info'), ['kms_aws_account_info{aws_account_id="111122223333",account_name="payments-prod",environment="production",owner="payments-team"} 1']);

  const [alias, tag, policy] = logs;
  t.equal(alias?.body, 'arn:aws:iam::111122223333:user/Alice created alias alias/app-data for key arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab, in account payments-prod; expected (rule alice-automation)');
  t.equal(tag?.body, 'arn:aws:iam::111122223333:user/Alice tagged key alias/app-data (1234abcd-12ab-34cd-56ef-1234567890ab), in account payments-prod; expected (rule alice-automation)', 'the alias learned from the stream names the key');
  t.same(tag?.attributes['aws.kms.change.findings'], []);
  t.equal(tag?.attributes['aws.kms.change.expected'], true);
  t.equal(tag?.attributes['aws.kms.change.expectation'], 'alice-automation');
  t.same(tag?.attributes['aws.kms.key.aliases'], ['alias/app-data']);
  t.equal(tag?.attributes['aws.account.name'], 'payments-prod');
  t.equal(tag?.attributes['aws.account.environment'], 'production');
  t.equal(tag?.attributes['aws.account.owner'], 'payments-team');

  t.equal(policy?.body, 'arn:aws:iam::111122223333:user/Alice replaced the key policy of key alias/app-data (1234abcd-12ab-34cd-56ef-1234567890ab), in account payments-prod; findings: key_policy_public; expected (rule alice-automation)');
  t.same(policy?.attributes['aws.kms.change.findings'], ['key_policy_public']);
  t.equal(policy?.attributes['alert.severity'], 'critical', 'a finding makes the change critical whatever its rule');
  const evidence = JSON.parse(String(policy?.attributes['aws.kms.change.finding_evidence'])) as Record<string, unknown>[];
  t.equal(evidence.length, 1);
  t.match(evidence[0], { finding: 'key_policy_public', statement: 'Open', principal: '*' });
  t.equal(
    policy?.attributes['aws.kms.key_policy'],
    '{"Statement":[{"Action":["kms:*"],"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root"]},"Resource":["*"],"Sid":"Enable IAM User Permissions"},{"Action":["kms:Decrypt"],"Effect":"Allow","Principal":"*","Resource":["*"],"Sid":"Open"}],"Version":"2012-10-17"}',
  );
});

t.test('without the files: nothing is expected, a foreign account is external, and --min-deletion-window-days moves the short window', async (t) => {
  const foreign = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'Admin', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*', Resource: '*' }, { Sid: 'Partner', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::444455556666:root' }, Action: 'kms:Decrypt', Resource: '*' }] });
  const records = [record('PutKeyPolicy', 'p1', 1, { policy: foreign, bypassPolicyLockoutSafetyCheck: false }), record('ScheduleKeyDeletion', 's1', 2, { pendingWindowInDays: 7 })];
  const window = JSON.parse(records[1]!) as { requestParameters: { pendingWindowInDays: number } };
  t.equal(window.requestParameters.pendingWindowInDays, 7, 'the fixture schedules with the 7-day minimum');
  const strict = await replay(t, records, {});
  t.same(samples(strict.exposition, 'kms_config_change_findings_total').map((line) => line.replace(/^\w+\{finding="([^"]+)".*expected="(\w+)"\} (\d+)$/, '$1 $2 $3')), ['key_policy_external_account false 1', 'short_deletion_window false 1']);
  const lenient = await replay(t, records, { minDeletionWindowDays: '7' });
  t.same(samples(lenient.exposition, 'kms_config_change_findings_total').map((line) => /finding="([^"]+)"/.exec(line)?.[1]), ['key_policy_external_account'], 'a 7-day window is not short when 7 is the minimum asked for');
  t.same(samples(strict.exposition, 'kms_aws_account_info'), []);

  const dir = mkdtempSync(join(tmpdir(), 'findings-org-'));
  writeFileSync(join(dir, 'accounts.yml'), 'accounts:\n  "444455556666": { name: partner-shared }\n');
  const inside = await replay(t, records, { accounts: join(dir, 'accounts.yml') });
  t.same(samples(inside.exposition, 'kms_config_change_findings_total').map((line) => /finding="([^"]+)"/.exec(line)?.[1]), ['short_deletion_window'], 'an account of the file is ours');
});

t.test('a bad file stops the start with its line; a window outside AWS range is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'findings-bad-'));
  writeFileSync(join(dir, 'expectations.yml'), 'rules:\n  - name: x\n    match:\n      principal: ["*"]\n');
  await t.rejects(replay(t, [], { expectations: join(dir, 'expectations.yml') }), { message: /^invalid --expectations \(KMS_EXPORTER_EXPECTATIONS_FILE\): .*expectations\.yml:4:7: rules\[0\]\.match\.principal: unknown key "principal"/ });
  t.throws(() => loadConfig({ minDeletionWindowDays: '5' }), { message: 'invalid --min-deletion-window-days (KMS_EXPORTER_MIN_DELETION_WINDOW_DAYS): expected a whole number from 7 to 30, got "5"' });
});
