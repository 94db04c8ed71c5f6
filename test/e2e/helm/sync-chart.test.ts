// scripts/sync-chart.ts: the chart's copies of alerts/ and dashboards/ match their sources, and drift is caught.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syncChart } from '../../../scripts/sync-chart.ts';
import { HELM_MISSING, ROOT, helm, helmInstalled, parseManifests } from '../../support/helm-cli.ts';

const SCRIPT = `${ROOT}scripts/sync-chart.ts`;
const CHART = 'helm/kms-change-exporter';

function runScript(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [SCRIPT, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A copy of the parts of the repository the script reads, to change freely. */
function scratchRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kce-sync-'));
  for (const path of ['package.json', 'alerts/kms-change-exporter.rules.yml', 'alerts/alertmanager.yml', 'alerts/templates', 'alerts/kube-prometheus-stack', CHART]) cpSync(join(ROOT, path), join(dir, path), { recursive: true });
  // Start from no dashboards at all, whatever the repository holds today.
  rmSync(join(dir, CHART, 'files/dashboards'), { recursive: true, force: true });
  mkdirSync(join(dir, 'dashboards'), { recursive: true });
  return dir;
}

// Two small dashboards: one plain, one with a name that is not a valid resource name as is.
const DASHBOARD_A = `${JSON.stringify({ title: 'KMS changes', uid: 'kms-changes', panels: [{ type: 'timeseries', targets: [{ expr: 'sum by (event_name) (rate(kms_config_changes_total[$__rate_interval]))' }] }] }, null, 2)}\n`;
const DASHBOARD_B = `${JSON.stringify({ title: 'Exporter health', uid: 'kms-exporter', description: 'quotes " and {{ braces }} survive' }, null, 2)}\n`;

t.test('the chart in the repository matches its sources (--check)', async (tt) => {
  const result = runScript(['--check']);
  tt.equal(result.status, 0, 'node scripts/sync-chart.ts --check exits 0; if not, run node scripts/sync-chart.ts', { stderr: result.stderr });
});

t.test('drift is reported, then repaired', async (tt) => {
  const dir = scratchRepo();
  tt.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'dashboards/kms-changes.json'), DASHBOARD_A);
  writeFileSync(join(dir, 'dashboards/Exporter_Health.json'), DASHBOARD_B);

  tt.same(
    syncChart(dir, true).drift.map((d) => `${d.problem} ${d.path}`).sort(),
    [`missing ${CHART}/files/dashboards/Exporter_Health.json`, `missing ${CHART}/files/dashboards/kms-changes.json`],
    'new dashboards are missing from the chart',
  );
  const check = runScript(['--check', '--root', dir]);
  tt.equal(check.status, 1, '--check exits 1 on drift');
  tt.match(check.stderr, /kms-changes\.json: missing from the chart/, '--check names the file');
  tt.match(check.stderr, /run `npm run sync-chart`/, '--check says how to fix it');

  const sync = runScript(['--root', dir]);
  tt.equal(sync.status, 0, 'sync exits 0', { stderr: sync.stderr });
  tt.equal(readFileSync(join(dir, CHART, 'files/dashboards/kms-changes.json'), 'utf8'), DASHBOARD_A, 'the copy is byte for byte');
  tt.equal(runScript(['--check', '--root', dir]).status, 0, '--check is clean after a sync');

  writeFileSync(join(dir, 'dashboards/kms-changes.json'), DASHBOARD_A.replace('KMS changes', 'KMS changes v2'));
  tt.same(syncChart(dir, true).drift, [{ path: `${CHART}/files/dashboards/kms-changes.json`, problem: 'differs' }], 'an edited dashboard is caught');

  syncChart(dir, false);
  rmSync(join(dir, 'dashboards/Exporter_Health.json'));
  tt.same(syncChart(dir, true).drift, [{ path: `${CHART}/files/dashboards/Exporter_Health.json`, problem: 'stale' }], 'a removed dashboard is caught');
  syncChart(dir, false);
  tt.notOk(existsSync(join(dir, CHART, 'files/dashboards/Exporter_Health.json')), 'sync removes the stale copy');

  const rulesPath = join(dir, 'alerts/kms-change-exporter.rules.yml');
  const rules = readFileSync(rulesPath, 'utf8');
  writeFileSync(rulesPath, `${rules}# a comment\n`);
  tt.same(syncChart(dir, true).drift, [], 'a comment is not part of the template (comments name the defaults, which values override)');
  writeFileSync(rulesPath, rules.replace('summary: A protected KMS key was changed.', 'summary: A protected KMS key was changed (edited).'));
  tt.same(syncChart(dir, true).drift, [{ path: `${CHART}/templates/prometheusrule.yaml`, problem: 'differs' }], 'an edited rule file is caught');
  syncChart(dir, false);
  tt.match(readFileSync(join(dir, CHART, 'templates/prometheusrule.yaml'), 'utf8'), 'summary: A protected KMS key was changed (edited).', 'sync regenerates the template');
  writeFileSync(rulesPath, rules.replace('(kms:config_change_failures:increase10m) >= 5', '(kms:config_change_failures:increase10m) > 4'));
  tt.throws(() => syncChart(dir, true), /expected 1 match\(es\) of .* for rules\.thresholds\.failureBurst, found 0; update scripts\/prometheus-rule-template\.ts/, 'a literal the values no longer reach stops the sync, naming the value');
  const broken = runScript(['--check', '--root', dir]);
  tt.equal(broken.status, 1, 'and --check exits 1');
  tt.match(broken.stderr, /^sync-chart: alerts\/kms-change-exporter\.rules\.yml: expected 1 match\(es\) of .* for rules\.thresholds\.failureBurst, found 0; update scripts\/prometheus-rule-template\.ts with the rules\n$/, 'with one line, no stack');
  writeFileSync(rulesPath, rules);
  syncChart(dir, false);

  const amPath = join(dir, 'alerts/alertmanager.yml');
  writeFileSync(amPath, readFileSync(amPath, 'utf8').replace('repeat_interval: 4h', 'repeat_interval: 2h'));
  tt.same(syncChart(dir, true).drift, [{ path: 'alerts/kube-prometheus-stack/values.yaml', problem: 'differs' }], 'an edited alertmanager.yml is caught');
  syncChart(dir, false);
  tt.match(readFileSync(join(dir, 'alerts/kube-prometheus-stack/values.yaml'), 'utf8'), /^ {6}repeat_interval: 2h$/m, 'sync regenerates the kube-prometheus-stack values');
  const tmplPath = join(dir, 'alerts/templates/kms.tmpl');
  writeFileSync(tmplPath, `${readFileSync(tmplPath, 'utf8')}{{ define "kms.extra" }}x{{ end }}\n`);
  tt.same(syncChart(dir, true).drift, [{ path: 'alerts/kube-prometheus-stack/values.yaml', problem: 'differs' }], 'an edited template is caught');
  syncChart(dir, false);

  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...pkg, version: '9.8.7' }));
  tt.match(syncChart(dir, true).drift, [{ path: `${CHART}/Chart.yaml`, problem: 'differs' }], 'a new package version is caught');
  syncChart(dir, false);
  tt.match(readFileSync(join(dir, CHART, 'Chart.yaml'), 'utf8'), /^appVersion: "9\.8\.7"$/m, 'sync sets appVersion');
  tt.same(syncChart(dir, true).drift, [], 'and then nothing drifts');
});

t.test('synced dashboards render as sidecar ConfigMaps equal to dashboards/*.json', async (tt) => {
  if (!helmInstalled()) {
    tt.fail(HELM_MISSING);
    return;
  }
  const dir = scratchRepo();
  tt.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const sources: Record<string, string> = { 'kms-changes.json': DASHBOARD_A, 'Exporter_Health.json': DASHBOARD_B };
  for (const [name, text] of Object.entries(sources)) writeFileSync(join(dir, 'dashboards', name), text);
  syncChart(dir, false);

  const result = helm([
    'template', 'kce', join(dir, CHART), '--namespace', 'monitoring',
    '--set', 'logGroups={trail}',
    '--set', 'grafanaDashboards.enabled=true',
    '--set', 'grafanaDashboards.folder=Security',
    '--set', 'grafanaDashboards.sidecarLabel=my_dashboard',
    '--set', 'grafanaDashboards.sidecarLabelValue=yes',
    '--set', 'grafanaDashboards.folderAnnotation=my-folder',
    '--set', 'grafanaDashboards.labels.release=kube-prometheus-stack',
  ]);
  tt.equal(result.status, 0, 'helm template with dashboards succeeds', { stderr: result.stderr });
  // The dashboard ConfigMaps, not the chart's others (the change context: expectations and accounts).
  const configMaps = (parseManifests(result.stdout).filter((m) => m.kind === 'ConfigMap') as unknown as {
    metadata: { name: string; labels: Record<string, string>; annotations?: Record<string, string> };
    data: Record<string, string>;
  }[]).filter((cm) => cm.metadata.name.includes('-dashboard-'));
  tt.same(configMaps.map((cm) => cm.metadata.name).sort(), ['kce-kms-change-exporter-dashboard-exporter-health', 'kce-kms-change-exporter-dashboard-kms-changes'], 'one ConfigMap per dashboard, with a valid name');
  for (const cm of configMaps) {
    tt.match(cm.metadata.labels, { my_dashboard: 'yes', release: 'kube-prometheus-stack', 'app.kubernetes.io/name': 'kms-change-exporter' }, `${cm.metadata.name}: sidecar label and extra labels`);
    tt.equal(cm.metadata.annotations?.['my-folder'], 'Security', `${cm.metadata.name}: folder annotation`);
    for (const [name, text] of Object.entries(cm.data)) {
      const source = sources[name];
      tt.ok(source !== undefined, `${cm.metadata.name} holds dashboards/${name}`);
      tt.same(JSON.parse(text), JSON.parse(source ?? 'null'), `${name} parses to the same dashboard`);
      tt.equal(text.trimEnd(), (source ?? '').trimEnd(), `${name} is byte for byte (Helm did not template it)`);
    }
  }
});
