{{/*
Secret-backed variables of one service: keys from the Secret of each concern
it uses (secrets.* in values.yaml). Nothing secret is rendered by the chart.
Admission's keys are files instead (a Secret volume, _volumes.tpl), so its
ticket keys rotate without a restart.
*/}}
{{- define "yeyak.secretEnv" -}}
{{- $s := .root.Values.secrets -}}
{{- if eq (.svc.keys | default "") "identity" }}
- name: YEYAK_SIGNING_KEY
  valueFrom: {secretKeyRef: {name: {{ $s.identity.existingSecret }}, key: YEYAK_SIGNING_KEY}}
- name: YEYAK_SUBJECT_HASH_KEY
  valueFrom: {secretKeyRef: {name: {{ $s.identity.existingSecret }}, key: YEYAK_SUBJECT_HASH_KEY}}
{{- end }}
{{- if eq (.svc.keys | default "") "notification" }}
- name: YEYAK_CONTACT_KEYS
  valueFrom: {secretKeyRef: {name: {{ $s.notification.existingSecret }}, key: YEYAK_CONTACT_KEYS}}
{{- end }}
{{- if .svc.database }}
- name: YEYAK_DATABASE_URL
  valueFrom: {secretKeyRef: {name: {{ $s.database.existingSecret }}, key: {{ index $s.database.keys .name }}}}
{{- end }}
{{- if .svc.redis }}
- name: YEYAK_REDIS_URL
  valueFrom: {secretKeyRef: {name: {{ $s.redis.existingSecret }}, key: {{ $s.redis.key }}}}
{{- end }}
{{- if .svc.passes }}
- name: YEYAK_SESSIONS_REDIS_URL
  valueFrom: {secretKeyRef: {name: {{ $s.redis.existingSecret }}, key: {{ $s.redis.key }}}}
{{- end }}
{{- if .svc.amqp }}
- name: YEYAK_AMQP_URL
  valueFrom: {secretKeyRef: {name: {{ $s.amqp.existingSecret }}, key: {{ $s.amqp.key }}}}
{{- end }}
{{- end }}
