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
  "YEYAK_SHUTDOWN_GRACE_MS" $v.common.shutdownGraceMs
  "YEYAK_MAX_CONCURRENT_RPCS" $v.common.maxConcurrentRpcs
  "YEYAK_REQUEST_TIMEOUT_MS" $v.common.requestTimeoutMs
  "YEYAK_LOG" $v.common.logFilter
-}}
{{- /* The trusted keys as a file, re-read live (not part of the checksum:
trusted-keys-configmap.yaml). Dev mode with none generates its own keys, and
an empty file would refuse to start, so no file then. */ -}}
{{- if or $v.trustedKeys (ne $v.environment "dev") }}
{{- $_ := set $env "YEYAK_TRUSTED_KEYS_FILE" (printf "%s/trusted-keys" (include "yeyak.path.trustedKeys" $root)) }}
{{- end }}
{{- if eq (.svc.keys | default "") "admission" }}
{{- $dir := include "yeyak.path.admissionKeys" $root }}
{{- $_ := set $env "YEYAK_SIGNING_KEY_FILE" (printf "%s/signing-key" $dir) }}
{{- $_ := set $env "YEYAK_TICKET_KEYS_FILE" (printf "%s/ticket-keys" $dir) }}
{{- if not $v.secrets.operators.existingSecret }}
{{- $_ := set $env "YEYAK_OPERATOR_TOKEN_FILE" (printf "%s/operator-token" $dir) }}
{{- end }}
{{- end }}
{{- /* Who may call the operator and support APIs: the named operators
(re-read live), else the deprecated single token (admission's above;
notification sees that one key of admission's Secret). _volumes.tpl. */ -}}
{{- if .svc.operators }}
{{- $dir := include "yeyak.path.operators" $root }}
{{- if $v.secrets.operators.existingSecret }}
{{- $_ := set $env "YEYAK_OPERATORS_FILE" (printf "%s/operators" $dir) }}
{{- else if ne (.svc.keys | default "") "admission" }}
{{- $_ := set $env "YEYAK_OPERATOR_TOKEN_FILE" (printf "%s/operator-token" $dir) }}
{{- end }}
{{- end }}
{{- if $v.common.otlpEndpoint }}
{{- $_ := set $env "OTEL_EXPORTER_OTLP_ENDPOINT" $v.common.otlpEndpoint }}
{{- end }}
{{- if .svc.redis }}
{{- $_ := set $env "YEYAK_REDIS_KEY_PREFIX" (printf "yeyak:%s" .name) }}
{{- end }}
{{- if eq .name "admission" }}
{{- $j := $v.joinLimits }}
{{- if $j.trustedProxies }}
{{- $_ := set $env "YEYAK_TRUSTED_PROXIES" (join "," $j.trustedProxies) }}
{{- end }}
{{- $_ := set $env "YEYAK_JOIN_CLIENT_BURST" (toString $j.perClient.burst) }}
{{- $_ := set $env "YEYAK_JOIN_CLIENT_PER_MINUTE" (toString $j.perClient.perMinute) }}
{{- $_ := set $env "YEYAK_JOIN_SOURCE_BURST" (toString $j.perSource.burst) }}
{{- $_ := set $env "YEYAK_JOIN_SOURCE_PER_MINUTE" (toString $j.perSource.perMinute) }}
{{- if $j.proofOfWorkBits }}
{{- $_ := set $env "YEYAK_JOIN_POW_BITS" $j.proofOfWorkBits }}
{{- end }}
{{- $_ := set $env "YEYAK_DEVICE_BINDING" (default "required" $j.deviceBinding) }}
{{- if $j.requireIdentity }}
{{- $_ := set $env "YEYAK_JOIN_REQUIRE_IDENTITY" $j.requireIdentity }}
{{- end }}
{{- $auto := $v.automaticAdmission }}
{{- if and $auto.enabled $auto.watch }}
{{- $targets := list }}
{{- range $auto.watch }}
{{- $targets = append $targets (printf "%s=http://%s-%s-metrics:%s/metrics" . (include "yeyak.fullname" $root) . (include "yeyak.port.metrics" $root)) }}
{{- end }}
{{- $_ := set $env "YEYAK_ADMISSION_CONTROL_TARGETS" (join "," $targets) }}
{{- $_ := set $env "YEYAK_ADMISSION_CONTROL_INTERVAL_MS" (toString $auto.intervalMs) }}
{{- end }}
{{- end }}
{{- /* Where admission records ended sessions: its own key prefix. */ -}}
{{- if .svc.passes }}
{{- $_ := set $env "YEYAK_SESSIONS_REDIS_KEY_PREFIX" "yeyak:admission" }}
{{- end }}
{{- if and .svc.database $v.migrations.enabled }}
{{- $_ := set $env "YEYAK_RUN_MIGRATIONS" "false" }}
{{- end }}
{{- if .svc.internal }}
{{- $_ := set $env "YEYAK_INTERNAL_GRPC_ADDR" (printf "0.0.0.0:%s" (include "yeyak.port.internal" $root)) }}
{{- end }}
{{- $tls := $v.tls }}
{{- $ca := $tls.caBundle }}
{{- if or $ca.secret $ca.configMap }}
{{- $_ := set $env "YEYAK_TLS_CA_FILE" (printf "%s/ca.crt" (include "yeyak.path.caBundle" $root)) }}
{{- end }}
{{- if $tls.internal.enabled }}
{{- $dir := include "yeyak.path.tls" $root }}
{{- $_ := set $env "YEYAK_TLS_CERT_FILE" (printf "%s/tls.crt" $dir) }}
{{- $_ := set $env "YEYAK_TLS_KEY_FILE" (printf "%s/tls.key" $dir) }}
{{- $_ := set $env "YEYAK_TLS_CLIENT_CERT_FILE" (printf "%s/tls.crt" $dir) }}
{{- $_ := set $env "YEYAK_TLS_CLIENT_KEY_FILE" (printf "%s/tls.key" $dir) }}
{{- $_ := set $env "YEYAK_TLS_CLIENT_CA_FILE" (printf "%s/ca.crt" $dir) }}
{{- if not (or $ca.secret $ca.configMap) }}
{{- $_ := set $env "YEYAK_TLS_CA_FILE" (printf "%s/ca.crt" $dir) }}
{{- end }}
{{- $_ := set $env "YEYAK_HEALTH_GRPC_ADDR" (printf "0.0.0.0:%s" (include "yeyak.port.health" $root)) }}
{{- end }}
{{- if eq .name "reservation" }}
{{- $scheme := ternary "https://" "" $tls.internal.enabled }}
{{- $_ := set $env "YEYAK_ELIGIBILITY_ADDR" (printf "%s%s" $scheme (include "yeyak.grpcAddr" (dict "root" $root "name" "eligibility"))) }}
{{- $_ := set $env "YEYAK_INVENTORY_ADDR" (printf "%s%s-inventory:%s" $scheme (include "yeyak.fullname" $root) (include "yeyak.port.internal" $root)) }}
{{- $_ := set $env "YEYAK_CONTACT_PUBLIC_KEY" $v.contactPublicKey }}
{{- end }}
{{- if .svc.registry }}
{{- $_ := set $env "YEYAK_RULES_FILE" "/etc/yeyak/rules/rules.toml" }}
{{- if include "yeyak.ruleSets" $root }}
{{- $_ := set $env "YEYAK_RULE_SETS_DIR" "/etc/yeyak/rule-sets" }}
{{- end }}
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
{{- /* The mocks speak plain HTTP: allowed only to their callers, only with mocks on. */ -}}
{{- if and $v.mocks.enabled (or .svc.registry .svc.identityProviders .svc.smsGateway) }}
{{- $_ := set $env "YEYAK_ALLOW_PLAIN_HTTP" "true" }}
{{- end }}
{{- $env = merge (deepCopy .values.env) (deepCopy $v.common.env) $env }}
{{- range $key, $value := $env }}
{{ $key }}: {{ $value | toString | quote }}
{{- end }}
{{- end }}
