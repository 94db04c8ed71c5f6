// The chart's PrometheusRule: rendered by the real helm from rules.* values, equal to alerts/ with the file's values, and accepted (and run) by promtool.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { Test } from 'tap';
import { CHART_DIR, HELM_MISSING, ROOT, helm, helmInstalled, parseManifests } from '../../support/helm-cli.ts';

const RULES = 'alerts/kms-change-exporter.rules.yml';
// The two placeholders of the rules file: the AWS documentation's example key and the project's runbook.
const EXAMPLE_KEY = '1234abcd-12ab-34cd-56ef-1234567890ab';
const FILE_RUNBOOK = 'https://github.com/kms-change-exporter/kms-change-exporter/blob/main/alerts/runbook.md';
const BASE = ['--set', 'logGroups={trail}', '--set', 'prometheusRule.enabled=true'];

interface Rule {
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
  readonly annotations?: Readonly<Record<string, string>>;
}
interface Group {
  readonly name: string;
  readonly rules: readonly Rule[];
}

const fileGroups = (parse(readFileSync(`${ROOT}${RULES}`, 'utf8'), { version: '1.1' }) as { groups: Group[] }).groups;

function renderGroups(tt: Test, sets: readonly string[]): Group[] {
  const result = helm(['template', 'kce', CHART_DIR, '--namespace', 'monitoring', ...BASE, ...sets.flatMap((set) => ['--set', set])]);
  tt.equal(result.status, 0, `helm template ${sets.join(' ')} succeeds`, { stderr: result.stderr });
  const rule = parseManifests(result.stdout).find((m) => m.kind === 'PrometheusRule') as { spec: { groups: Group[] } } | undefined;
  return rule?.spec.groups ?? [];
}

function promtool(args: readonly string[], cwd: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? result.error?.message ?? ''}` };
}

function promtoolInstalled(): boolean {
  return spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** The rendered groups as a plain rule file in a scratch directory, checked by promtool check rules. */
function checkRules(tt: Test, groups: readonly Group[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'kce-rule-'));
  tt.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'rules.yml'), stringify({ groups }));
  if (!promtoolInstalled()) tt.fail('promtool not found: run `sudo bash scripts/install-test-tools.sh`');
  else {
    const check = promtool(['check', 'rules', 'rules.yml'], dir);
    tt.equal(check.status, 0, 'promtool check rules accepts the rendered rules', { output: check.output });
  }
  return dir;
}

const ruleNamed = (groups: readonly Group[], name: string): Rule | undefined => groups.flatMap((g) => g.rules).find((r) => r.alert === name || r.record === name);

t.test('with the file\'s two placeholders as values, the rendered groups are exactly the rules file\'s', async (tt) => {
  if (!helmInstalled()) return void tt.fail(HELM_MISSING);
  const groups = renderGroups(tt, ['config.labelKeyId=true', `rules.protectedKeys={${EXAMPLE_KEY}}`, `rules.runbookBaseUrl=${FILE_RUNBOOK}`]);
  tt.same(groups, fileGroups, `the PrometheusRule's groups equal ${RULES}`);
  checkRules(tt, groups);
});

t.test('protected keys, thresholds and the runbook URL render into the expressions and annotations', async (tt) => {
  if (!helmInstalled()) return void tt.fail(HELM_MISSING);
  const groups = renderGroups(tt, [
    'config.labelKeyId=true',
    'rules.protectedKeys={1111aaaa-11aa-11aa-11aa-111111111111,mrk-0123456789abcdef0123456789abcdef}',
    'rules.runbookBaseUrl=https://wiki.example.com/security/kms-runbook',
    'rules.thresholds.changeWindowMinutes=30',
    'rules.thresholds.failureBurst=3',
    'rules.thresholds.deletionImminentDays=1',
    'rules.thresholds.sourceSilentMinutes=90',
    'rules.thresholds.eventDelayMinutes=20',
  ]);
  tt.equal(
    ruleNamed(groups, 'kms:config_changes_protected_key:increase10m')?.expr,
    'kms:config_changes:increase10m{key_id=~"(?:.*[:/])?(?:1111aaaa-11aa-11aa-11aa-111111111111|mrk-0123456789abcdef0123456789abcdef)", expected!="true"}\n',
    'the protected keys, joined with |',
  );
  tt.match(ruleNamed(groups, 'kms:config_changes_unjoined:increase10m')?.expr, 'last_over_time(kms_config_changes_total[1h] offset 30m)', 'change window in the recording rule');
  tt.match(ruleNamed(groups, 'kms:config_change_failures_unjoined:increase10m')?.expr, 'last_over_time(kms_config_change_failures_total[1h] offset 30m)', 'change window in the failure recording rule');
  tt.match(ruleNamed(groups, 'KmsHighRiskChange')?.annotations?.['description'], /change\(s\) in the last 30 minutes\.$/, 'change window in the descriptions');
  tt.equal(ruleNamed(groups, 'KmsChangeFailureBurst')?.expr, 'sum by (aws_account_id, account_name, environment, owner, aws_region, principal_type) (kms:config_change_failures:increase10m) >= 3\n', 'failure burst size');
  tt.match(ruleNamed(groups, 'KmsKeyDeletionImminent')?.expr, '(max without (instance, pod) (kms_key_pending_deletion_timestamp_seconds) - time() < 1 * 86400) > 0)', 'deletion window in days');
  tt.equal(ruleNamed(groups, 'KmsKeyDeletionImminent')?.annotations?.['summary'], 'A KMS key will be deleted in less than 1 day.', 'and in the summary');
  const silent = ruleNamed(groups, 'KmsSourceSilent');
  tt.match(silent?.expr, '{source!="replay"} > 0) > 5400', 'silence in seconds');
  tt.match(silent?.expr, 'kms_exporter_records_total{source!="replay"}[90m]', 'silence as a range');
  tt.match(silent?.expr, 'kms_exporter_records_total{source!="replay"} offset 90m', 'silence as an offset');
  tt.equal(silent?.annotations?.['summary'], 'A kms-change-exporter source has received no CloudTrail record for 90 minutes.', 'silence in the summary');
  tt.match(ruleNamed(groups, 'KmsEventDelayHigh')?.expr, /\) > 1200\n$/, 'delay threshold in seconds');
  tt.match(ruleNamed(groups, 'KmsEventDelayHigh')?.annotations?.['description'], 'above the 20-minute threshold', 'and in the description');
  const runbooks = groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined).map((r) => r.annotations?.['runbook_url']);
  tt.same(
    runbooks,
    groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined).map((r) => `https://wiki.example.com/security/kms-runbook#${(r.alert ?? '').toLowerCase()}`),
    'every runbook_url is <runbookBaseUrl>#<alert in lower case>',
  );
  tt.notMatch(JSON.stringify(groups), /github\.com\/kms-change-exporter|1234abcd-12ab/, 'neither placeholder is left');

  // The thresholds act: three failures now fire the burst alert, two do not.
  const dir = checkRules(tt, groups);
  if (!promtoolInstalled()) return;
  const series = (n: number, principal: string) => ({
    series: `kms_config_change_failures_total{job="kms-change-exporter",instance="a",event_name="DisableKey",category="key_lifecycle",risk="high",aws_account_id="111122223333",aws_region="eu-west-1",principal_type="${principal}",error_code="AccessDenied"}`,
    values: `0 ${n}`,
  });
  writeFileSync(
    join(dir, 'burst.test.yml'),
    stringify({
      rule_files: ['rules.yml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [series(3, 'AssumedRole'), series(2, 'IAMUser')],
          alert_rule_test: [
            {
              eval_time: '1m',
              alertname: 'KmsChangeFailureBurst',
              exp_alerts: [{ exp_labels: { severity: 'warning', rule_id: 'KMS-007', compliance: 'APRA,MAS,NIST', aws_account_id: '111122223333', aws_region: 'eu-west-1', principal_type: 'AssumedRole' },
                  exp_annotations: {
                    summary: 'Many KMS configuration changes failed for one principal type.',
                    description: '3 failed KMS configuration change attempts (any change event, any error code such as AccessDenied) by AssumedRole principals in AWS account 111122223333, region eu-west-1 in the last 30 minutes.',
                    runbook_url: 'https://wiki.example.com/security/kms-runbook#kmschangefailureburst',
                  },
                },
              ],
            },
          ],
        },
      ],
    }),
  );
  const unit = promtool(['test', 'rules', 'burst.test.yml'], dir);
  tt.equal(unit.status, 0, 'promtool test rules: failureBurst=3 fires on 3 failures and not on 2', { output: unit.output });
});

t.test('without protected keys, the protected-key rule and alert are left out and nothing else changes', async (tt) => {
  if (!helmInstalled()) return void tt.fail(HELM_MISSING);
  const groups = renderGroups(tt, [`rules.runbookBaseUrl=${FILE_RUNBOOK}`]);
  const names = (gs: readonly Group[]) => gs.flatMap((g) => g.rules.map((r) => r.alert ?? r.record));
  tt.same(names(groups), names(fileGroups).filter((n) => n !== 'kms:config_changes_protected_key:increase10m' && n !== 'KmsProtectedKeyChanged'), 'every other rule, in order');
  tt.same(ruleNamed(groups, 'KmsHighRiskChange'), ruleNamed(fileGroups, 'KmsHighRiskChange'), 'the risk alerts are as in the file');
  checkRules(tt, groups);
});

t.test('required values fail at install, naming the value', async (tt) => {
  if (!helmInstalled()) return void tt.fail(HELM_MISSING);
  const cases: readonly (readonly [readonly string[], string])[] = [
    [['prometheusRule.enabled=true'], 'prometheusRule.enabled needs rules.runbookBaseUrl: the URL of your copy of alerts/runbook.md (each alert links to its section, <url>#<alert name in lower case>)'],
    [['source=poll'], 'source poll needs logGroups: the CloudTrail log group names or ARNs to read, e.g. --set logGroups={my-trail-log-group} (without them the exporter cannot start)'],
    [['source=live-tail'], 'source live-tail needs logGroups: the CloudTrail log group names or ARNs to read, e.g. --set logGroups={my-trail-log-group} (without them the exporter cannot start)'],
    [['source=firehose'], 'source firehose needs the Firehose access key: set firehose.accessKey.existingSecret (recommended) or firehose.accessKey.value'],
    [
      ['prometheusRule.enabled=true', `rules.runbookBaseUrl=${FILE_RUNBOOK}`, `rules.protectedKeys={${EXAMPLE_KEY}}`],
      'rules.protectedKeys needs config.labelKeyId: true: the protected-key rule matches the key_id label, which the exporter adds only then (without it KmsProtectedKeyChanged would never fire)',
    ],
  ];
  for (const [sets, message] of cases) {
    const logGroups = sets.includes('prometheusRule.enabled=true') ? ['--set', 'logGroups={trail}'] : [];
    for (const command of ['template', 'install']) {
      const extra = command === 'install' ? ['--dry-run=client'] : [];
      const result = helm([command, 'kce', CHART_DIR, ...extra, ...logGroups, ...sets.flatMap((set) => ['--set', set])]);
      tt.not(result.status, 0, `helm ${command} ${sets.join(' ')} fails`);
      tt.match(result.stderr, message, `helm ${command} ${sets.join(' ')} says what to set`);
    }
  }
  const schema = helm(['template', 'kce', CHART_DIR, ...BASE, '--set', 'rules.runbookBaseUrl=wiki/runbook', '--set', 'rules.protectedKeys={alias/prod}', '--set', 'rules.thresholds.failureBurst=0']);
  tt.not(schema.status, 0, 'a relative runbook URL, an alias as a key and a zero threshold fail');
  for (const path of ['/rules/runbookBaseUrl', '/rules/protectedKeys/0', '/rules/thresholds/failureBurst']) tt.match(schema.stderr, path, `the schema names ${path}`);
});
