"""The chart-driven run (issue 16, section 4): the chart rendered with the mocks
on, every Deployment started as local processes exactly as rendered (see
cluster.py), the demo booking through them, identity re-rendered to 3 replicas
(only identity's processes change), and one identity replica deleted during a
stream of verifications with no verification failing.
"""
from __future__ import annotations

import base64
import json
import os
import secrets
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
from cluster import BIN, ROOT, Cluster, make_workdir  # noqa: E402
from proxy import free_port  # noqa: E402

PRE_STOP_SECONDS = 1
GRACE_MS = 4000


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
    dbs = {name: f"yeyak_chartrun_{tag}_{name}" for name in ("inventory", "reservation", "notification", "registry")}
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
        ("yeyak", "yeyak-database"): {f"{n}-url": infra["db"][n] for n in ("inventory", "reservation", "notification")},
        ("yeyak", "yeyak-redis"): {"url": infra["redis"]},
        ("yeyak", "yeyak-amqp"): {"url": infra["amqp"]},
        ("yeyak-registry", "yeyak-registry"): {"YEYAK_DATABASE_URL": infra["db"]["registry"],
                                               "YEYAK_SUBJECT_HASH_KEY": keys["YEYAK_SUBJECT_HASH_KEY"]},
    }


def deployments(objects: list) -> list:
    return [o for o in objects if o["kind"] == "Deployment"]


def verifications_served(pod) -> int:
    """CompleteVerification calls a pod answered OK, from its own /metrics."""
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{pod.ports[9100]}/metrics", timeout=5).read().decode()
    return sum(int(float(line.rsplit(" ", 1)[1])) for line in metrics.splitlines()
               if line.startswith("yeyak_grpc_server_requests_total") and "CompleteVerification" in line and 'code="OK"' in line)


def demo_env(cluster: Cluster, keys: dict) -> dict:
    svc = cluster.service_address
    idps = ",".join(f"{p}=http://{svc(f'yeyak-mock-idp-{p}', 8080)}" for p in ("carrier-sms", "kakao-cert", "naver-cert", "fin-cert"))
    return {"PATH": os.environ["PATH"],
            **{f"YEYAK_{s.upper()}_ADDR": svc(f"yeyak-{s}", 50051)
               for s in ("admission", "identity", "eligibility", "inventory", "reservation", "notification")},
            "YEYAK_SMS_GATEWAY_URL": f"http://{svc('yeyak-mock-sms', 8080)}", "YEYAK_IDP_URLS": idps,
            "YEYAK_OPERATOR_TOKEN": keys["YEYAK_OPERATOR_TOKEN"]}


def test_the_chart_runs_books_and_scales_identity_alone(infra):
    keys = dev_keys()
    first = chartlib.render(values(keys, identity_replicas=2))
    cluster = Cluster(platform_secrets(keys, infra), make_workdir())
    cluster.load(first)
    cluster.start()
    try:
        # The pre-install hooks: each database is migrated before any pod starts.
        hooks = [o for o in first if o["kind"] == "Job" and chartlib.is_hook(o)]
        assert {h["metadata"]["name"] for h in hooks} == {"yeyak-inventory-migrate", "yeyak-reservation-migrate",
                                                           "yeyak-notification-migrate"}
        for hook in hooks:
            cluster.run_job(hook)
        for d in deployments(first):
            cluster.apply(d)
        cluster.wait_ready(timeout=180)
        counts = {w.name: len(cluster.live(w)) for w in cluster.workloads.values()}
        assert counts["yeyak-identity"] == 2 and counts["yeyak-reservation"] == 2, counts

        # The scripted demo booking, through the Services only.
        env = demo_env(cluster, keys)
        demo = subprocess.run([str(BIN / "yeyak-dev"), "demo"], env=env, capture_output=True, text=True, timeout=180)
        assert demo.returncode == 0, demo.stdout + demo.stderr
        print(demo.stdout)
        sms = json.load(urllib.request.urlopen(f"{env['YEYAK_SMS_GATEWAY_URL']}/v1/messages", timeout=5))
        assert len(sms if isinstance(sms, list) else sms["messages"]) == 1, sms

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
    finally:
        cluster.stop()
