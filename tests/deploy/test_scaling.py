"""Scaling one service is one value, and nothing else in the render moves."""

from __future__ import annotations

import pytest

import chartlib
import valuesets
from deploytest import SERVICES, by_kind, render


def diff(a, b, path=""):
    """Every path where two JSON-like values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{key}"
            if key not in a:
                out.append(f"{sub}: added")
            elif key not in b:
                out.append(f"{sub}: removed")
            else:
                out.extend(diff(a[key], b[key], sub))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} -> {b!r}"]


def render_diff(before, after):
    """Differences between two renders, object by object (NOTES.txt is not an object)."""
    old = {o.key: o for o in before}
    new = {o.key: o for o in after}
    assert len(old) == len(before) and len(new) == len(after), "two objects share kind/namespace/name"
    out = []
    for key in sorted(set(old) | set(new)):
        label = "/".join(k for k in key if k)
        if key not in old:
            out.append(f"{label}: added")
        elif key not in new:
            out.append(f"{label}: removed")
        else:
            out.extend(f"{label}{d}" for d in diff(old[key], new[key]))
    return out


def test_diff_sees_a_change():
    before = render(valuesets.PRODUCTION)
    after = render(chartlib.deep_merge(valuesets.PRODUCTION, {"common": {"maxConcurrentRpcs": 2048}}))
    changes = render_diff(before, after)
    # Shared settings change every service's ConfigMap, and roll every pod (checksum).
    assert len([c for c in changes if ".data.YEYAK_MAX_CONCURRENT_RPCS" in c]) == len(SERVICES)
    assert len([c for c in changes if "checksum/config" in c]) == len(SERVICES)


@pytest.mark.parametrize("service", SERVICES + ["edge"])
def test_replicas_of_one_service_change_only_its_deployment(service):
    before = render(valuesets.PRODUCTION)
    after = render(chartlib.deep_merge(valuesets.PRODUCTION, {service: {"replicas": 10}}))
    assert render_diff(before, after) == [f"Deployment/yeyak/yeyak-{service}.spec.replicas: 2 -> 10"]


def test_identity_autoscaling_touches_identity_only():
    before = render(valuesets.PRODUCTION)
    after = render(chartlib.deep_merge(valuesets.PRODUCTION, {"identity": {"autoscaling": {"enabled": True}}}))
    assert render_diff(before, after) == [
        "Deployment/yeyak/yeyak-identity.spec.replicas: removed",
        "HorizontalPodAutoscaler/yeyak/yeyak-identity: added",
    ]
    hpa = by_kind(after, "HorizontalPodAutoscaler")[0]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "yeyak-identity"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 30)
    behavior = hpa["spec"]["behavior"]
    assert behavior["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] >= 300


def test_scaled_set_has_one_hpa_and_no_fixed_identity_replicas(renders):
    objs = renders["identity-scaled"]
    assert [h.name for h in by_kind(objs, "HorizontalPodAutoscaler")] == ["yeyak-identity"]
    for dep in by_kind(objs, "Deployment"):
        if dep.name == "yeyak-identity":
            assert "replicas" not in dep["spec"]
        else:
            assert dep["spec"]["replicas"] == 2


def test_hpa_behavior_is_configurable():
    behavior = {"scaleUp": {"stabilizationWindowSeconds": 30, "policies": [
        {"type": "Pods", "value": 2, "periodSeconds": 60}]}}
    objs = render(chartlib.deep_merge(valuesets.PRODUCTION, {
        "identity": {"autoscaling": {"enabled": True, "behavior": behavior}}}))
    assert by_kind(objs, "HorizontalPodAutoscaler")[0]["spec"]["behavior"] == behavior
