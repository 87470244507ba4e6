{{/*
The environment of one service: (dict "root" $ "name" "identity" "svc" ... "values" ...).
The service's own `env` wins over `common.env`, which wins over what the
chart derives; every value is a string.
*/}}
{{- define "yeyak.configData" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $env := dict
  "YEYAK_ENV" $v.environment
  "YEYAK_GRPC_ADDR" (printf "0.0.0.0:%s" (include "yeyak.port.grpc" $root))
  "YEYAK_METRICS_ADDR" (printf "0.0.0.0:%s" (include "yeyak.port.metrics" $root))
  "YEYAK_QUEUE_IDS" (join "," $v.queueIds)
  "YEYAK_TRUSTED_KEYS" (join "," $v.trustedKeys)
  "YEYAK_SHUTDOWN_GRACE_MS" $v.common.shutdownGraceMs
  "YEYAK_MAX_CONCURRENT_RPCS" $v.common.maxConcurrentRpcs
  "YEYAK_REQUEST_TIMEOUT_MS" $v.common.requestTimeoutMs
  "YEYAK_LOG" $v.common.logFilter
-}}
{{- if $v.common.otlpEndpoint }}
{{- $_ := set $env "OTEL_EXPORTER_OTLP_ENDPOINT" $v.common.otlpEndpoint }}
{{- end }}
{{- if .svc.redis }}
{{- $_ := set $env "YEYAK_REDIS_KEY_PREFIX" (printf "yeyak:%s" .name) }}
{{- end }}
{{- if and .svc.database $v.migrations.enabled }}
{{- $_ := set $env "YEYAK_RUN_MIGRATIONS" "false" }}
{{- end }}
{{- if .svc.internal }}
{{- $_ := set $env "YEYAK_INTERNAL_GRPC_ADDR" (printf "0.0.0.0:%s" (include "yeyak.port.internal" $root)) }}
{{- end }}
{{- if eq .name "reservation" }}
{{- $_ := set $env "YEYAK_ELIGIBILITY_ADDR" (include "yeyak.grpcAddr" (dict "root" $root "name" "eligibility")) }}
{{- $_ := set $env "YEYAK_INVENTORY_ADDR" (printf "%s-inventory:%s" (include "yeyak.fullname" $root) (include "yeyak.port.internal" $root)) }}
{{- end }}
{{- if .svc.registry }}
{{- $_ := set $env "YEYAK_RULES_FILE" "/etc/yeyak/rules/rules.toml" }}
{{- if $v.mocks.enabled }}
{{- $_ := set $env "YEYAK_REGISTRY_URL" (include "yeyak.mockUrl" (dict "root" $root "name" "mock-registry" "namespace" $v.mocks.registry.namespace)) }}
{{- else }}
{{- $_ := set $env "YEYAK_REGISTRY_URL" (required "thirdParties.registryUrl is required unless mocks.enabled" $v.thirdParties.registryUrl) }}
{{- end }}
{{- end }}
{{- if .svc.identityProviders }}
{{- $providers := list }}
{{- if $v.mocks.enabled }}
{{- range $v.mocks.identityProviders }}
{{- $providers = append $providers (printf "%s=%s" .id (include "yeyak.mockUrl" (dict "root" $root "name" (printf "mock-idp-%s" .id) "namespace" ""))) }}
{{- end }}
{{- else }}
{{- range (required "thirdParties.identityProviders is required unless mocks.enabled" $v.thirdParties.identityProviders) }}
{{- $providers = append $providers (printf "%s=%s" .id .url) }}
{{- end }}
{{- end }}
{{- $_ := set $env "YEYAK_PROVIDERS" (join "," $providers) }}
{{- end }}
{{- if .svc.smsGateway }}
{{- if $v.mocks.enabled }}
{{- $_ := set $env "YEYAK_SMS_GATEWAY_URL" (include "yeyak.mockUrl" (dict "root" $root "name" "mock-sms" "namespace" "")) }}
{{- else }}
{{- $_ := set $env "YEYAK_SMS_GATEWAY_URL" (required "thirdParties.smsGatewayUrl is required unless mocks.enabled" $v.thirdParties.smsGatewayUrl) }}
{{- end }}
{{- end }}
{{- $env = merge (deepCopy .values.env) (deepCopy $v.common.env) $env }}
{{- range $key, $value := $env }}
{{ $key }}: {{ $value | toString | quote }}
{{- end }}
{{- end }}
