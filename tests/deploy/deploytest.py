"""Helpers shared by the deployment tests (rendering, object lookup)."""

from __future__ import annotations

import copy
import json

import chartlib

# The six services, as docs/architecture.md lists them.
SERVICES = ["admission", "identity", "eligibility", "inventory", "reservation", "notification"]
# The browser-facing components (docs/edge.md), each rendered when enabled.
WEB_COMPONENTS = ["edge", "static"]

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet"}

_CACHE: dict[str, list] = {}


def render(values: dict | None, api_versions=()) -> list[chartlib.Obj]:
    """Render once per distinct input; callers get deep copies to mutate freely."""
    key = json.dumps([values, list(api_versions)], sort_keys=True)
    if key not in _CACHE:
        _CACHE[key] = chartlib.render(values, api_versions=api_versions)
    return copy.deepcopy(_CACHE[key])


def by_kind(objects, kind):
    return [o for o in objects if o.get("kind") == kind]


def find(objects, kind, name):
    matches = [o for o in objects if o.get("kind") == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def pod_spec(obj: dict) -> dict | None:
    """The pod spec of a workload object, or None for other kinds."""
    kind = obj.get("kind")
    if kind not in WORKLOAD_KINDS:
        return None
    if kind == "Pod":
        return obj["spec"]
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def pod_labels(obj: dict) -> dict:
    if obj.get("kind") == "Pod":
        return obj["metadata"].get("labels", {})
    if obj.get("kind") == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["metadata"].get("labels", {})
    return obj["spec"]["template"]["metadata"].get("labels", {})


def workloads(objects):
    return [o for o in objects if pod_spec(o) is not None]


def all_containers(spec: dict) -> list[dict]:
    return list(spec.get("initContainers", [])) + list(spec.get("containers", []))


def label_name(obj: dict) -> str:
    return obj["metadata"].get("labels", {}).get("app.kubernetes.io/name", "")


def service_deployments(objects) -> dict[str, dict]:
    """{service: its Deployment} for the six services."""
    out = {}
    for dep in by_kind(objects, "Deployment"):
        if label_name(dep) in SERVICES:
            out[label_name(dep)] = dep
    assert sorted(out) == sorted(SERVICES), f"service Deployments: {sorted(out)}"
    return out
