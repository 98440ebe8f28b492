{{/* Chart name, cut to the 63 characters a label allows. */}}
{{- define "mcpmux.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart, unless the release name already holds the chart name. */}}
{{- define "mcpmux.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "mcpmux.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that never change over a release's life: the only ones selectors use. */}}
{{- define "mcpmux.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mcpmux.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "mcpmux.labels" -}}
helm.sh/chart: {{ include "mcpmux.chart" . }}
{{ include "mcpmux.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: gateway
{{- end }}

{{- define "mcpmux.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mcpmux.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* mcpmux's own config file, built from values. */}}
{{- define "mcpmux.config" -}}
{{- $listen := dict "host" "0.0.0.0" "port" (int .Values.ports.http) }}
{{- with .Values.allowedHosts }}{{ $_ := set $listen "allowedHosts" . }}{{ end }}
{{- with .Values.allowedOrigins }}{{ $_ := set $listen "allowedOrigins" . }}{{ end }}
{{- with .Values.publicUrl }}{{ $_ := set $listen "publicUrl" . }}{{ end }}
{{- $config := dict "listen" $listen "admin" (dict "host" "0.0.0.0" "port" (int .Values.ports.metrics)) "shutdown" (dict "delaySeconds" .Values.shutdown.delaySeconds "gracePeriodSeconds" .Values.shutdown.gracePeriodSeconds) "servers" .Values.servers }}
{{- with .Values.auth }}{{ $_ := set $config "auth" . }}{{ end }}
{{- with .Values.tracing }}{{ $_ := set $config "tracing" . }}{{ end }}
{{- if .Values.cluster.enabled }}
{{- /* ${POD_IP} is left for mcpmux to expand at load (the pod's env, from the Downward API). */}}
{{- $cluster := dict "sessionKey" (dict "env" "MCPMUX_SESSION_KEY") "advertiseAddress" (printf "${POD_IP}:%d" (int .Values.ports.http)) }}
{{- with .Values.cluster.peers }}{{ $_ := set $cluster "peers" . }}{{ end }}
{{- if not (kindIs "invalid" .Values.cluster.connectTimeoutSeconds) }}{{ $_ := set $cluster "connectTimeoutSeconds" .Values.cluster.connectTimeoutSeconds }}{{ end }}
{{- $_ := set $config "cluster" $cluster }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/* The Secret the session key is read from: the user's, or the one the chart makes. */}}
{{- define "mcpmux.sessionKeySecretName" -}}
{{- .Values.cluster.existingSecret | default (printf "%s-session-key" (include "mcpmux.fullname" .)) }}
{{- end }}

{{- define "mcpmux.sessionKeySecretKey" -}}
{{- if .Values.cluster.existingSecret }}{{ .Values.cluster.existingSecretKey | default "session-key" }}{{ else }}session-key{{ end }}
{{- end }}

{{/* The pod's grace: preStop + mcpmux's delay + its grace budget + 5 s of margin, at least. */}}
{{- define "mcpmux.terminationGracePeriodSeconds" -}}
{{- $needed := add (int .Values.preStopSleepSeconds) (int (ceil .Values.shutdown.delaySeconds)) (int (ceil .Values.shutdown.gracePeriodSeconds)) 5 }}
{{- if .Values.terminationGracePeriodSeconds }}
{{- max (int .Values.terminationGracePeriodSeconds) $needed }}
{{- else }}
{{- $needed }}
{{- end }}
{{- end }}
