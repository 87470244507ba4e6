"""Render helm/yeyak offline with Helm's own library, and read what it renders.

Shared by scripts/deploy/sync-kustomize.py (which writes k8s/ from the chart)
and by the tests in tests/deploy/. Needs the project virtualenv made by
scripts/bootstrap.sh (.tools/venv: helm-python-sdk, PyYAML).

Rendering uses Helm v4's engine through helm-python-sdk, the same code path as
`helm template`: no helm binary, no cluster. `api_versions` plays the part of
`helm template --api-versions`, so `.Capabilities.APIVersions.Has` can be
exercised offline.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Iterable

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = ROOT / "helm" / "yeyak"
RELEASE = "yeyak"
NAMESPACE = "yeyak"

# Labels and annotations that only make sense when Helm manages the objects.
HELM_ONLY_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by")
HELM_ONLY_ANNOTATION_PREFIX = "helm.sh/"

# Cluster-scoped kinds among what the chart renders (no metadata.namespace).
CLUSTER_SCOPED = {"Namespace", "PriorityClass", "ClusterRole", "ClusterRoleBinding"}


class DuplicateKeyError(yaml.constructor.ConstructorError):
    pass


class StrictLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a mapping with the same key twice.

    PyYAML (like many YAML readers) silently keeps the last value; the API
    server's decoder errors or, depending on the client, also keeps one. A
    duplicated key in a template is always a bug.
    """


def _construct_mapping(loader: StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: dict[Any, Any] = {}
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise DuplicateKeyError(
                "while constructing a mapping", node.start_mark,
                f"found duplicate key {key!r}", key_node.start_mark)
        seen[key] = True
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class Obj(dict):
    """A rendered Kubernetes object; `.source` is the template it came from."""

    source: str = ""

    @property
    def kind(self) -> str:
        return self.get("kind", "")

    @property
    def name(self) -> str:
        return self.get("metadata", {}).get("name", "")

    @property
    def namespace(self) -> str | None:
        return self.get("metadata", {}).get("namespace")

    @property
    def key(self) -> tuple[str, str, str]:
        ns = "" if self.kind in CLUSTER_SCOPED else (self.namespace or NAMESPACE)
        return (self.kind, ns, self.name)

    def plain(self) -> dict:
        return json.loads(json.dumps(self))


def load_all(text: str, source: str = "<string>") -> list[Obj]:
    """Every non-empty document of a YAML stream, loaded strictly."""
    out = []
    for doc in yaml.load_all(text, Loader=StrictLoader):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ValueError(f"{source}: a document is not a mapping: {doc!r}")
        obj = Obj(doc)
        obj.source = source
        out.append(obj)
    return out


def deep_merge(base: dict, *overrides: dict) -> dict:
    """`base` with each override merged in (maps merge, everything else replaces)."""
    result = copy.deepcopy(base)
    for override in overrides:
        _merge_into(result, override)
    return result


def _merge_into(dst: dict, src: dict) -> None:
    for key, value in src.items():
        if isinstance(value, dict) and isinstance(dst.get(key), dict):
            _merge_into(dst[key], value)
        else:
            dst[key] = copy.deepcopy(value)


_CHART = None


def chart():
    """The chart, loaded once per process."""
    global _CHART
    if _CHART is None:
        import helm_python as helm  # noqa: PLC0415 - only where rendering is needed

        _CHART = helm.Chart.load(str(CHART_DIR))
    return _CHART


def render_templates(values: dict | None, *, api_versions: Iterable[str] = (),
                     name: str = RELEASE, namespace: str = NAMESPACE) -> dict[str, str]:
    """{template path: rendered text}, like `helm template`.

    helm-python-sdk's `Chart.render` does not expose the render options' API
    versions, so this calls the same native entry point with them.
    """
    from helm_python import _native  # noqa: PLC0415

    opts: dict[str, Any] = {"name": name, "namespace": namespace}
    api_versions = list(api_versions)
    if api_versions:
        opts["api_versions"] = api_versions
    rendered = _native.call_string(
        "helm_render", chart()._raw(), json.dumps(values or {}), json.dumps(opts))
    return json.loads(rendered)


def render(values: dict | None, *, api_versions: Iterable[str] = (),
           name: str = RELEASE, namespace: str = NAMESPACE) -> list[Obj]:
    """The rendered objects (NOTES.txt left out), in a stable order."""
    templates = render_templates(values, api_versions=api_versions, name=name, namespace=namespace)
    objects: list[Obj] = []
    for path in sorted(templates):
        if path.endswith("NOTES.txt"):
            continue
        objects.extend(load_all(templates[path], path))
    return objects


def notes(values: dict | None) -> str:
    return next((text for path, text in render_templates(values).items()
                 if path.endswith("NOTES.txt")), "")


def strip_helm(obj: dict) -> dict:
    """A copy of `obj` without Helm-only labels and annotations (also on pod templates)."""
    obj = copy.deepcopy(obj)
    metas = [obj.get("metadata", {})]
    template = obj.get("spec", {}).get("template") if isinstance(obj.get("spec"), dict) else None
    if isinstance(template, dict):
        metas.append(template.get("metadata", {}))
    for meta in metas:
        labels = meta.get("labels") or {}
        for label in HELM_ONLY_LABELS:
            labels.pop(label, None)
        annotations = meta.get("annotations") or {}
        for annotation in [a for a in annotations if a.startswith(HELM_ONLY_ANNOTATION_PREFIX)]:
            annotations.pop(annotation)
        if "annotations" in meta and not meta["annotations"]:
            del meta["annotations"]
    return obj


def is_hook(obj: dict) -> bool:
    annotations = obj.get("metadata", {}).get("annotations") or {}
    return "helm.sh/hook" in annotations
