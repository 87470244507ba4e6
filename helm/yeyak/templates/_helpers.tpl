{{/*
What each service is and needs, in one place: every template ranges over it,
so a seventh service is one entry here and one block in values.yaml.
- health: the gRPC health name its readiness probe asks for;
- database/redis/amqp: which dependencies it connects to;
- keys: which key Secret it mounts; internal: it serves internal RPCs on a
  separate port; calls: the in-cluster services it calls (NetworkPolicy);
- operators: it serves an operator or support API, so it mounts the
  operators Secret (secrets.operators, docs/operators.md);
- passes: it checks admission passes, so it follows the ended sessions in
  admission's Redis (docs/admission.md, "A pass dies with its seat").
*/}}
{{- define "yeyak.services" -}}
admission:
  binary: yeyak-admission
  health: yeyak.admission.v1.AdmissionService
  database: true
  redis: true
  amqp: true
  keys: admission
  operators: true
identity:
  binary: yeyak-identity
  health: yeyak.identity.v1.IdentityService
  redis: true
  keys: identity
  identityProviders: true
  passes: true
eligibility:
  binary: yeyak-eligibility
  health: yeyak.eligibility.v1.EligibilityService
  redis: true
  amqp: true
  registry: true
  passes: true
inventory:
  binary: yeyak-inventory
  health: yeyak.inventory.v1.InventoryService
  database: true
  redis: true
  amqp: true
  internal: true
  operators: true
  passes: true
reservation:
  binary: yeyak-reservation
  health: yeyak.reservation.v1.ReservationService
  database: true
  amqp: true
  calls: [eligibility, inventory]
  operators: true
  passes: true
notification:
  binary: yeyak-notification
  health: yeyak.notification.v1.NotificationService
  database: true
  amqp: true
  keys: notification
  operators: true
  smsGateway: true
  passes: true
{{- end }}

{{/*
The browser-facing components (docs/edge.md): deployed and scaled on their
own like a service, but they speak HTTP, hold no state, mount no Secret (but
the edge's client TLS material under tls.internal: yeyak.webVolumes) and
have no metrics port. Each renders only with `<name>.enabled`.
- calls: the services it forwards to (config and NetworkPolicy): the five
  public ones of services/edge/src/routes.rs, never notification;
- readiness: its HTTP readiness path (liveness and startup ask /healthz).
*/}}
{{- define "yeyak.webComponents" -}}
edge:
  binary: yeyak-edge
  component: edge
  readiness: /readyz
  calls: [admission, identity, eligibility, inventory, reservation]
  # Its own series on the metrics port (docs/edge.md); the static server has none.
  metrics: true
static:
  binary: yeyak-static
  component: static-site
  readiness: /healthz
{{- end }}

{{/* The web components whose `enabled` is on. */}}
{{- define "yeyak.enabledWebComponents" -}}
{{- $out := dict }}
{{- range $name, $web := include "yeyak.webComponents" . | fromYaml }}
{{- if (index $.Values $name).enabled }}
{{- $_ := set $out $name $web }}
{{- end }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/* Everything with replicas, an HPA, a ScaledObject and a PDB of its own. */}}
{{- define "yeyak.scaledComponents" -}}
{{- merge (include "yeyak.services" . | fromYaml) (include "yeyak.enabledWebComponents" . | fromYaml) | toYaml }}
{{- end }}

{{/* Ports inside every pod and behind every Service. */}}
{{- define "yeyak.port.grpc" -}}50051{{- end }}
{{- define "yeyak.port.internal" -}}50061{{- end }}
{{- define "yeyak.port.metrics" -}}9100{{- end }}
{{- define "yeyak.port.mock" -}}8080{{- end }}
{{/* Plaintext gRPC health only, for the kubelet's probes when tls.internal is on. */}}
{{- define "yeyak.port.health" -}}8086{{- end }}

{{/* Where the mounted files are (each a directory mount, never a subPath). */}}
{{- define "yeyak.path.trustedKeys" -}}/etc/yeyak/keys{{- end }}
{{- define "yeyak.path.admissionKeys" -}}/var/run/secrets/yeyak/admission{{- end }}
{{- define "yeyak.path.operators" -}}/var/run/secrets/yeyak/operators{{- end }}
{{- define "yeyak.path.tls" -}}/var/run/secrets/yeyak/tls{{- end }}
{{- define "yeyak.path.caBundle" -}}/etc/yeyak/ca{{- end }}
{{/* Where the static server's image holds the built page (Dockerfile, target static). */}}
{{- define "yeyak.path.staticRoot" -}}/usr/share/yeyak/www{{- end }}

{{- define "yeyak.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end }}

{{- define "yeyak.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/part-of: yeyak
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of one component: (dict "root" $ "name" "identity"). */}}
{{- define "yeyak.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}

{{- define "yeyak.image" -}}
{{- $tag := .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s/%s:%s" .root.Values.image.registry .image $tag -}}
{{- end }}

{{- define "yeyak.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "yeyak.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end }}

{{/* The in-cluster address of a component's gRPC port. */}}
{{- define "yeyak.grpcAddr" -}}
{{- printf "%s-%s:%s" (include "yeyak.fullname" .root) .name (include "yeyak.port.grpc" .root) -}}
{{- end }}

{{/* A mock's base URL: (dict "root" $ "name" "mock-sms" "namespace" ""). */}}
{{- define "yeyak.mockUrl" -}}
{{- if .namespace -}}
{{- printf "http://%s-%s.%s.svc:%s" (include "yeyak.fullname" .root) .name .namespace (include "yeyak.port.mock" .root) -}}
{{- else -}}
{{- printf "http://%s-%s:%s" (include "yeyak.fullname" .root) .name (include "yeyak.port.mock" .root) -}}
{{- end -}}
{{- end }}

{{/* Checksum of what a pod reads at start, so `helm upgrade` rolls it. */}}
{{- define "yeyak.configChecksum" -}}
{{- $config := include "yeyak.configData" . -}}
{{- $config | sha256sum -}}
{{- end }}

{{/* Labels of one component's objects: the common ones and its name. */}}
{{- define "yeyak.componentLabels" -}}
{{ include "yeyak.labels" .root }}
app.kubernetes.io/name: {{ .name }}
{{- end }}

{{/* Where one component's pods run: (dict "root" $ "name" "identity" "values" ...). */}}
{{- define "yeyak.podScheduling" -}}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
topologySpreadConstraints:
  {{- if .values.topologySpreadConstraints }}
  {{- toYaml .values.topologySpreadConstraints | nindent 2 }}
  {{- else }}
  # Default: replicas spread over zones, then nodes, without blocking scheduling.
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "yeyak.selectorLabels" (dict "root" .root "name" .name) | nindent 8 }}
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "yeyak.selectorLabels" (dict "root" .root "name" .name) | nindent 8 }}
  {{- end }}
{{- end }}
