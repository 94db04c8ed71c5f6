{{/* Names, labels and the checks that stop a bad combination of values at install time. */}}

{{- define "kms-change-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kms-change-exporter.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kms-change-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The labels that select the pods; never change them after the first install. */}}
{{- define "kms-change-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kms-change-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kms-change-exporter.labels" -}}
helm.sh/chart: {{ include "kms-change-exporter.chart" . }}
{{ include "kms-change-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ include "kms-change-exporter.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kms-change-exporter
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "kms-change-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kms-change-exporter.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kms-change-exporter.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{- define "kms-change-exporter.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (include "kms-change-exporter.imageTag" .) -}}
{{- end -}}
{{- end -}}

{{/*
"true" when the source reads the log groups itself (poll, live-tail) and so runs as
exactly one replica: a second poller would re-read every log group (correct with shared
state, where eventIDs are de-duplicated, but wasted calls against the FilterLogEvents
quota; without it, two checkpoints would diverge). sqs runs one replica too: with a
checkpoint each pod would keep its own de-duplication.
*/}}
{{- define "kms-change-exporter.singleReplica" -}}
{{- if has .Values.source (list "poll" "live-tail" "sqs") -}}true{{- end -}}
{{- end -}}

{{/* "true" when the replicas share their state through Redis or Valkey (state.url or state.existingSecret). */}}
{{- define "kms-change-exporter.sharedState" -}}
{{- if or .Values.state.url .Values.state.existingSecret -}}true{{- end -}}
{{- end -}}

{{/* "true" when the one replica keeps its state in a checkpoint file (poll, live-tail without shared state). */}}
{{- define "kms-change-exporter.checkpoint" -}}
{{- if and (include "kms-change-exporter.singleReplica" .) (not (include "kms-change-exporter.sharedState" .)) -}}true{{- end -}}
{{- end -}}

{{/* The workload's kind: a StatefulSet gives each replica the stable name its counters are kept under in the shared store. */}}
{{- define "kms-change-exporter.workloadKind" -}}
{{- if include "kms-change-exporter.sharedState" . -}}StatefulSet{{- else -}}Deployment{{- end -}}
{{- end -}}

{{/* Replicas without autoscaling: replicaCount, or 2 when it is empty (firehose); poll and live-tail run one. */}}
{{- define "kms-change-exporter.replicas" -}}
{{- if include "kms-change-exporter.singleReplica" . -}}1
{{- else if kindIs "invalid" .Values.replicaCount -}}2
{{- else -}}{{ int .Values.replicaCount }}
{{- end -}}
{{- end -}}

{{/* The StatefulSet's governing Service: headless, for the pods' stable network identity only. */}}
{{- define "kms-change-exporter.headlessService" -}}
{{- printf "%s-headless" (include "kms-change-exporter.fullname" . | trunc 54 | trimSuffix "-") -}}
{{- end -}}

{{- define "kms-change-exporter.checkpointClaim" -}}
{{- default (printf "%s-checkpoint" (include "kms-change-exporter.fullname" .)) .Values.persistence.existingClaim -}}
{{- end -}}

{{- define "kms-change-exporter.firehoseSecretName" -}}
{{- default (printf "%s-firehose" (include "kms-change-exporter.fullname" .)) .Values.firehose.accessKey.existingSecret -}}
{{- end -}}

{{/* The Secret of the EventBridge connection's API key / basic credentials: an existing one, or the one the chart makes for both. */}}
{{- define "kms-change-exporter.eventbridgeApiKeySecretName" -}}
{{- default (printf "%s-eventbridge" (include "kms-change-exporter.fullname" .)) .Values.eventbridge.apiKey.existingSecret -}}
{{- end -}}
{{- define "kms-change-exporter.eventbridgeBasicAuthSecretName" -}}
{{- default (printf "%s-eventbridge" (include "kms-change-exporter.fullname" .)) .Values.eventbridge.basicAuth.existingSecret -}}
{{- end -}}

{{/*
An environment variable's value from a Helm value: booleans and whole numbers as the
exporter parses them (Helm reads YAML numbers as float64, which would print 1e+06).
*/}}
{{- define "kms-change-exporter.envValue" -}}
{{- if kindIs "float64" . -}}
{{- if eq (float64 (int64 .)) . -}}{{ int64 . | toString | quote }}{{- else -}}{{ . | toString | quote }}{{- end -}}
{{- else -}}
{{- . | toString | quote -}}
{{- end -}}
{{- end -}}

{{/* Combinations the schema cannot express, each failing with what to change. */}}
{{- define "kms-change-exporter.validate" -}}
{{- $single := include "kms-change-exporter.singleReplica" . -}}
{{- $shared := include "kms-change-exporter.sharedState" . -}}
{{- if and .Values.prometheusRule.enabled .Values.rules.protectedKeys (not .Values.config.labelKeyId) -}}
{{- fail "rules.protectedKeys needs config.labelKeyId: true: the protected-key rule matches the key_id label, which the exporter adds only then (without it KmsProtectedKeyChanged would never fire)" -}}
{{- end -}}
{{- if and (has .Values.source (list "poll" "live-tail")) (not .Values.logGroups) -}}
{{- fail (printf "source %s needs logGroups: the CloudTrail log group names or ARNs to read, e.g. --set logGroups={my-trail-log-group} (without them the exporter cannot start)" .Values.source) -}}
{{- end -}}
{{- if and (eq .Values.source "sqs") (not .Values.queueUrls) -}}
{{- fail "source sqs needs queueUrls: the SQS queue URLs to receive from, e.g. --set queueUrls={https://sqs.eu-west-1.amazonaws.com/123456789012/kms-changes} (without them the exporter cannot start)" -}}
{{- end -}}
{{- if and (eq .Values.source "firehose") (not .Values.firehose.accessKey.existingSecret) (not .Values.firehose.accessKey.value) -}}
{{- fail "source firehose needs the Firehose access key: set firehose.accessKey.existingSecret (recommended) or firehose.accessKey.value" -}}
{{- end -}}
{{- if and (eq .Values.source "eventbridge") (not (or .Values.eventbridge.apiKey.existingSecret .Values.eventbridge.apiKey.value .Values.eventbridge.basicAuth.existingSecret .Values.eventbridge.basicAuth.value)) -}}
{{- fail "source eventbridge needs the connection's credentials: set eventbridge.apiKey.existingSecret (recommended) or eventbridge.apiKey.value, or the same under eventbridge.basicAuth" -}}
{{- end -}}
{{- if and $single .Values.autoscaling.enabled -}}
{{- fail (printf "autoscaling.enabled needs source firehose: source %s runs as exactly one replica (more replicas would each re-read the log groups)" .Values.source) -}}
{{- end -}}
{{- if and $single (not (kindIs "invalid" .Values.replicaCount)) (gt (int .Values.replicaCount) 1) -}}
{{- fail (printf "replicaCount %d needs source firehose: source %s runs as exactly one replica (more replicas would each re-read the log groups)" (int .Values.replicaCount) .Values.source) -}}
{{- end -}}
{{- if and $single .Values.ingress.enabled -}}
{{- fail (printf "ingress.enabled needs source firehose: the Ingress exposes the POST /firehose endpoint, which source %s does not serve" .Values.source) -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (not .Values.autoscaling.targetCPUUtilizationPercentage) (not .Values.autoscaling.targetMemoryUtilizationPercentage) -}}
{{- fail "autoscaling.enabled needs a target: set autoscaling.targetCPUUtilizationPercentage or autoscaling.targetMemoryUtilizationPercentage" -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled .Values.autoscaling.targetCPUUtilizationPercentage (not (dig "requests" "cpu" "" .Values.resources)) -}}
{{- fail "autoscaling.targetCPUUtilizationPercentage is a percentage of the CPU request: set resources.requests.cpu, or null the target" -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled .Values.autoscaling.targetMemoryUtilizationPercentage (not (dig "requests" "memory" "" .Values.resources)) -}}
{{- fail "autoscaling.targetMemoryUtilizationPercentage is a percentage of the memory request: set resources.requests.memory, or null the target" -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- fail "autoscaling.minReplicas is above autoscaling.maxReplicas" -}}
{{- end -}}
{{- range .Values.extraEnv -}}
{{- if has .name (list "KMS_EXPORTER_STATE_URL" "KMS_EXPORTER_REPLICA_ID") -}}
{{- fail (printf "extraEnv sets %s, which the chart manages: set state.url or state.existingSecret instead (the chart then runs a StatefulSet, whose pod names are the stable replica ids)" .name) -}}
{{- end -}}
{{- end -}}
{{- if $shared -}}
{{- if and .Values.state.url .Values.state.existingSecret -}}
{{- fail "state.url and state.existingSecret are both set: give the URL in one place (existingSecret when it carries a password)" -}}
{{- end -}}
{{- if or .Values.persistence.enabled .Values.persistence.existingClaim -}}
{{- fail "state replaces the checkpoint file: unset persistence.enabled and persistence.existingClaim (a release keeps its state either in Redis/Valkey or in a checkpoint, never both)" -}}
{{- end -}}
{{- range .Values.extraEnv -}}
{{- if eq .name "KMS_EXPORTER_CHECKPOINT_FILE" -}}
{{- fail "state replaces the checkpoint file: remove KMS_EXPORTER_CHECKPOINT_FILE from extraEnv (a release keeps its state either in Redis/Valkey or in a checkpoint, never both)" -}}
{{- end -}}
{{- end -}}
{{- with .Values.state.url -}}
{{- $url := urlParse . -}}
{{- if contains ":" $url.userinfo -}}
{{- fail "state.url carries a password: put the whole URL in a Secret and set state.existingSecret (Helm values and the release record are not secret)" -}}
{{- end -}}
{{- $port := regexFind "[0-9]+$" (regexFind ":[0-9]+$" $url.host) | default "6379" -}}
{{- if ne $port (toString (int $.Values.state.port)) -}}
{{- fail (printf "state.url connects to port %s but state.port is %d: set state.port to %s (the NetworkPolicy opens state.port to the store)" $port (int $.Values.state.port) $port) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Whether a web configuration (TLS, basic auth) is given, inline or as an existing Secret. */}}
{{- define "kms-change-exporter.webConfig" -}}
{{- if or .Values.webConfig.config .Values.webConfig.existingSecret }}true{{ end -}}
{{- end -}}

{{- define "kms-change-exporter.webConfigSecretName" -}}
{{- default (printf "%s-web-config" (include "kms-change-exporter.fullname" .)) .Values.webConfig.existingSecret -}}
{{- end -}}

{{/* http or https: webConfig.scheme, else https when the inline config has tls_server_config. */}}
{{- define "kms-change-exporter.scheme" -}}
{{- if .Values.webConfig.scheme -}}
{{ .Values.webConfig.scheme }}
{{- else if and .Values.webConfig.config (not .Values.webConfig.existingSecret) .Values.webConfig.config.tls_server_config -}}
https
{{- else -}}
http
{{- end -}}
{{- end -}}

{{/* Basic auth on every path would make the kubelet's probes fail: refuse it at install. */}}
{{- define "kms-change-exporter.checkWebConfig" -}}
{{- $config := .Values.webConfig.config -}}
{{- if and $config (not .Values.webConfig.existingSecret) $config.basic_auth_users -}}
{{- $excluded := $config.auth_excluded_paths | default list -}}
{{- if not (and (has "/-/healthy" $excluded) (has "/-/ready" $excluded)) -}}
{{- fail "webConfig.config has basic_auth_users: list /-/healthy and /-/ready in auth_excluded_paths, or the kubelet's probes get 401" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Words and durations for the generated PrometheusRule (templates/prometheusrule.yaml), from whole minutes or days. */}}
{{- define "kms-change-exporter.rules.minutes" -}}
{{- $n := int . -}}{{ $n }} minute{{ if ne $n 1 }}s{{ end }}
{{- end -}}

{{- define "kms-change-exporter.rules.days" -}}
{{- $n := int . -}}{{ $n }} day{{ if ne $n 1 }}s{{ end }}
{{- end -}}

{{/* A Prometheus duration: whole hours as Nh (the rules file's 1h), anything else as Nm. */}}
{{- define "kms-change-exporter.rules.promMinutes" -}}
{{- $n := int . -}}
{{- if eq (mod $n 60) 0 -}}{{ div $n 60 }}h{{- else -}}{{ $n }}m{{- end -}}
{{- end -}}

{{/* "an hour", "2 hours", "90 minutes": how long a source has been silent. */}}
{{- define "kms-change-exporter.rules.silence" -}}
{{- $n := int . -}}
{{- if eq $n 60 -}}an hour
{{- else if eq (mod $n 60) 0 -}}{{ div $n 60 }} hours
{{- else -}}{{ include "kms-change-exporter.rules.minutes" $n }}
{{- end -}}
{{- end -}}
