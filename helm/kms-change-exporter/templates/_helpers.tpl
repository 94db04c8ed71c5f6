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

{{/* "true" when the source keeps a checkpoint and so must run as exactly one replica. */}}
{{- define "kms-change-exporter.stateful" -}}
{{- if has .Values.source (list "poll" "live-tail") -}}true{{- end -}}
{{- end -}}

{{- define "kms-change-exporter.checkpointClaim" -}}
{{- default (printf "%s-checkpoint" (include "kms-change-exporter.fullname" .)) .Values.persistence.existingClaim -}}
{{- end -}}

{{- define "kms-change-exporter.firehoseSecretName" -}}
{{- default (printf "%s-firehose" (include "kms-change-exporter.fullname" .)) .Values.firehose.accessKey.existingSecret -}}
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
{{- $stateful := include "kms-change-exporter.stateful" . -}}
{{- if and (eq .Values.source "firehose") (not .Values.firehose.accessKey.existingSecret) (not .Values.firehose.accessKey.value) -}}
{{- fail "source firehose needs the Firehose access key: set firehose.accessKey.existingSecret (recommended) or firehose.accessKey.value" -}}
{{- end -}}
{{- if and $stateful .Values.autoscaling.enabled -}}
{{- fail (printf "autoscaling.enabled needs source firehose: %s keeps a checkpoint file and runs as exactly one replica" .Values.source) -}}
{{- end -}}
{{- if and $stateful .Values.ingress.enabled -}}
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
{{- end -}}
