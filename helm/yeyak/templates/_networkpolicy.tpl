{{/* A peer from a {namespaceSelector, podSelector} value. */}}
{{- define "yeyak.peer" -}}
namespaceSelector:
  {{- toYaml .namespaceSelector | nindent 2 }}
podSelector:
  {{- toYaml .podSelector | nindent 2 }}
{{- end }}

{{- define "yeyak.egressDns" -}}
- to:
    - {{- include "yeyak.peer" .dns | nindent 6 }}
  ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
{{- end }}

{{/* Egress to a managed dependency outside the cluster; none when no CIDR is given. */}}
{{- define "yeyak.egressCidrs" -}}
{{- if .cidrs }}
- to:
    {{- range .cidrs }}
    - ipBlock: {cidr: {{ . }}}
    {{- end }}
  ports: [{port: {{ .port }}, protocol: TCP}]
{{- end }}
{{- end }}

{{/* The mocks only answer their one caller, and call nothing but their database. */}}
{{- define "yeyak.mockPolicies" -}}
{{- $root := . }}
{{- $np := .Values.networkPolicy }}
{{- $full := include "yeyak.fullname" . }}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ $full }}-mock-identity-providers
  labels:
    {{- include "yeyak.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels: {app.kubernetes.io/component: mock-identity-provider, app.kubernetes.io/instance: {{ .Release.Name }}}
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
        - podSelector:
            matchLabels:
              {{- include "yeyak.selectorLabels" (dict "root" $root "name" "identity") | nindent 14 }}
      ports: [{port: {{ include "yeyak.port.mock" . }}, protocol: TCP}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ $full }}-mock-sms
  labels:
    {{- include "yeyak.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "yeyak.selectorLabels" (dict "root" $root "name" "mock-sms") | nindent 6 }}
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
        - podSelector:
            matchLabels:
              {{- include "yeyak.selectorLabels" (dict "root" $root "name" "notification") | nindent 14 }}
      ports: [{port: {{ include "yeyak.port.mock" . }}, protocol: TCP}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ $full }}-mock-registry
  namespace: {{ .Values.mocks.registry.namespace }}
  labels:
    {{- include "yeyak.labels" . | nindent 4 }}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
        - namespaceSelector:
            matchLabels: {kubernetes.io/metadata.name: {{ .Release.Namespace }}}
          podSelector:
            matchLabels:
              {{- include "yeyak.selectorLabels" (dict "root" $root "name" "eligibility") | nindent 14 }}
      ports: [{port: {{ include "yeyak.port.mock" . }}, protocol: TCP}]
  egress:
    {{- include "yeyak.egressDns" $np | nindent 4 }}
    {{- include "yeyak.egressCidrs" $np.egress.postgres | nindent 4 }}
{{- end }}
