// The dashboards: the committed JSON is the generator's output, the model follows the conventions, and every panel query parses and returns data on a real Prometheus scraping the exporter.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { findDrift } from '../../dashboards/build.ts';
import { allDashboards } from '../../dashboards/src/all-dashboards.ts';
import { PROJECT_TAG } from '../../dashboards/src/dashboard.ts';
import type { Dashboard, PrometheusTarget, QueryPanelType, QueryVariable, Variable } from '../../dashboards/src/grafana-model.ts';
import { SCHEMA_VERSION } from '../../dashboards/src/grafana-model.ts';
import { METRIC } from '../../dashboards/src/promql.ts';
import { parseLabelValues } from '../../dashboards/src/variables.ts';
import { startFakeKms } from '../support/fake-kms/index.ts';
import { ACCOUNT, importKeyMaterial } from '../support/key-fact-records.ts';
import { ROOT, sleep, startExporter, startPrometheus, tempDir } from '../support/prometheus-stack.ts';
import type { Exporter, PromResponse, PromSample } from '../support/prometheus-stack.ts';

const DASHBOARDS_DIR = join(ROOT, 'dashboards');
const BUILD = join(ROOT, 'dashboards/build.ts');
const TRAIL = join(ROOT, 'examples/trail.jsonl.gz');
/** The shipped examples, so that account names, expected changes and their joins have data. */
const EXAMPLE_FLAGS = ['--accounts', join(ROOT, 'examples/accounts.yml'), '--expectations', join(ROOT, 'examples/expectations.yml')];
/** ACCOUNT's name in examples/accounts.yml. */
const ACCOUNT_NAME = 'payments-prod';
/**
 * The example trail's imported material is deleted again, so each exporter is also fed one
 * import that expires in 20 days, after the trail: the expiry panel has a key to show.
 */
const EXPIRING_KEY = '0b1e3f5a-7c9d-4e2f-8a6b-1c3d5e7f9a0b';
const EXPIRES_IN_DAYS = 20;

const dashboards = allDashboards();

/**
 * Grafana's built-in variables as the test sets them: a one-hour range at a one-minute step,
 * a step that covers the whole test, so the changes fed at its start are in the last step.
 */
const BUILT_INS: Readonly<Record<string, string>> = { __rate_interval: '1m', __interval: '1m', __range: '1h' };
const STEP_SECONDS = 60;

/**
 * Queries that may return nothing on the exporter the test runs, keyed by the metric they
 * read, with the reason. Each exception is checked: the metric must really be absent from
 * the exporter's /metrics, so an exception that stops being needed fails the test.
 */
// None today: the heartbeat's TagResource calls feed kms_exporter_aws_requests_total, which replay alone never did.
const NO_DATA_EXPECTED: Readonly<Record<string, string>> = {};

const EXPECTED_UIDS = ['kms-change-overview', 'kms-change-drilldown', 'kms-change-exporter-health'];

function queryPanels(dashboard: Dashboard): QueryPanelType[] {
  return dashboard.panels.filter((panel): panel is QueryPanelType => 'targets' in panel);
}

function queryVariables(dashboard: Dashboard): QueryVariable[] {
  return dashboard.templating.list.filter((variable: Variable): variable is QueryVariable => variable.type === 'query');
}

/** Every target of a dashboard with where it is, for messages. */
function targetsOf(dashboard: Dashboard): { readonly where: string; readonly panel: QueryPanelType; readonly target: PrometheusTarget }[] {
  return queryPanels(dashboard).flatMap((panel) => panel.targets.map((target) => ({ where: `${dashboard.uid} / ${panel.title} / ${target.refId}`, panel, target })));
}

/** Grafana's interpolation: built-ins, then dashboard variables; an unknown variable is an error, not an empty string. */
function interpolate(expr: string, values: Readonly<Record<string, string>>, builtIns: Readonly<Record<string, string>> = BUILT_INS): string {
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? '';
    const value = builtIns[name] ?? values[name];
    if (value === undefined) throw new Error(`unknown variable ${whole} in ${expr}`);
    return value;
  });
}

/** How Grafana formats a multi-value selection for `=~`: each value regex-escaped, joined as an alternation. */
function grafanaRegex(values: readonly string[]): string {
  const escaped = values.map((value) => value.replace(/[\\^$*+?.()|{}[\]]/g, '\\\\$&'));
  return escaped.length === 1 ? (escaped[0] ?? '') : `(${escaped.join('|')})`;
}

/** Metric names selected by an expression: what is left once strings, matchers, ranges, groupings, offsets and calls are gone. */
function metricNames(expr: string): Set<string> {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+\S+/g, ' ');
  const keywords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'inf', 'nan']);
  const names = new Set<string>();
  for (const match of bare.matchAll(/(?<![\w:.$])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)) {
    const name = match[1];
    if (name !== undefined && !keywords.has(name)) names.add(name);
  }
  for (const match of expr.matchAll(/__name__=~"([^"]*)"/g)) for (const name of (match[1] ?? '').split('|')) names.add(name);
  return names;
}

/** The metric names of README.md's "Metrics" table, as Prometheus scrapes them (histograms as their three series). */
function documentedMetrics(): Set<string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Metrics'));
  const names = new Set<string>(['up']);
  for (const match of section.matchAll(/^\| `([a-z0-9_:]+)` \| (\w+) \|/gm)) {
    const [, name = '', type = ''] = match;
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    else names.add(name);
  }
  return names;
}

t.test('the committed JSON is the generator output (node dashboards/build.ts)', async (t) => {
  t.same(findDrift(DASHBOARDS_DIR), { changed: [], missing: [], extra: [] }, 'dashboards/*.json and the README outline match dashboards/src (run: node dashboards/build.ts)');
  t.same(allDashboards(), dashboards, 'the generator is deterministic');

  const check = spawnSync(process.execPath, [BUILD, '--check'], { cwd: ROOT, encoding: 'utf8' });
  t.equal(check.status, 0, 'build.ts --check passes on the committed files', { output: check.stdout + check.stderr });

  // --check really fails on drift: build into a scratch directory, then spoil it.
  const dir = await tempDir(t, 'dashboards');
  const build = spawnSync(process.execPath, [BUILD, '--dir', dir], { cwd: ROOT, encoding: 'utf8' });
  t.equal(build.status, 0, 'build.ts writes the files', { output: build.stdout + build.stderr });
  const first = join(dir, `${EXPECTED_UIDS[0]}.json`);
  writeFileSync(first, readFileSync(first, 'utf8').replace('"refresh": "1m"', '"refresh": "5m"'));
  writeFileSync(join(dir, 'old-dashboard.json'), '{}\n');
  const drift = spawnSync(process.execPath, [BUILD, '--check', '--dir', dir], { cwd: ROOT, encoding: 'utf8' });
  t.equal(drift.status, 1, 'build.ts --check exits 1 on drift');
  t.match(drift.stderr, `${EXPECTED_UIDS[0]}.json: differs from the generator`, 'names the changed file');
  t.match(drift.stderr, 'old-dashboard.json: not generated by any dashboard', 'names a file no dashboard generates');
});

t.test('the dashboards follow the conventions', async (t) => {
  t.same(dashboards.map(({ dashboard }) => dashboard.uid), EXPECTED_UIDS, 'stable uids, one per dashboard');
  const documented = documentedMetrics();
  t.ok(documented.has(METRIC.changes) && documented.has(METRIC.awsRequests), 'README.md Metrics table read');

  for (const { file, dashboard } of dashboards) {
    t.test(dashboard.uid, async (t) => {
      t.equal(file, `${dashboard.uid}.json`, 'file named after the uid');
      t.ok(dashboard.uid.length <= 40, 'uid within Grafana\'s 40 characters');
      t.ok(dashboard.schemaVersion >= 39 && dashboard.schemaVersion === SCHEMA_VERSION, `schemaVersion ${dashboard.schemaVersion}`);
      t.ok(dashboard.tags.includes(PROJECT_TAG), `tagged ${PROJECT_TAG} (the dashboards link to each other by it)`);
      t.equal(dashboard.id, null, 'no database id: Grafana assigns one on import and provisioning');

      const variables = dashboard.templating.list;
      t.match(variables[0], { name: 'datasource', type: 'datasource', query: 'prometheus' }, 'first variable: the Prometheus data source');
      const names = variables.map((variable) => variable.name);
      const wanted = dashboard.uid === 'kms-change-exporter-health' ? ['job', 'instance', 'source'] : ['job', 'aws_account_id', 'aws_region'];
      for (const name of wanted) t.ok(names.includes(name), `has the ${name} variable`);
      for (const variable of queryVariables(dashboard)) {
        t.equal(variable.datasource.uid, '${datasource}', `${variable.name} queries the selected data source`);
        t.equal(parseLabelValues(variable.definition).label, variable.name, `${variable.name} lists label_values of its own label`);
        t.equal(variable.query.query, variable.definition, `${variable.name}: query and definition agree`);
      }

      const ids = dashboard.panels.map((panel) => panel.id);
      t.equal(new Set(ids).size, ids.length, 'panel ids are unique');
      const cells = new Set<string>();
      let overlaps = 0;
      for (const panel of dashboard.panels) {
        const { x, y, w, h } = panel.gridPos;
        t.ok(x >= 0 && w > 0 && x + w <= 24 && h > 0, `${panel.title} fits the 24-column grid`);
        for (let col = x; col < x + w; col++) {
          for (let row = y; row < y + h; row++) {
            const cell = `${col},${row}`;
            if (cells.has(cell)) overlaps++;
            cells.add(cell);
          }
        }
      }
      t.equal(overlaps, 0, 'no two panels overlap');

      for (const { where, panel, target } of targetsOf(dashboard)) {
        const expr = target.expr;
        t.equal(panel.datasource.uid, '${datasource}', `${where}: panel uses the datasource variable`);
        t.equal(target.datasource.uid, '${datasource}', `${where}: target uses the datasource variable`);
        t.notOk(/\bi?rate\((?![^)]*\[\$__rate_interval\])/.test(expr), `${where}: rate() over $__rate_interval`);
        // increase() is 0 on a series' first scrape, and most KMS changes create a series:
        // change counts use the offset form of promql.ts counted() instead.
        t.notOk(/\bincrease\(/.test(expr), `${where}: no increase()`);
        for (const match of expr.matchAll(/\boffset\s+(\S+)/g)) t.ok(['$__interval', '$__range'].includes(match[1] ?? ''), `${where}: offset by the step or the range`);
        const metrics = metricNames(expr);
        t.ok(metrics.size > 0, `${where}: reads a metric`);
        for (const metric of metrics) t.ok(documented.has(metric), `${where}: ${metric} is a documented metric`);
        for (const selector of expr.matchAll(/(?:[a-z0-9_:]+)?\{[^}]*\}/g)) {
          t.match(selector[0], /job=~"\$job"/, `${where}: every selector filters by job`);
          const kms = [METRIC.changes, METRIC.failures, METRIC.findings, METRIC.pendingDeletion, METRIC.materialExpiry].some((metric) => selector[0].startsWith(`${metric}{`));
          if (kms && names.includes('aws_account_id')) t.match(selector[0], /aws_account_id=~"\$aws_account_id", aws_region=~"\$aws_region"/, `${where}: filters by account and region`);
        }
      }
    });
  }

  const drilldown = dashboards.find(({ dashboard }) => dashboard.uid === 'kms-change-drilldown')?.dashboard;
  const explanation = drilldown?.panels.find((panel) => panel.type === 'text');
  t.ok(explanation !== undefined && explanation.type === 'text', 'the drill-down explains the opt-in labels');
  if (explanation?.type === 'text') {
    for (const words of ['--label-key-id', '--label-principal', '0 means the label is off', '__overflow__', 'log events']) t.match(explanation.options.content, words, `mentions ${words}`);
  }
});

/** Both exporters' metric names, to check the no-data exceptions against. */
async function exposedMetrics(exporters: readonly Exporter[]): Promise<Set<string>> {
  const names = new Set<string>();
  for (const exporter of exporters) {
    for (const line of (await exporter.metrics()).split('\n')) {
      const name = /^([a-zA-Z_:][\w:]*)[{ ]/.exec(line)?.[1];
      if (name !== undefined) names.add(name);
    }
  }
  return names;
}

/** The sum of a metric's samples in the golden exposition of the example trail (test/fixtures/exposition). */
function goldenTotal(metric: string, labels = ''): number {
  const golden = readFileSync(join(ROOT, 'test/fixtures/exposition/example-trail.prom'), 'utf8');
  return golden
    .split('\n')
    .filter((line) => line.startsWith(`${metric}{`) && line.includes(labels))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/** The sum of a metric's samples over the exporters' /metrics, where every sample carries all of `labels`. */
async function exposedTotal(exporters: readonly Exporter[], metric: string, ...labels: string[]): Promise<number> {
  let sum = 0;
  for (const exporter of exporters) {
    for (const line of (await exporter.metrics()).split('\n')) {
      if (line.startsWith(`${metric}{`) && labels.every((label) => line.includes(label))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

function numbers(response: PromResponse): number[] {
  return (response.data?.result ?? []).flatMap((sample) => [...(sample.value === undefined ? [] : [sample.value]), ...(sample.values ?? [])].map(([, value]) => Number(value)));
}

/** Data, not just series: NaN (a quantile of nothing, 0/0) does not count. */
function hasNumber(response: PromResponse): boolean {
  return numbers(response).some((value) => !Number.isNaN(value));
}

t.test('every panel query parses and returns data on a real Prometheus scraping the exporter', async (t) => {
  const started = Date.now();
  // Default labels and the opt-in key_id and principal labels: the drill-down needs both.
  // The heartbeat panel needs a heartbeat: the second exporter tags a canary key in the fake KMS (its record never comes back through replay, so the lag grows).
  const kms = await startFakeKms();
  t.teardown(() => kms.close());
  const canary = kms.createKey('0d7f1c2e-5b3a-4c8d-9e6f-1a2b3c4d5e6f');
  const heartbeat = {
    args: [...EXAMPLE_FLAGS, '--label-key-id', '--label-principal', '--heartbeat-key', canary, '--heartbeat-interval', '1s'],
    env: { AWS_ENDPOINT_URL_KMS: kms.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDDASHBOARD', AWS_SECRET_ACCESS_KEY: 'secret' },
  };
  const exporters = await Promise.all([startExporter(t, { args: EXAMPLE_FLAGS }), startExporter(t, heartbeat)]);
  const prometheus = await startPrometheus(t, { targets: exporters.map((exporter) => exporter.target) });
  // Scraped at their declared zeros first, so rates see the records arrive, as with a live source.
  await prometheus.waitForScrape(exporters.map((exporter) => exporter.target));
  const trail = readFileSync(TRAIL);
  const expiresAt = Math.floor(Date.now() / 1000 + EXPIRES_IN_DAYS * 86_400);
  // A second gzip member: the replay source reads concatenated members in turn.
  const expiring = gzipSync(`${importKeyMaterial(EXPIRING_KEY, Date.now(), new Date(expiresAt * 1000))}\n`);
  // The pipeline panels need a blinding change and a refused one: the published StopLogging records.
  const pipeline = gzipSync(['StopLogging.json', 'StopLogging.InvalidTrailNameException.json'].map((name) => JSON.stringify(JSON.parse(readFileSync(join(ROOT, 'test/fixtures/cloudtrail-pipeline', name), 'utf8')))).join('\n') + '\n');
  for (const exporter of exporters) {
    await exporter.feed(trail);
    await exporter.feed(expiring);
    await exporter.feed(pipeline);
    exporter.endInput();
  }
  await prometheus.waitForValue(`count(${METRIC.records}{result="matched"} > 0) == 2`, () => true);
  await prometheus.waitForValue(`count(${METRIC.materialExpiry}{key_id="${EXPIRING_KEY}"}) == 2`, () => true);
  t.comment(`Prometheus scraped both exporters after the example trail ${Date.now() - started} ms after start`);

  const exposed = await exposedMetrics(exporters);
  for (const [metric, reason] of Object.entries(NO_DATA_EXPECTED)) {
    t.notOk(exposed.has(metric), `exception still needed: the exporter exposes no ${metric} (${reason})`);
  }

  const now = Date.now() / 1000;
  for (const { dashboard } of dashboards) {
    t.test(dashboard.uid, async (t) => {
      // Every variable query as Grafana runs it, each seeing the values chosen before it.
      const all: Record<string, string> = {};
      const chosen: Record<string, string> = {};
      for (const variable of queryVariables(dashboard)) {
        const { selector, label } = parseLabelValues(variable.definition);
        const offered = await prometheus.labelValues(label, interpolate(selector, all));
        t.ok(offered.length > 0, `variable ${variable.name} offers values: ${offered.slice(0, 4).join(', ')}${offered.length > 4 ? '...' : ''}`);
        all[variable.name] = variable.allValue;
        const some = await prometheus.labelValues(label, interpolate(selector, chosen));
        chosen[variable.name] = grafanaRegex(some.slice(0, 2));
      }

      for (const { where, target } of targetsOf(dashboard)) {
        const metrics = [...metricNames(target.expr)];
        const exception = metrics.map((metric) => NO_DATA_EXPECTED[metric]).find((reason) => reason !== undefined);

        // "All" selected, as the dashboard opens.
        const expr = interpolate(target.expr, all);
        const instant = await prometheus.query(expr, now);
        t.equal(instant.status, 'success', `${where}: parses and runs`, { expr, error: instant.error });
        if (exception === undefined) t.ok(hasNumber(instant), `${where}: returns data`, { expr, result: instant.data?.result });
        else t.comment(`${where}: no data expected: ${exception}`);
        // Replicas count once: the KMS dashboards aggregate over instance (and pod); only the health board is per process.
        if (dashboard.uid !== 'kms-change-exporter-health') {
          t.notOk((instant.data?.result ?? []).some((sample) => 'instance' in sample.metric || 'pod' in sample.metric), `${where}: aggregated over instance and pod`, { expr });
        }
        if (target.range) {
          const range = await prometheus.queryRange(expr, now - 5 * STEP_SECONDS, now, STEP_SECONDS);
            t.equal(range.status, 'success', `${where}: runs as a range query`, { expr, error: range.error });
          if (exception === undefined) t.ok(hasNumber(range), `${where}: the range query returns data`, { expr });
        }

        // Concrete values selected (two of each), formatted the way Grafana formats them.
        const concrete = interpolate(target.expr, chosen);
        const selected = await prometheus.query(concrete, now);
        t.equal(selected.status, 'success', `${where}: parses with concrete values`, { expr: concrete, error: selected.error });
      }
    });
  }

  t.test('the overview counts the example trail exactly', async (t) => {
    const overview = dashboards.find(({ dashboard }) => dashboard.uid === 'kms-change-overview')?.dashboard;
    if (overview === undefined) throw new Error('no overview');
    const all = Object.fromEntries(queryVariables(overview).map((variable) => [variable.name, variable.allValue]));
    const expr = (title: string, builtIns = BUILT_INS, type?: QueryPanelType['type']): string => {
      const target = queryPanels(overview).find((panel) => panel.title === title && (type === undefined || panel.type === type))?.targets[0];
      if (target === undefined) throw new Error(`no panel ${title}`);
      return interpolate(target.expr, all, builtIns);
    };
    const value = async (title: string): Promise<number | undefined> => numbers(await prometheus.query(expr(title), now))[0];
    const exporterCount = exporters.length;
    // Every change series is new to Prometheus (first scrape after the trail): increase() would say 0 for all of them.
    // The trail's changes and the one import of EXPIRING_KEY fed after it.
    const changeCount = exporterCount * (goldenTotal(METRIC.changes) + 1);
    t.equal(await value('Changes'), changeCount, 'Changes: every change of the trail, once per exporter');
    t.equal(await value('High-risk changes'), exporterCount * goldenTotal(METRIC.changes, 'risk="high"'), 'High-risk changes');
    t.equal(await value('Failed attempts'), exporterCount * goldenTotal(METRIC.failures), 'Failed attempts');
    t.equal(await value('Keys pending deletion'), 1, 'one key pending deletion, though both exporters report it');

    // Findings first: counted as the exporters expose them (the accounts file decides what is external).
    const successFindings = await exposedTotal(exporters, METRIC.findings, 'outcome="success"');
    const failureFindings = await exposedTotal(exporters, METRIC.findings, 'outcome="failure"');
    t.ok(successFindings > 0 && failureFindings > 0, `the trail has findings of both outcomes (${successFindings}, ${failureFindings})`);
    t.equal(await value('Findings on successful changes'), successFindings, 'Findings on successful changes');
    t.equal(await value('Findings on failed attempts'), failureFindings, 'Findings on failed attempts');
    const byFinding = (await prometheus.query(expr('Findings by finding'), now)).data?.result ?? [];
    t.equal(byFinding[0]?.metric['finding'], 'external_key_material', 'Findings by finding: the most frequent first (the example imports, and the one fed after the trail)');
    t.equal(byFinding.reduce((sum, sample) => sum + Number(sample.value?.[1]), 0), successFindings + failureFindings, 'Findings by finding: every finding once');

    // The table: one row per finding, summed over instances, with the account's name where accounts.yml has one
    // (the second exporter's opt-in key_id and principal labels split its findings by key and principal).
    const rows = (await prometheus.query(expr('Recent findings'), now)).data?.result ?? [];
    const isImport = (row: PromSample): boolean => row.metric['finding'] === 'external_key_material' && row.metric['outcome'] === 'success';
    const imported = rows.find((row) => isImport(row) && row.metric['key_id'] === undefined);
    t.same(
      imported?.metric,
      { finding: 'external_key_material', event_name: 'ImportKeyMaterial', aws_account_id: ACCOUNT, account_name: ACCOUNT_NAME, aws_region: 'us-east-1', principal_type: 'IAMUser', expected: 'false', outcome: 'success' },
      'Recent findings: the row of the imports, with the account name joined and no instance, pod or job',
    );
    const importFindings = ['finding="external_key_material"', 'outcome="success"'];
    t.equal(Number(imported?.value?.[1]), await exposedTotal(exporters.slice(0, 1), METRIC.findings, ...importFindings), 'the row counts what the exporter without opt-in labels exposes');
    t.equal(rows.filter(isImport).reduce((sum, row) => sum + Number(row.value?.[1]), 0), await exposedTotal(exporters, METRIC.findings, ...importFindings), 'the import rows count both exporters, once each');
    t.same(new Set(rows.map((row) => `${row.metric['aws_account_id']} ${row.metric['account_name']}`)), new Set(['111122223333 payments-prod', '444455556666 payments-staging']), 'every account of accounts.yml is named');
    t.equal(rows.reduce((sum, row) => sum + Number(row.value?.[1]), 0), successFindings + failureFindings, 'Recent findings: every finding in exactly one row');

    // Unexpected first, then expected: together every change.
    const expected = await exposedTotal(exporters, METRIC.changes, 'expected="true"');
    t.ok(expected > 0, `the shipped expectations match some of the trail (${expected})`);
    t.equal(await value('Unexpected changes'), changeCount - expected, 'Unexpected changes');
    t.equal(await value('Expected changes'), expected, 'Expected changes');

    // The key deadline tables: one row per key, though both exporters report it.
    const expiry = (await prometheus.query(expr('Imported key material expiring'), now)).data?.result ?? [];
    t.same(expiry.map((row) => row.metric), [{ aws_account_id: ACCOUNT, account_name: ACCOUNT_NAME, aws_region: 'us-east-1', key_id: EXPIRING_KEY }], 'Imported key material expiring: the key fed after the trail, named by its account');
    t.ok(Math.abs(Number(expiry[0]?.value?.[1]) - (expiresAt - now) / 86_400) < 0.01, `about ${EXPIRES_IN_DAYS} days left`, { value: expiry[0]?.value });
    const pendingRows = (await prometheus.query(expr('Keys pending deletion', BUILT_INS, 'table'), now)).data?.result ?? [];
    t.equal(pendingRows.length, 1, 'Keys pending deletion: one row');
    t.equal(pendingRows[0]?.metric['account_name'], undefined, 'an account accounts.yml does not name keeps its row, without a name');
    // Per-step counts add up to the total: a change is counted in exactly one step, here
    // of one second, so the series span many steps (Prometheus scrapes every second).
    // The last step must lie a step after the changes' first scrape, or it is not counted yet.
    await sleep(2_000);
    const perStep = numbers(await prometheus.queryRange(expr('Changes by event', { ...BUILT_INS, __interval: '1s' }), started / 1000 - 1, Date.now() / 1000, 1));
    t.equal(perStep.reduce((sum, count) => sum + count, 0), changeCount, 'Changes by event: the steps add up to the total');
  });
});
