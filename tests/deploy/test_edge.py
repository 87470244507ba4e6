"""The browser edge and the static server in the chart (docs/edge.md): the edge
on by default, the static server by choice; wired to the five public services
only, over https:// with its client TLS material under mutual TLS (and no
other Secret); HTTP probes; refused where it cannot work (no origins outside
dev); scaled on its own. Reachability is test_networkpolicy.py's."""

from __future__ import annotations

import pytest
from helm_python.errors import HelmError

import chartlib
import valuesets
from deploytest import by_kind, find, pod_spec, render, service_deployments
from test_scaling import render_diff

PORTS = {"edge": 8090, "static": 8080}
UPSTREAMS = ("admission", "identity", "eligibility", "inventory", "reservation")
TLS_DIR = "/var/run/secrets/yeyak/tls"
CA_BUNDLE_FILE = "/etc/yeyak/ca/ca.crt"
CLIENT_TLS = {"YEYAK_TLS_CLIENT_CERT_FILE": f"{TLS_DIR}/tls.crt", "YEYAK_TLS_CLIENT_KEY_FILE": f"{TLS_DIR}/tls.key"}
READINESS = {"edge": "/readyz", "static": "/healthz"}


def config(objs, name):
    return find(objs, "ConfigMap", f"yeyak-{name}")["data"]


def with_edge(**edge):
    return chartlib.deep_merge(valuesets.PRODUCTION, {"edge": edge})


def test_edge_config(renders):
    data = config(renders["production"], "edge")
    assert data["YEYAK_ENV"] == "production"
    assert data["YEYAK_HTTP_ADDR"] == "0.0.0.0:8090"
    assert data["YEYAK_ALLOWED_ORIGINS"] == valuesets.PAGE_ORIGIN
    assert (data["YEYAK_DEFAULT_DEADLINE_MS"], data["YEYAK_MAX_DEADLINE_MS"], data["YEYAK_MAX_IN_FLIGHT"]) == (
        "10000", "30000", "2000")
    # Never notification (its public port carries an operator API), never an internal port.
    assert "YEYAK_NOTIFICATION_ADDR" not in data and ":50061" not in str(data)
    several = config(render(with_edge(allowedOrigins=[valuesets.PAGE_ORIGIN, "https://m.booking.example.kr"])), "edge")
    assert several["YEYAK_ALLOWED_ORIGINS"] == f"{valuesets.PAGE_ORIGIN},https://m.booking.example.kr"
    # Dev without origins: none set, so the edge takes the local static server's.
    assert "YEYAK_ALLOWED_ORIGINS" not in config(renders["mocks"], "edge")
    assert config(renders["mocks"], "edge")["YEYAK_ENV"] == "dev"


@pytest.mark.parametrize("values,message", [
    (with_edge(allowedOrigins=[]), "edge.allowedOrigins is required"),
    (with_edge(defaultDeadlineMs=40000), "edge.defaultDeadlineMs"),
    (chartlib.deep_merge(valuesets.PRODUCTION, {"static": {"enabled": True}}), "static.edgeUrl"),
], ids=["no origin in production", "inverted deadlines", "static without the edge's URL"])
def test_refused_where_it_cannot_work(values, message):
    """The edge refuses to start without origins outside dev or with inverted
    deadlines: the render fails first, saying why."""
    with pytest.raises(HelmError) as err:
        chartlib.render(values)
    assert message in str(err.value)


def test_off_renders_nothing_of_it(renders):
    objs = render(with_edge(enabled=False))
    names = {o.name for o in objs}
    assert not {n for n in names if n.endswith(("-edge", "-static"))}, names
    assert "yeyak-static" not in {o.name for o in renders["production"]}


@pytest.mark.parametrize("set_name", list(valuesets.SETS))
def test_edge_upstreams_follow_internal_tls(renders, set_name):
    """Under tls.internal the services' gRPC ports speak TLS only: the edge dials
    https://, with the variables a service uses for its outbound calls, from
    its own cert-manager Secret (and the CA bundle, which replaces the internal
    CA, when set), mounted like a service's. Without it, plain http:// and no
    volume. Its own port stays plain HTTP either way."""
    objs = renders[set_name]
    tls = chartlib.chart().merge_values(valuesets.SETS[set_name])["tls"]
    on, bundle = tls["internal"]["enabled"], tls["caBundle"]["secret"] or tls["caBundle"]["configMap"]
    if not chartlib.chart().merge_values(valuesets.SETS[set_name])["edge"]["enabled"]:
        assert "yeyak-edge" not in {o.name for o in objs}
        return
    data = config(objs, "edge")
    scheme = "https" if on else "http"
    listeners = {"YEYAK_HTTP_ADDR", "YEYAK_METRICS_ADDR"}
    assert {k: v for k, v in data.items() if k.endswith("_ADDR") and k not in listeners} == {
        f"YEYAK_{s.upper()}_ADDR": f"{scheme}://yeyak-{s}:50051" for s in UPSTREAMS}
    assert data["YEYAK_HTTP_ADDR"] == "0.0.0.0:8090"
    assert data["YEYAK_METRICS_ADDR"] == "0.0.0.0:9100"   # its own series, plain HTTP like the services'
    spec = pod_spec(find(objs, "Deployment", "yeyak-edge"))
    container = spec["containers"][0]
    assert container["ports"] == [{"name": "http", "containerPort": 8090, "protocol": "TCP"},
                                  {"name": "metrics", "containerPort": 9100, "protocol": "TCP"}]
    assert "env" not in container   # nothing from a Secret: the key is a mounted file
    got_tls = {k: v for k, v in data.items() if k.startswith("YEYAK_TLS_")}
    if not on:
        assert got_tls == {}
        assert "volumes" not in spec and "volumeMounts" not in container
        return
    # A client only: no server certificate, no client CA, no health port.
    assert got_tls == {**CLIENT_TLS, "YEYAK_TLS_CA_FILE": CA_BUNDLE_FILE if bundle else f"{TLS_DIR}/ca.crt"}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert set(volumes) == ({"tls", "ca-bundle"} if bundle else {"tls"})
    secret = volumes["tls"]["secret"]
    assert secret["secretName"] == "yeyak-edge-tls"
    assert secret["defaultMode"] == 0o440
    assert [i["key"] for i in secret["items"]] == ["tls.crt", "tls.key", "ca.crt"]
    if bundle:
        reservation_volumes = {v["name"]: v for v in pod_spec(find(objs, "Deployment", "yeyak-reservation"))["volumes"]}
        assert volumes["ca-bundle"] == reservation_volumes["ca-bundle"]   # the very volume a service gets
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert set(mounts) == set(volumes)
    assert all(m["readOnly"] and "subPath" not in m for m in mounts.values())
    assert mounts["tls"]["mountPath"] == TLS_DIR
    if bundle:
        assert mounts["ca-bundle"]["mountPath"] == CA_BUNDLE_FILE.rsplit("/", 1)[0]
    # The same files and variables reservation's outbound calls use.
    reservation = config(objs, "reservation")
    assert {k: reservation[k] for k in got_tls} == got_tls
    assert reservation["YEYAK_ELIGIBILITY_ADDR"] == data["YEYAK_ELIGIBILITY_ADDR"]
    # The static server calls nothing: still no volume.
    if "yeyak-static" in {o.name for o in objs}:
        static = pod_spec(find(objs, "Deployment", "yeyak-static"))
        assert "volumes" not in static and "volumeMounts" not in static["containers"][0]
        assert not {k for k in config(objs, "static") if k.startswith("YEYAK_TLS_")}


def test_edge_tls_secret_follows_the_suffix_and_the_notes_name_it():
    values = chartlib.deep_merge(valuesets.TLS, {"tls": {"internal": {"secretSuffix": "mtls"}}})
    spec = pod_spec(find(render(values), "Deployment", "yeyak-edge"))
    assert {v["name"]: v for v in spec["volumes"]}["tls"]["secret"]["secretName"] == "yeyak-edge-mtls"
    assert "yeyak-edge-mtls" in chartlib.notes(values)
    assert "yeyak-edge-tls" not in chartlib.notes(valuesets.PRODUCTION)
    # The services keep their own Secrets: the edge's is not one of theirs.
    for service, dep in service_deployments(render(values)).items():
        assert {v["name"]: v for v in pod_spec(dep)["volumes"]}["tls"]["secret"]["secretName"] == f"yeyak-{service}-mtls"


def test_static_server_when_enabled(renders):
    objs = renders["network"]
    assert sorted(o.kind for o in objs if o.name == "yeyak-static") == [
        "ConfigMap", "Deployment", "NetworkPolicy", "PodDisruptionBudget", "Service"]
    data = config(objs, "static")
    assert data["YEYAK_EDGE_URL"] == valuesets.EDGE_URL
    assert data["YEYAK_QUEUE_ID"] == "demo"   # the event the page joins, in /config.json
    assert data["YEYAK_CHANGES_QUEUE_ID"] == "demo-changes"   # and the line for changes
    assert "YEYAK_DEMO_PHONES" not in data     # dev stacks only; the server refuses it outside dev mode
    assert data["YEYAK_HTTP_ADDR"] == "0.0.0.0:8080"
    assert data["YEYAK_STATIC_DIR"].startswith("/")   # baked into the image (test_dockerfile.py)


@pytest.mark.parametrize("origin", [
    "*", "https://*.example.kr", "booking.example.kr", "https://booking.example.kr/", "https://booking.example.kr/app",
    "https://a.example.kr,https://b.example.kr", "null", ""])
def test_schema_refuses_an_inexact_origin(origin):
    with pytest.raises(HelmError) as err:
        chartlib.chart().validate_schema({"edge": {"allowedOrigins": [origin]}})
    assert "edge/allowedOrigins" in str(err.value), str(err.value)


def test_schema_accepts_exact_origins():
    chartlib.chart().validate_schema({"edge": {"allowedOrigins": [
        "https://booking.example.kr", "http://localhost:8080", "https://[2001:db8::1]:8443"]}})


@pytest.mark.parametrize("values,fragment", [
    ({"edge": {"replica": 3}}, "replica"),
    ({"edge": {"port": 80}}, "edge/port"),
    ({"edge": {"maxInFlight": 0}}, "maxInFlight"),
    ({"edge": {"env": {"YEYAK_DATABASE_URL": "postgres://u:p@db/x"}}}, "YEYAK_DATABASE_URL"),
    ({"static": {"edgeUrl": "https://api.example.kr; script-src *"}}, "static/edgeUrl"),
    ({"static": {"enabld": True}}, "enabld"),
    ({"static": {"queueId": "round 3"}}, "static/queueId"),
])
def test_schema_refuses_typos_and_wrong_values(values, fragment):
    with pytest.raises(HelmError) as err:
        chartlib.chart().validate_schema(values)
    assert fragment in str(err.value), str(err.value)


def test_http_probes_and_ports(renders):
    objs = renders["network"]
    for name, port in PORTS.items():
        dep = find(objs, "Deployment", f"yeyak-{name}")
        container = pod_spec(dep)["containers"][0]
        metrics = [{"name": "metrics", "containerPort": 9100, "protocol": "TCP"}] if name == "edge" else []
        assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}, *metrics]
        assert container["command"] == [f"/usr/local/bin/yeyak-{name}"]
        for probe, path in (("startupProbe", "/healthz"), ("readinessProbe", READINESS[name]),
                            ("livenessProbe", "/healthz")):
            assert container[probe]["httpGet"] == {"path": path, "port": "http"}, (name, probe)
        service = find(objs, "Service", f"yeyak-{name}")
        metrics = [{"name": "metrics", "port": 9100, "targetPort": "metrics", "protocol": "TCP"}] if name == "edge" else []
        assert service["spec"]["ports"] == [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}, *metrics]
        assert find(objs, "PodDisruptionBudget", f"yeyak-{name}")["spec"]["maxUnavailable"] == 1
        # The edge's series are scraped like a service's; the static server has none.
        monitors = by_kind([o for o in objs if o.name == f"yeyak-{name}"], "ServiceMonitor")
        assert len(monitors) == (1 if name == "edge" else 0), name


@pytest.mark.parametrize("max_ms,pre_stop", [(30000, 5), (60000, 0), (1500, 10)])
def test_edge_grace_covers_the_longest_call(max_ms, pre_stop):
    """The edge lets calls in flight finish on SIGTERM, and one may last maxDeadlineMs."""
    values = chartlib.deep_merge(valuesets.PRODUCTION, {
        "edge": {"maxDeadlineMs": max_ms, "defaultDeadlineMs": min(max_ms, 10000)},
        "common": {"preStopSleepSeconds": pre_stop}})
    spec = pod_spec(find(render(values), "Deployment", "yeyak-edge"))
    assert spec["terminationGracePeriodSeconds"] > pre_stop + max_ms / 1000
    lifecycle = spec["containers"][0].get("lifecycle")
    assert lifecycle == ({"preStop": {"sleep": {"seconds": pre_stop}}} if pre_stop else None)


def test_edge_autoscales_alone():
    before = render(valuesets.PRODUCTION)
    after = render(with_edge(autoscaling={"enabled": True, "maxReplicas": 40}))
    assert render_diff(before, after) == [
        "Deployment/yeyak/yeyak-edge.spec.replicas: removed",
        "HorizontalPodAutoscaler/yeyak/yeyak-edge: added",
    ]
    hpa = find(after, "HorizontalPodAutoscaler", "yeyak-edge")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "yeyak-edge"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 40)
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    schedule = {"start": "30 19 * * *", "end": "30 21 * * *", "desiredReplicas": 30}
    scaled = render(with_edge(autoscaling={"enabled": True}, preScaling={"enabled": True, "schedules": [schedule]}))
    assert [s.name for s in by_kind(scaled, "ScaledObject")] == ["yeyak-edge"]
    assert by_kind(scaled, "HorizontalPodAutoscaler") == []


def test_trusted_proxies_are_the_operators_to_give():
    """The chart cannot know the edge pods' addresses: it adds no CIDR of its
    own to admission's YEYAK_TRUSTED_PROXIES, and NOTES.txt says to list them."""
    assert "YEYAK_TRUSTED_PROXIES" not in config(render(valuesets.PRODUCTION), "admission")
    given = chartlib.deep_merge(valuesets.PRODUCTION, {"joinLimits": {"trustedProxies": ["10.244.0.0/16"]}})
    assert config(render(given), "admission")["YEYAK_TRUSTED_PROXIES"] == "10.244.0.0/16"
    notes = chartlib.notes(valuesets.PRODUCTION)
    assert "yeyak-edge:8090" in notes and "edge pods' CIDR" in notes and "joinLimits.trustedProxies" in notes
    assert "edge pods' CIDR" not in chartlib.notes(with_edge(enabled=False))
    values = chartlib.chart().values
    assert "edge" in values and "trustedProxies" in values["joinLimits"]
    text = (chartlib.CHART_DIR / "values.yaml").read_text()
    assert "list its pods' CIDR" in text.split("joinLimits:")[0]
