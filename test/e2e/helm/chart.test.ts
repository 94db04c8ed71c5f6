// The Helm chart, linted and rendered by the real helm for every scenario, schema-validated and asserted on.
import t from 'tap';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMap, isScalar, parse, parseDocument } from 'yaml';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { SETTINGS } from '../../../src/config.ts';
import { loadWebConfig } from '../../../src/serve/web-config.ts';
import { parseAccounts } from '../../../src/accounts-file.ts';
import { parseExpectations } from '../../../src/expectations/expectations-file.ts';
import { CHART_DIR, HELM_MISSING, ROOT, helm, helmInstalled, parseManifests } from '../../support/helm-cli.ts';
import type { Manifest } from '../../support/helm-cli.ts';
import type { Test } from 'tap';

const RELEASE = 'kce';
const NAMESPACE = 'monitoring';
const FULLNAME = `${RELEASE}-kms-change-exporter`;
const HEADLESS = `${FULLNAME}-headless`;
const SELECTOR = { 'app.kubernetes.io/name': 'kms-change-exporter', 'app.kubernetes.io/instance': RELEASE } as const;
const RULES = 'alerts/kms-change-exporter.rules.yml';
const DASHBOARDS = 'dashboards';

// Every scenario the issue names, by its values file under ci/; null is the chart's defaults.
const SCENARIOS: Readonly<Record<string, readonly string[]>> = {
  defaults: ['Deployment', 'NetworkPolicy', 'Service', 'ServiceAccount'],
  'poll-with-pvc-values.yaml': ['Deployment', 'NetworkPolicy', 'PersistentVolumeClaim', 'Service', 'ServiceAccount'],
  'live-tail-values.yaml': ['Deployment', 'NetworkPolicy', 'Service', 'ServiceAccount'],
  'sqs-values.yaml': ['Deployment', 'NetworkPolicy', 'Service', 'ServiceAccount'],
  'firehose-hpa-ingress-values.yaml': ['Deployment', 'HorizontalPodAutoscaler', 'Ingress', 'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'ServiceAccount'],
  'everything-on-values.yaml': ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'Ingress', 'NetworkPolicy', 'PodDisruptionBudget', 'PrometheusRule', 'Secret', 'Service', 'ServiceAccount', 'ServiceMonitor'],
  // Shared state in Redis/Valkey: a StatefulSet (and its headless Service) instead of the Deployment.
  'firehose-redis-values.yaml': ['NetworkPolicy', 'PodDisruptionBudget', 'Service', 'ServiceAccount', 'ServiceMonitor', 'StatefulSet'],
  'firehose-redis-hpa-values.yaml': ['HorizontalPodAutoscaler', 'Ingress', 'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'ServiceAccount', 'StatefulSet'],
  'poll-redis-values.yaml': ['NetworkPolicy', 'Service', 'ServiceAccount', 'ServiceMonitor', 'StatefulSet'],
  // TLS and basic auth through the exporter-toolkit web configuration.
  'web-config-tls-basic-auth-values.yaml': ['Deployment', 'NetworkPolicy', 'Secret', 'Service', 'ServiceAccount', 'ServiceMonitor'],
  // EventBridge API destinations pushing to N replicas: an existing Secret for the API key, a chart-made one for basic auth.
  'eventbridge-ingress-values.yaml': ['Deployment', 'Ingress', 'NetworkPolicy', 'PodDisruptionBudget', 'Secret', 'Service', 'ServiceAccount'],
};

/** Sources that run as N replicas behind the Service, pushed to (the others poll and run one). */
const PUSH_SOURCES: ReadonlySet<string> = new Set(['firehose', 'eventbridge']);

// The exporter settings the chart sets from structured values (or does not offer: replay
// is not a deployment mode); every other setting is a `config` key.
const CHART_MANAGED_ENV: ReadonlySet<string> = new Set([
  'KMS_EXPORTER_SOURCE',
  'KMS_EXPORTER_LOG_GROUPS',
  'KMS_EXPORTER_QUEUE_URLS',
  'KMS_EXPORTER_LISTEN_ADDRESS',
  'KMS_EXPORTER_CHECKPOINT_FILE',
  'KMS_EXPORTER_FIREHOSE_ACCESS_KEY_FILE',
  'KMS_EXPORTER_EVENTBRIDGE_API_KEY_FILE',
  'KMS_EXPORTER_EVENTBRIDGE_BASIC_AUTH_FILE',
  'KMS_EXPORTER_STATE_URL',
  'KMS_EXPORTER_REPLICA_ID',
  'KMS_EXPORTER_REPLAY',
  'KMS_EXPORTER_WEB_CONFIG_FILE',
  // expectations and accounts
  'KMS_EXPORTER_EXPECTATIONS_FILE',
  'KMS_EXPORTER_ACCOUNTS_FILE',
  // aws.region
  'AWS_REGION',
]);

interface Validating {
  validate(): void;
}
type ModelClass = new (data: never) => Validating;

const MODELS: Readonly<Record<string, ModelClass>> = {
  'v1/ConfigMap': ConfigMap,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/Ingress': Ingress,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

// Shapes of the parts the assertions read; the schemas above vouch for the rest.
interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly secretKeyRef?: { readonly name: string; readonly key: string }; readonly fieldRef?: { readonly fieldPath: string } };
}
interface Container {
  readonly name: string;
  readonly args?: readonly string[];
  readonly env?: readonly EnvVar[];
  readonly ports?: readonly { readonly name?: string; readonly containerPort: number }[];
  readonly livenessProbe?: { readonly httpGet?: { readonly path?: string; readonly port?: string | number } };
  readonly readinessProbe?: { readonly httpGet?: { readonly path?: string; readonly port?: string | number } };
  readonly securityContext?: Record<string, unknown>;
  readonly resources?: unknown;
  readonly volumeMounts?: readonly { readonly name: string; readonly mountPath: string; readonly readOnly?: boolean }[];
}
interface Volume {
  readonly name: string;
  readonly emptyDir?: unknown;
  readonly persistentVolumeClaim?: { readonly claimName: string };
  readonly secret?: { readonly secretName: string };
}
interface PodTemplate {
  readonly metadata: { readonly labels: Record<string, string> };
  readonly spec: {
    readonly serviceAccountName?: string;
    readonly automountServiceAccountToken?: boolean;
    readonly securityContext?: Record<string, unknown>;
    readonly containers: readonly Container[];
    readonly volumes?: readonly Volume[];
  };
}
/** The Deployment, or the StatefulSet with shared state: the fields the assertions read. */
interface WorkloadShape {
  readonly kind: 'Deployment' | 'StatefulSet';
  readonly spec: {
    readonly replicas?: number;
    readonly strategy?: { readonly type?: string };
    readonly updateStrategy?: { readonly type?: string };
    readonly podManagementPolicy?: string;
    readonly serviceName?: string;
    readonly selector: { readonly matchLabels: Record<string, string> };
    readonly template: PodTemplate;
  };
}
interface ServiceShape {
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string> };
  readonly spec: { readonly clusterIP?: string; readonly selector: Record<string, string>; readonly ports: readonly { name: string; port: number; targetPort: string }[] };
}

interface ScenarioValues {
  readonly source?: string;
  readonly logGroups?: readonly string[];
  readonly queueUrls?: readonly string[];
  readonly replicaCount?: number;
  readonly autoscaling?: { readonly enabled?: boolean };
  readonly state?: { readonly url?: string; readonly existingSecret?: string; readonly existingSecretKey?: string; readonly port?: number };
  readonly persistence?: { readonly enabled?: boolean };
  readonly grafanaDashboards?: { readonly folder?: string };
  readonly webConfig?: { readonly config?: { readonly tls_server_config?: unknown }; readonly scheme?: string };
  readonly eventbridge?: Readonly<Record<'apiKey' | 'basicAuth', { readonly existingSecret?: string; readonly value?: string } | undefined>>;
}

/** Whether the scenario serves HTTPS, as the chart decides it. */
function https(values: ScenarioValues): boolean {
  return values.webConfig?.scheme === 'https' || (values.webConfig?.scheme === undefined && values.webConfig?.config?.tls_server_config !== undefined);
}

const ruleGroups = (parse(readFileSync(`${ROOT}${RULES}`, 'utf8'), { version: '1.1' }) as { groups: unknown }).groups;
const dashboardFiles: readonly string[] = readdirSync(`${ROOT}${DASHBOARDS}`).filter((name) => name.endsWith('.json')).sort();
const scenarioFiles: readonly string[] = readdirSync(`${CHART_DIR}/ci`).filter((name) => name.endsWith('.yaml')).sort();

function camelFromEnv(env: string): string {
  return env
    .replace(/^KMS_EXPORTER_/, '')
    .toLowerCase()
    .replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/** The `config` keys the chart must offer: every setting it does not manage itself. */
// The chart runs serve: replay-only settings (--from, --to) are no config keys.
const configSettings = SETTINGS.filter((setting) => !CHART_MANAGED_ENV.has(setting.env) && setting.scope !== 'replay');

// The smallest install: the defaults plus the one value without a default (a poller needs its log groups).
const MINIMAL = ['--set', 'logGroups={trail}'];

function valuesArgs(file: string | null): string[] {
  return file === null ? MINIMAL : ['-f', `${CHART_DIR}/ci/${file}`];
}

function render(tt: Test, args: readonly string[]): Manifest[] {
  const result = helm(['template', RELEASE, CHART_DIR, '--namespace', NAMESPACE, ...args]);
  tt.equal(result.status, 0, `helm template ${args.join(' ')} succeeds`, { stderr: result.stderr });
  return result.status === 0 ? parseManifests(result.stdout) : [];
}

function one(manifests: readonly Manifest[], kind: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, rendered ${found.length}`);
  return found[0] as Manifest;
}

/** The one workload: the Deployment, or the StatefulSet when the replicas share state. */
function workload(manifests: readonly Manifest[]): WorkloadShape {
  const found = manifests.filter((m) => m.kind === 'Deployment' || m.kind === 'StatefulSet');
  if (found.length !== 1) throw new Error(`expected one Deployment or StatefulSet, rendered ${found.map((m) => m.kind).join(', ') || 'none'}`);
  return found[0] as unknown as WorkloadShape;
}

/** The Service Prometheus and Firehose reach the pods through (not the StatefulSet's headless one). */
function mainService(manifests: readonly Manifest[]): ServiceShape {
  const found = manifests.find((m) => m.kind === 'Service' && m.metadata.name === FULLNAME);
  if (found === undefined) throw new Error(`no Service ${FULLNAME}`);
  return found as unknown as ServiceShape;
}

function sharedState(values: ScenarioValues): boolean {
  return Boolean(values.state?.url) || Boolean(values.state?.existingSecret);
}

interface LabelSelector {
  readonly matchLabels?: Record<string, string>;
  readonly matchExpressions?: readonly { readonly key: string; readonly operator: string; readonly values?: readonly string[] }[];
}

/** Kubernetes label-selector semantics, enough to tell which Services a ServiceMonitor picks. */
function selects(selector: LabelSelector, labels: Readonly<Record<string, string>> = {}): boolean {
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  return (
    byLabel &&
    (selector.matchExpressions ?? []).every((expression) => {
      const has = expression.key in labels;
      if (expression.operator === 'Exists') return has;
      if (expression.operator === 'DoesNotExist') return !has;
      const inValues = has && (expression.values ?? []).includes(labels[expression.key] ?? '');
      return expression.operator === 'In' ? inValues : !inValues;
    })
  );
}

function envOf(container: Container): Map<string, EnvVar> {
  return new Map((container.env ?? []).map((env) => [env.name, env]));
}

function validateSchemas(tt: Test, manifests: readonly Manifest[]): void {
  for (const manifest of manifests) {
    const model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
    if (model === undefined) {
      tt.fail(`no schema for ${manifest.apiVersion} ${manifest.kind}: add its kubernetes-models class to MODELS`);
      continue;
    }
    try {
      new model(manifest as never).validate();
      tt.pass(`${manifest.kind} ${manifest.metadata.name} matches the ${manifest.apiVersion} schema`);
    } catch (error) {
      tt.fail(`${manifest.kind} ${manifest.metadata.name} does not match the ${manifest.apiVersion} schema: ${(error as Error).message}`);
    }
  }
}

function assertLabels(tt: Test, manifests: readonly Manifest[]): void {
  const chart = parse(readFileSync(`${CHART_DIR}/Chart.yaml`, 'utf8')) as { version: string; appVersion: string };
  for (const manifest of manifests) {
    tt.match(
      manifest.metadata.labels,
      {
        'app.kubernetes.io/name': 'kms-change-exporter',
        'app.kubernetes.io/instance': RELEASE,
        'app.kubernetes.io/version': chart.appVersion,
        'app.kubernetes.io/managed-by': 'Helm',
        'app.kubernetes.io/part-of': 'kms-change-exporter',
        'helm.sh/chart': `kms-change-exporter-${chart.version}`,
      },
      `${manifest.kind} ${manifest.metadata.name} carries the app.kubernetes.io labels`,
    );
    tt.equal(manifest.metadata.namespace, NAMESPACE, `${manifest.kind} ${manifest.metadata.name} is in the release namespace`);
  }
}

function assertWorkload(tt: Test, manifests: readonly Manifest[], values: ScenarioValues, scenario: string): void {
  const work = workload(manifests);
  const pod = work.spec.template.spec;
  const container = pod.containers[0];
  if (container === undefined) throw new Error(`the ${work.kind} has no container`);
  const source = values.source ?? 'poll';
  const single = !PUSH_SOURCES.has(source);
  const shared = sharedState(values);
  const checkpoint = single && !shared;
  const env = envOf(container);

  tt.equal(work.kind, shared ? 'StatefulSet' : 'Deployment', shared ? 'shared state: a StatefulSet, for stable replica ids' : 'no shared state: a Deployment');

  tt.match(work.spec.template.metadata.labels, work.spec.selector.matchLabels, 'the selector matches the pod labels');
  tt.same(work.spec.selector.matchLabels, SELECTOR, 'the selector uses only the stable name and instance labels');
  tt.equal(pod.containers.length, 1, 'one container');
  tt.same(container.args, ['serve'], 'runs `serve`; settings come from the environment');

  tt.match(pod.securityContext, { runAsNonRoot: true, runAsUser: Number, seccompProfile: { type: 'RuntimeDefault' } }, 'pod runs as non-root with RuntimeDefault seccomp');
  tt.ok(Number(pod.securityContext?.['runAsUser']) > 0, 'pod runAsUser is not root');
  tt.match(
    container.securityContext,
    { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } },
    'container: non-root, read-only root filesystem, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp',
  );
  tt.notOk(container.securityContext?.['capabilities'] && (container.securityContext['capabilities'] as { add?: unknown }).add, 'no capability added');
  tt.equal(pod.automountServiceAccountToken, false, 'no Kubernetes API token mounted');
  tt.equal(pod.serviceAccountName, FULLNAME, 'runs as the chart-made ServiceAccount');

  const http = container.ports?.find((port) => port.name === 'http');
  tt.equal(http?.containerPort, 9842, 'container port http is 9842');
  tt.equal(env.get('KMS_EXPORTER_LISTEN_ADDRESS')?.value, ':9842', 'the exporter listens on the container port');
  const scheme = https(values) ? { scheme: 'HTTPS' } : {};
  tt.same(container.livenessProbe?.httpGet, { path: '/-/healthy', port: 'http', ...scheme }, 'liveness probe on /-/healthy');
  tt.same(container.readinessProbe?.httpGet, { path: '/-/ready', port: 'http', ...scheme }, 'readiness probe on /-/ready');
  if (scenario === 'defaults') tt.equal(container.resources, undefined, 'no default resources');

  tt.equal(env.get('KMS_EXPORTER_SOURCE')?.value, source, `KMS_EXPORTER_SOURCE is ${source}`);
  if (source === 'sqs') {
    tt.equal(env.get('KMS_EXPORTER_QUEUE_URLS')?.value, (values.queueUrls ?? []).join(','), 'sqs: KMS_EXPORTER_QUEUE_URLS from queueUrls');
    tt.notOk(env.has('KMS_EXPORTER_LOG_GROUPS'), 'sqs: no log groups');
  } else tt.notOk(env.has('KMS_EXPORTER_QUEUE_URLS'), `${source}: no queue URLs`);
  const volumes = new Map((pod.volumes ?? []).map((volume) => [volume.name, volume]));
  const mounts = new Map((container.volumeMounts ?? []).map((mount) => [mount.mountPath, mount]));
  const tmp = mounts.get('/tmp');
  tt.ok(tmp !== undefined && volumes.get(tmp.name)?.emptyDir !== undefined, 'a writable emptyDir on /tmp beside the read-only root');

  if (shared) assertSharedState(tt, manifests, values, work, scenario);
  else {
    tt.notOk(env.has('KMS_EXPORTER_STATE_URL'), 'no shared state: no KMS_EXPORTER_STATE_URL');
    tt.notOk(env.has('KMS_EXPORTER_REPLICA_ID'), 'no shared state: the replica id is left to the exporter (the host name)');
  }
  if (single) tt.equal(work.spec.replicas, 1, `${source}: exactly one replica`);
  if (checkpoint) {
    tt.same(work.spec.strategy, { type: 'Recreate' }, `${source}: strategy Recreate (never two checkpoint holders)`);
    const file = env.get('KMS_EXPORTER_CHECKPOINT_FILE')?.value ?? '';
    tt.equal(file, '/var/lib/kms-change-exporter/checkpoint.json', `${source}: KMS_EXPORTER_CHECKPOINT_FILE set`);
    const mount = mounts.get('/var/lib/kms-change-exporter');
    tt.ok(mount !== undefined && mount.readOnly !== true, 'the checkpoint directory is mounted writable');
    const volume = mount === undefined ? undefined : volumes.get(mount.name);
    if (values.persistence?.enabled === true) {
      tt.equal(volume?.persistentVolumeClaim?.claimName, `${FULLNAME}-checkpoint`, 'the checkpoint lives on the PersistentVolumeClaim');
      tt.equal(one(manifests, 'PersistentVolumeClaim').metadata.name, `${FULLNAME}-checkpoint`, 'the claim is rendered');
    } else {
      tt.ok(volume?.emptyDir !== undefined, 'without persistence the checkpoint lives on an emptyDir');
    }
  } else {
    tt.notOk(env.has('KMS_EXPORTER_CHECKPOINT_FILE'), `${source}${shared ? ' with shared state' : ''}: no checkpoint file`);
    tt.notOk(mounts.has('/var/lib/kms-change-exporter'), `${source}${shared ? ' with shared state' : ''}: no checkpoint volume`);
    tt.notOk(manifests.some((m) => m.kind === 'PersistentVolumeClaim'), 'no checkpoint claim');
  }
  if (source !== 'firehose') tt.notOk(env.has('KMS_EXPORTER_FIREHOSE_ACCESS_KEY_FILE'), `${source}: no Firehose key`);
  if (source !== 'eventbridge') tt.notOk(env.has('KMS_EXPORTER_EVENTBRIDGE_API_KEY_FILE') || env.has('KMS_EXPORTER_EVENTBRIDGE_BASIC_AUTH_FILE'), `${source}: no EventBridge credentials`);
  if (!single && !shared) tt.not(work.spec.strategy?.type, 'Recreate', `${source}: rolling updates`);
  if (source === 'eventbridge') {
    const eventbridge = values.eventbridge ?? { apiKey: undefined, basicAuth: undefined };
    for (const [part, variable, dir, key] of [['apiKey', 'KMS_EXPORTER_EVENTBRIDGE_API_KEY_FILE', 'api-key', 'api-key'], ['basicAuth', 'KMS_EXPORTER_EVENTBRIDGE_BASIC_AUTH_FILE', 'basic-auth', 'basic-auth']] as const) {
      const given = eventbridge[part]?.existingSecret ?? eventbridge[part]?.value;
      if (given === undefined || given === '') {
        tt.notOk(env.has(variable), `eventbridge: no ${variable} without ${part}`);
        continue;
      }
      tt.equal(env.get(variable)?.value, `/etc/kms-change-exporter/eventbridge/${dir}/${key}`, `eventbridge: ${part} is read from a file`);
      const mount = mounts.get(`/etc/kms-change-exporter/eventbridge/${dir}`);
      tt.equal(mount?.readOnly, true, `eventbridge: the ${part} Secret is mounted read-only`);
      const secretName = mount === undefined ? undefined : volumes.get(mount.name)?.secret?.secretName;
      tt.equal(secretName, eventbridge[part]?.existingSecret || `${FULLNAME}-eventbridge`, `eventbridge: ${part} comes from its Secret (the existing one, or the chart's)`);
    }
    tt.notOk(env.has('KMS_EXPORTER_EVENTBRIDGE_API_KEY') || env.has('KMS_EXPORTER_EVENTBRIDGE_BASIC_AUTH'), 'eventbridge: the credentials themselves are never in the environment');
  }
  if (source === 'firehose') {
    const keyFile = env.get('KMS_EXPORTER_FIREHOSE_ACCESS_KEY_FILE')?.value ?? '';
    tt.equal(keyFile, '/etc/kms-change-exporter/firehose/access-key', 'firehose: the access key is read from a file');
    tt.notOk(env.has('KMS_EXPORTER_FIREHOSE_ACCESS_KEY'), 'firehose: the key itself is never in the environment');
    const mount = mounts.get('/etc/kms-change-exporter/firehose');
    tt.equal(mount?.readOnly, true, 'firehose: the key Secret is mounted read-only');
    const secretName = mount === undefined ? undefined : volumes.get(mount.name)?.secret?.secretName;
    tt.ok(secretName !== undefined, 'firehose: the key comes from a Secret volume');
    const chartSecret = manifests.find((m) => m.kind === 'Secret');
    if (chartSecret !== undefined) tt.equal(chartSecret.metadata.name, secretName, 'the mounted Secret is the one the chart made');
  }
}

/** Replicas sharing state in Redis/Valkey: a StatefulSet whose pod names are the replica ids, with the Deployment's pod. */
function assertSharedState(tt: Test, manifests: readonly Manifest[], values: ScenarioValues, work: WorkloadShape, scenario: string): void {
  const container = work.spec.template.spec.containers[0] as Container;
  const env = envOf(container);
  tt.equal(work.spec.podManagementPolicy, 'Parallel', 'the StatefulSet starts and stops its pods in parallel (they share only the store)');
  tt.same(work.spec.updateStrategy, { type: 'RollingUpdate' }, 'the StatefulSet replaces one pod at a time, never two pods with one name');
  tt.equal(work.spec.serviceName, HEADLESS, 'the StatefulSet is governed by the headless Service');
  const headless = manifests.find((m) => m.kind === 'Service' && m.metadata.name === HEADLESS) as ServiceShape | undefined;
  tt.equal(headless?.spec.clusterIP, 'None', 'the governing Service is headless');
  tt.same(headless?.spec.selector, SELECTOR, 'the headless Service selects the pods');

  const source = values.source ?? 'poll';
  const replicas = !PUSH_SOURCES.has(source) ? 1 : values.autoscaling?.enabled === true ? undefined : (values.replicaCount ?? 2);
  tt.equal(work.spec.replicas, replicas, `replicas: ${replicas ?? 'left to the HPA'}`);

  const url = env.get('KMS_EXPORTER_STATE_URL');
  if (values.state?.existingSecret) {
    tt.same(url, { name: 'KMS_EXPORTER_STATE_URL', valueFrom: { secretKeyRef: { name: values.state.existingSecret, key: values.state.existingSecretKey ?? 'url' } } }, 'KMS_EXPORTER_STATE_URL comes from the Secret (secretKeyRef), never a value');
  } else {
    tt.same(url, { name: 'KMS_EXPORTER_STATE_URL', value: values.state?.url }, 'KMS_EXPORTER_STATE_URL is state.url');
  }
  tt.same(env.get('KMS_EXPORTER_REPLICA_ID'), { name: 'KMS_EXPORTER_REPLICA_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, 'KMS_EXPORTER_REPLICA_ID is the pod name (downward API), stable in a StatefulSet');

  // The same values without state render the Deployment: its pod must be this one, but for
  // the state variables here and the checkpoint there.
  const without = render(tt, [...valuesArgs(scenario), '--set', 'state.url=', '--set', 'state.existingSecret=']);
  if (without.length === 0) return;
  const deployment = workload(without);
  tt.equal(deployment.kind, 'Deployment', 'without state the same values render the Deployment');
  const strip = (template: PodTemplate, names: readonly string[], volume: string | undefined): PodTemplate => ({
    ...template,
    spec: {
      ...template.spec,
      containers: template.spec.containers.map((c) => ({ ...c, env: (c.env ?? []).filter((e) => !names.includes(e.name)), volumeMounts: (c.volumeMounts ?? []).filter((m) => m.name !== volume) })),
      volumes: (template.spec.volumes ?? []).filter((v) => v.name !== volume),
    },
  });
  tt.same(
    strip(work.spec.template, ['KMS_EXPORTER_STATE_URL', 'KMS_EXPORTER_REPLICA_ID'], undefined),
    strip(deployment.spec.template, ['KMS_EXPORTER_CHECKPOINT_FILE'], 'checkpoint'),
    "the StatefulSet's pod is the Deployment's, but for the state variables (and the checkpoint the Deployment keeps)",
  );
}

function assertService(tt: Test, manifests: readonly Manifest[]): void {
  const service = mainService(manifests);
  const deployment = workload(manifests);
  tt.match(deployment.spec.template.metadata.labels, service.spec.selector, 'the Service selects the pods');
  tt.not(service.spec.clusterIP, 'None', 'the main Service has a cluster IP (Prometheus, Firehose)');
  tt.match(service.spec.ports, [{ name: 'http', port: 9842, targetPort: 'http' }], 'the Service exposes the http port');
}

function assertFirehoseParts(tt: Test, manifests: readonly Manifest[], source: string): void {
  const kinds = new Set(manifests.map((m) => m.kind));
  // The web config has a Secret of its own; the access key's is Firehose's alone.
  if (source !== 'firehose') tt.notOk(manifests.some((m) => m.kind === 'Secret' && m.metadata.name === `${FULLNAME}-firehose`), `${source}: no access key Secret`);
  if (source !== 'eventbridge') tt.notOk(manifests.some((m) => m.kind === 'Secret' && m.metadata.name === `${FULLNAME}-eventbridge`), `${source}: no EventBridge credentials Secret`);
  if (!PUSH_SOURCES.has(source)) {
    for (const kind of ['HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Ingress']) tt.notOk(kinds.has(kind), `${source}: no ${kind}`);
    return;
  }
  const deployment = workload(manifests);
  if (kinds.has('HorizontalPodAutoscaler')) {
    const hpa = one(manifests, 'HorizontalPodAutoscaler') as unknown as { spec: { scaleTargetRef: { kind: string; name: string } } };
    tt.same(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: deployment.kind, name: FULLNAME }, `the HPA scales the ${deployment.kind}`);
    tt.equal(deployment.spec.replicas, undefined, `with an HPA the ${deployment.kind} leaves replicas to it`);
  }
  const pdb = one(manifests, 'PodDisruptionBudget') as unknown as { spec: { selector: { matchLabels: Record<string, string> } } };
  tt.same(pdb.spec.selector.matchLabels, SELECTOR, 'the PDB covers the pods');
  tt.match(deployment.spec.template.metadata.labels, pdb.spec.selector.matchLabels, `the PDB selects the ${deployment.kind}'s pods`);
  if (kinds.has('Ingress')) {
    const ingress = one(manifests, 'Ingress') as unknown as {
      spec: { tls?: unknown[]; rules: { http: { paths: { path: string; backend: { service: { name: string; port: { number: number } } } }[] } }[] };
    };
    const paths = ingress.spec.rules.flatMap((rule) => rule.http.paths);
    tt.same(
      paths.map((p) => p.path),
      paths.map(() => `/${source}`),
      `the Ingress exposes /${source} only (never /metrics)`,
    );
    for (const p of paths) tt.same(p.backend.service, { name: FULLNAME, port: { number: 9842 } }, 'the Ingress routes to the main Service');
    tt.ok((ingress.spec.tls ?? []).length > 0, 'the Ingress terminates TLS (Firehose needs HTTPS on 443)');
  }
}

function assertNetworkPolicy(tt: Test, manifests: readonly Manifest[], values: ScenarioValues): void {
  const policy = one(manifests, 'NetworkPolicy') as unknown as {
    spec: { podSelector: { matchLabels: Record<string, string> }; policyTypes: string[]; ingress: { ports: { port: string | number }[] }[]; egress?: { ports?: { port: number; protocol: string }[] }[] };
  };
  const deployment = workload(manifests);
  tt.match(deployment.spec.template.metadata.labels, policy.spec.podSelector.matchLabels, 'the NetworkPolicy applies to the pods');
  tt.same(policy.spec.policyTypes, ['Ingress', 'Egress'], 'ingress and egress are restricted');
  tt.same(
    policy.spec.ingress.flatMap((rule) => rule.ports.map((p) => p.port)),
    ['http'],
    'ingress only to the http port',
  );
  const egressPorts = (policy.spec.egress ?? []).flatMap((rule) => (rule.ports ?? []).map((p) => `${p.protocol}/${p.port}`));
  tt.ok(egressPorts.includes('UDP/53') && egressPorts.includes('TCP/443'), 'egress allows DNS and HTTPS (AWS APIs, STS for IRSA)');
  const storePort = `TCP/${values.state?.port ?? 6379}`;
  if (sharedState(values)) tt.equal(egressPorts.filter((port) => port === storePort).length, 1, `egress allows the store once (${storePort})`);
  else tt.notOk(egressPorts.includes('TCP/6379'), 'no shared state: no egress to Redis/Valkey');
}

function assertMonitoring(tt: Test, manifests: readonly Manifest[], values: ScenarioValues): void {
  const services = manifests.filter((m) => m.kind === 'Service');
  const monitor = manifests.find((m) => m.kind === 'ServiceMonitor') as
    | (Manifest & { spec: { selector: LabelSelector; namespaceSelector: { matchNames: string[] }; endpoints: { port: string; path: string; relabelings: unknown[] }[] } })
    | undefined;
  if (monitor !== undefined) {
    tt.same(
      services.filter((service) => selects(monitor.spec.selector, service.metadata.labels)).map((service) => service.metadata.name),
      [FULLNAME],
      'the ServiceMonitor selects the main Service only (through the headless one too, every series would be scraped twice)',
    );
    tt.same(monitor.spec.namespaceSelector.matchNames, [NAMESPACE], 'the ServiceMonitor looks in the release namespace');
    tt.match(monitor.spec.endpoints, [{ port: 'http', path: '/metrics' }], 'the ServiceMonitor scrapes /metrics on http');
    tt.match(monitor.spec.endpoints[0]?.relabelings[0], { action: 'replace', targetLabel: 'job', replacement: 'kms-change-exporter' }, 'job="kms-change-exporter", as the alert rules expect');
    const instance = monitor.spec.endpoints[0]?.relabelings.find((r) => (r as { targetLabel?: string }).targetLabel === 'instance');
    if (sharedState(values)) {
      tt.same(
        instance,
        { action: 'replace', sourceLabels: ['__meta_kubernetes_pod_name'], targetLabel: 'instance' },
        'shared state: instance is the pod name (the replica id the counters are kept under), stable across restarts of a StatefulSet pod',
      );
    } else if (PUSH_SOURCES.has(values.source ?? 'poll')) tt.equal(instance, undefined, `${values.source ?? ''} replicas keep their own instance label`);
    else tt.match(instance, { action: 'replace', targetLabel: 'instance', replacement: monitor.metadata.name }, 'a stable instance, so counters restored from the checkpoint continue one series');
    tt.equal(monitor.metadata.labels?.['release'], 'kube-prometheus-stack', 'serviceMonitor.labels reach the ServiceMonitor');
  }
  const rule = manifests.find((m) => m.kind === 'PrometheusRule') as (Manifest & { spec: { groups: unknown } }) | undefined;
  if (rule !== undefined) {
    tt.same(rule.spec.groups, ruleGroups, `the PrometheusRule's groups equal ${RULES}`);
    tt.equal(rule.metadata.labels?.['release'], 'kube-prometheus-stack', 'prometheusRule.labels reach the PrometheusRule');
  }
  const dashboards = manifests.filter((m) => m.kind === 'ConfigMap' && m.metadata.labels?.['grafana_dashboard'] === '1') as (Manifest & { data: Record<string, string> })[];
  if (manifests.some((m) => m.kind === 'ConfigMap' && m.metadata.name !== `${FULLNAME}-change-context`)) {
    tt.same(
      dashboards.map((cm) => Object.keys(cm.data)).flat().sort(),
      dashboardFiles,
      `one dashboard ConfigMap per ${DASHBOARDS}/*.json (${dashboardFiles.length} now)`,
    );
    for (const cm of dashboards) {
      for (const [name, text] of Object.entries(cm.data)) {
        const source = readFileSync(`${ROOT}${DASHBOARDS}/${name}`, 'utf8');
        tt.same(JSON.parse(text), JSON.parse(source), `ConfigMap ${cm.metadata.name} holds ${DASHBOARDS}/${name}`);
        tt.equal(text.trimEnd(), source.trimEnd(), `ConfigMap ${cm.metadata.name} holds ${DASHBOARDS}/${name} byte for byte`);
      }
      if (values.grafanaDashboards?.folder !== undefined) tt.equal(cm.metadata.annotations?.['grafana_folder'], values.grafanaDashboards.folder, 'the folder annotation is set');
    }
  }
}

t.test('helm is installed', async (tt) => {
  tt.ok(helmInstalled(), HELM_MISSING);
});

t.test('every scenario the issue names has a values file', async (tt) => {
  for (const scenario of Object.keys(SCENARIOS).filter((name) => name !== 'defaults')) tt.ok(scenarioFiles.includes(scenario), `ci/${scenario} exists`);
});

for (const file of [null, ...scenarioFiles]) {
  const scenario = file ?? 'defaults';
  t.test(`scenario ${scenario}`, async (tt) => {
    if (!helmInstalled()) {
      tt.fail(HELM_MISSING);
      return;
    }
    const lint = helm(['lint', '--strict', CHART_DIR, ...valuesArgs(file)]);
    tt.equal(lint.status, 0, 'helm lint --strict passes', { output: lint.stdout + lint.stderr });

    const manifests = render(tt, valuesArgs(file));
    if (manifests.length === 0) return;
    const values = (file === null ? {} : parse(readFileSync(`${CHART_DIR}/ci/${file}`, 'utf8'))) as ScenarioValues;
    // Dashboard ConfigMaps exist only once dashboards/ has some.
    // The default expectations (aws-service-grants) come as a ConfigMap in every scenario.
    const kinds = SCENARIOS[scenario];
    const expected = kinds === undefined ? undefined : [...new Set([...kinds.filter((kind) => kind !== 'ConfigMap' || dashboardFiles.length > 0), 'ConfigMap'])].sort();
    if (expected !== undefined) tt.same([...new Set(manifests.map((m) => m.kind))].sort(), expected, 'renders exactly the expected kinds');

    validateSchemas(tt, manifests);
    assertLabels(tt, manifests);
    assertWorkload(tt, manifests, values, scenario);
    assertService(tt, manifests);
    assertFirehoseParts(tt, manifests, values.source ?? 'poll');
    assertNetworkPolicy(tt, manifests, values);
    assertMonitoring(tt, manifests, values);
  });
}

t.test('everything-on renders every dashboard, the rules and every config setting', async (tt) => {
  if (!helmInstalled()) {
    tt.fail(HELM_MISSING);
    return;
  }
  const manifests = render(tt, valuesArgs('everything-on-values.yaml'));
  tt.equal(manifests.filter((m) => m.kind === 'PrometheusRule').length, 1, 'one PrometheusRule');
  tt.equal(manifests.filter((m) => m.kind === 'ConfigMap' && m.metadata.labels?.['grafana_dashboard'] === '1').length, dashboardFiles.length, `one ConfigMap per dashboard (${dashboardFiles.length})`);
  const env = envOf(workload(manifests).spec.template.spec.containers[0] as Container);
  for (const setting of configSettings) tt.ok(env.has(setting.env), `config.${camelFromEnv(setting.env)} renders ${setting.env}`);
  tt.equal(env.get('KMS_EXPORTER_SERIES_LIMIT')?.value, '1000000', 'large whole numbers render as digits, not 1e+06');
  tt.equal(env.get('KMS_EXPORTER_LABEL_KEY_ID')?.value, 'true', 'booleans render as true/false');
  tt.match(env.get('OTEL_RESOURCE_ATTRIBUTES')?.value, /k8s\.pod\.name=\$\(K8S_POD_NAME\)/, 'OTel resource attributes name the pod');
  tt.equal(env.get('OTEL_EXPORTER_OTLP_ENDPOINT')?.value, 'http://otel-collector.observability:4318', 'OTLP endpoint set');
});

t.test('the chart offers exactly the exporter settings, with their defaults documented', async (tt) => {
  const schema = JSON.parse(readFileSync(`${CHART_DIR}/values.schema.json`, 'utf8')) as { properties: { config: { properties: Record<string, unknown> } } };
  tt.same(
    Object.keys(schema.properties.config.properties).sort(),
    configSettings.map((setting) => camelFromEnv(setting.env)).sort(),
    'config keys = the settings of src/config.ts the chart does not set itself (a new setting needs a config key)',
  );
  const valuesText = readFileSync(`${CHART_DIR}/values.yaml`, 'utf8');
  const block = /^config: \{\}\n((?:[ \t]+#.*\n)+)/m.exec(valuesText)?.[1] ?? '';
  const documented = new Map([...block.matchAll(/^\s*#\s*(\w+):\s*(\S+)/gm)].map((m) => [m[1] ?? '', m[2] ?? '']));
  for (const setting of configSettings) {
    const key = camelFromEnv(setting.env);
    const wanted = 'default' in setting && setting.default !== '' ? setting.default : 'null';
    tt.equal(documented.get(key), wanted, `values.yaml documents config.${key} with the exporter's default ${wanted}`);
  }
});

t.test('values.yaml documents every value', async (tt) => {
  const doc = parseDocument(readFileSync(`${CHART_DIR}/values.yaml`, 'utf8'));
  const undocumented: string[] = [];
  // helm-docs style: a "# --" comment documents a value and everything under it.
  const walk = (node: unknown, path: string, documented: boolean, inherited: string | null | undefined): void => {
    if (!isMap(node)) return;
    node.items.forEach((pair, index) => {
      const key = isScalar(pair.key) ? String(pair.key.value) : '?';
      const comment = (isScalar(pair.key) ? pair.key.commentBefore : undefined) ?? (index === 0 ? (node.commentBefore ?? inherited) : undefined) ?? '';
      const here = documented || /(^|\n)\s*--\s/.test(comment);
      const leaf = !isMap(pair.value) || pair.value.items.length === 0;
      if (leaf && !here) undocumented.push(`${path}${key}`);
      walk(pair.value, `${path}${key}.`, here, undefined);
    });
  };
  walk(doc.contents, '', false, doc.commentBefore);
  tt.same(undocumented, [], 'every value has a "# --" comment (on it or on the value that holds it)');
});

t.test('values.schema.json closes every object', async (tt) => {
  const schema = JSON.parse(readFileSync(`${CHART_DIR}/values.schema.json`, 'utf8')) as unknown;
  const open: string[] = [];
  const walk = (node: unknown, path: string): void => {
    if (typeof node !== 'object' || node === null) return;
    const record = node as Record<string, unknown>;
    if ('properties' in record && record['additionalProperties'] !== false) open.push(path || '/');
    for (const [key, value] of Object.entries(record)) walk(value, `${path}/${key}`);
  };
  walk(schema, '');
  tt.same(open, [], 'every object with named properties sets additionalProperties: false');
});

t.test('the schema rejects typos and impossible values', async (tt) => {
  if (!helmInstalled()) {
    tt.fail(HELM_MISSING);
    return;
  }
  const cases: readonly (readonly [string, RegExp])[] = [
    ['serviceMonitr.enabled=true', /additional properties 'serviceMonitr' not allowed/],
    ['config.pollIntervall=1m', /additional properties 'pollIntervall' not allowed/],
    ['persistence.enabeld=true', /additional properties 'enabeld' not allowed/],
    ['securityContext.readOnlyRootFileSystem=true', /additional properties 'readOnlyRootFileSystem' not allowed/],
    ['source=replay', /\/source/],
    ['config.pollInterval=5x', /\/config\/pollInterval/],
  ];
  for (const [set, message] of cases) {
    const result = helm(['template', RELEASE, CHART_DIR, ...MINIMAL, '--set', set]);
    tt.not(result.status, 0, `--set ${set} fails`);
    tt.match(result.stderr, message, `--set ${set} names the bad value`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'kce-values-'));
  try {
    const file = join(dir, 'typo.yaml');
    writeFileSync(file, 'source: poll\nlogGroups: [trail]\nprometheusRule:\n  enable: true\n');
    const lint = helm(['lint', '--strict', CHART_DIR, '-f', file]);
    tt.not(lint.status, 0, 'helm lint --strict fails on a values file with a typo');
    tt.match(lint.stdout + lint.stderr, /additional properties 'enable' not allowed/, 'and names the typo');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

t.test('combinations that cannot work fail with what to change', async (tt) => {
  if (!helmInstalled()) {
    tt.fail(HELM_MISSING);
    return;
  }
  const cases: readonly (readonly [readonly string[], RegExp])[] = [
    [['source=firehose'], /source firehose needs the Firehose access key/],
    [['source=eventbridge'], /source eventbridge needs the connection's credentials: set eventbridge\.apiKey\.existingSecret/],
    [['autoscaling.enabled=true', 'resources.requests.cpu=100m'], /autoscaling\.enabled needs source firehose/],
    [['ingress.enabled=true'], /ingress\.enabled needs source firehose/],
    [['source=firehose', 'firehose.accessKey.existingSecret=k', 'autoscaling.enabled=true'], /set resources\.requests\.cpu/],
    [['source=sqs'], /source sqs needs queueUrls: the SQS queue URLs to receive from/],
    [['logGroups={trail}', 'webConfig.config.basic_auth_users.prometheus=$2b$10$/bu8ewi9qGsa.Q7l6lok1eMyI8Soy0IbX49tOiLgxw7vJH8TEjvia'], /list \/-\/healthy and \/-\/ready in auth_excluded_paths/],
  ];
  for (const [sets, message] of cases) {
    const result = helm(['template', RELEASE, CHART_DIR, ...MINIMAL, ...sets.flatMap((set) => ['--set', set])]);
    tt.not(result.status, 0, `${sets.join(' ')} fails`);
    tt.match(result.stderr, message, `${sets.join(' ')} says why`);
  }
});

t.test('shared state refuses what cannot work, with exact messages', async (tt) => {
  if (!helmInstalled()) {
    tt.fail(HELM_MISSING);
    return;
  }
  const firehose = ['source=firehose', 'firehose.accessKey.existingSecret=k'];
  const checkpoint = 'state replaces the checkpoint file: unset persistence.enabled and persistence.existingClaim (a release keeps its state either in Redis/Valkey or in a checkpoint, never both)';
  const oneReplica = (what: string, source: string) => `${what} needs source firehose: source ${source} runs as exactly one replica (more replicas would each re-read the log groups)`;
  const cases: readonly (readonly [readonly string[], string])[] = [
    [[...firehose, 'state.existingSecret=s', 'persistence.enabled=true'], checkpoint],
    [['state.url=redis://valkey:6379/0', 'persistence.enabled=true'], checkpoint],
    [['state.url=redis://valkey:6379/0', 'persistence.existingClaim=claim'], checkpoint],
    [
      ['state.url=redis://valkey:6379/0', 'extraEnv[0].name=KMS_EXPORTER_CHECKPOINT_FILE', 'extraEnv[0].value=/tmp/c.json'],
      'state replaces the checkpoint file: remove KMS_EXPORTER_CHECKPOINT_FILE from extraEnv (a release keeps its state either in Redis/Valkey or in a checkpoint, never both)',
    ],
    [['replicaCount=2'], oneReplica('replicaCount 2', 'poll')],
    [['source=live-tail', 'logGroups={trail}', 'state.url=redis://valkey:6379/0', 'replicaCount=3'], oneReplica('replicaCount 3', 'live-tail')],
    [['state.url=redis://valkey:6379/0', 'autoscaling.enabled=true', 'resources.requests.cpu=100m'], oneReplica('autoscaling.enabled', 'poll')],
    [['source=live-tail', 'state.existingSecret=s', 'autoscaling.enabled=true', 'resources.requests.cpu=100m'], oneReplica('autoscaling.enabled', 'live-tail')],
    [[...firehose, 'state.url=redis://valkey:6379/0', 'state.existingSecret=s'], 'state.url and state.existingSecret are both set: give the URL in one place (existingSecret when it carries a password)'],
    [
      [...firehose, 'state.url=rediss://exporter:hunter2@valkey:6379/0'],
      'state.url carries a password: put the whole URL in a Secret and set state.existingSecret (Helm values and the release record are not secret)',
    ],
    [[...firehose, 'state.url=rediss://valkey:6380/0'], 'state.url connects to port 6380 but state.port is 6379: set state.port to 6380 (the NetworkPolicy opens state.port to the store)'],
    [[...firehose, 'state.url=redis://valkey/0', 'state.port=6380'], 'state.url connects to port 6379 but state.port is 6380: set state.port to 6379 (the NetworkPolicy opens state.port to the store)'],
    [
      [...firehose, 'extraEnv[0].name=KMS_EXPORTER_STATE_URL', 'extraEnv[0].value=redis://valkey:6379/0'],
      'extraEnv sets KMS_EXPORTER_STATE_URL, which the chart manages: set state.url or state.existingSecret instead (the chart then runs a StatefulSet, whose pod names are the stable replica ids)',
    ],
    [
      [...firehose, 'extraEnv[0].name=KMS_EXPORTER_REPLICA_ID', 'extraEnv[0].value=r1'],
      'extraEnv sets KMS_EXPORTER_REPLICA_ID, which the chart manages: set state.url or state.existingSecret instead (the chart then runs a StatefulSet, whose pod names are the stable replica ids)',
    ],
  ];
  for (const [sets, message] of cases) {
    const result = helm(['template', RELEASE, CHART_DIR, ...MINIMAL, ...sets.flatMap((set) => ['--set', set])]);
    tt.not(result.status, 0, `${sets.join(' ')} fails`);
    tt.equal(/execution error at \([^)]*\): (.*)/.exec(result.stderr)?.[1], message, `${sets.join(' ')} says exactly why`, { stderr: result.stderr });
  }
  const scheme = helm(['template', RELEASE, CHART_DIR, ...MINIMAL, '--set', 'state.url=http://valkey:6379/0']);
  tt.not(scheme.status, 0, 'a state.url that is not redis:// or rediss:// fails');
  tt.match(scheme.stderr, /\/state\/url/, 'and the schema names state.url');
  for (const sets of [['replicaCount=1'], ['source=live-tail', 'logGroups={trail}', 'state.url=redis://valkey:6379/0', 'replicaCount=1'], ['state.url=redis://exporter@valkey:6379/0']]) {
    const result = helm(['template', RELEASE, CHART_DIR, ...MINIMAL, ...sets.flatMap((set) => ['--set', set])]);
    tt.equal(result.status, 0, `${sets.join(' ')} is accepted`, { stderr: result.stderr });
  }
});

t.test('expectations and accounts: a ConfigMap of files the exporter accepts, mounted and named by their variables; the default ships aws-service-grants', async (tt) => {
  if (!helmInstalled()) {
    tt.fail(HELM_MISSING);
    return;
  }
  const file = 'everything-on-values.yaml';
  const manifests = render(tt, valuesArgs(file));
  const map = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === `${FULLNAME}-change-context`) as unknown as { data: Record<string, string> } | undefined;
  const expectations = parseExpectations(map?.data['expectations.yml'] ?? '', 'expectations.yml');
  tt.same(expectations.map((rule) => rule.name), ['aws-service-grants'], 'the default expectations load with the exporter\'s own loader');
  const accounts = parseAccounts(map?.data['accounts.yml'] ?? '', 'accounts.yml');
  tt.same(Object.fromEntries(accounts.accounts), { '111122223333': { name: 'payments-prod', environment: 'production', owner: 'payments-team' } });
  tt.equal(accounts.organizationId, 'o-a1b2c3d4e5');
  const work = workload(manifests);
  const container = work.spec.template.spec.containers[0]!;
  tt.equal(envOf(container).get('KMS_EXPORTER_EXPECTATIONS_FILE')?.value, '/etc/kms-change-exporter/context/expectations.yml');
  tt.equal(envOf(container).get('KMS_EXPORTER_ACCOUNTS_FILE')?.value, '/etc/kms-change-exporter/context/accounts.yml');
  const mounts = new Map((container.volumeMounts ?? []).map((mount) => [mount.mountPath, mount]));
  tt.match(mounts.get('/etc/kms-change-exporter/context'), { name: 'change-context', readOnly: true });
  tt.ok((work.spec.template.metadata as { annotations?: Record<string, string> }).annotations?.['checksum/change-context'], 'a changed file rolls the pods');
  const none = render(tt, [...valuesArgs(file), '--set', 'expectations=null', '--set', 'accounts=null']);
  tt.notOk(none.some((m) => m.kind === 'ConfigMap' && m.metadata.name === `${FULLNAME}-change-context`), 'no files: no ConfigMap');
  tt.notOk(envOf(workload(none).spec.template.spec.containers[0]!).has('KMS_EXPORTER_EXPECTATIONS_FILE'), 'and no variable');
});

t.test('webConfig: the Secret holds a file the exporter accepts, mounted and named by KMS_EXPORTER_WEB_CONFIG_FILE; probes and the scrape over https with basic auth', async (tt) => {
  if (!helmInstalled()) {
    tt.fail(HELM_MISSING);
    return;
  }
  const file = 'web-config-tls-basic-auth-values.yaml';
  const manifests = render(tt, valuesArgs(file));
  const secret = manifests.find((m) => m.kind === 'Secret' && m.metadata.name === `${FULLNAME}-web-config`) as unknown as { data: Record<string, string> } | undefined;
  const text = Buffer.from(secret?.data['web-config.yml'] ?? '', 'base64').toString('utf8');
  const values = parse(readFileSync(`${CHART_DIR}/ci/${file}`, 'utf8')) as { webConfig: { config: unknown } };
  tt.same(parse(text), values.webConfig.config, 'the Secret holds webConfig.config');
  const dir = mkdtempSync(join(tmpdir(), 'kce-web-'));
  try {
    writeFileSync(join(dir, 'web-config.yml'), text);
    // Everything validates up to the certificate, which only the TLS Secret in the cluster has.
    tt.throws(() => loadWebConfig(join(dir, 'web-config.yml')), { message: /tls_server_config: cannot load the certificate, key or client CA: ENOENT: no such file or directory, open '\/etc\/kms-change-exporter\/tls\/tls\.crt'$/ });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const work = workload(manifests);
  const container = work.spec.template.spec.containers[0]!;
  tt.equal(envOf(container).get('KMS_EXPORTER_WEB_CONFIG_FILE')?.value, '/etc/kms-change-exporter/web/web-config.yml');
  const mounts = new Map((container.volumeMounts ?? []).map((mount) => [mount.mountPath, mount]));
  tt.match(mounts.get('/etc/kms-change-exporter/web'), { name: 'web-config', readOnly: true });
  tt.match(mounts.get('/etc/kms-change-exporter/tls'), { name: 'web-tls', readOnly: true });
  const volumes = new Map((work.spec.template.spec.volumes ?? []).map((volume) => [volume.name, volume as unknown as { secret?: { secretName: string; items?: unknown } }]));
  tt.same(volumes.get('web-tls')?.secret, { secretName: 'kms-change-exporter-tls', defaultMode: 292 }, 'the TLS Secret whole: no items or subPath, so renewals reach the files');
  tt.ok((work.spec.template.metadata as { annotations?: Record<string, string> }).annotations?.['checksum/web-config'], 'a changed web config rolls the pods');
  const monitor = manifests.find((m) => m.kind === 'ServiceMonitor') as unknown as { spec: { endpoints: Record<string, unknown>[] } };
  tt.match(monitor.spec.endpoints[0], {
    port: 'http',
    path: '/metrics',
    scheme: 'https',
    tlsConfig: { ca: { secret: { name: 'kms-change-exporter-tls', key: 'ca.crt' } }, serverName: 'kms-change-exporter.monitoring.svc' },
    basicAuth: { username: { name: 'kms-change-exporter-scrape', key: 'username' }, password: { name: 'kms-change-exporter-scrape', key: 'password' } },
  });
});

t.test('NOTES.txt tells each mode what to do next', async (tt) => {
  if (!helmInstalled()) {
    tt.fail(HELM_MISSING);
    return;
  }
  const notes = (file: string | null): string => {
    const result = helm(['install', RELEASE, CHART_DIR, '--namespace', NAMESPACE, '--dry-run=client', ...valuesArgs(file)]);
    tt.equal(result.status, 0, `helm install --dry-run=client ${file ?? 'defaults'}`, { stderr: result.stderr });
    return result.stdout.slice(result.stdout.indexOf('NOTES:'));
  };
  const defaults = notes(null);
  tt.match(defaults, `kubectl -n ${NAMESPACE} port-forward service/${FULLNAME} 9842:9842`, 'how to reach the exporter');
  tt.match(defaults, /no eks\.amazonaws\.com\/role-arn/, 'defaults: warns that IRSA is not set up');
  tt.match(defaults, /emptyDir/, 'defaults: says the checkpoint is on an emptyDir');
  const poll = notes('poll-with-pvc-values.yaml');
  tt.notMatch(poll, /WARNING/, 'poll with IRSA and log groups: no warning');
  tt.match(poll, `iam-policy --source poll --log-group aws-cloudtrail-logs-123456789012 --region eu-west-1`, 'poll: how to print the IAM policy');
  tt.match(poll, `PersistentVolumeClaim ${FULLNAME}-checkpoint`, 'poll: names the checkpoint claim');
  const firehose = notes('firehose-hpa-ingress-values.yaml');
  tt.match(firehose, 'https://kms-firehose.example.com/firehose', 'firehose: the endpoint URL for the delivery stream');
  tt.match(firehose, 'Secret kms-change-exporter-firehose, key access-key', 'firehose: where the access key is');
  tt.match(firehose, /Replicas: 2 to 6/, 'firehose: the replica range');
  tt.match(firehose, `rollout status deployment/${FULLNAME}`, 'without state: the Deployment');
  const redis = notes('firehose-redis-values.yaml');
  tt.match(redis, /Replicas: 3\./, 'firehose with state: the replica count');
  tt.match(redis, 'the URL in Secret kms-change-exporter-state, key url', 'firehose with state: where the store URL is (never the URL itself)');
  tt.match(redis, `rollout status statefulset/${FULLNAME}`, 'firehose with state: the StatefulSet');
  tt.match(redis, `exec statefulset/${FULLNAME} -- node dist/src/main.js filter-pattern`, 'firehose with state: commands run in the StatefulSet');
  tt.match(redis, /its own database or cluster/, 'firehose with state: one store per release');
  const pollRedis = notes('poll-redis-values.yaml');
  tt.match(pollRedis, /One replica \(a poller re-reads the log groups/, 'poll with state: one replica');
  tt.match(pollRedis, 'redis://valkey.kms-state.svc.cluster.local:6379/0', 'poll with state: the store (a URL without a password)');
  tt.notMatch(pollRedis, /checkpoint/, 'poll with state: no checkpoint');
  const everything = notes('everything-on-values.yaml');
  tt.match(everything, `PrometheusRule ${FULLNAME}`, 'everything-on: names the PrometheusRule');
  tt.match(everything, `${dashboardFiles.length} dashboard ConfigMap(s)`, 'everything-on: counts the dashboards');
});
