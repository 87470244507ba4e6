"""The kustomize layers under k8s/: generated from the chart without drift,
buildable with `kubectl kustomize`, valid, and equal to the chart's render."""

from __future__ import annotations

import filecmp
import importlib.util
import subprocess
import sys

import pytest

import chartlib
import k8svalidate
import netmodel
import seclint
import valuesets
from deploytest import by_kind, pod_spec

K8S = chartlib.ROOT / "k8s"
SCRIPT = chartlib.ROOT / "scripts" / "deploy" / "sync-kustomize.py"
LAYERS = {"base": "base", "dev": "overlays/dev", "production": "overlays/production"}
NAMESPACED_BY_OVERLAY = {"dev", "production"}

_spec = importlib.util.spec_from_file_location("sync_kustomize", SCRIPT)
sync = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sync)

_BUILDS: dict[str, list] = {}


def build(kubectl: str, layer: str) -> list[chartlib.Obj]:
    if layer not in _BUILDS:
        result = subprocess.run([kubectl, "kustomize", str(K8S / LAYERS[layer])], capture_output=True,
                                text=True, timeout=120, check=False)
        assert result.returncode == 0, f"kubectl kustomize k8s/{LAYERS[layer]}:\n{result.stderr}"
        _BUILDS[layer] = chartlib.load_all(result.stdout, f"k8s/{LAYERS[layer]}")
    return _BUILDS[layer]


def test_generated_files_do_not_drift(tmp_path):
    """Re-running the generator into a temporary directory gives the committed files."""
    result = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    fresh = sync.generated_files(tmp_path)
    committed = sync.generated_files(K8S)
    assert fresh, "the generator wrote nothing"
    assert committed == fresh, (f"generated files differ: only committed {sorted(committed - fresh)}, "
                                f"only fresh {sorted(fresh - committed)}; run `make sync-kustomize`")
    drifted = [rel for rel in sorted(fresh) if not filecmp.cmp(tmp_path / rel, K8S / rel, shallow=False)]
    assert drifted == [], f"k8s/ is out of date with helm/yeyak: {drifted}; run `make sync-kustomize`"


@pytest.mark.parametrize("layer", list(LAYERS))
def test_layer_builds_and_validates(kubectl, layer):
    objects = build(kubectl, layer)
    errors = k8svalidate.all_errors(objects)
    assert errors == [], "\n".join(errors)
    problems = seclint.findings(objects, valuesets.EXISTING_SECRETS)
    assert problems == [], "\n".join(problems)
    for obj in objects:
        labels = obj["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/part-of") == "yeyak", f"{obj.kind}/{obj.name}"
        assert not set(labels) & set(chartlib.HELM_ONLY_LABELS), f"{obj.kind}/{obj.name}: Helm labels"
        assert not [a for a in obj["metadata"].get("annotations", {}) if a.startswith("helm.sh/")]
        if layer in NAMESPACED_BY_OVERLAY and obj.kind not in chartlib.CLUSTER_SCOPED:
            assert obj.namespace in ("yeyak", "yeyak-registry"), f"{obj.kind}/{obj.name}: {obj.namespace}"


# Objects the overlays add by hand (not from the chart): the release namespace.
HANDWRITTEN = {"base": set(), "dev": {("Namespace", "", "yeyak")}, "production": {("Namespace", "", "yeyak")}}


@pytest.mark.parametrize("layer", list(LAYERS))
def test_layer_is_the_charts_render(kubectl, layer):
    """What kustomize outputs is what Helm renders with the layer's values,
    less the Helm-only labels (and, in the overlays, namespaced to yeyak)."""
    expected = {}
    for obj in sync.layer_objects(layer):
        obj = chartlib.Obj(obj)
        if layer in NAMESPACED_BY_OVERLAY and obj.kind not in chartlib.CLUSTER_SCOPED and not obj.namespace:
            obj["metadata"]["namespace"] = chartlib.NAMESPACE
        expected[obj.key] = obj.plain()
    got = {o.key: o.plain() for o in build(kubectl, layer)}
    assert set(got) - set(expected) == HANDWRITTEN[layer]
    assert set(expected) - set(got) == set()
    different = [k for k in expected if expected[k] != got[k]]
    assert different == [], f"kustomize and Helm disagree on {different}"


def test_overlays_say_what_they_are(kubectl):
    dev, prod = build(kubectl, "dev"), build(kubectl, "production")
    for objs, env in ((dev, "dev"), (prod, "production")):
        for config in by_kind(objs, "ConfigMap"):
            if "YEYAK_ENV" in config.get("data", {}):
                assert config["data"]["YEYAK_ENV"] == env
    registry = [d for d in by_kind(dev, "Deployment") if d.name == "yeyak-mock-registry"]
    assert [d.namespace for d in registry] == ["yeyak-registry"]
    assert ("Namespace", "", "yeyak-registry") in {o.key for o in dev}
    assert not [d for d in by_kind(prod, "Deployment") if "mock" in d.name]
    # Default deny, one per service, and the edge's.
    assert by_kind(dev, "NetworkPolicy") == [] and len(by_kind(prod, "NetworkPolicy")) == 8
    # No Helm hooks: the services migrate at start-up.
    assert by_kind(dev, "Job") == [] and by_kind(prod, "Job") == []
    for dep in by_kind(prod, "Deployment"):
        env = pod_spec(dep)["containers"][0].get("env", [])
        assert all(e["valueFrom"]["secretKeyRef"]["name"] in valuesets.EXISTING_SECRETS for e in env)


def test_production_overlay_allows_exactly_the_call_graph(kubectl):
    """The reachability check of the chart, on the kustomize production output."""
    values = chartlib.chart().merge_values(sync.layer_values("production"))
    cluster, endpoints = netmodel.build(build(kubectl, "production"), values)
    got, want = netmodel.allowed(cluster, endpoints), netmodel.expected(endpoints, values, mocks=False)
    assert got == want, f"extra: {sorted(got - want)}\nmissing: {sorted(want - got)}"


def test_rules_come_from_the_source_file(kubectl):
    rules = next(c for c in by_kind(build(kubectl, "base"), "ConfigMap") if c.name == "yeyak-eligibility-rules")
    text = rules["data"]["rules.toml"]
    assert text.endswith((chartlib.ROOT / sync.RULES_SOURCE).read_text())
