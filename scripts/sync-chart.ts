// Generates the chart's PrometheusRule from alerts/ rules, copies dashboards/*.json and the package version into the Helm chart, and wraps the Alertmanager example as kube-prometheus-stack values; --check reports drift instead (exit 1).

import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kubePrometheusStackValues } from './kube-prometheus-stack-values.ts';
import { prometheusRuleTemplate } from './prometheus-rule-template.ts';

const CHART = 'helm/kms-change-exporter';
const RULES_SOURCE = 'alerts/kms-change-exporter.rules.yml';
const RULES_TEMPLATE = `${CHART}/templates/prometheusrule.yaml`;
// Where earlier versions copied the rules verbatim; removed by a sync.
const OLD_RULES_COPY = `${CHART}/files/rules/kms-change-exporter.rules.yml`;
const DASHBOARDS_SOURCE = 'dashboards';
const DASHBOARDS_COPY = `${CHART}/files/dashboards`;
const CHART_YAML = `${CHART}/Chart.yaml`;
const ALERTMANAGER_SOURCE = 'alerts/alertmanager.yml';
const ALERTMANAGER_TEMPLATES = 'alerts/templates';
const STACK_VALUES = 'alerts/kube-prometheus-stack/values.yaml';
const APP_VERSION_LINE = /^appVersion:.*$/m;

/** One difference between a source of truth and its copy in the chart. */
export interface Drift {
  /** Path relative to the repository root. */
  readonly path: string;
  readonly problem: 'missing' | 'differs' | 'stale';
}

export interface SyncResult {
  readonly drift: readonly Drift[];
  /** Whether the files were rewritten (false with check). */
  readonly written: boolean;
}

function readOrUndefined(path: string): Buffer | undefined {
  return existsSync(path) ? readFileSync(path) : undefined;
}

function jsonFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.json'))
    .map((entry) => entry.name)
    .sort();
}

/** Chart.yaml with appVersion set to the package version, quoted (Helm reads 1.10 as a number otherwise). */
function chartWithAppVersion(chartYaml: string, version: string): string {
  if (!APP_VERSION_LINE.test(chartYaml)) throw new Error(`${CHART_YAML} has no appVersion line`);
  return chartYaml.replace(APP_VERSION_LINE, `appVersion: ${JSON.stringify(version)}`);
}

/**
 * Compares the chart's generated files with their sources under `root` and, unless
 * `check`, rewrites them. Dashboards are copied byte for byte; the rules become a
 * template whose defaults render exactly what alerts/ holds.
 */
export function syncChart(root: string, check: boolean): SyncResult {
  const at = (path: string): string => join(root, path);
  const drift: Drift[] = [];
  const compare = (path: string, wanted: Buffer): void => {
    const current = readOrUndefined(at(path));
    if (current === undefined) drift.push({ path, problem: 'missing' });
    else if (!current.equals(wanted)) drift.push({ path, problem: 'differs' });
  };

  const ruleTemplate = Buffer.from(prometheusRuleTemplate(readFileSync(at(RULES_SOURCE), 'utf8')));
  compare(RULES_TEMPLATE, ruleTemplate);
  const oldCopy = existsSync(at(OLD_RULES_COPY));
  if (oldCopy) drift.push({ path: OLD_RULES_COPY, problem: 'stale' });

  const dashboards = jsonFiles(at(DASHBOARDS_SOURCE));
  for (const name of dashboards) compare(`${DASHBOARDS_COPY}/${name}`, readFileSync(at(`${DASHBOARDS_SOURCE}/${name}`)));
  const stale = jsonFiles(at(DASHBOARDS_COPY)).filter((name) => !dashboards.includes(name));
  for (const name of stale) drift.push({ path: `${DASHBOARDS_COPY}/${name}`, problem: 'stale' });

  const templates = new Map(
    readdirSync(at(ALERTMANAGER_TEMPLATES))
      .filter((name) => name.endsWith('.tmpl'))
      .map((name) => [name, readFileSync(at(`${ALERTMANAGER_TEMPLATES}/${name}`), 'utf8')] as const),
  );
  const stackValues = Buffer.from(kubePrometheusStackValues(readFileSync(at(ALERTMANAGER_SOURCE), 'utf8'), templates));
  compare(STACK_VALUES, stackValues);

  const version = (JSON.parse(readFileSync(at('package.json'), 'utf8')) as { version: string }).version;
  const chartYaml = readFileSync(at(CHART_YAML), 'utf8');
  const wantedChartYaml = chartWithAppVersion(chartYaml, version);
  if (wantedChartYaml !== chartYaml) drift.push({ path: CHART_YAML, problem: 'differs' });

  if (check || drift.length === 0) return { drift, written: false };

  mkdirSync(at(DASHBOARDS_COPY), { recursive: true });
  writeFileSync(at(RULES_TEMPLATE), ruleTemplate);
  mkdirSync(at('alerts/kube-prometheus-stack'), { recursive: true });
  writeFileSync(at(STACK_VALUES), stackValues);
  if (oldCopy) rmSync(at(`${CHART}/files/rules`), { recursive: true, force: true });
  for (const name of dashboards) copyFileSync(at(`${DASHBOARDS_SOURCE}/${name}`), at(`${DASHBOARDS_COPY}/${name}`));
  for (const name of stale) rmSync(at(`${DASHBOARDS_COPY}/${name}`));
  writeFileSync(at(CHART_YAML), wantedChartYaml);
  return { drift, written: true };
}

function describe(drift: Drift): string {
  switch (drift.problem) {
    case 'missing':
      return `${drift.path}: missing from the chart`;
    case 'differs':
      return `${drift.path}: differs from its source`;
    case 'stale':
      return `${drift.path}: its source is gone`;
  }
}

function main(argv: readonly string[]): number {
  const args = argv.slice(2);
  const usage = 'usage: npm run sync-chart -- [--check] [--root DIR]';
  let check = false;
  let root = fileURLToPath(new URL('..', import.meta.url));
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--check') check = true;
    else if (arg === '--root' && args[i + 1] !== undefined) root = args[++i] ?? root;
    else {
      process.stderr.write(`${usage}\n`);
      return 2;
    }
  }
  let result: SyncResult;
  try {
    result = syncChart(root, check);
  } catch (error) {
    process.stderr.write(`sync-chart: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const { drift, written } = result;
  if (check && drift.length > 0) {
    for (const item of drift) process.stderr.write(`sync-chart: ${describe(item)}\n`);
    process.stderr.write('sync-chart: the chart is out of date; run `npm run sync-chart` and commit the result\n');
    return 1;
  }
  if (written) for (const item of drift) process.stdout.write(`sync-chart: ${item.problem === 'stale' ? 'removed' : 'wrote'} ${item.path}\n`);
  else process.stdout.write('sync-chart: the chart and alerts/kube-prometheus-stack match alerts/, dashboards/ and package.json\n');
  return 0;
}

if (import.meta.main) process.exitCode = main(process.argv);
