{{/*
The files a service reads, mounted as directories (never a subPath: the
kubelet swaps a directory's files in place when its ConfigMap or Secret
changes, and the services re-read the rules, the key sets and the
certificates without a restart). (dict "root" $ "name" "identity" "svc" ... "values" ...).
*/}}
{{- define "yeyak.volumeMounts" -}}
- {name: trusted-keys, mountPath: {{ include "yeyak.path.trustedKeys" .root }}, readOnly: true}
{{- if eq (.svc.keys | default "") "admission" }}
- {name: admission-keys, mountPath: {{ include "yeyak.path.admissionKeys" .root }}, readOnly: true}
{{- end }}
{{- if include "yeyak.operatorsVolume" . }}
- {name: operators, mountPath: {{ include "yeyak.path.operators" .root }}, readOnly: true}
{{- end }}
{{- if .svc.registry }}
- {name: rules, mountPath: /etc/yeyak/rules, readOnly: true}
{{- if include "yeyak.ruleSets" .root }}
- {name: rule-sets, mountPath: /etc/yeyak/rule-sets, readOnly: true}
{{- end }}
{{- end }}
{{- if .root.Values.tls.internal.enabled }}
- {name: tls, mountPath: {{ include "yeyak.path.tls" .root }}, readOnly: true}
{{- end }}
{{- include "yeyak.caBundleMount" .root }}
{{- end }}

{{/* The ConfigMap of the named rule sets, or nothing when there are none. */}}
{{- define "yeyak.ruleSets" -}}
{{- $sets := .Values.eligibility.ruleSets -}}
{{- if $sets.existingConfigMap -}}
{{ $sets.existingConfigMap }}
{{- else if $sets.sets -}}
{{ include "yeyak.fullname" . }}-eligibility-rule-sets
{{- end -}}
{{- end }}

{{- define "yeyak.volumes" -}}
{{- $full := include "yeyak.fullname" .root -}}
# Not in the config checksum: a key rotation reaches the pods through the
# kubelet and each service reloads it (YEYAK_TRUSTED_KEYS_FILE), no rollout.
- name: trusted-keys
  configMap:
    name: {{ $full }}-trusted-keys
    items: [{key: trusted-keys, path: trusted-keys}]
{{- if eq (.svc.keys | default "") "admission" }}
# Re-read live: the ticket keys (YEYAK_TICKET_KEYS_FILE). The signing key and
# the deprecated operator token are read at start (a rollout applies a change).
- name: admission-keys
  secret:
    secretName: {{ .root.Values.secrets.admission.existingSecret }}
    defaultMode: 288   # 0440: root and the pod's fsGroup
    items:
      - {key: YEYAK_SIGNING_KEY, path: signing-key}
      - {key: YEYAK_TICKET_KEYS, path: ticket-keys}
      {{- if not .root.Values.secrets.operators.existingSecret }}
      - {key: YEYAK_OPERATOR_TOKEN, path: operator-token}
      {{- end }}
{{- end }}
{{- include "yeyak.operatorsVolume" . }}
{{- if .svc.registry }}
- name: rules
  configMap:
    name: {{ .values.rules.existingConfigMap | default (printf "%s-eligibility-rules" $full) }}
    items: [{key: rules.toml, path: rules.toml}]
{{- with include "yeyak.ruleSets" .root }}
# Every key a set: a new one appears in the directory without a restart.
- name: rule-sets
  configMap:
    name: {{ . }}
{{- end }}
{{- end }}
{{- if .root.Values.tls.internal.enabled }}
# cert-manager's Secret of this service (type kubernetes.io/tls), renewed in place.
- name: tls
  secret:
    secretName: {{ printf "%s-%s-%s" $full .name .root.Values.tls.internal.secretSuffix }}
    defaultMode: 288   # 0440
    items:
      - {key: tls.crt, path: tls.crt}
      - {key: tls.key, path: tls.key}
      - {key: ca.crt, path: ca.crt}
{{- end }}
{{- include "yeyak.caBundleVolume" .root }}
{{- end }}

{{/* The extra CA bundle (tls.caBundle), for the services and the migration Jobs. */}}
{{- define "yeyak.caBundleMount" -}}
{{- $ca := .Values.tls.caBundle }}
{{- if or $ca.secret $ca.configMap }}
- {name: ca-bundle, mountPath: {{ include "yeyak.path.caBundle" . }}, readOnly: true}
{{- end }}
{{- end }}

{{- define "yeyak.caBundleVolume" -}}
{{- $ca := .Values.tls.caBundle }}
{{- if and $ca.secret $ca.configMap }}
{{- fail "tls.caBundle: set secret or configMap, not both" }}
{{- end }}
{{- if $ca.secret }}
- name: ca-bundle
  secret:
    secretName: {{ $ca.secret }}
    items: [{key: {{ $ca.key | quote }}, path: ca.crt}]
{{- else if $ca.configMap }}
- name: ca-bundle
  configMap:
    name: {{ $ca.configMap }}
    items: [{key: {{ $ca.key | quote }}, path: ca.crt}]
{{- end }}
{{- end }}

{{/*
Who may call the operator and support APIs (services with `operators`):
the named operators' Secret (secrets.operators), re-read live
(YEYAK_OPERATORS_FILE: revoking someone rolls no pod); without one, the
deprecated single token, the one key of admission's Secret a non-admission
pod is given (admission has it in admission-keys). Empty for other services.
*/}}
{{- define "yeyak.operatorsVolume" -}}
{{- $ops := .root.Values.secrets.operators -}}
{{- if .svc.operators }}
{{- if $ops.existingSecret }}
- name: operators
  secret:
    secretName: {{ $ops.existingSecret }}
    defaultMode: 288   # 0440
    items: [{key: {{ $ops.key | quote }}, path: operators}]
{{- else if ne (.svc.keys | default "") "admission" }}
- name: operators
  secret:
    secretName: {{ .root.Values.secrets.admission.existingSecret }}
    defaultMode: 288   # 0440
    items: [{key: YEYAK_OPERATOR_TOKEN, path: operator-token}]
{{- end }}
{{- end }}
{{- end }}

{{/*
The files of a web component (dict "root" $ "name" "edge" "web" ...): only
the edge, and only with tls.internal, when it dials the services over
https://: its own cert-manager Secret (<fullname>-edge-<secretSuffix>, the
client certificate and the internal CA) and the CA bundle if one is set,
as a service gets them for its outbound calls. Nothing else, ever.
*/}}
{{- define "yeyak.webVolumeMounts" -}}
{{- if and .web.calls .root.Values.tls.internal.enabled }}
- {name: tls, mountPath: {{ include "yeyak.path.tls" .root }}, readOnly: true}
{{- include "yeyak.caBundleMount" .root }}
{{- end }}
{{- end }}

{{- define "yeyak.webVolumes" -}}
{{- if and .web.calls .root.Values.tls.internal.enabled }}
# cert-manager's Secret of the edge (type kubernetes.io/tls), renewed in place:
# its client certificate and the internal CA. It serves no TLS itself.
- name: tls
  secret:
    secretName: {{ printf "%s-%s-%s" (include "yeyak.fullname" .root) .name .root.Values.tls.internal.secretSuffix }}
    defaultMode: 288   # 0440
    items:
      - {key: tls.crt, path: tls.crt}
      - {key: tls.key, path: tls.key}
      - {key: ca.crt, path: ca.crt}
{{- include "yeyak.caBundleVolume" .root }}
{{- end }}
{{- end }}
