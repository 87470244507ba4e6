"""Named rule sets for booking events (docs/admission.md, "Booking events"):
the chart renders them into one ConfigMap, mounts it in eligibility as a
directory (so a set added later appears without a restart) and points
YEYAK_RULE_SETS_DIR at it; a ConfigMap the operators manage is used as it
is; without sets nothing is mounted."""

from __future__ import annotations

import chartlib
import valuesets
from deploytest import by_kind, find, render

SETS = {"round-3": 'version = "r3"\n', "round-4": 'version = "r4"\n'}


def eligibility(objs):
    deployment = find(objs, "Deployment", "yeyak-eligibility")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = [c for c in pod["containers"] if c["name"] == "eligibility"]
    return pod, container


def mounted(pod, container) -> dict:
    mounts = {m["name"]: m for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    return {name: (mounts[name], volumes[name]) for name in mounts if name == "rule-sets"}


def test_sets_are_one_configmap_mounted_as_a_directory():
    objs = render(chartlib.deep_merge(valuesets.PRODUCTION, {"eligibility": {"ruleSets": {"sets": SETS}}}))
    cm = find(objs, "ConfigMap", "yeyak-eligibility-rule-sets")
    assert {k: v.strip() for k, v in cm["data"].items()} == {"round-3.toml": 'version = "r3"', "round-4.toml": 'version = "r4"'}
    pod, container = eligibility(objs)
    mount, volume = mounted(pod, container)["rule-sets"]
    assert mount["mountPath"] == "/etc/yeyak/rule-sets" and mount["readOnly"] and "subPath" not in mount
    assert volume["configMap"] == {"name": "yeyak-eligibility-rule-sets"}, "every key, so new sets appear"
    assert find(objs, "ConfigMap", "yeyak-eligibility")["data"]["YEYAK_RULE_SETS_DIR"] == "/etc/yeyak/rule-sets"


def test_an_operators_configmap_is_used_as_it_is():
    objs = render(chartlib.deep_merge(valuesets.PRODUCTION, {"eligibility": {"ruleSets": {"existingConfigMap": "our-sets"}}}))
    assert not [o for o in by_kind(objs, "ConfigMap") if o.name == "yeyak-eligibility-rule-sets"]
    pod, container = eligibility(objs)
    assert mounted(pod, container)["rule-sets"][1]["configMap"] == {"name": "our-sets"}


def test_without_sets_nothing_is_mounted():
    objs = render(valuesets.PRODUCTION)
    pod, container = eligibility(objs)
    assert mounted(pod, container) == {}
    assert "YEYAK_RULE_SETS_DIR" not in find(objs, "ConfigMap", "yeyak-eligibility")["data"]
