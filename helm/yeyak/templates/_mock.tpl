{{/* One mock: a Deployment of one replica and its Service, on the mock port. */}}
{{- define "yeyak.mock" -}}
{{- $root := .root }}
{{- $full := include "yeyak.fullname" $root }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $full }}-{{ .name }}
  {{- with .namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    {{- include "yeyak.componentLabels" (dict "root" $root "name" .name) | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  replicas: 1
  selector:
    matchLabels:
      {{- include "yeyak.selectorLabels" (dict "root" $root "name" .name) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "yeyak.componentLabels" (dict "root" $root "name" .name) | nindent 8 }}
        app.kubernetes.io/component: {{ .component }}
    spec:
      serviceAccountName: {{ if .namespace }}default{{ else }}{{ include "yeyak.serviceAccountName" $root }}{{ end }}
      automountServiceAccountToken: false
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      containers:
        - name: {{ .name }}
          image: {{ include "yeyak.image" (dict "root" $root "image" .image) }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command: ["/usr/local/bin/{{ .binary }}"]
          {{- with .args }}
          args: {{ toJson . }}
          {{- end }}
          ports:
            - {name: http, containerPort: {{ include "yeyak.port.mock" $root }}, protocol: TCP}
          env:
            - {name: YEYAK_ENV, value: {{ $root.Values.environment | quote }}}
            - {name: YEYAK_HTTP_ADDR, value: "0.0.0.0:{{ include "yeyak.port.mock" $root }}"}
            {{- range $key, $value := .env }}
            - {name: {{ $key }}, value: {{ $value | toString | quote }}}
            {{- end }}
            {{- if .secret }}
            - name: YEYAK_DATABASE_URL
              valueFrom: {secretKeyRef: {name: {{ .secret }}, key: YEYAK_DATABASE_URL}}
            - name: YEYAK_SUBJECT_HASH_KEY
              valueFrom: {secretKeyRef: {name: {{ .secret }}, key: YEYAK_SUBJECT_HASH_KEY}}
            {{- end }}
          readinessProbe:
            httpGet: {path: /healthz, port: http}
            periodSeconds: 5
          livenessProbe:
            httpGet: {path: /healthz, port: http}
            periodSeconds: 10
          resources:
            {{- toYaml $root.Values.mocks.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $full }}-{{ .name }}
  {{- with .namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    {{- include "yeyak.componentLabels" (dict "root" $root "name" .name) | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "yeyak.selectorLabels" (dict "root" $root "name" .name) | nindent 4 }}
  ports:
    - {name: http, port: {{ include "yeyak.port.mock" $root }}, targetPort: http, protocol: TCP}
{{- end }}
