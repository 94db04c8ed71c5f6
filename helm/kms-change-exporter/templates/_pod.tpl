{{/* The pod of the exporter, shared by the Deployment (no shared state) and the StatefulSet (state in Redis/Valkey). */}}
{{- define "kms-change-exporter.podTemplate" -}}
{{- $single := include "kms-change-exporter.singleReplica" . -}}
{{- $checkpoint := include "kms-change-exporter.checkpoint" . -}}
{{- $firehose := eq .Values.source "firehose" -}}
{{- $eventbridge := eq .Values.source "eventbridge" -}}
{{- $ebKey := and $eventbridge (or .Values.eventbridge.apiKey.existingSecret .Values.eventbridge.apiKey.value) -}}
{{- $ebBasic := and $eventbridge (or .Values.eventbridge.basicAuth.existingSecret .Values.eventbridge.basicAuth.value) -}}
{{- $ebSecret := and $eventbridge (or (and .Values.eventbridge.apiKey.value (not .Values.eventbridge.apiKey.existingSecret)) (and .Values.eventbridge.basicAuth.value (not .Values.eventbridge.basicAuth.existingSecret))) -}}
{{- $web := include "kms-change-exporter.webConfig" . -}}
{{- $webSecret := and .Values.webConfig.config (not .Values.webConfig.existingSecret) -}}
{{- $https := eq (include "kms-change-exporter.scheme" .) "https" -}}
metadata:
  labels:
    {{- include "kms-change-exporter.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- if or .Values.podAnnotations (and $firehose .Values.firehose.accessKey.value (not .Values.firehose.accessKey.existingSecret)) $webSecret $ebSecret }}
  annotations:
    {{- if or .Values.expectations .Values.accounts }}
    # Expectations and accounts are read at start: a change rolls the pods.
    checksum/change-context: {{ include (print $.Template.BasePath "/change-context-configmap.yaml") . | sha256sum }}
    {{- end }}
    {{- if $webSecret }}
    # Users and policies are read at start: a changed web configuration rolls the pods.
    checksum/web-config: {{ include (print $.Template.BasePath "/web-config-secret.yaml") . | sha256sum }}
    {{- end }}
    {{- if and $firehose .Values.firehose.accessKey.value (not .Values.firehose.accessKey.existingSecret) }}
    # The exporter reads the key at start: a new key rolls the pods.
    checksum/firehose-access-key: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
    {{- end }}
    {{- if $ebSecret }}
    # The exporter reads the connection's credentials at start: new ones roll the pods.
    checksum/eventbridge-credentials: {{ include (print $.Template.BasePath "/eventbridge-secret.yaml") . | sha256sum }}
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
spec:
  serviceAccountName: {{ include "kms-change-exporter.serviceAccountName" . }}
  automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  containers:
    - name: exporter
      image: {{ include "kms-change-exporter.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      # Every setting comes from the environment below; the image's entrypoint is
      # `node dist/src/main.js`.
      args:
        - serve
      env:
        - name: KMS_EXPORTER_SOURCE
          value: {{ .Values.source | quote }}
        - name: KMS_EXPORTER_LISTEN_ADDRESS
          value: {{ printf ":%d" (int .Values.service.port) | quote }}
        {{- if and (has .Values.source (list "poll" "live-tail")) .Values.logGroups }}
        - name: KMS_EXPORTER_LOG_GROUPS
          value: {{ join "," .Values.logGroups | quote }}
        {{- end }}
        {{- if and (eq .Values.source "sqs") .Values.queueUrls }}
        - name: KMS_EXPORTER_QUEUE_URLS
          value: {{ join "," .Values.queueUrls | quote }}
        {{- end }}
        {{- if $checkpoint }}
        - name: KMS_EXPORTER_CHECKPOINT_FILE
          value: {{ printf "%s/%s" (trimSuffix "/" .Values.checkpoint.mountPath) .Values.checkpoint.fileName | quote }}
        {{- end }}
        {{- if include "kms-change-exporter.sharedState" . }}
        - name: KMS_EXPORTER_STATE_URL
          {{- if .Values.state.existingSecret }}
          valueFrom:
            secretKeyRef:
              name: {{ .Values.state.existingSecret }}
              key: {{ .Values.state.existingSecretKey }}
          {{- else }}
          value: {{ .Values.state.url | quote }}
          {{- end }}
        # The replica's counters are kept in the store under this id: the StatefulSet's pod
        # name, which a restarted pod keeps, so its series continue where they stopped.
        - name: KMS_EXPORTER_REPLICA_ID
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        {{- end }}
        {{- if $firehose }}
        - name: KMS_EXPORTER_FIREHOSE_ACCESS_KEY_FILE
          value: {{ printf "%s/%s" (trimSuffix "/" .Values.firehose.mountPath) .Values.firehose.accessKey.secretKey | quote }}
        {{- end }}
        {{- if $ebKey }}
        - name: KMS_EXPORTER_EVENTBRIDGE_API_KEY_FILE
          value: {{ printf "%s/api-key/%s" (trimSuffix "/" .Values.eventbridge.mountPath) .Values.eventbridge.apiKey.secretKey | quote }}
        {{- end }}
        {{- if $ebBasic }}
        - name: KMS_EXPORTER_EVENTBRIDGE_BASIC_AUTH_FILE
          value: {{ printf "%s/basic-auth/%s" (trimSuffix "/" .Values.eventbridge.mountPath) .Values.eventbridge.basicAuth.secretKey | quote }}
        {{- end }}
        {{- if $web }}
        - name: KMS_EXPORTER_WEB_CONFIG_FILE
          value: {{ printf "%s/%s" (trimSuffix "/" .Values.webConfig.mountPath) .Values.webConfig.secretKey | quote }}
        {{- end }}
        {{- if .Values.expectations }}
        - name: KMS_EXPORTER_EXPECTATIONS_FILE
          value: {{ printf "%s/expectations.yml" (trimSuffix "/" .Values.changeContext.mountPath) | quote }}
        {{- end }}
        {{- if .Values.accounts }}
        - name: KMS_EXPORTER_ACCOUNTS_FILE
          value: {{ printf "%s/accounts.yml" (trimSuffix "/" .Values.changeContext.mountPath) | quote }}
        {{- end }}
        {{- range $key, $value := .Values.config }}
        {{- if not (kindIs "invalid" $value) }}
        - name: {{ printf "KMS_EXPORTER_%s" ($key | snakecase | upper) }}
          value: {{ include "kms-change-exporter.envValue" $value }}
        {{- end }}
        {{- end }}
        {{- with .Values.aws.region }}
        - name: AWS_REGION
          value: {{ . | quote }}
        {{- end }}
        {{- if .Values.otel.endpoint }}
        - name: OTEL_EXPORTER_OTLP_ENDPOINT
          value: {{ .Values.otel.endpoint | quote }}
        {{- with .Values.otel.protocol }}
        - name: OTEL_EXPORTER_OTLP_PROTOCOL
          value: {{ . | quote }}
        {{- end }}
        - name: K8S_POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: K8S_NAMESPACE_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        {{- $attributes := list "k8s.namespace.name=$(K8S_NAMESPACE_NAME)" "k8s.pod.name=$(K8S_POD_NAME)" }}
        {{- range $key, $value := .Values.otel.resourceAttributes }}
        {{- $attributes = append $attributes (printf "%s=%s" $key (toString $value)) }}
        {{- end }}
        - name: OTEL_RESOURCE_ATTRIBUTES
          value: {{ join "," $attributes | quote }}
        {{- else if .Values.otel.resourceAttributes }}
        {{- $attributes := list }}
        {{- range $key, $value := .Values.otel.resourceAttributes }}
        {{- $attributes = append $attributes (printf "%s=%s" $key (toString $value)) }}
        {{- end }}
        - name: OTEL_RESOURCE_ATTRIBUTES
          value: {{ join "," $attributes | quote }}
        {{- end }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: http
          containerPort: {{ .Values.service.port }}
          protocol: TCP
      livenessProbe:
        httpGet:
          path: /-/healthy
          port: http
          {{- if $https }}
          scheme: HTTPS
          {{- end }}
        {{- toYaml .Values.probes.liveness | nindent 8 }}
      readinessProbe:
        httpGet:
          path: /-/ready
          port: http
          {{- if $https }}
          scheme: HTTPS
          {{- end }}
        {{- toYaml .Values.probes.readiness | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      {{- with .Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        # The root filesystem is read-only; Node and its libraries may still want a /tmp.
        - name: tmp
          mountPath: /tmp
        {{- if $checkpoint }}
        - name: checkpoint
          mountPath: {{ .Values.checkpoint.mountPath }}
        {{- end }}
        {{- if $firehose }}
        - name: firehose-access-key
          mountPath: {{ .Values.firehose.mountPath }}
          readOnly: true
        {{- end }}
        {{- if $ebKey }}
        - name: eventbridge-api-key
          mountPath: {{ printf "%s/api-key" (trimSuffix "/" .Values.eventbridge.mountPath) }}
          readOnly: true
        {{- end }}
        {{- if $ebBasic }}
        - name: eventbridge-basic-auth
          mountPath: {{ printf "%s/basic-auth" (trimSuffix "/" .Values.eventbridge.mountPath) }}
          readOnly: true
        {{- end }}
        {{- if $web }}
        - name: web-config
          mountPath: {{ .Values.webConfig.mountPath }}
          readOnly: true
        {{- end }}
        {{- if or .Values.expectations .Values.accounts }}
        - name: change-context
          mountPath: {{ .Values.changeContext.mountPath }}
          readOnly: true
        {{- end }}
        {{- with .Values.webConfig.tlsSecret }}
        # A sibling of the web configuration, not inside it: Secret volumes are read-only.
        - name: web-tls
          mountPath: {{ printf "%s/tls" (trimSuffix "/" (dir $.Values.webConfig.mountPath)) }}
          readOnly: true
        {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
    {{- if $checkpoint }}
    - name: checkpoint
      {{- if .Values.persistence.enabled }}
      persistentVolumeClaim:
        claimName: {{ include "kms-change-exporter.checkpointClaim" . }}
      {{- else }}
      emptyDir:
        {{- with .Values.checkpoint.emptyDirSizeLimit }}
        sizeLimit: {{ . }}
        {{- else }} {}
        {{- end }}
      {{- end }}
    {{- end }}
    {{- if $firehose }}
    - name: firehose-access-key
      secret:
        secretName: {{ include "kms-change-exporter.firehoseSecretName" . }}
        # 0444 written in decimal (YAML 1.1 and 1.2 read 0444 differently): read-only,
        # and readable whatever runAsUser and fsGroup are set to.
        defaultMode: 292
        items:
          - key: {{ .Values.firehose.accessKey.secretKey }}
            path: {{ .Values.firehose.accessKey.secretKey }}
    {{- end }}
    {{- if $ebKey }}
    - name: eventbridge-api-key
      secret:
        secretName: {{ include "kms-change-exporter.eventbridgeApiKeySecretName" . }}
        defaultMode: 292
        items:
          - key: {{ .Values.eventbridge.apiKey.secretKey }}
            path: {{ .Values.eventbridge.apiKey.secretKey }}
    {{- end }}
    {{- if $ebBasic }}
    - name: eventbridge-basic-auth
      secret:
        secretName: {{ include "kms-change-exporter.eventbridgeBasicAuthSecretName" . }}
        defaultMode: 292
        items:
          - key: {{ .Values.eventbridge.basicAuth.secretKey }}
            path: {{ .Values.eventbridge.basicAuth.secretKey }}
    {{- end }}
    {{- if $web }}
    - name: web-config
      secret:
        secretName: {{ include "kms-change-exporter.webConfigSecretName" . }}
        defaultMode: 292
        items:
          - key: {{ .Values.webConfig.secretKey }}
            path: {{ .Values.webConfig.secretKey }}
    {{- end }}
    {{- if or .Values.expectations .Values.accounts }}
    - name: change-context
      configMap:
        name: {{ printf "%s-change-context" (include "kms-change-exporter.fullname" .) }}
        defaultMode: 292
    {{- end }}
    {{- with .Values.webConfig.tlsSecret }}
    # Mounted whole (no items, no subPath), so the kubelet's updates reach the files and a
    # renewed certificate is served on the next connection.
    - name: web-tls
      secret:
        secretName: {{ . }}
        defaultMode: 292
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
