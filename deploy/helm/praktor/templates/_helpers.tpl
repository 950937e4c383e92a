{{/* Names -------------------------------------------------------------------------- */}}

{{- define "praktor.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "praktor.fullname" -}}
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

{{/* "<fullname>-<component>", at most 63 characters */}}
{{- define "praktor.componentName" -}}
{{- printf "%s-%s" (include "praktor.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "praktor.installId" -}}
{{- .Values.installId | default (printf "pk-%s" (sha256sum (printf "%s/%s" .Release.Namespace .Release.Name) | trunc 12)) -}}
{{- end -}}

{{/* Labels ------------------------------------------------------------------------- */}}

{{- define "praktor.selectorLabels" -}}
app.kubernetes.io/name: {{ include "praktor.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "praktor.labels" -}}
{{ include "praktor.selectorLabels" . }}
app.kubernetes.io/part-of: praktor
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Images ------------------------------------------------------------------------- */}}

{{- define "praktor.image" -}}
{{- printf "%s:%s" .repository (toString .tag) -}}
{{- end -}}

{{/* Where the bus and the database are ----------------------------------------------- */}}

{{- define "praktor.natsUrl" -}}
{{- if .Values.nats.enabled -}}
{{- printf "nats://%s:4222" (include "praktor.componentName" (dict "root" . "component" "nats")) -}}
{{- else -}}
{{- required "externalNats.url is required when nats.enabled is false" .Values.externalNats.url -}}
{{- end -}}
{{- end -}}

{{- define "praktor.databaseUrl" -}}
{{- if .Values.postgresql.enabled -}}
{{- printf "postgresql://praktor@%s:5432/praktor" (include "praktor.componentName" (dict "root" . "component" "postgresql")) -}}
{{- else -}}
{{- required "externalDatabase.url is required when postgresql.enabled is false" .Values.externalDatabase.url -}}
{{- end -}}
{{- end -}}

{{- define "praktor.databasePasswordSecret" -}}
{{- if .Values.postgresql.enabled -}}
{{- .Values.secrets.postgres -}}
{{- else -}}
{{- .Values.externalDatabase.passwordSecret | default .Values.secrets.postgres -}}
{{- end -}}
{{- end -}}

{{/* Pod parts shared by every workload ------------------------------------------------- */}}

{{/* env of a process that talks to the bus as `identity` (creds mounted at /run/praktor/nats) */}}
{{- define "praktor.busEnv" -}}
- name: PRAKTOR_NATS_URL
  value: {{ include "praktor.natsUrl" . | quote }}
- name: PRAKTOR_NATS_CREDS
  value: /run/praktor/nats/nats.creds
{{- end -}}

{{- define "praktor.databaseEnv" -}}
- name: PRAKTOR_DATABASE_URL
  value: {{ include "praktor.databaseUrl" . | quote }}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "praktor.databasePasswordSecret" . }}
      key: {{ ternary "password" .Values.externalDatabase.passwordKey .Values.postgresql.enabled }}
{{- end -}}

{{- define "praktor.commonEnv" -}}
- name: PRAKTOR_INSTALL_ID
  value: {{ include "praktor.installId" . | quote }}
- name: PRAKTOR_DATA_DIR
  value: /var/lib/praktor
- name: PRAKTOR_LOG_FORMAT
  value: json
- name: TZ
  value: {{ .Values.config.timezone | default "UTC" | quote }}
{{- end -}}

{{/* the creds file of one identity, alone, as /run/praktor/nats/nats.creds */}}
{{- define "praktor.credsVolume" -}}
- name: nats-creds
  secret:
    secretName: {{ .root.Values.secrets.natsCreds }}
    defaultMode: 0440
    items:
      - key: {{ .identity }}.creds
        path: nats.creds
{{- end -}}

{{- define "praktor.credsMount" -}}
- name: nats-creds
  mountPath: /run/praktor/nats
  readOnly: true
{{- end -}}

{{- define "praktor.podSecurity" -}}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* the orchestrator's authority: each Secret key back at its relative path */}}
{{- define "praktor.authorityItems" -}}
- {key: operator.jwt, path: operator.jwt}
- {key: operator-signing.nk, path: operator-signing.nk}
- {key: SYS.nk, path: accounts/SYS.nk}
- {key: SYS.jwt, path: accounts/SYS.jwt}
- {key: PRAKTOR.nk, path: accounts/PRAKTOR.nk}
- {key: PRAKTOR-signing.nk, path: accounts/PRAKTOR-signing.nk}
- {key: PRAKTOR.jwt, path: accounts/PRAKTOR.jwt}
- {key: sys-admin.nk, path: users/sys-admin.nk}
{{- end -}}

{{- define "praktor.orchestratorServiceAccount" -}}
{{- if .Values.orchestrator.serviceAccount.create -}}
{{- .Values.orchestrator.serviceAccount.name | default (include "praktor.componentName" (dict "root" . "component" "orchestrator")) -}}
{{- else -}}
{{- .Values.orchestrator.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "praktor.agentPodLabels" -}}
{{- toYaml (.Values.agents.podLabels | default (dict "praktor.io/role" "agent")) -}}
{{- end -}}
