"""Validate objects strictly: Kubernetes kinds against the 1.32 OpenAPI schemas
(kubernetes-validate, strict: unknown fields fail), the custom resources the
chart renders against the small schemas in schemas/.

The CRD schemas cover the fields the chart uses, named and typed as in the
upstream CRDs (KEDA's keda.sh_scaledobjects.yaml, the Prometheus Operator's
monitoring.coreos.com_servicemonitors.yaml and
monitoring.coreos.com_prometheusrules.yaml), with additionalProperties false
so a misspelt field fails here as it would be pruned or rejected there.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import jsonschema
import kubernetes_validate.utils as kv

KUBE_VERSION = "1.32.0"
SCHEMAS = Path(__file__).resolve().parent / "schemas"
CRD_SCHEMAS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule.json",
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject.json",
}

# kubernetes-validate re-reads its JSON schema files for every object; they
# never change within a run, so read each once (the suite renders hundreds).
kv.schema_contents = functools.lru_cache(maxsize=None)(kv.schema_contents)


@functools.lru_cache(maxsize=None)
def _crd_validator(filename: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / filename).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors(obj: dict) -> list[str]:
    """Every schema violation of `obj`, as readable strings; [] when valid."""
    label = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    crd = CRD_SCHEMAS.get((obj.get("apiVersion"), obj.get("kind")))
    if crd:
        return [f"{label}: {'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                for e in _crd_validator(crd).iter_errors(obj)]
    try:
        kv.validate(obj, KUBE_VERSION, strict=True)
    except kv.ValidationError as e:
        return [f"{label}: {'.'.join(map(str, e.path)) or '<root>'}: {e.message}"]
    except kv.SchemaNotFoundError as e:
        return [f"{label}: no schema: {e.message}"]
    return []


def all_errors(objects) -> list[str]:
    out = []
    for obj in objects:
        out.extend(errors(obj))
    return out
