{{/*
The environment of a web component (yeyak.webComponents):
(dict "root" $ "name" "edge" "web" ... "values" ...). As for a service, its
own `env` wins over `common.env`, which wins over what the chart derives;
every value is a string. Nothing here is secret: neither process has any
(with tls.internal the edge reads its client key from a mounted file).
*/}}
{{- define "yeyak.webConfigData" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $env := dict
  "YEYAK_ENV" $v.environment
  "YEYAK_HTTP_ADDR" (printf "0.0.0.0:%d" (int .values.port))
  "YEYAK_LOG" $v.common.logFilter
-}}
{{- if $v.common.otlpEndpoint }}
{{- $_ := set $env "OTEL_EXPORTER_OTLP_ENDPOINT" $v.common.otlpEndpoint }}
{{- end }}
{{- if eq .name "edge" }}
{{- /* The edge refuses to start without them outside dev: fail at render time instead. */ -}}
{{- if .values.allowedOrigins }}
{{- $_ := set $env "YEYAK_ALLOWED_ORIGINS" (join "," .values.allowedOrigins) }}
{{- else if ne $v.environment "dev" }}
{{- fail "edge.allowedOrigins is required outside dev: the page's exact origins (https://booking.example.kr), or edge.enabled=false" }}
{{- end }}
{{- if gt (int .values.defaultDeadlineMs) (int .values.maxDeadlineMs) }}
{{- fail "edge.defaultDeadlineMs is above edge.maxDeadlineMs: the edge would refuse to start" }}
{{- end }}
{{- /* With tls.internal the services' gRPC ports speak TLS only: the edge
dials https://, trusting the internal CA (or the bundle that must hold it)
and showing its own certificate as a client certificate, with the services'
variables for their outbound calls (yeyak.configData; the volumes are
yeyak.webVolumes). Its own listener stays plain HTTP: browsers' TLS ends at
the ingress. */ -}}
{{- $tls := $v.tls }}
{{- $scheme := ternary "https" "http" $tls.internal.enabled }}
{{- range .web.calls }}
{{- $_ := set $env (printf "YEYAK_%s_ADDR" (upper .)) (printf "%s://%s" $scheme (include "yeyak.grpcAddr" (dict "root" $root "name" .))) }}
{{- end }}
{{- if $tls.internal.enabled }}
{{- $dir := include "yeyak.path.tls" $root }}
{{- $_ := set $env "YEYAK_TLS_CLIENT_CERT_FILE" (printf "%s/tls.crt" $dir) }}
{{- $_ := set $env "YEYAK_TLS_CLIENT_KEY_FILE" (printf "%s/tls.key" $dir) }}
{{- if or $tls.caBundle.secret $tls.caBundle.configMap }}
{{- $_ := set $env "YEYAK_TLS_CA_FILE" (printf "%s/ca.crt" (include "yeyak.path.caBundle" $root)) }}
{{- else }}
{{- $_ := set $env "YEYAK_TLS_CA_FILE" (printf "%s/ca.crt" $dir) }}
{{- end }}
{{- end }}
{{- $_ := set $env "YEYAK_DEFAULT_DEADLINE_MS" (toString .values.defaultDeadlineMs) }}
{{- $_ := set $env "YEYAK_MAX_DEADLINE_MS" (toString .values.maxDeadlineMs) }}
{{- $_ := set $env "YEYAK_MAX_IN_FLIGHT" (toString .values.maxInFlight) }}
{{- $_ := set $env "YEYAK_METRICS_ADDR" (printf "0.0.0.0:%s" (include "yeyak.port.metrics" $root)) }}
{{- else }}
{{- $_ := set $env "YEYAK_STATIC_DIR" (include "yeyak.path.staticRoot" $root) }}
{{- $_ := set $env "YEYAK_QUEUE_ID" .values.queueId }}
{{- $_ := set $env "YEYAK_CHANGES_QUEUE_ID" (default (printf "%s-changes" .values.queueId) .values.changesQueueId) }}
{{- $_ := set $env "YEYAK_EDGE_URL" (required "static.edgeUrl is required when static.enabled: the edge's public URL (https://api.booking.example.kr)" .values.edgeUrl) }}
{{- end }}
{{- $env = merge (deepCopy .values.env) (deepCopy $v.common.env) $env }}
{{- range $key, $value := $env }}
{{ $key }}: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/* Who may reach the web components, and whom they reach (networkpolicy.yaml). */}}
{{- define "yeyak.webPolicies" -}}
{{- $root := . }}
{{- $np := .Values.networkPolicy }}
{{- $full := include "yeyak.fullname" . }}
{{- range $name, $web := include "yeyak.enabledWebComponents" . | fromYaml }}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ $full }}-{{ $name }}
  labels:
    {{- include "yeyak.componentLabels" (dict "root" $root "name" $name) | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "yeyak.selectorLabels" (dict "root" $root "name" $name) | nindent 6 }}
  policyTypes: [Ingress, Egress]
  ingress:
    # Browsers arrive through the gateway, as native clients do.
    - from:
        - {{- include "yeyak.peer" $np.gateway | nindent 10 }}
      ports: [{port: http, protocol: TCP}]
  {{- if $web.metrics }}
    # The edge's own series (calls shed, refused, unreachable): Prometheus only.
    - from:
        - {{- include "yeyak.peer" $np.monitoring | nindent 10 }}
      ports: [{port: metrics, protocol: TCP}]
  {{- end }}
  {{- if $web.calls }}
  # The public services' public port only: never notification, an internal
  # listener, a data store or the broker, whatever a bug in the edge tried.
  egress:
    {{- include "yeyak.egressDns" $np | nindent 4 }}
    {{- range $callee := $web.calls }}
    - to:
        - podSelector:
            matchLabels:
              {{- include "yeyak.selectorLabels" (dict "root" $root "name" $callee) | nindent 14 }}
      ports: [{port: {{ include "yeyak.port.grpc" $root }}, protocol: TCP}]
    {{- end }}
  {{- else }}
  # No egress at all: it calls nothing and resolves no name.
  egress: []
  {{- end }}
{{- end }}
{{- end }}
