"""Probes and shutdown: native gRPC probes on the right health names, and a
termination grace longer than the preStop pause plus the drain."""

from __future__ import annotations

import re

import pytest

import chartlib
import valuesets
from deploytest import SERVICES, WEB_COMPONENTS, by_kind, pod_spec, render, service_deployments

REPO = chartlib.ROOT
# The health name each service reports SERVING under once its dependencies
# are up: its public gRPC service's full name.
HEALTH = {
    "admission": "yeyak.admission.v1.AdmissionService",
    "identity": "yeyak.identity.v1.IdentityService",
    "eligibility": "yeyak.eligibility.v1.EligibilityService",
    "inventory": "yeyak.inventory.v1.InventoryService",
    "reservation": "yeyak.reservation.v1.ReservationService",
    "notification": "yeyak.notification.v1.NotificationService",
}
LIVENESS = "yeyak.liveness"


def test_health_names_are_the_proto_services():
    for service, name in HEALTH.items():
        package, _, short = name.rpartition(".")
        proto = (REPO / "proto" / package.replace(".", "/") / f"{service}.proto").read_text()
        assert re.search(rf"^package {re.escape(package)};", proto, re.M), name
        assert re.search(rf"^service {short} \{{", proto, re.M), name


def test_liveness_name_is_the_platforms():
    source = (REPO / "crates" / "yeyak-platform" / "src" / "grpc" / "server.rs").read_text()
    assert f'"{LIVENESS}"' in source, "the platform no longer serves the liveness name the chart probes"


@pytest.mark.parametrize("set_name", list(valuesets.SETS))
def test_native_grpc_probes(renders, set_name):
    tls = chartlib.chart().merge_values(valuesets.SETS[set_name])["tls"]["internal"]["enabled"]
    for service, dep in service_deployments(renders[set_name]).items():
        container = pod_spec(dep)["containers"][0]
        # With TLS the gRPC ports speak TLS only, which the kubelet's probes
        # cannot: they ask the plaintext health-only port (test_tls.py).
        port_name = "health" if tls else "grpc"
        probe_port = next(p["containerPort"] for p in container["ports"] if p["name"] == port_name)
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            spec = container[probe]
            assert set(spec) & {"grpc", "httpGet", "tcpSocket", "exec"} == {"grpc"}, (service, probe)
            assert spec["grpc"]["port"] == probe_port, (service, probe)
        assert container["startupProbe"]["grpc"]["service"] == HEALTH[service]
        assert container["readinessProbe"]["grpc"]["service"] == HEALTH[service]
        # Liveness asks only whether the process serves: a dependency outage
        # (NOT_SERVING on the service's own name) never restarts pods.
        assert container["livenessProbe"]["grpc"]["service"] == LIVENESS
        # Startup gives a slow dependency time before liveness takes over.
        startup = container["startupProbe"]
        assert startup["periodSeconds"] * startup["failureThreshold"] >= 60


def test_mock_probes_are_http(renders):
    for dep in by_kind(renders["mocks"], "Deployment"):
        if dep.name.removeprefix("yeyak-") in SERVICES + WEB_COMPONENTS:
            continue
        container = pod_spec(dep)["containers"][0]
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}, dep.name


@pytest.mark.parametrize("common", [
    {},
    {"shutdownGraceMs": 30000, "preStopSleepSeconds": 10},
    {"shutdownGraceMs": 25500, "preStopSleepSeconds": 0},
    {"shutdownGraceMs": 1000, "preStopSleepSeconds": 60},
], ids=["defaults", "30s+10s", "25.5s+0s", "1s+60s"])
def test_termination_grace_covers_prestop_and_drain(common):
    values = chartlib.deep_merge(valuesets.PRODUCTION, {"common": common})
    objs = render(values)
    settings = chartlib.chart().merge_values(values)["common"]
    grace_ms, sleep_s = settings["shutdownGraceMs"], settings["preStopSleepSeconds"]
    for service, dep in service_deployments(objs).items():
        spec = pod_spec(dep)
        container = spec["containers"][0]
        # The native sleep action: the images have no shell for `exec: sleep`.
        # Kubernetes 1.32 refuses a 0 s sleep (PodLifecycleSleepActionAllowZero
        # is alpha), so no pause means no hook.
        if sleep_s:
            assert container["lifecycle"]["preStop"] == {"sleep": {"seconds": sleep_s}}, service
        else:
            assert "lifecycle" not in container, service
        assert spec["terminationGracePeriodSeconds"] > grace_ms / 1000 + sleep_s, service
        config = next(c["data"] for c in by_kind(objs, "ConfigMap") if c.name == f"yeyak-{service}")
        assert config["YEYAK_SHUTDOWN_GRACE_MS"] == str(grace_ms)
