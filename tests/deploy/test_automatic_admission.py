"""The automatic admission rate from the chart (docs/admission.md, "Automatic
admission rate"): admission is told where every pod of each watched service
publishes its metrics (a headless Service per service), may reach exactly
those ports, and with the feature off none of it is rendered."""

from __future__ import annotations

import chartlib
import netmodel
import valuesets
from deploytest import SERVICES, by_kind, find, render

WATCHED = ["identity", "eligibility", "reservation"]


def config(objs, service) -> dict:
    return find(objs, "ConfigMap", f"yeyak-{service}")["data"]


def headless(objs) -> dict:
    return {s.name: s for s in by_kind(objs, "Service") if s["spec"].get("clusterIP") == "None"}


def test_admission_reads_every_pod_of_each_watched_service():
    objs = render(valuesets.PRODUCTION)
    data = config(objs, "admission")
    targets = dict(entry.split("=", 1) for entry in data["YEYAK_ADMISSION_CONTROL_TARGETS"].split(","))
    assert list(targets) == WATCHED
    assert data["YEYAK_ADMISSION_CONTROL_INTERVAL_MS"] == "2000"
    services = headless(objs)
    for name, url in targets.items():
        assert url == f"http://yeyak-{name}-metrics:9100/metrics"
        svc = services[f"yeyak-{name}-metrics"]
        assert svc["spec"]["selector"] == {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": "yeyak"}
        assert [p["targetPort"] for p in svc["spec"]["ports"]] == ["metrics"]
        # Not the component's own labels: the ServiceMonitor must not scrape it twice.
        assert "app.kubernetes.io/name" not in svc["metadata"]["labels"]
    assert len(services) == len(WATCHED)
    for service in SERVICES:
        if service != "admission":
            assert not [k for k in config(objs, service) if k.startswith("YEYAK_ADMISSION_CONTROL")], service


def test_off_renders_no_reader_no_service_and_no_path():
    values = chartlib.deep_merge(valuesets.SETS["network"], {"automaticAdmission": {"enabled": False}})
    objs = render(values)
    assert not [k for k in config(objs, "admission") if k.startswith("YEYAK_ADMISSION_CONTROL")]
    assert headless(objs) == {}
    merged = chartlib.chart().merge_values(values)
    cluster, endpoints = netmodel.build(objs, merged)
    got = netmodel.allowed(cluster, endpoints)
    assert not [t for t in got if t[0] == "admission" and t[2] == 9100]
    assert got == netmodel.expected(endpoints, merged, False)


def test_a_narrower_watch_list_narrows_the_path():
    values = chartlib.deep_merge(valuesets.SETS["network"], {"automaticAdmission": {"watch": ["eligibility"]}})
    objs = render(values)
    assert config(objs, "admission")["YEYAK_ADMISSION_CONTROL_TARGETS"] == (
        "eligibility=http://yeyak-eligibility-metrics:9100/metrics")
    cluster, endpoints = netmodel.build(objs, chartlib.chart().merge_values(values))
    got = netmodel.allowed(cluster, endpoints)
    assert {d for s, d, p, _ in got if s == "admission" and p == 9100} == {"eligibility"}
