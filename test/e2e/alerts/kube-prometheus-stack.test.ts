// The Alertmanager example the kube-prometheus-stack way: values (alertmanager.config + templateFiles) and an AlertmanagerConfig, checked with the real amtool and the CRD model.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { AlertmanagerConfig } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1/AlertmanagerConfig';
import type { Test } from 'tap';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ALERTMANAGER = 'alerts/alertmanager.yml';
const TEMPLATE = 'alerts/templates/kms.tmpl';
const VALUES = 'alerts/kube-prometheus-stack/values.yaml';
const AMCONFIG = 'alerts/kube-prometheus-stack/alertmanagerconfig.yaml';
const ROUTES = 'alerts/tests/routes.txt';

const read = (path: string): string => readFileSync(`${ROOT}${path}`, 'utf8');

interface AmRoute {
  readonly receiver: string;
  readonly matchers?: readonly string[];
  readonly continue?: boolean;
  readonly group_by?: readonly string[];
  readonly group_wait?: string;
  readonly group_interval?: string;
  readonly repeat_interval?: string;
  readonly routes?: readonly AmRoute[];
}
interface AmConfig {
  readonly route: AmRoute;
  readonly receivers: readonly Record<string, unknown>[];
  readonly inhibit_rules: readonly { source_matchers: string[]; target_matchers: string[]; equal: string[] }[];
  readonly templates: readonly string[];
}
interface CrMatcher {
  readonly name: string;
  readonly matchType: string;
  readonly value: string;
}
interface CrRoute {
  readonly receiver: string;
  readonly matchers?: readonly CrMatcher[];
  readonly continue?: boolean;
  readonly groupBy?: readonly string[];
  readonly groupWait?: string;
  readonly groupInterval?: string;
  readonly repeatInterval?: string;
  readonly routes?: readonly CrRoute[];
}
interface CrSpec {
  readonly route: CrRoute;
  readonly receivers: readonly ({ name: string } & Record<string, readonly Record<string, unknown>[]>)[];
  readonly inhibitRules: readonly { sourceMatch: CrMatcher[]; targetMatch: CrMatcher[]; equal: string[] }[];
}

const example = parse(read(ALERTMANAGER)) as AmConfig;
const values = parse(read(VALUES)) as { alertmanager: { config: AmConfig; templateFiles: Record<string, string>; alertmanagerSpec: { secrets: string[] } } };
const custom = parse(read(AMCONFIG)) as { metadata: { namespace: string }; spec: CrSpec };

function amtool(args: readonly string[], cwd: string): { status: number | null; stdout: string; output: string } {
  const result = spawnSync('amtool', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return { status: null, stdout: '', output: 'amtool not found on PATH: run `sudo bash scripts/install-test-tools.sh`' };
  return { status: result.status, stdout: result.stdout ?? '', output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

function scratch(tt: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'kce-kps-'));
  tt.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Every line of routes.txt against a config file: the receivers in routing order. */
function routeCases(tt: Test, dir: string, file: string): void {
  for (const [index, text] of read(ROUTES).split('\n').entries()) {
    const line = text.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [receivers, ...labels] = line.split(/\s+/);
    const result = amtool(['config', 'routes', 'test', `--config.file=${file}`, `--verify.receivers=${receivers ?? ''}`, ...labels], dir);
    tt.equal(result.stdout.trim(), receivers, `${ROUTES}:${index + 1} routes to ${receivers}`, { output: result.output });
  }
}

t.test('values.yaml: alertmanager.config is alertmanager.yml with the stack\'s template path, templateFiles the templates', async (tt) => {
  const { templates: _templates, ...config } = values.alertmanager.config;
  const { templates: _exampleTemplates, ...expected } = example;
  tt.same(config, expected, `alertmanager.config equals ${ALERTMANAGER} but for templates`);
  tt.same(values.alertmanager.config.templates, ['/etc/alertmanager/config/*.tmpl'], 'templates: where kube-prometheus-stack mounts templateFiles');
  tt.same(Object.keys(values.alertmanager.templateFiles), ['kms.tmpl'], 'one template file');
  tt.equal(values.alertmanager.templateFiles['kms.tmpl'], read(TEMPLATE).trimEnd(), `templateFiles.kms.tmpl is ${TEMPLATE}`);
  tt.same(values.alertmanager.alertmanagerSpec.secrets, ['kms-alerting'], 'the Secret behind /etc/alertmanager/secrets/kms-alerting/ is mounted');
});

t.test('values.yaml: the extracted config, with templateFiles where the stack puts them, passes amtool and routes every case', async (tt) => {
  const dir = scratch(tt);
  for (const [name, text] of Object.entries(values.alertmanager.templateFiles)) writeFileSync(join(dir, name), `${text}\n`);
  // The stack mounts templateFiles at /etc/alertmanager/config/; here, beside the config.
  writeFileSync(join(dir, 'alertmanager.yml'), stringify({ ...values.alertmanager.config, templates: [join(dir, '*.tmpl')] }));
  const check = amtool(['check-config', 'alertmanager.yml'], dir);
  tt.equal(check.status, 0, 'amtool check-config accepts it', { output: check.output });
  tt.match(check.output, /^ - 1 templates$/m, 'and finds the template file');
  routeCases(tt, dir, 'alertmanager.yml');
});

// What the operator makes of an AlertmanagerConfig, without the namespace matcher it adds.
const MATCH_TYPES: ReadonlySet<string> = new Set(['=', '!=', '=~', '!~']);
const matcherText = (m: CrMatcher): string => `${m.name}${m.matchType}${JSON.stringify(m.value)}`;
const amMatcher = (text: string): string => {
  const match = /^(\w+)(=~|!~|!=|=)"?(.*?)"?$/.exec(text);
  return match === null ? text : `${match[1]}${match[2]}${JSON.stringify(match[3])}`;
};
function toAmRoute(route: CrRoute): AmRoute {
  return {
    receiver: route.receiver,
    ...(route.matchers === undefined ? {} : { matchers: route.matchers.map(matcherText) }),
    ...(route.continue === undefined ? {} : { continue: route.continue }),
    ...(route.groupBy === undefined ? {} : { group_by: route.groupBy }),
    ...(route.groupWait === undefined ? {} : { group_wait: route.groupWait }),
    ...(route.groupInterval === undefined ? {} : { group_interval: route.groupInterval }),
    ...(route.repeatInterval === undefined ? {} : { repeat_interval: route.repeatInterval }),
    ...(route.routes === undefined ? {} : { routes: route.routes.map(toAmRoute) }),
  };
}
function normalised(route: AmRoute): AmRoute {
  return { ...route, ...(route.matchers === undefined ? {} : { matchers: route.matchers.map(amMatcher) }), ...(route.routes === undefined ? {} : { routes: route.routes.map(normalised) }) };
}

t.test('alertmanagerconfig.yaml is a valid AlertmanagerConfig (the CRD model)', async (tt) => {
  tt.doesNotThrow(() => new AlertmanagerConfig(custom as never).validate(), 'validates against monitoring.coreos.com/v1alpha1 AlertmanagerConfig');
  // Guards the guard: the model rejects a matcher type Alertmanager does not have. (The CRD
  // leaves child routes untyped, so they are checked by amtool below instead.)
  const broken = structuredClone(custom) as unknown as { spec: { inhibitRules: { sourceMatch: { matchType: string }[] }[] } };
  const first = broken.spec.inhibitRules[0]?.sourceMatch[0];
  if (first !== undefined) first.matchType = '==';
  tt.throws(() => new AlertmanagerConfig(broken as never).validate(), /matchType must be equal to one of the allowed values/, 'and the model rejects matchType ==');
  const all = [...custom.spec.route.routes ?? []].flatMap((r) => r.matchers ?? []).concat(custom.spec.inhibitRules.flatMap((r) => [...r.sourceMatch, ...r.targetMatch]));
  tt.ok(all.every((m) => MATCH_TYPES.has(m.matchType)), 'every matcher has a matchType (the deprecated regex flag is not used)');
});

t.test('alertmanagerconfig.yaml routes, inhibits and notifies as alertmanager.yml', async (tt) => {
  tt.same(toAmRoute(custom.spec.route), normalised(example.route), 'the same routing tree');
  tt.same(
    custom.spec.inhibitRules.map((r) => ({ source_matchers: r.sourceMatch.map(matcherText), target_matchers: r.targetMatch.map(matcherText), equal: r.equal })),
    example.inhibit_rules.map((r) => ({ source_matchers: r.source_matchers.map(amMatcher), target_matchers: r.target_matchers.map(amMatcher), equal: r.equal })),
    'the same inhibition',
  );
  const kinds = (receiver: Record<string, unknown>): string[] => Object.keys(receiver).filter((k) => k !== 'name').sort();
  const camel = (snake: string): string => snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()).replace(/^pagerdutyConfigs$/, 'pagerdutyConfigs');
  tt.same(custom.spec.receivers.map((r) => r.name), example.receivers.map((r) => r['name']), 'the same receivers, in order');
  for (const receiver of example.receivers) {
    const name = String(receiver['name']);
    const other = custom.spec.receivers.find((r) => r.name === name);
    tt.same(other === undefined ? [] : kinds(other), kinds(receiver).map(camel).sort(), `${name}: the same kind of integration`);
    for (const kind of kinds(receiver)) {
      const mine = (receiver[kind] as Record<string, unknown>[])[0] ?? {};
      const theirs = other?.[camel(kind)]?.[0] ?? {};
      // The fields both forms spell alike (after camelCase); secrets, details and headers differ in shape by design.
      for (const [field, value] of Object.entries(mine)) {
        const key = camel(field);
        if (typeof value !== 'object' && key in theirs) tt.equal(theirs[key], value, `${name}: ${key}`);
      }
      tt.equal(theirs['sendResolved'], mine['send_resolved'], `${name}: sendResolved`);
    }
  }
});

t.test('the AlertmanagerConfig as Alertmanager would see it passes amtool and routes every case', async (tt) => {
  const dir = scratch(tt);
  writeFileSync(
    join(dir, 'alertmanager.yml'),
    stringify({
      route: toAmRoute(custom.spec.route),
      receivers: custom.spec.receivers.map((r) => ({ name: r.name })),
      inhibit_rules: custom.spec.inhibitRules.map((r) => ({ source_matchers: r.sourceMatch.map(matcherText), target_matchers: r.targetMatch.map(matcherText), equal: r.equal })),
    }),
  );
  const check = amtool(['check-config', 'alertmanager.yml'], dir);
  tt.equal(check.status, 0, 'amtool check-config accepts its routing tree', { output: check.output });
  routeCases(tt, dir, 'alertmanager.yml');
});
