"""The chart-driven run (issue 16, section 4): the chart rendered with the mocks
on and mutual TLS between the services (`tls.internal.enabled`, certificates
from a test CA made by `yeyak-dev certs` as cert-manager's Secrets), every
Deployment started as local processes exactly as rendered (see cluster.py),
TLS checked where the chart turns it on (TLS-only gRPC ports, client
certificates on inventory's internal port, plaintext probes on the health
port), the demo booking through them over TLS, identity re-rendered to 3
replicas (only identity's processes change), and one identity replica deleted
during a stream of verifications with no verification failing. After the
booking a real Prometheus scrapes every pod: every dashboard panel's query
returns data and every rule evaluates (prom.py, issue 19). The browser edge
runs too, as rendered with TLS: https:// upstreams, its own client certificate
(yeyak-edge-tls) and the CA, and a browser's call through it reaches inventory's
TLS-only port; test_edge_run.py runs a browser's whole session through it,
from a render without TLS.
"""
from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "scripts" / "deploy"))

import chartlib  # noqa: E402
import prom  # noqa: E402
import grpc  # noqa: E402
from cluster import BIN, NAMESPACE, ROOT, Cluster, make_workdir, namespace_of  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from proxy import free_port  # noqa: E402

PRE_STOP_SECONDS = 1
GRACE_MS = 4000
SERVICES = ("admission", "identity", "eligibility", "inventory", "reservation", "notification")
EDGE_UPSTREAMS = ("admission", "identity", "eligibility", "inventory", "reservation")
GRPC, INTERNAL, EDGE_HTTP = 50051, 50061, 8090
PAGE = "https://booking.example.kr"


def dev_keys() -> dict:
    out = subprocess.run([str(BIN / "yeyak-dev"), "keys"], check=True, capture_output=True, text=True).stdout
    keys = {}
    for line in out.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        keys[name] = value.strip("'")
    return keys


def values(keys: dict, identity_replicas: int) -> dict:
    rules = (ROOT / "services" / "eligibility" / "rules" / "demo.toml").read_text()
    return {
        # Production: every service refuses to start unless the Secrets and
        # the chart's wiring give it its keys.
        "environment": "production",
        "queueIds": ["demo"],
        "trustedKeys": keys["YEYAK_TRUSTED_KEYS"].split(","),
        # Reservation seals phone numbers to it; notification opens them
        # with the matching secret (yeyak-notification-keys).
        "contactPublicKey": keys["YEYAK_CONTACT_PUBLIC_KEY"],
        # Mutual TLS between the services: TLS-only gRPC ports, client
        # certificates on the internal port, probes on the plaintext health port.
        "tls": {"internal": {"enabled": True}},
        # The edge dials the TLS-only ports over https:// with its own
        # client certificate (assert_edge_over_tls); its origins are required
        # in production.
        "edge": {"replicas": 1, "allowedOrigins": [PAGE]},
        "common": {"shutdownGraceMs": GRACE_MS, "preStopSleepSeconds": PRE_STOP_SECONDS, "logFilter": "info,h2=warn"},
        "mocks": {"enabled": True, "registry": {"seedCount": 60000}},
        "inventory": {"env": {"YEYAK_SEED_CLINICS_PER_DISTRICT": "1", "YEYAK_SEED_DAYS": "3"}},
        # The mock third parties speak plain HTTP, which production refuses
        # unless allowed: the chart allows it to their callers (mocks on).
        "eligibility": {"rules": {"toml": rules}},
        # The stream below verifies the same few people again and again.
        "identity": {"replicas": identity_replicas, "env": {
            "YEYAK_MAX_ATTEMPTS_PER_PASS": "100000", "YEYAK_MAX_ATTEMPTS_PER_PHONE": "100000",
            "YEYAK_MAX_ATTEMPTS_PER_SUBJECT": "100000"}},
        "admission": {"env": {"YEYAK_ADMISSION_RATE": "200"}},
    }


@pytest.fixture(scope="module")
def infra():
    """A private Redis, a RabbitMQ vhost and fresh databases: nothing shared with other runs."""
    tag = uuid.uuid4().hex[:10]
    redis_port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], stdout=subprocess.DEVNULL)
    vhost = f"chart-run-{tag}"
    for args in (["add_vhost", vhost], ["set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"]):
        subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)
    pg = "postgres://postgres@127.0.0.1:5432"
    dbs = {name: f"yeyak_chartrun_{tag}_{name}" for name in ("admission", "inventory", "reservation", "notification", "registry")}
    yield {"redis": f"redis://127.0.0.1:{redis_port}/0", "amqp": f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
           "db": {name: f"{pg}/{db}" for name, db in dbs.items()}}
    redis.terminate()
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True, timeout=60)
    for db in dbs.values():
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc",
                        f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'], capture_output=True)


def platform_secrets(keys: dict, infra: dict) -> dict:
    """The Secrets a platform team creates before `helm install` (docs/deployment.md)."""
    ticket_key = "t1:" + base64.b64encode(secrets.token_bytes(32)).decode()
    return {
        ("yeyak", "yeyak-admission-keys"): {"YEYAK_SIGNING_KEY": keys["YEYAK_ADMISSION_SIGNING_KEY"],
                                            "YEYAK_TICKET_KEYS": ticket_key,
                                            "YEYAK_OPERATOR_TOKEN": keys["YEYAK_OPERATOR_TOKEN"]},
        ("yeyak", "yeyak-identity-keys"): {"YEYAK_SIGNING_KEY": keys["YEYAK_IDENTITY_SIGNING_KEY"],
                                           "YEYAK_SUBJECT_HASH_KEY": keys["YEYAK_SUBJECT_HASH_KEY"]},
        ("yeyak", "yeyak-notification-keys"): {"YEYAK_CONTACT_KEYS": keys["YEYAK_CONTACT_KEYS"]},
        ("yeyak", "yeyak-database"): {f"{n}-url": infra["db"][n] for n in ("admission", "inventory", "reservation", "notification")},
        ("yeyak", "yeyak-redis"): {"url": infra["redis"]},
        ("yeyak", "yeyak-amqp"): {"url": infra["amqp"]},
        ("yeyak-registry", "yeyak-registry"): {"YEYAK_DATABASE_URL": infra["db"]["registry"],
                                               "YEYAK_SUBJECT_HASH_KEY": keys["YEYAK_SUBJECT_HASH_KEY"]},
    }


def deployments(objects: list) -> list:
    return [o for o in objects if o["kind"] == "Deployment"]


def tls_secrets(objects: list, certs: Path) -> dict:
    """The Secrets cert-manager would write for `tls.internal` (one per service
    and one for the edge, `<fullname>-<name>-tls`: tls.crt, tls.key, ca.crt), for
    exactly the Secrets the rendered Deployments mount, from one test CA
    (`yeyak-dev certs`)."""
    mounted = {(namespace_of(d), v["secret"]["secretName"])
               for d in deployments(objects) for v in d["spec"]["template"]["spec"].get("volumes", [])
               if v["name"] == "tls"}
    assert mounted == {(NAMESPACE, f"yeyak-{s}-tls") for s in (*SERVICES, "edge")}, mounted
    names = sorted(secret.removesuffix("-tls") for _, secret in mounted)  # each Service's name
    subprocess.run([str(BIN / "yeyak-dev"), "certs", "--dir", str(certs), "--namespace", NAMESPACE, *names],
                   check=True, capture_output=True, text=True)
    return {(NAMESPACE, f"{name}-tls"): {key: (certs / name / key).read_text() for key in ("tls.crt", "tls.key", "ca.crt")}
            for name in names}


def health(target: str, credentials: grpc.ChannelCredentials | None = None, *, name: str | None = None,
           service: str = "") -> str:
    """A gRPC health check of `target`: SERVING, NOT_SERVING, or the status code
    of the failure (UNAVAILABLE when the connection or the handshake fails).
    Plaintext without `credentials`; with them TLS, checking the certificate
    against `name` (the Service's DNS name) instead of the dialled 127.0.0.1."""
    options = [("grpc.use_local_subchannel_pool", 1)]  # no connection shared with another check
    if name:
        options.append(("grpc.ssl_target_name_override", name))
    channel = grpc.secure_channel(target, credentials, options) if credentials else grpc.insecure_channel(target, options)
    with channel:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=3)
        except grpc.RpcError as e:
            return e.code().name
        return health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)


def assert_tls_as_rendered(cluster: Cluster, certs: Path, workdir: Path) -> None:
    """What `tls.internal.enabled` promises, checked on the running processes."""
    ca = (certs / "ca.crt").read_bytes()
    server_only = grpc.ssl_channel_credentials(root_certificates=ca)
    svc = cluster.service_address
    for s in SERVICES:
        name = f"yeyak-{s}"
        # The public port speaks TLS only: no plaintext, TLS with the CA
        # and the Service's name, no client certificate asked.
        assert health(svc(name, GRPC)) == "UNAVAILABLE", f"{name}'s grpc port answers plaintext"
        assert health(svc(name, GRPC), server_only, name=name) == "SERVING", f"{name}: no TLS on grpc"
        assert health(svc(name, GRPC), server_only, name=f"{name}.{NAMESPACE}.svc.cluster.local") == "SERVING"
        workload = cluster.workloads[(NAMESPACE, name)]
        container = workload.obj["spec"]["template"]["spec"]["containers"][0]
        for pod in cluster.live(workload):
            # Every probe as rendered asks the `health` port, which answers
            # plaintext (the pods got ready through it: `grpc` refuses plaintext).
            health_port = pod.port_names["health"]
            for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert container[kind]["grpc"]["port"] == health_port, f"{pod.name}: {kind} {container[kind]}"
                probed = f"127.0.0.1:{pod.local_port(container[kind]['grpc']['port'])}"
                assert health(probed, service=container[kind]["grpc"]["service"]) == "SERVING", f"{pod.name}: {kind}"
            assert health(f"127.0.0.1:{pod.local_port('grpc')}") == "UNAVAILABLE", f"{pod.name}: plaintext on grpc"
            assert pod.env["YEYAK_HEALTH_GRPC_ADDR"] == f"127.0.0.1:{pod.local_port('health')}"

    # Inventory's internal port requires a client certificate from the CA.
    internal = svc("yeyak-inventory", INTERNAL)
    reservation_cert = certs / "yeyak-reservation"
    with_client_cert = grpc.ssl_channel_credentials(
        root_certificates=ca, private_key=(reservation_cert / "tls.key").read_bytes(),
        certificate_chain=(reservation_cert / "tls.crt").read_bytes())
    assert health(internal, with_client_cert, name="yeyak-inventory") == "SERVING"
    assert health(internal, server_only, name="yeyak-inventory") == "UNAVAILABLE", "no client certificate accepted"
    assert health(internal) == "UNAVAILABLE", "inventory's internal port answers plaintext"
    elsewhere = workdir / "other-ca"
    subprocess.run([str(BIN / "yeyak-dev"), "certs", "--dir", str(elsewhere), "--namespace", NAMESPACE, "intruder"],
                   check=True, capture_output=True)
    other_cert = grpc.ssl_channel_credentials(
        root_certificates=ca, private_key=(elsewhere / "intruder" / "tls.key").read_bytes(),
        certificate_chain=(elsewhere / "intruder" / "tls.crt").read_bytes())
    assert health(internal, other_cert, name="yeyak-inventory") == "UNAVAILABLE", "another CA's client certificate accepted"

    # Reservation calls both over https, through the Services, with its own
    # certificate as the client certificate and the CA from its Secret.
    for pod in cluster.live(cluster.workloads[(NAMESPACE, "yeyak-reservation")]):
        assert pod.env["YEYAK_ELIGIBILITY_ADDR"] == f"https://{svc('yeyak-eligibility', GRPC)}", pod.env
        assert pod.env["YEYAK_INVENTORY_ADDR"] == f"https://{svc('yeyak-inventory', INTERNAL)}", pod.env
        tls_dir = Path(pod.env["YEYAK_TLS_CLIENT_CERT_FILE"]).parent
        assert (tls_dir / "tls.crt").read_text() == (reservation_cert / "tls.crt").read_text()
        assert Path(pod.env["YEYAK_TLS_CA_FILE"]).read_bytes() == ca

    assert_edge_over_tls(cluster, certs)


def browser_call(edge: str, path: str) -> int:
    """One empty unary gRPC-Web call from the page's origin: its grpc-status
    (in the headers when trailers-only, else in the trailer frame)."""
    request = urllib.request.Request(f"http://{edge}{path}", data=b"\x00\x00\x00\x00\x00", method="POST", headers={
        "content-type": "application/grpc-web+proto", "accept": "application/grpc-web+proto",
        "x-grpc-web": "1", "origin": PAGE})
    with urllib.request.urlopen(request, timeout=20) as response:
        assert response.status == 200, response.status
        status = response.headers.get("grpc-status")
        body = response.read()
    while status is None and body:
        flag, length = body[0], int.from_bytes(body[1:5], "big")
        payload, body = body[5:5 + length], body[5 + length:]
        if flag & 0x80:
            for line in payload.decode().split("\r\n"):
                key, _, value = line.partition(":")
                if key.strip().lower() == "grpc-status":
                    status = value.strip()
    assert status is not None, "no grpc-status"
    return int(status)


def handled_codes(cluster: Cluster, workload: str, method: str) -> dict:
    """{grpc_code: calls} the pods of `workload` handled for `method`, from their /metrics."""
    out: dict = {}
    for pod in cluster.live(cluster.workloads[(NAMESPACE, workload)]):
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{pod.local_port('metrics')}/metrics", timeout=5).read().decode()
        for line in metrics.splitlines():
            if line.startswith("grpc_server_handled_total") and f'grpc_method="{method}"' in line:
                code = line.split('grpc_code="', 1)[1].split('"', 1)[0]
                out[code] = out.get(code, 0) + int(float(line.rsplit(" ", 1)[1]))
    return out


def assert_edge_over_tls(cluster: Cluster, certs: Path) -> None:
    """The edge as rendered with `tls.internal`: https:// to the five public
    services through their Services, its own certificate as the client
    certificate, the internal CA trusted; no server certificate (its port is
    plain HTTP). A browser's call reaches inventory's TLS-only port through it
    (inventory answers it UNAUTHENTICATED: no pass), so the handshake worked."""
    svc = cluster.service_address
    edge_cert = certs / "yeyak-edge"
    for pod in cluster.live(cluster.workloads[(NAMESPACE, "yeyak-edge")]):
        assert {s: pod.env[f"YEYAK_{s.upper()}_ADDR"] for s in EDGE_UPSTREAMS} == {
            s: f"https://{svc(f'yeyak-{s}', GRPC)}" for s in EDGE_UPSTREAMS}, pod.env
        assert Path(pod.env["YEYAK_TLS_CLIENT_CERT_FILE"]).read_text() == (edge_cert / "tls.crt").read_text()
        assert Path(pod.env["YEYAK_TLS_CLIENT_KEY_FILE"]).read_text() == (edge_cert / "tls.key").read_text()
        assert Path(pod.env["YEYAK_TLS_CA_FILE"]).read_bytes() == (certs / "ca.crt").read_bytes()
        assert not {"YEYAK_TLS_CERT_FILE", "YEYAK_TLS_KEY_FILE", "YEYAK_TLS_CLIENT_CA_FILE"} & set(pod.env), pod.env
    method = "ListRegions"
    before = handled_codes(cluster, "yeyak-inventory", method)
    assert browser_call(svc("yeyak-edge", EDGE_HTTP), f"/yeyak.inventory.v1.InventoryService/{method}") == 16
    after = handled_codes(cluster, "yeyak-inventory", method)
    assert after.get("Unauthenticated", 0) == before.get("Unauthenticated", 0) + 1, (before, after)


def calls_answered(cluster: Cluster, workload: str, rpc_service: str) -> int:
    """Calls to `rpc_service` the pods of `workload` answered OK, from their /metrics."""
    total = 0
    for pod in cluster.live(cluster.workloads[(NAMESPACE, workload)]):
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{pod.local_port('metrics')}/metrics", timeout=5).read().decode()
        total += sum(int(float(line.rsplit(" ", 1)[1])) for line in metrics.splitlines()
                     if line.startswith("grpc_server_handled_total") and f'grpc_service="{rpc_service}"' in line
                     and 'grpc_code="OK"' in line)
    return total


def verifications_served(pod) -> int:
    """CompleteVerification calls a pod answered OK, from its own /metrics."""
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{pod.ports[9100]}/metrics", timeout=5).read().decode()
    return sum(int(float(line.rsplit(" ", 1)[1])) for line in metrics.splitlines()
               if line.startswith("grpc_server_handled_total") and 'grpc_method="CompleteVerification"' in line
               and 'grpc_code="OK"' in line)


def dashboards_and_rules_hold(cluster: Cluster, workdir: Path) -> None:
    targets = {}
    for w in cluster.workloads.values():
        service = w.name.removeprefix("yeyak-")
        # The edge too: assert_edge_over_tls sent it browser calls before this.
        if service in (*SERVICES, "edge"):
            targets[service] = [f"127.0.0.1:{pod.local_port('metrics')}" for pod in cluster.live(w)]
    files = ROOT / "helm" / "yeyak" / "files"
    dashboards = sorted((files / "dashboards").glob("*.json"))
    prometheus = prom.Prometheus(workdir, targets, sorted((files / "rules").glob("*.yml")))
    try:
        prometheus.scraped(samples=5)
        # The booking went through every stage of the funnel, each counted once.
        error, stages = prometheus.query('sum by (stage) (yeyak_funnel_total{event="demo"})')
        reached = {s["metric"]["stage"]: float(s["value"][1]) for s in stages}
        expected = ("joined", "admitted", "identity_started", "verified", "eligible", "searched", "booked", "sms_sent")
        assert not error and {stage: reached.get(stage) for stage in expected} == dict.fromkeys(expected, 1.0), reached
        # The series panels fall back from with `or vector(0)` exist in their own right.
        for expr in ('yeyak_queue_waiting{event="demo"}', 'yeyak_queue_admission_rate_configured{event="demo"}',
                     'yeyak_dependency_up{service="reservation",dependency="postgres"} == 1',
                     'yeyak_dependency_up{service="admission",dependency="redis"} == 1',
                     'yeyak_dependency_up{service="notification",dependency="rabbitmq"} == 1',
                     'yeyak_outbox_oldest_unpublished_seconds{service="reservation"}',
                     'yeyak_consumer_ready_messages{service="notification",queue="notification.sms"}',
                     'yeyak_consumer_dead_letters{service="eligibility",queue="eligibility.bookings"}',
                     'yeyak_db_pool_connections{service="inventory",state="in_use"}',
                     'grpc_client_handled_total{service="reservation",grpc_method="GetSlot",grpc_code="OK"} > 0',
                     'grpc_server_handled_total{service="reservation",grpc_method="CreateReservation",grpc_code="OK"} > 0',
                     'yeyak_edge_calls_total{service="edge",upstream="inventory",action="forwarded"} > 0'):
            error, found = prometheus.query(expr)
            assert not error and found, f"{expr}: {error or 'no series'}"
        runs, dead = prom.dead_panels(prometheus, dashboards)
        print(f"Prometheus: {runs} panel queries over {len(dashboards)} dashboards, {len(dead)} without data")
        assert len(dashboards) >= 4 and runs > 50, (dashboards, runs)
        assert not dead, "\n".join(dead)
        rules = prometheus.rule_health()
        assert len(rules) > 10, rules
        broken = [r for r in rules if r[1] != "ok"]
        assert not broken, broken
    finally:
        prometheus.stop()


def operator_cli_sees_the_evening(cluster: Cluster, keys: dict, ca_file: Path) -> None:
    """yeyak-ctl against the chart's deployment, as an operator runs it: the
    admission API through its Service over TLS with the operators' token,
    and the live view from every pod's metrics port."""
    env = {"PATH": os.environ["PATH"], "YEYAK_CTL_TOKEN": keys["YEYAK_OPERATOR_TOKEN"],
           "YEYAK_CTL_ADMISSION": f"https://{cluster.service_address('yeyak-admission', GRPC)}",
           "YEYAK_CTL_TLS_CA_FILE": str(ca_file),
           "YEYAK_CTL_METRICS": ",".join(f"http://127.0.0.1:{pod.local_port('metrics')}/metrics"
                                         for w in cluster.workloads.values() if w.name.removeprefix("yeyak-") in SERVICES
                                         for pod in cluster.live(w))}
    ctl = [str(BIN / "yeyak-ctl"), "--json"]
    run = subprocess.run(ctl + ["admission", "status", "demo"], env=env, capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stdout + run.stderr
    settings = json.loads(run.stdout)["settings"]
    # The chart wires the automatic rate: on, at the ceiling while the booking path is healthy.
    assert settings["automatic_admission"] is True, settings
    assert 0 < settings["controlled_rate_per_second"] <= settings["rate_per_second"], settings
    assert settings["joined"] >= 1 and settings["admitted"] >= 1, settings
    pods = len(env["YEYAK_CTL_METRICS"].split(","))
    run = subprocess.run(ctl + ["status", "--event", "demo"], env=env, capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stdout + run.stderr
    view = json.loads(run.stdout)
    assert view["answered"] == pods and view["unreachable"] == [], view
    funnel = view["events"]["demo"]["funnel"]
    assert {stage: funnel.get(stage) for stage in ("joined", "booked", "sms_sent")} == {
        "joined": 1.0, "booked": 1.0, "sms_sent": 1.0}, funnel
    # Events as data on the chart's deployment: created, listed beside the configured one, closed.
    def events(*args: str) -> dict:
        run = subprocess.run(ctl + ["events", *args], env=env, capture_output=True, text=True, timeout=30)
        assert run.returncode == 0, run.stdout + run.stderr
        return json.loads(run.stdout)
    made = events("create", "night2", "--title", "Second night", "--opens-at", "2021-07-26 20:00", "--rate", "5")
    assert made["applied"] and made["event"]["opens_at"] == "2021-07-26 20:00", made
    phases = {e["event"]["id"]: e["phase"] for e in events("list")["events"]}
    assert phases == {"demo": "open", "night2": "open"}, phases
    assert events("close", "night2")["applied"]
    assert {e["event"]["id"]: e["phase"] for e in events("list")["events"]}["night2"] == "closed"
    print(f"yeyak-ctl: {pods} metrics endpoints, admission automatic at {settings['controlled_rate_per_second']}/s; events created and closed")


def demo_env(cluster: Cluster, keys: dict, ca_file: Path) -> dict:
    """The demo's and the stream's view: every public gRPC port over TLS (as a
    gateway connects: the internal CA trusted, no client certificate)."""
    svc = cluster.service_address
    idps = ",".join(f"{p}=http://{svc(f'yeyak-mock-idp-{p}', 8080)}" for p in ("carrier-sms", "kakao-cert", "naver-cert", "fin-cert"))
    return {"PATH": os.environ["PATH"],
            **{f"YEYAK_{s.upper()}_ADDR": f"https://{svc(f'yeyak-{s}', GRPC)}" for s in SERVICES},
            "YEYAK_TLS_CA_FILE": str(ca_file),
            "YEYAK_SMS_GATEWAY_URL": f"http://{svc('yeyak-mock-sms', 8080)}", "YEYAK_IDP_URLS": idps,
            "YEYAK_OPERATOR_TOKEN": keys["YEYAK_OPERATOR_TOKEN"]}


def test_the_chart_runs_books_and_scales_identity_alone(infra):
    keys = dev_keys()
    first = chartlib.render(values(keys, identity_replicas=2))
    workdir = make_workdir()
    passed = False
    certs = workdir / "certs"
    cluster = Cluster({**platform_secrets(keys, infra), **tls_secrets(first, certs)}, workdir)
    cluster.load(first)
    cluster.start()
    try:
        # The pre-install hooks: each database is migrated before any pod starts.
        hooks = [o for o in first if o["kind"] == "Job" and chartlib.is_hook(o)]
        assert {h["metadata"]["name"] for h in hooks} == {"yeyak-admission-migrate", "yeyak-inventory-migrate",
                                                           "yeyak-reservation-migrate", "yeyak-notification-migrate"}
        for hook in hooks:
            cluster.run_job(hook)
        for d in deployments(first):
            cluster.apply(d)
        cluster.wait_ready(timeout=180)
        counts = {w.name: len(cluster.live(w)) for w in cluster.workloads.values()}
        assert counts["yeyak-identity"] == 2 and counts["yeyak-reservation"] == 2, counts

        # TLS where the chart turns it on, and nowhere plaintext instead.
        assert_tls_as_rendered(cluster, certs, workdir)

        # The scripted demo booking, through the Services only, over TLS.
        env = demo_env(cluster, keys, certs / "ca.crt")
        catalog_before = calls_answered(cluster, "yeyak-inventory", "yeyak.inventory.v1.SlotCatalogService")
        eligibility_before = calls_answered(cluster, "yeyak-eligibility", "yeyak.eligibility.v1.EligibilityService")
        demo = subprocess.run([str(BIN / "yeyak-dev"), "demo"], env=env, capture_output=True, text=True, timeout=180)
        assert demo.returncode == 0, demo.stdout + demo.stderr
        print(demo.stdout)
        # Reservation reached inventory's internal port (mutual TLS only) and
        # eligibility (TLS only) during the booking.
        assert calls_answered(cluster, "yeyak-inventory", "yeyak.inventory.v1.SlotCatalogService") > catalog_before
        assert calls_answered(cluster, "yeyak-eligibility", "yeyak.eligibility.v1.EligibilityService") > eligibility_before + 1
        sms = json.load(urllib.request.urlopen(f"{env['YEYAK_SMS_GATEWAY_URL']}/v1/messages", timeout=5))
        assert len(sms if isinstance(sms, list) else sms["messages"]) == 1, sms

        # A real Prometheus scraping every pod: every dashboard panel's query
        # returns data after the booking, and every rule evaluates cleanly.
        dashboards_and_rules_hold(cluster, workdir)
        operator_cli_sees_the_evening(cluster, keys, certs / "ca.crt")

        # identity.replicas=3: only identity's processes change.
        second = chartlib.render(values(keys, identity_replicas=3))
        before = {w.name: (w.spec_without_replicas(), w.obj["spec"].get("replicas")) for w in cluster.workloads.values()}
        spec_changed, replicas_changed = set(), set()
        for d in deployments(second):
            spec = dict(d["spec"])
            replicas = spec.pop("replicas", None)
            old_spec, old_replicas = before[d["metadata"]["name"]]
            if spec != old_spec:
                spec_changed.add(d["metadata"]["name"])
            if replicas != old_replicas:
                replicas_changed.add(d["metadata"]["name"])
        assert (spec_changed, replicas_changed) == (set(), {"yeyak-identity"})
        pids = {w.name: sorted(p.process.pid for p in cluster.live(w)) for w in cluster.workloads.values()}
        for d in deployments(second):
            cluster.apply(d)
        cluster.wait_ready(timeout=60)
        for w in cluster.workloads.values():
            now = sorted(p.process.pid for p in cluster.live(w))
            if w.name == "yeyak-identity":
                assert len(now) == 3 and set(pids[w.name]) < set(now)
            else:
                assert now == pids[w.name], f"{w.name} restarted"

        # A stream of verifications while one identity replica is deleted.
        stream = subprocess.Popen([str(BIN / "yeyak-dev"), "verify-stream", "--workers", "4", "--seconds", "12"],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(4)
        identity = next(w for w in cluster.workloads.values() if w.name == "yeyak-identity")
        # The replica serving most of the stream's long-lived connections goes.
        victim = max(cluster.live(identity), key=verifications_served)
        served_before = verifications_served(victim)
        assert served_before > 0, "the stream reaches no identity replica"
        took = cluster.terminate(victim, pre_stop=PRE_STOP_SECONDS, grace=GRACE_MS / 1000 + 5)
        output, _ = stream.communicate(timeout=60)
        report = json.loads(next(line for line in reversed(output.splitlines()) if line.startswith("{")))
        print(f"verification stream during the replica's deletion: {report}; the deleted replica had served "
              f"{served_before}; SIGTERM to exit {took:.2f}s")
        assert report["failed"] == 0 and report["verified"] >= 20, output
        assert stream.returncode == 0, output
        assert took < GRACE_MS / 1000 + 1, f"the replica took {took:.1f}s to exit"
        passed = True
    finally:
        cluster.stop()
        # Throwaway keys and certificates never outlive the run; the pods'
        # logs stay when it failed, to read.
        for secret_dir in ("certs", "other-ca", "volumes"):
            shutil.rmtree(workdir / secret_dir, ignore_errors=True)
        if passed:
            shutil.rmtree(workdir, ignore_errors=True)
