// The alert rules, their promtool unit tests and the Alertmanager routing, checked with the real promtool and amtool.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { SEVERITY_BY_RISK } from '../../../src/catalog/kms-events.ts';
import type { Risk } from '../../../src/catalog/kms-events.ts';
import type { Test } from 'tap';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const RULES = 'alerts/kms-change-exporter.rules.yml';
const ALERTMANAGER = 'alerts/alertmanager.yml';
const UNIT_TEST_DIR = 'alerts/tests';
const ROUTES = 'alerts/tests/routes.txt';
const RUNBOOK = 'alerts/runbook.md';
const RUNBOOK_URL = 'https://github.com/kms-change-exporter/kms-change-exporter/blob/main/alerts/runbook.md#';
const INSTALL_HINT = 'run `sudo bash scripts/install-test-tools.sh` to install promtool and amtool';

// The exporter's metrics (README.md, "Metrics"), as Prometheus scrapes them.
const EXPORTER_METRICS: ReadonlySet<string> = new Set([
  'kms_config_changes_total',
  'kms_config_change_failures_total',
  'kms_key_pending_deletion_timestamp_seconds',
  'kms_config_change_findings_total',
  'kms_aws_account_info',
  'kms_key_material_expiry_timestamp_seconds',
  'kms_pipeline_changes_total',
  'kms_pipeline_change_failures_total',
  'kms_exporter_records_total',
  'kms_exporter_event_delay_seconds_bucket',
  'kms_exporter_event_delay_seconds_sum',
  'kms_exporter_event_delay_seconds_count',
  'kms_exporter_last_event_timestamp_seconds',
  'kms_exporter_source_errors_total',
  'kms_exporter_build_info',
  'kms_exporter_heartbeat_sent_timestamp_seconds',
  'kms_exporter_heartbeat_seen_timestamp_seconds',
  'up',
]);

// Alerts derived from these metrics are rule KMS-007; the others watch the pipeline.
const KMS_CHANGE_METRICS: ReadonlySet<string> = new Set([
  'kms_config_changes_total',
  'kms_config_change_failures_total',
  'kms_config_change_findings_total',
  'kms_key_pending_deletion_timestamp_seconds',
  'kms_key_material_expiry_timestamp_seconds',
]);

// Label references every KMS-007 description must template, unless the alert's series
// does not carry the label (then the description says so in words).
const CHANGE_DESCRIPTION_LABELS = ['aws_account_id', 'aws_region', 'event_name', 'principal_type'] as const;
const DESCRIPTION_LABELS_EXCEPTIONS: Readonly<Record<string, readonly string[]>> = {
  // Summed over events: a probe tries several calls.
  KmsChangeFailureBurst: ['aws_account_id', 'aws_region', 'principal_type'],
  // A key-state gauge: no event or principal labels; the event is named in the text.
  KmsKeyDeletionImminent: ['aws_account_id', 'aws_region', 'key_id'],
  KmsKeyMaterialExpiring: ['aws_account_id', 'aws_region', 'key_id'],
};

interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}
interface RecordingRule {
  readonly record: string;
  readonly expr: string;
}
type Rule = AlertingRule | RecordingRule;
interface RuleFile {
  readonly groups: readonly { readonly name: string; readonly rules: readonly Rule[] }[];
}
interface UnitTestFile {
  readonly rule_files: readonly string[];
  readonly tests: readonly {
    readonly name: string;
    readonly alert_rule_test?: readonly { readonly alertname: string; readonly exp_alerts?: readonly unknown[] | null }[];
  }[];
}
interface RouteCase {
  readonly line: number;
  readonly receivers: string;
  readonly labels: readonly string[];
}

interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly missing: boolean;
}

function run(command: string, args: readonly string[]): RunResult {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  const missing = (result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '', missing };
}

/** Fails the test, never skips it, when a tool is not installed. */
function requireTool(tt: Test, command: string): boolean {
  const result = run(command, ['--version']);
  if (result.missing) {
    tt.fail(`${command} not found on PATH: ${INSTALL_HINT}`);
    return false;
  }
  tt.comment(`${command}: ${(result.stdout + result.stderr).split('\n')[0] ?? ''}`);
  return true;
}

function readText(path: string): string {
  return readFileSync(`${ROOT}${path}`, 'utf8');
}

function isAlert(rule: Rule): rule is AlertingRule {
  return 'alert' in rule;
}

const ruleFile = parse(readText(RULES)) as RuleFile;
const allRules: readonly Rule[] = ruleFile.groups.flatMap((group) => group.rules);
const alerts: readonly AlertingRule[] = allRules.filter(isAlert);
const recordings: ReadonlyMap<string, string> = new Map(
  allRules.filter((rule): rule is RecordingRule => !isAlert(rule)).map((rule) => [rule.record, rule.expr]),
);
const unitTestFiles: readonly string[] = readdirSync(`${ROOT}${UNIT_TEST_DIR}`)
  .filter((name) => name.endsWith('.test.yml'))
  .sort()
  .map((name) => `${UNIT_TEST_DIR}/${name}`);

function routeCases(): RouteCase[] {
  const cases: RouteCase[] = [];
  readText(ROUTES)
    .split('\n')
    .forEach((text, index) => {
      const trimmed = text.trim();
      if (trimmed === '' || trimmed.startsWith('#')) return;
      const [receivers, ...labels] = trimmed.split(/\s+/);
      if (receivers !== undefined) cases.push({ line: index + 1, receivers, labels });
    });
  return cases;
}

const PROMQL_WORDS: ReadonlySet<string> = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless',
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile',
  'inf', 'nan',
]);

/** Metric names a PromQL expression selects: what is left once strings, matchers, ranges, label lists and function calls are gone. */
function metricNames(expr: string): Set<string> {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+-?\w+/g, ' ');
  const names = new Set<string>();
  for (const match of bare.matchAll(/(?<![\w:.])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)) {
    const name = match[1];
    if (name !== undefined && !PROMQL_WORDS.has(name.toLowerCase())) names.add(name);
  }
  return names;
}

/** The scraped metrics behind an expression, following recording rules. */
function sourceMetrics(expr: string, seen: Set<string> = new Set()): Set<string> {
  const sources = new Set<string>();
  for (const name of metricNames(expr)) {
    const recorded = recordings.get(name);
    if (recorded === undefined) {
      sources.add(name);
    } else if (!seen.has(name)) {
      seen.add(name);
      for (const source of sourceMetrics(recorded, seen)) sources.add(source);
    }
  }
  return sources;
}

t.test('promtool check rules accepts the rule file', async (t) => {
  if (!requireTool(t, 'promtool')) return;
  const result = run('promtool', ['check', 'rules', RULES]);
  t.equal(result.status, 0, `promtool check rules exit code\n${result.stdout}${result.stderr}`);
  t.match(result.stdout, `SUCCESS: ${allRules.length} rules found`);
});

t.test('promtool test rules passes every unit test file', async (t) => {
  if (!requireTool(t, 'promtool')) return;
  t.ok(unitTestFiles.length > 0, `unit test files in ${UNIT_TEST_DIR}`);
  const result = run('promtool', ['test', 'rules', ...unitTestFiles]);
  t.equal(result.status, 0, `promtool test rules exit code\n${result.stdout}${result.stderr}`);
  t.notMatch(result.stdout + result.stderr, /FAILED/);
  for (const file of unitTestFiles) t.match(result.stdout, `Unit Testing:  ${file}\n  SUCCESS`, file);
});

t.test('amtool check-config accepts the Alertmanager config and its templates', async (t) => {
  if (!requireTool(t, 'amtool')) return;
  const result = run('amtool', ['check-config', ALERTMANAGER]);
  t.equal(result.status, 0, `amtool check-config exit code\n${result.stdout}${result.stderr}`);
  t.match(result.stdout, /- 1 templates\n\s+SUCCESS/);
  t.notMatch(result.stdout + result.stderr, /FAILED/);
});

t.test('every routing case resolves to exactly its receivers', async (t) => {
  if (!requireTool(t, 'amtool')) return;
  const cases = routeCases();
  t.ok(cases.length > 0, `route cases in ${ROUTES}`);
  for (const routeCase of cases) {
    t.test(`${ROUTES}:${routeCase.line} ${routeCase.labels.join(' ')}`, async (t) => {
      const result = run('amtool', [
        'config', 'routes', 'test',
        `--config.file=${ALERTMANAGER}`,
        `--verify.receivers=${routeCase.receivers}`,
        ...routeCase.labels,
      ]);
      t.equal(result.status, 0, `exit code\n${result.stdout}${result.stderr}`);
      t.equal(result.stdout.trim(), routeCase.receivers, 'receivers in routing order');
    });
  }
  // Guards the guard: --verify.receivers must fail on a wrong expectation.
  const wrong = run('amtool', [
    'config', 'routes', 'test', `--config.file=${ALERTMANAGER}`, '--verify.receivers=slack-info',
    'alertname=KmsHighRiskChange', 'severity=critical', 'rule_id=KMS-007',
  ]);
  t.equal(wrong.status, 1, 'a wrong expectation exits 1');
  t.match(wrong.stdout, 'WARNING: Expected receivers did not match resolved receivers.');
});

t.test('the routing cases cover every receiver, severity and alert', async (t) => {
  const config = parse(readText(ALERTMANAGER)) as { receivers: readonly { name: string }[] };
  const cases = routeCases();
  const routed = new Set(cases.flatMap((routeCase) => routeCase.receivers.split(',')));
  for (const receiver of config.receivers) t.ok(routed.has(receiver.name), `a case reaches receiver ${receiver.name}`);
  const labelled = new Set(cases.flatMap((routeCase) => routeCase.labels));
  for (const alert of alerts) {
    t.ok(labelled.has(`alertname=${alert.alert}`), `a case routes ${alert.alert}`);
    t.ok(
      cases.some((c) => c.labels.includes(`alertname=${alert.alert}`) && c.labels.includes(`severity=${alert.labels?.severity ?? ''}`)),
      `the case for ${alert.alert} carries its severity`,
    );
    if (alert.labels?.rule_id !== undefined) {
      t.ok(
        cases.some((c) => c.labels.includes(`alertname=${alert.alert}`) && c.labels.includes(`rule_id=${alert.labels?.rule_id ?? ''}`)),
        `the case for ${alert.alert} carries its rule_id`,
      );
    }
  }
  for (const severity of ['critical', 'warning', 'info']) t.ok(labelled.has(`severity=${severity}`), `a case has severity ${severity}`);
});

t.test('every alert follows the mixin conventions', async (t) => {
  t.ok(alerts.length > 0, 'alerts found');
  t.equal(new Set(alerts.map((alert) => alert.alert)).size, alerts.length, 'alert names are unique');
  for (const alert of alerts) {
    t.test(alert.alert, async (t) => {
      const labels = alert.labels ?? {};
      const annotations = alert.annotations ?? {};
      t.match(alert.alert, /^Kms[A-Z][A-Za-z]+$/, 'CamelCase name with the Kms prefix');
      t.ok(['critical', 'warning', 'info'].includes(labels.severity ?? ''), `severity is critical, warning or info: ${labels.severity}`);
      t.ok((annotations.summary ?? '').length > 0, 'has a summary');
      t.notMatch(annotations.summary ?? '', /\{\{/, 'summary is static');
      t.match(annotations.description ?? '', /\{\{.*\$labels\./s, 'description is templated');
      t.equal(annotations.runbook_url, `${RUNBOOK_URL}${alert.alert.toLowerCase()}`, 'runbook_url points at its runbook section');
      t.same(Object.keys(annotations).sort(), ['description', 'runbook_url', 'summary'], 'exactly summary, description, runbook_url');

      const isKmsChangeAlert = [...sourceMetrics(alert.expr)].some((metric) => KMS_CHANGE_METRICS.has(metric));
      if (isKmsChangeAlert) {
        t.equal(labels.rule_id, 'KMS-007', 'rule_id');
        t.equal(labels.compliance, 'APRA,MAS,NIST', 'compliance');
        const required = DESCRIPTION_LABELS_EXCEPTIONS[alert.alert] ?? CHANGE_DESCRIPTION_LABELS;
        for (const label of required) t.match(annotations.description ?? '', `$labels.${label}`, `description names ${label}`);
      } else {
        t.equal(labels.rule_id, undefined, 'pipeline-health alerts are not KMS-007');
        t.equal(labels.compliance, undefined, 'pipeline-health alerts carry no compliance label');
        t.match(annotations.description ?? '', '$labels.job', 'description names the job');
      }
    });
  }
});

t.test('each risk family alerts with the severity the catalog maps it to', async (t) => {
  const risks: readonly Risk[] = ['high', 'medium', 'low'];
  for (const risk of risks) {
    const family = alerts.filter((alert) => alert.expr.includes(`{risk="${risk}"`));
    t.equal(family.length, 1, `one alert selects risk="${risk}"`);
    t.equal(family[0]?.labels?.severity, SEVERITY_BY_RISK[risk], `risk ${risk} -> ${SEVERITY_BY_RISK[risk]}`);
  }
});

t.test('every metric in an expression is an exporter metric, up, or recorded here', async (t) => {
  t.same(
    [...metricNames('sum by (a, b) (rate(x_total{c="d"}[5m] offset 1h)) > on(a) group_left(e) histogram_quantile(0.9, y_bucket) unless absent(up) and time() - 3 * 86400')].sort(),
    ['up', 'x_total', 'y_bucket'],
    'the name extraction itself',
  );
  for (const [name] of recordings) {
    t.match(name, /^[a-z_]+:[a-z_]+:[a-z0-9_]+$/, `recorded name ${name} follows level:metric:operations`);
    t.notOk(EXPORTER_METRICS.has(name), `${name} does not shadow an exporter metric`);
  }
  for (const rule of allRules) {
    const name = isAlert(rule) ? rule.alert : rule.record;
    const used = metricNames(rule.expr);
    t.ok(used.size > 0, `${name} selects at least one metric`);
    for (const metric of used) {
      t.ok(EXPORTER_METRICS.has(metric) || recordings.has(metric), `${name}: ${metric} is an exporter metric, up, or a recording rule`);
    }
  }
});

t.test('every alert has promtool unit tests on both sides', async (t) => {
  const firing = new Set<string>();
  const silent = new Set<string>();
  for (const file of unitTestFiles) {
    const unitTests = parse(readText(file)) as UnitTestFile;
    t.same(unitTests.rule_files, ['../kms-change-exporter.rules.yml'], `${file} loads the shipped rule file`);
    for (const test of unitTests.tests) {
      for (const check of test.alert_rule_test ?? []) {
        ((check.exp_alerts ?? []).length > 0 ? firing : silent).add(check.alertname);
      }
    }
  }
  for (const alert of alerts) {
    t.ok(firing.has(alert.alert), `${alert.alert} has a test where it fires`);
    t.ok(silent.has(alert.alert), `${alert.alert} has a test where it does not fire`);
  }
});

t.test('the runbook has one section per alert', async (t) => {
  const sections = [...readText(RUNBOOK).matchAll(/^## (\S+)\s*$/gm)].map((match) => match[1]);
  t.same([...sections].sort(), alerts.map((alert) => alert.alert).sort(), 'a "## AlertName" heading for each alert, and no other');
});
