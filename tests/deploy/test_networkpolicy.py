"""The rendered NetworkPolicies against docs/architecture.md's call graph:
every documented call is allowed, every other (source, destination, port) of
the model (netmodel.py) is denied."""

from __future__ import annotations

import re

import pytest

import chartlib
import netmodel
import valuesets
from deploytest import SERVICES, render
from netpol import Cluster, Endpoint, Port


def test_architecture_doc_still_says_so():
    """The call graph and stores the tests encode are the doc's."""
    calls, stores = netmodel.parse_architecture((chartlib.ROOT / "docs" / "architecture.md").read_text())
    assert calls == netmodel.CALLS
    assert stores == netmodel.STORES


def test_edge_upstreams_are_the_edges_routes():
    """The model's edge forwards to the services services/edge/src/routes.rs
    routes (PUBLIC_SERVICES), and the chart wires exactly those."""
    routes = (chartlib.ROOT / "services" / "edge" / "src" / "routes.rs").read_text()
    table = routes.split("pub const PUBLIC_SERVICES", 1)[1].split("];", 1)[0]
    routed = re.findall(r'\("yeyak\.([a-z]+)\.v1\.[A-Za-z]+Service", Upstream::[A-Za-z]+\)', table)
    assert sorted(routed) == sorted(netmodel.EDGE_UPSTREAMS)
    config = next(o for o in render(valuesets.PRODUCTION) if o.kind == "ConfigMap" and o.name == "yeyak-edge")
    addresses = {k.removeprefix("YEYAK_").removesuffix("_ADDR").lower(): v
                 for k, v in config["data"].items() if k.endswith("_ADDR") and k not in ("YEYAK_HTTP_ADDR", "YEYAK_METRICS_ADDR")}
    assert addresses == {s: f"http://yeyak-{s}:50051" for s in netmodel.EDGE_UPSTREAMS}


def reachability(set_name):
    values = chartlib.chart().merge_values(valuesets.SETS[set_name])
    cluster, endpoints = netmodel.build(render(valuesets.SETS[set_name]), values)
    return (netmodel.allowed(cluster, endpoints),
            netmodel.expected(endpoints, values, values["mocks"]["enabled"]), endpoints)


def explain(got, want):
    extra = sorted(got - want)
    missing = sorted(want - got)
    return ("allowed but not in the architecture:\n  " + "\n  ".join(map(str, extra))
            + "\ndocumented but denied:\n  " + "\n  ".join(map(str, missing)))


@pytest.mark.parametrize("set_name", ["network", "network-mocks", "tls"])
def test_policies_allow_exactly_the_call_graph(set_name):
    got, want, endpoints = reachability(set_name)
    assert len(list(netmodel.pairs(endpoints))) > 500   # the enumeration is not vacuous
    assert got == want, explain(got, want)


def test_the_pinned_properties():
    """The issue's requirements, stated on their own (they follow from the exact match above)."""
    got, _, _ = reachability("network")
    sources_of = lambda dst, port: {s for s, d, p, _ in got if d == dst and p == port}  # noqa: E731
    assert sources_of("inventory", 50061) == {"reservation"}
    for service in SERVICES:
        expected = {"gateway", "reservation"} if service == "eligibility" else {"gateway"}
        # The edge, for the public services it forwards browsers' calls to.
        expected |= {"edge"} if service != "notification" else set()
        assert sources_of(service, 50051) == expected, service
        # Prometheus, and admission for the services its automatic rate watches.
        watched = service in ("identity", "eligibility", "reservation")
        assert sources_of(service, 9100) == ({"monitoring", "admission"} if watched else {"monitoring"}), service
    reaches = lambda src: {d.split("#")[0] for s, d, _, _ in got if s == src and d.startswith("ext:")}  # noqa: E731
    assert reaches("admission") == {"ext:postgres", "ext:redis", "ext:amqp"}
    assert reaches("identity") == {"ext:redis", "ext:identityProviders"}
    assert reaches("eligibility") == {"ext:redis", "ext:amqp", "ext:registry"}
    assert reaches("inventory") == {"ext:postgres", "ext:redis", "ext:amqp"}
    assert reaches("reservation") == {"ext:postgres", "ext:redis", "ext:amqp"}
    assert reaches("notification") == {"ext:postgres", "ext:redis", "ext:amqp", "ext:smsGateway"}
    assert {d for s, d, _, _ in got if s == "reservation" and not d.startswith("ext:")} == {
        "eligibility", "inventory", "dns"}
    assert {(d, p) for s, d, p, _ in got if s == "admission" and not d.startswith("ext:")} == {
        ("identity", 9100), ("eligibility", 9100), ("reservation", 9100), ("dns", 53)}
    assert not [t for t in got if "ext:internet" in t or "stranger" in t[:2]]
    # The edge reaches the five public ports and DNS, and nothing else: not
    # notification, no internal listener, no data store, no broker, no metrics.
    edge_reaches = {(d, p) for s, d, p, _ in got if s == "edge"}
    assert edge_reaches == {(s, 50051) for s in netmodel.EDGE_UPSTREAMS} | {("dns", 53)}, edge_reaches
    assert ("notification", 50051) not in edge_reaches and ("inventory", 50061) not in edge_reaches
    assert not [d for d, _ in edge_reaches if d.startswith(("ext:postgres", "ext:redis", "ext:amqp"))]
    # Only the gateway reaches the edge's and the static server's HTTP ports
    # (not a service, not Prometheus, not a stray pod), and only Prometheus the
    # edge's metrics port; the static server calls nothing and has no metrics.
    assert sources_of("edge", 8090) == {"gateway"}
    assert sources_of("static", 8080) == {"gateway"}
    assert sources_of("edge", 9100) == {"monitoring"}
    assert {d for s, d, _, _ in got if d in ("edge", "static")} == {"edge", "static"}
    assert {(d, p, proto) for s, d, p, proto in got if d in ("edge", "static")} == {
        ("edge", 8090, "TCP"), ("edge", 9100, "TCP"), ("static", 8080, "TCP")}
    assert [t for t in got if t[0] == "static"] == []


def test_without_the_edge_the_services_admit_none():
    """edge.enabled false: no edge pod, and no rule of the services names one."""
    values = chartlib.deep_merge(valuesets.NETWORK, {"edge": {"enabled": False}})
    objs = render(values)
    merged = chartlib.chart().merge_values(values)
    cluster, endpoints = netmodel.build(objs, merged)
    assert not [o.name for o in objs if o["metadata"]["labels"].get("app.kubernetes.io/name") == "edge"]
    assert "'edge'" not in str([o["spec"] for o in objs if o.kind == "NetworkPolicy"])
    got = netmodel.allowed(cluster, endpoints)
    assert got == netmodel.expected(endpoints, merged, False), explain(got, netmodel.expected(endpoints, merged, False))


def test_with_mocks_the_third_parties_are_the_mock_pods():
    got, _, _ = reachability("network-mocks")
    assert not [t for t in got if t[1].startswith(("ext:registry", "ext:identityProviders", "ext:smsGateway"))]
    assert {s for s, d, _, _ in got if d == "mock-registry"} == {"eligibility"}
    assert {s for s, d, _, _ in got if d == "mock-sms"} == {"notification"}
    idps = {d for s, d, _, _ in got if d.startswith("mock-idp-")}
    assert len(idps) == 4 and {s for s, d, _, _ in got if d in idps} == {"identity"}
    assert {d for s, d, _, _ in got if s in idps | {"mock-sms"}} == set()


def test_without_policies_everything_is_open(renders):
    """The model sees the difference: the production set renders no policy."""
    values = chartlib.chart().merge_values(valuesets.NETWORK)
    cluster, endpoints = netmodel.build(renders["production"], values)
    got = netmodel.allowed(cluster, endpoints)
    assert len(got) == len(list(netmodel.pairs(endpoints)))


# --- the NetworkPolicy semantics themselves --------------------------------

def _pod(name, ns="app", ports=(Port(80, "TCP", "http"),), **labels):
    return Endpoint(name, f"10.0.0.{hash(name) % 200 + 1}", ns, {"app": name, **labels}, list(ports))


NS = {n: {"kubernetes.io/metadata.name": n} for n in ("app", "other")}


def test_semantics_isolation_is_per_direction():
    a, b = _pod("a"), _pod("b")
    ingress_only = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "x"},
                    "spec": {"podSelector": {"matchLabels": {"app": "b"}}, "ingress": []}}
    cluster = Cluster([ingress_only], [a, b], NS, "app")
    assert not cluster.allows(a, b, Port(80))      # b isolated for ingress, nothing admitted
    assert cluster.allows(b, a, Port(80))          # egress of b is not isolated: no Egress type


def test_semantics_peers_and_ports():
    a, b, c = _pod("a"), _pod("b", ports=[Port(80, "TCP", "http"), Port(81, "TCP", "x")]), _pod("c", "other")
    policy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "x"},
              "spec": {"podSelector": {"matchLabels": {"app": "b"}}, "policyTypes": ["Ingress"],
                       "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}],
                                    "ports": [{"port": "http"}]},
                                   {"from": [{"namespaceSelector": {"matchLabels": {
                                       "kubernetes.io/metadata.name": "other"}},
                                       "podSelector": {"matchLabels": {"app": "nope"}}}]}]}}
    cluster = Cluster([policy], [a, b, c], NS, "app")
    assert cluster.allows(a, b, Port(80))
    assert not cluster.allows(a, b, Port(81))      # named port resolves to 80 only
    assert not cluster.allows(a, b, Port(80, "UDP"))
    assert not cluster.allows(c, b, Port(80))      # namespace AND pod selector must both match
    policy["spec"]["ingress"][1]["from"][0].pop("podSelector")
    assert Cluster([policy], [a, b, c], NS, "app").allows(c, b, Port(81))   # whole namespace, any port


def test_semantics_ip_blocks_and_egress():
    a = _pod("a")
    db = Endpoint("db", "10.20.0.5", ports=[Port(5432)])
    elsewhere = Endpoint("net", "10.20.1.5", ports=[Port(5432)])
    policy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "x"},
              "spec": {"podSelector": {}, "policyTypes": ["Egress"],
                       "egress": [{"to": [{"ipBlock": {"cidr": "10.20.0.0/16", "except": ["10.20.1.0/24"]}}],
                                   "ports": [{"port": 5432, "protocol": "TCP"}]}]}}
    cluster = Cluster([policy], [a, db, elsewhere], NS, "app")
    assert cluster.allows(a, db, Port(5432))
    assert not cluster.allows(a, db, Port(5433))
    assert not cluster.allows(a, elsewhere, Port(5432))


@pytest.mark.parametrize("breakage", ["internal port open to all", "no dns", "egress anywhere",
                                      "edge egress anywhere", "edge open to all", "static calls out"])
def test_a_broken_policy_is_caught(breakage):
    values = chartlib.chart().merge_values(valuesets.NETWORK)
    objects = render(valuesets.NETWORK)
    policies = {o.name: o for o in objects if o.kind == "NetworkPolicy"}
    if breakage == "internal port open to all":
        policies["yeyak-inventory"]["spec"]["ingress"][1].pop("from")
    elif breakage == "no dns":
        policies["yeyak-identity"]["spec"]["egress"].pop(0)
    elif breakage == "edge egress anywhere":
        policies["yeyak-edge"]["spec"]["egress"].append({})
    elif breakage == "edge open to all":
        policies["yeyak-edge"]["spec"]["ingress"][0].pop("from")
    elif breakage == "static calls out":
        policies["yeyak-static"]["spec"]["egress"].append({"ports": [{"port": 5432, "protocol": "TCP"}]})
    else:
        policies["yeyak-admission"]["spec"]["egress"].append({})
    cluster, endpoints = netmodel.build(objects, values)
    assert netmodel.allowed(cluster, endpoints) != netmodel.expected(endpoints, values, False)
