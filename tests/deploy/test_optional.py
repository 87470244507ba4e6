"""Objects of optional APIs: the ServiceMonitor (Prometheus Operator) and the
KEDA ScaledObject for pre-scaling before an opening."""

from __future__ import annotations

import zoneinfo

import pytest
from helm_python.errors import HelmError

import chartlib
import k8svalidate
import valuesets
from deploytest import SERVICES, by_kind, render

SERVICE_MONITOR_API = "monitoring.coreos.com/v1/ServiceMonitor"


@pytest.mark.parametrize("enabled,force,api,rendered", [
    (True, False, False, False),    # the default on a cluster without the Operator
    (True, False, True, True),      # the Operator's API is served
    (True, True, False, True),      # forced (e.g. `helm template` in a pipeline)
    (False, False, True, False),
    (False, True, True, False),
])
def test_service_monitor_only_when_the_api_exists_or_forced(enabled, force, api, rendered):
    values = chartlib.deep_merge(valuesets.PRODUCTION,
                                 {"metrics": {"serviceMonitor": {"enabled": enabled, "force": force}}})
    objs = render(values, api_versions=[SERVICE_MONITOR_API] if api else [])
    monitors = by_kind(objs, "ServiceMonitor")
    if not rendered:
        assert monitors == []
        return
    # The services and the edge (on in PRODUCTION); the static server has no series.
    assert sorted(m.name for m in monitors) == sorted(f"yeyak-{s}" for s in [*SERVICES, "edge"])
    assert k8svalidate.all_errors(monitors) == []
    for monitor in monitors:
        # honorLabels: the services' own `service` label (admission, ...) stays
        # `service`, as the dashboards and alerts select it (docs/operations.md).
        assert monitor["spec"]["endpoints"] == [
            {"port": "metrics", "path": "/metrics", "interval": "15s", "honorLabels": True}]


def test_service_monitor_extra_labels():
    """Prometheus selects ServiceMonitors by label (e.g. release: kube-prometheus-stack)."""
    values = chartlib.deep_merge(valuesets.PRODUCTION, {"metrics": {"serviceMonitor": {
        "force": True, "interval": "30s", "labels": {"release": "kube-prometheus-stack"}}}})
    for monitor in by_kind(render(values), "ServiceMonitor"):
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        assert monitor["spec"]["endpoints"][0]["interval"] == "30s"


def test_no_scaled_object_unless_enabled(renders):
    for name, objs in renders.items():
        if name != "prescaling":
            assert by_kind(objs, "ScaledObject") == [], name


def _cron_time(expression: str) -> tuple[int, int]:
    minute, hour, *_ = expression.split()
    return int(hour), int(minute)


def test_prescaling_for_an_8pm_seoul_opening(renders):
    objs = renders["prescaling"]
    [scaled] = by_kind(objs, "ScaledObject")
    assert scaled.name == "yeyak-identity"
    assert scaled["spec"]["scaleTargetRef"] == {"name": "yeyak-identity"}
    assert (scaled["spec"]["minReplicaCount"], scaled["spec"]["maxReplicaCount"]) == (2, 40)
    cron = [t for t in scaled["spec"]["triggers"] if t["type"] == "cron"]
    assert cron == [{"type": "cron", "metadata": {
        "timezone": "Asia/Seoul", "start": "30 19 * * *", "end": "30 21 * * *", "desiredReplicas": "30"}}]
    zoneinfo.ZoneInfo(cron[0]["metadata"]["timezone"])     # a real IANA zone
    start, end = _cron_time(cron[0]["metadata"]["start"]), _cron_time(cron[0]["metadata"]["end"])
    assert start < (20, 0) < end, "the replicas must be there before 8 p.m. and stay past it"
    # CPU still drives scaling outside (and above) the window.
    cpu = [t for t in scaled["spec"]["triggers"] if t["type"] == "cpu"]
    assert cpu == [{"type": "cpu", "metricType": "Utilization", "metadata": {"value": "60"}}]
    # KEDA owns identity's HPA: the chart renders none, and no fixed replicas.
    assert by_kind(objs, "HorizontalPodAutoscaler") == []
    identity = next(d for d in by_kind(objs, "Deployment") if d.name == "yeyak-identity")
    assert "replicas" not in identity["spec"]
    assert k8svalidate.errors(scaled) == []


def test_prescaling_needs_a_schedule():
    values = chartlib.deep_merge(valuesets.PRODUCTION, {"identity": {"preScaling": {"enabled": True}}})
    with pytest.raises(HelmError) as err:
        chartlib.render(values)
    assert "identity.preScaling.schedules" in str(err.value)
