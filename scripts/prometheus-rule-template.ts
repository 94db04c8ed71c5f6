// Turns alerts/kms-change-exporter.rules.yml into the chart's PrometheusRule template, with the tunable literals as chart values.

/**
 * One literal of the rules file that becomes a chart value. `pattern` must match exactly
 * `count` times (a rules edit that moves or duplicates a literal fails the sync instead of
 * silently shipping a literal the values no longer reach); `replacement` is the Helm
 * expression, with `$1`... for the pattern's groups.
 */
interface Parameter {
  readonly value: string;
  readonly pattern: RegExp;
  readonly count: number;
  readonly replacement: string;
}

const T = '$t';
const minutes = (value: string): string => `{{ include "kms-change-exporter.rules.minutes" ${value} }}`;

// The values as rules.thresholds.* (see values.yaml); each default is the literal it replaces.
const PARAMETERS: readonly Parameter[] = [
  { value: 'thresholds.changeWindowMinutes', pattern: /\[1h\] offset 10m\)/g, count: 5, replacement: `[1h] offset {{ ${T}.changeWindowMinutes }}m)` },
  { value: 'thresholds.changeWindowMinutes', pattern: /in the last 10 minutes/g, count: 15, replacement: `in the last ${minutes(`${T}.changeWindowMinutes`)}` },
  { value: 'thresholds.failureBurst', pattern: /\(kms:config_change_failures:increase10m\) >= 5$/gm, count: 1, replacement: `(kms:config_change_failures:increase10m) >= {{ ${T}.failureBurst }}` },
  { value: 'thresholds.deletionImminentDays', pattern: /- time\(\) < 3 \* 86400\)/g, count: 2, replacement: `- time() < {{ ${T}.deletionImminentDays }} * 86400)` },
  { value: 'thresholds.deletionImminentDays', pattern: /in less than 3 days\./g, count: 1, replacement: `in less than {{ include "kms-change-exporter.rules.days" ${T}.deletionImminentDays }}.` },
  { value: 'thresholds.materialExpiringDays', pattern: /- time\(\) < 7 \* 86400\)/g, count: 2, replacement: `- time() < {{ ${T}.materialExpiringDays }} * 86400)` },
  { value: 'thresholds.materialExpiringDays', pattern: /expires in less than 7 days\./g, count: 1, replacement: `expires in less than {{ include "kms-change-exporter.rules.days" ${T}.materialExpiringDays }}.` },
  { value: 'thresholds.sourceSilentMinutes', pattern: /\) > 3600$/gm, count: 1, replacement: `) > {{ mul ${T}.sourceSilentMinutes 60 }}` },
  { value: 'thresholds.sourceSilentMinutes', pattern: /\{source!="replay"\}\[1h\]/g, count: 1, replacement: `{source!="replay"}[{{ include "kms-change-exporter.rules.promMinutes" ${T}.sourceSilentMinutes }}]` },
  { value: 'thresholds.sourceSilentMinutes', pattern: /\{source!="replay"\} offset 1h/g, count: 1, replacement: `{source!="replay"} offset {{ include "kms-change-exporter.rules.promMinutes" ${T}.sourceSilentMinutes }}` },
  { value: 'thresholds.sourceSilentMinutes', pattern: /for (over )?an hour/g, count: 2, replacement: `for $1{{ include "kms-change-exporter.rules.silence" ${T}.sourceSilentMinutes }}` },
  { value: 'thresholds.eventDelayMinutes', pattern: /\) > 900$/gm, count: 1, replacement: `) > {{ mul ${T}.eventDelayMinutes 60 }}` },
  { value: 'thresholds.heartbeatMissingMinutes', pattern: /^( +)> 1200$/gm, count: 1, replacement: `$1> {{ mul ${T}.heartbeatMissingMinutes 60 }}` },
  { value: 'thresholds.eventDelayMinutes', pattern: /the\s+15-minute threshold/g, count: 1, replacement: `the {{ ${T}.eventDelayMinutes }}-minute threshold` },
];

// The protected-key list: the second group of the recording rule's key_id regex.
const PROTECTED_KEYS = /(key_id=~"\(\?:\.\*\[:\/\]\)\?\(\?:)([^)"]*)(\)")/g;
// The protected-key recording rule and KmsProtectedKeyChanged: left out when rules.protectedKeys is empty.
const PROTECTED_BLOCK_START = /^( *)- record: kms:config_changes_protected_key:increase10m$/m;
const PROTECTED_BLOCK_END = /^ *- alert: KmsHighRiskChange$/m;
const RUNBOOK_URL = /^( *runbook_url: )(\S+)#([a-z0-9-]+)$/gm;

function replaceCounted(text: string, pattern: RegExp, count: number, replacement: string, what: string): string {
  const found = text.match(pattern)?.length ?? 0;
  if (found !== count) throw new Error(`alerts/kms-change-exporter.rules.yml: expected ${count} match(es) of ${pattern} for ${what}, found ${found}; update scripts/prometheus-rule-template.ts with the rules`);
  return text.replace(pattern, replacement);
}

/** The rules file without comment lines (they name the defaults, which values override). */
function withoutComments(rules: string): string {
  return rules
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n');
}

/** Prometheus' own {{ }} templates, passed through Helm untouched as raw strings (kube-prometheus-stack's way). */
function escapeBraces(text: string): string {
  return text.replace(/\{\{.*?\}\}/g, (template) => {
    if (template.includes('`')) throw new Error(`alerts/kms-change-exporter.rules.yml: a template with a backtick cannot pass through Helm: ${template}`);
    return `{{\`${template}\`}}`;
  });
}

/** The generated template file's text (helm/kms-change-exporter/templates/prometheusrule.yaml). */
export function prometheusRuleTemplate(rules: string): string {
  let body = escapeBraces(withoutComments(rules));
  if (!body.startsWith('groups:')) throw new Error('alerts/kms-change-exporter.rules.yml must start with groups:');

  const bases = new Set([...body.matchAll(RUNBOOK_URL)].map((match) => match[2]));
  if (bases.size !== 1) throw new Error(`alerts/kms-change-exporter.rules.yml: every runbook_url must share one base before '#', found ${[...bases].join(', ')}`);
  body = body.replace(RUNBOOK_URL, (_all, key: string, _base: string, anchor: string) => `${key}{{ printf "%s#%s" $runbook "${anchor}" | quote }}`);

  body = replaceCounted(body, PROTECTED_KEYS, 1, '$1{{ join "|" $r.protectedKeys }}$3', 'rules.protectedKeys');
  for (const parameter of PARAMETERS) body = replaceCounted(body, parameter.pattern, parameter.count, parameter.replacement, `rules.${parameter.value}`);

  const start = PROTECTED_BLOCK_START.exec(body);
  const end = PROTECTED_BLOCK_END.exec(body);
  if (start === null || end === null || end.index < start.index) throw new Error('alerts/kms-change-exporter.rules.yml: the protected-key rule must come right before KmsHighRiskChange');
  body = `${body.slice(0, start.index)}{{- if $r.protectedKeys }}\n${body.slice(start.index, end.index)}{{- end }}\n${body.slice(end.index)}`;

  const spec = body
    .trimEnd()
    .split('\n')
    .map((line) => (line === '' || line.startsWith('{{-') ? line : `  ${line}`))
    .join('\n');
  return `{{- /* GENERATED by scripts/sync-chart.ts from alerts/kms-change-exporter.rules.yml: never edit it here; run npm run sync-chart. */ -}}
{{- /* The rules as a PrometheusRule, with rules.* values in place of the file's literals; off by default (needs the operator's CRDs). */ -}}
{{- if .Values.prometheusRule.enabled -}}
{{- $r := .Values.rules -}}
{{- $t := $r.thresholds -}}
{{- $runbook := $r.runbookBaseUrl | required "prometheusRule.enabled needs rules.runbookBaseUrl: the URL of your copy of alerts/runbook.md (each alert links to its section, <url>#<alert name in lower case>)" -}}
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: {{ include "kms-change-exporter.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "kms-change-exporter.labels" . | nindent 4 }}
    {{- with .Values.prometheusRule.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
${spec}
{{- end }}
`;
}
