"""The network the NetworkPolicy tests reason about, and what it should allow.

The model: one pod per rendered workload (labels and ports from its pod
template), a gateway pod in namespace "gateway", Prometheus in "monitoring",
kube-dns in "kube-system", a stray pod in the release namespace that is part
of nothing, one address per example CIDR of each managed dependency or third
party, and one Internet address in none of them.

What should be allowed comes from docs/architecture.md ("Who calls whom" and
the contexts table, parsed below and pinned by CALLS/STORES), plus DNS for
every pod that resolves names and Prometheus on the metrics ports. The
browser-facing components (docs/edge.md) add theirs when rendered: gateways
reach their HTTP port, and the edge reaches EDGE_UPSTREAMS' gRPC port.
"""

from __future__ import annotations

import ipaddress
import re

import chartlib
from deploytest import SERVICES, pod_labels, pod_spec, workloads
from netpol import Cluster, Endpoint, Port

RELEASE_NS = chartlib.NAMESPACE
REGISTRY_NS = "yeyak-registry"
OUR_NAMESPACES = {RELEASE_NS, REGISTRY_NS}
UNUSED_PORT = Port(12345)
CONCERNS = ["postgres", "redis", "amqp", "registry", "identityProviders", "smsGateway"]

# docs/architecture.md, "Who calls whom": (caller, callee, port kind).
# test_networkpolicy.test_architecture_doc_still_says_so parses the doc and
# fails if it no longer lists exactly these.
CALLS = {
    ("gateway", "admission", "grpc"),
    ("gateway", "identity", "grpc"),
    ("gateway", "eligibility", "grpc"),
    ("gateway", "inventory", "grpc"),
    ("gateway", "reservation", "grpc"),
    ("gateway", "notification", "grpc"),
    ("operator", "admission", "grpc"),        # the operator APIs are on the public ports
    ("operator", "notification", "grpc"),
    ("operator", "inventory", "grpc"),        # supply changes (docs/supply-changes.md)
    ("operator", "reservation", "grpc"),
    ("identity", "identityProviders", "http"),
    ("eligibility", "registry", "http"),
    ("notification", "smsGateway", "http"),
    ("reservation", "eligibility", "grpc"),
    ("reservation", "inventory", "grpc-internal"),
    # The automatic admission rate reads these services' metrics ports
    # (automaticAdmission.watch, when enabled).
    ("admission", "identity", "metrics"),
    ("admission", "eligibility", "metrics"),
    ("admission", "reservation", "metrics"),
}
# Data stores and the broker per service (the contexts table; AMQP from the
# outbox and queue lines of the call graph). Every service that checks
# passes reads admission's Redis (the ended sessions).
STORES = {
    "admission": {"postgres", "redis", "amqp"},
    "identity": {"redis"},
    "eligibility": {"redis", "amqp"},
    "inventory": {"postgres", "redis", "amqp"},
    "reservation": {"postgres", "redis", "amqp"},
    "notification": {"postgres", "redis", "amqp"},
}
MOCK_OF = {"identityProviders": "mock-identity-provider", "registry": "mock-registry",
           "smsGateway": "mock-sms-gateway"}
# What the edge forwards to: the public services of services/edge/src/routes.rs
# (PUBLIC_SERVICES; test_networkpolicy pins the two together). Not notification:
# its public port carries an operator API. The architecture's graph is between
# the services, so the edge is not among CALLS.
EDGE_UPSTREAMS = ("admission", "identity", "eligibility", "inventory", "reservation")
# The browser-facing pods, by their component label, and who may reach their
# HTTP port: the gateway, where browsers come in. The static server calls nothing.
WEB_ROLES = {"edge": "edge", "static-site": "static"}
WEB_CLIENTS = {"gateway"}


def parse_architecture(text: str) -> tuple[set, dict]:
    """(calls, stores) as docs/architecture.md states them."""
    block = text.split("## Who calls whom", 1)[1].split("```", 2)[1]
    calls, amqp = set(), set()
    source = None
    third_party = {"mock-idp": "identityProviders", "mock-registry": "registry", "mock-sms": "smsGateway"}
    for line in block.splitlines():
        arrow = re.match(r"^\s*([a-z]+)?\s*─+(gRPC|HTTP|outbox|metrics)─+▶\s*(\S+)(.*)$", line)
        queue = re.match(r"^\s*[├└]──▶ queue ([a-z]+)\.", line)
        if arrow:
            source = arrow.group(1) or source
            kind, target, rest = arrow.group(2), arrow.group(3), arrow.group(4)
            if kind == "outbox":
                amqp.add(source)
            elif kind == "metrics":
                for callee in (target + rest).split("(")[0].replace(",", " ").split():
                    calls.add((source, callee, "metrics"))
            elif kind == "HTTP":
                calls.add((source, third_party[target], "http"))
            else:
                callee = target.split(".")[0]
                calls.add((source, callee, "grpc-internal" if "(internal)" in rest else "grpc"))
        elif queue:
            amqp.add(queue.group(1))
    stores: dict[str, set] = {}
    for row in re.finditer(r"^\| \*\*([a-z]+)\*\* \|([^|]*)\|([^|]*)\|", text, re.M):
        context, store = row.group(1), row.group(3)
        stores[context] = ({"postgres"} if "PostgreSQL" in store else set()) | (
            {"redis"} if "Redis" in store else set()) | ({"amqp"} if context in amqp else set())
    return calls, stores


def build(objects, values: dict) -> tuple[Cluster, list[Endpoint]]:
    """The cluster of the model, with the rendered policies among `objects`.

    `values` are the release's values (merged with the chart defaults): they
    give the example CIDRs and ports of the dependencies."""
    egress = values["networkPolicy"]["egress"]
    ips = (str(ip) for ip in ipaddress.ip_network("10.244.0.0/16").hosts())
    endpoints: list[Endpoint] = []
    for workload in workloads(objects):
        labels = pod_labels(workload)
        ports = [Port(p["containerPort"], p.get("protocol", "TCP"), p.get("name"))
                 for c in pod_spec(workload)["containers"] for p in c.get("ports", [])]
        endpoints.append(Endpoint(labels["app.kubernetes.io/name"], next(ips),
                                  workload.namespace or RELEASE_NS, labels, ports,
                                  role=labels.get("app.kubernetes.io/component", "")))
    endpoints += [
        Endpoint("gateway", next(ips), "gateway", {"app.kubernetes.io/name": "envoy"},
                 [Port(8443, "TCP", "https")], "gateway"),
        Endpoint("monitoring", next(ips), "monitoring", {"app.kubernetes.io/name": "prometheus"},
                 [Port(9090, "TCP", "web")], "monitoring"),
        Endpoint("dns", next(ips), "kube-system", {"k8s-app": "kube-dns"},
                 [Port(53, "UDP", "dns"), Port(53, "TCP", "dns-tcp")], "dns"),
        Endpoint("stranger", next(ips), RELEASE_NS, {"app": "debug-shell"},
                 [Port(8080, "TCP", "http")], "stranger"),
    ]
    external_ports = sorted({egress[c]["port"] for c in CONCERNS})
    for concern in CONCERNS:
        for i, cidr in enumerate(egress[concern]["cidrs"]):
            network = ipaddress.ip_network(cidr, strict=False)
            ip = network.network_address if network.num_addresses == 1 else next(network.hosts())
            endpoints.append(Endpoint(f"ext:{concern}#{i}", str(ip),
                                      ports=[Port(p) for p in external_ports], role=f"ext:{concern}"))
    endpoints.append(Endpoint("ext:internet", "198.18.0.1", ports=[Port(p) for p in external_ports],
                              role="ext:internet"))
    namespaces = {ns: {"kubernetes.io/metadata.name": ns}
                  for ns in OUR_NAMESPACES | {"gateway", "monitoring", "kube-system"}}
    policies = [o for o in objects if o.get("kind") == "NetworkPolicy"]
    return Cluster(policies, endpoints, namespaces, RELEASE_NS), endpoints


def pairs(endpoints: list[Endpoint]):
    """Every (source, destination, port) with at least one end in our namespaces."""
    for src in endpoints:
        for dst in endpoints:
            if src is dst or not ({src.namespace, dst.namespace} & OUR_NAMESPACES):
                continue
            ports = dst.ports + ([UNUSED_PORT] if dst.is_pod else [])
            for port in ports:
                yield src, dst, port


def allowed(cluster: Cluster, endpoints: list[Endpoint]) -> set[tuple]:
    return {(s.id, d.id, p.number, p.protocol) for s, d, p in pairs(endpoints) if cluster.allows(s, d, p)}


def expected(endpoints: list[Endpoint], values: dict, mocks: bool) -> set[tuple]:
    """What the architecture says must be allowed; everything else must not be."""
    by_id = {e.id: e for e in endpoints}
    egress = values["networkPolicy"]["egress"]
    out: set[tuple] = set()

    def named(dst_id, name):
        port = next(p for p in by_id[dst_id].ports if p.name == name)
        return (dst_id, port.number, port.protocol)

    def externals(concern):
        return [e.id for e in endpoints if e.role == f"ext:{concern}"]

    auto = values["automaticAdmission"]
    for caller, callee, kind in CALLS:
        source = "gateway" if caller in ("gateway", "operator") else caller
        if kind == "metrics":
            if auto["enabled"] and callee in auto["watch"]:
                out.add((source, *named(callee, kind)))
        elif kind in ("grpc", "grpc-internal"):
            out.add((source, *named(callee, kind)))
        elif mocks:
            for mock in [e.id for e in endpoints if e.role == MOCK_OF[callee]]:
                out.add((source, *named(mock, "http")))
        else:
            for ext in externals(callee):
                out.add((source, ext, egress[callee]["port"], "TCP"))
    for service, stores in STORES.items():
        out.add(("monitoring", *named(service, "metrics")))
        for store in stores:
            for ext in externals(store):
                out.add((service, ext, egress[store]["port"], "TCP"))
    resolvers = list(SERVICES)
    for e in endpoints:
        if e.role in WEB_ROLES:
            out |= {(client, *named(e.id, "http")) for client in WEB_CLIENTS}
        if e.role == "edge":
            resolvers.append(e.id)
            out |= {(e.id, *named(callee, "grpc")) for callee in EDGE_UPSTREAMS}
            out.add(("monitoring", *named(e.id, "metrics")))   # its own series (shed, refused)
        if e.role == "migrations":          # the migration Jobs reach their database only
            resolvers.append(e.id)
            out |= {(e.id, ext, egress["postgres"]["port"], "TCP") for ext in externals("postgres")}
        if e.role == "mock-registry":       # the registry mock has its own database
            resolvers.append(e.id)
            out |= {(e.id, ext, egress["postgres"]["port"], "TCP") for ext in externals("postgres")}
    for resolver in resolvers:
        out |= {(resolver, "dns", 53, "UDP"), (resolver, "dns", 53, "TCP")}
    return out
