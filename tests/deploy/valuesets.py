"""The value sets the deployment tests render the chart with.

Each set is what an operator would put in one values file on top of the
chart's defaults (helm/yeyak/values.yaml).
"""

from chartlib import ROOT, deep_merge

RULES = (ROOT / "services" / "eligibility" / "rules" / "demo.toml").read_text()

# What production requires on top of the defaults: the rules file, the third
# parties' URLs and the page's origin (the edge is on by default). The trusted
# key and notification's contact key are public keys (not secret).
PAGE_ORIGIN = "https://booking.example.kr"
EDGE_URL = "https://api.booking.example.kr"
PRODUCTION = {
    "eligibility": {"rules": {"toml": RULES}},
    "edge": {"allowedOrigins": [PAGE_ORIGIN]},
    "trustedKeys": ["admission:adm-2026-1:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="],
    "contactPublicKey": "ntf-2026-1:m7qC2dP2dCkq9h0bJmkNq5l0Jt2o0PLkmVbmH5ZQ2m8",
    "thirdParties": {
        "registryUrl": "https://registry.example.org",
        "identityProviders": [
            {"id": "carrier-sms", "url": "https://carrier-sms.example.org"},
            {"id": "kakao-cert", "url": "https://kakao-cert.example.org"},
        ],
        "smsGatewayUrl": "https://sms-gateway.example.org",
    },
}

# A demo: the mock third parties in the cluster, throwaway dev keys.
MOCKS = {
    "environment": "dev",
    "mocks": {"enabled": True},
    "eligibility": {"rules": {"toml": RULES}},
}

# An SRE scaling identity alone.
IDENTITY_SCALED = deep_merge(PRODUCTION, {
    "identity": {"replicas": 10, "autoscaling": {"enabled": True}},
})

# Example egress blocks: managed data stores on a private range, third
# parties on documentation ranges (RFC 5737), two blocks for the providers.
EGRESS = {
    "postgres": {"cidrs": ["10.20.0.0/24"]},
    "redis": {"cidrs": ["10.20.1.0/24"]},
    "amqp": {"cidrs": ["10.20.2.0/24"]},
    "registry": {"cidrs": ["203.0.113.0/28"]},
    "identityProviders": {"cidrs": ["198.51.100.0/27", "198.51.100.64/27"]},
    "smsGateway": {"cidrs": ["192.0.2.16/28"]},
}

# The whole production picture: policies on, the static server beside the edge.
NETWORK = deep_merge(PRODUCTION, {
    "networkPolicy": {"enabled": True, "egress": EGRESS},
    "metrics": {"serviceMonitor": {"force": True}},
    "static": {"enabled": True, "edgeUrl": EDGE_URL},
})

NETWORK_MOCKS = deep_merge(MOCKS, {"networkPolicy": {"enabled": True, "egress": EGRESS}})

# Pre-scaling identity for an 8 p.m. (Seoul) opening: 30 replicas from 19:30
# to 21:30, CPU-driven autoscaling between 2 and 40 the rest of the time.
OPENING_SCHEDULE = {"start": "30 19 * * *", "end": "30 21 * * *", "desiredReplicas": 30}
PRESCALING = deep_merge(PRODUCTION, {
    "identity": {
        "autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 40},
        "preScaling": {"enabled": True, "timezone": "Asia/Seoul", "schedules": [OPENING_SCHEDULE]},
    },
})

# Mutual TLS between the services (cert-manager's Secrets yeyak-<service>-tls)
# with a corporate CA bundle (managed stores, and the internal CA) from a
# Secret, behind the NetworkPolicies. The edge is on: it dials the services
# over https:// with its own Secret yeyak-edge-tls (test_edge.py).
CA_BUNDLE_SECRET = "corp-ca-bundle"
TLS = deep_merge(NETWORK, {
    "tls": {"internal": {"enabled": True}, "caBundle": {"secret": CA_BUNDLE_SECRET, "key": "bundle.pem"}},
})

# Mutual TLS alone, in a demo: the internal CA (ca.crt) is the one trusted.
TLS_MOCKS = deep_merge(MOCKS, {"tls": {"internal": {"enabled": True}}})

# Named operators and support staff from their own Secret (docs/operators.md)
# instead of the deprecated single operator token.
OPERATORS_SECRET = "yeyak-operators"
NAMED_OPERATORS = deep_merge(PRODUCTION, {"secrets": {"operators": {"existingSecret": OPERATORS_SECRET, "key": "staff"}}})

# Only a CA bundle, from a ConfigMap (a managed database's CA): no internal TLS.
CA_BUNDLE_CONFIGMAP = "managed-db-ca"
CA_BUNDLE = deep_merge(PRODUCTION, {"tls": {"caBundle": {"configMap": CA_BUNDLE_CONFIGMAP}}})

# Monitoring with the Prometheus Operator and Grafana's dashboard sidecar
# (kube-prometheus-stack): the ServiceMonitors, the PrometheusRule (as
# `helm template` in a pipeline renders them: forced), the dashboards in a
# Grafana folder.
OBSERVABILITY = deep_merge(PRODUCTION, {"metrics": {
    "serviceMonitor": {"force": True, "labels": {"release": "kube-prometheus-stack"}},
    "prometheusRule": {"force": True, "labels": {"release": "kube-prometheus-stack"}},
    "grafanaDashboards": {"enabled": True, "annotations": {"grafana_folder": "Yeyak"}},
}})

SETS = {
    "production": PRODUCTION,
    "mocks": MOCKS,
    "identity-scaled": IDENTITY_SCALED,
    "network": NETWORK,
    "network-mocks": NETWORK_MOCKS,
    "prescaling": PRESCALING,
    "tls": TLS,
    "tls-mocks": TLS_MOCKS,
    "ca-bundle": CA_BUNDLE,
    "operators": NAMED_OPERATORS,
    "observability": OBSERVABILITY,
}

# The Secrets an operator creates (values.yaml `secrets.*`, and the mock
# registry's own): the only names a secretKeyRef may point at.
EXISTING_SECRETS = {
    "yeyak-admission-keys", "yeyak-identity-keys", "yeyak-database", "yeyak-redis",
    "yeyak-amqp", "yeyak-registry", "yeyak-notification-keys", OPERATORS_SECRET,
    # tls.internal: cert-manager's Secret of each service and of the edge; tls.caBundle.
    *(f"yeyak-{s}-tls" for s in ("admission", "identity", "eligibility", "inventory", "reservation",
                                  "notification", "edge")),
    CA_BUNDLE_SECRET,
}
# ConfigMaps an operator creates (tls.caBundle.configMap).
EXISTING_CONFIG_MAPS = {CA_BUNDLE_CONFIGMAP}
