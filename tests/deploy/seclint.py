"""A security lint of rendered workloads (the issue's securityContext rules,
close to the Pod Security "restricted" profile plus resource and secret
hygiene). `findings(objects, ...)` returns one readable string per problem.
"""

from __future__ import annotations

import re

from deploytest import all_containers, pod_spec

# Variables that hold a secret: they may only come from a secretKeyRef.
SECRET_VARIABLES = {
    "YEYAK_SIGNING_KEY", "YEYAK_TICKET_KEYS", "YEYAK_OPERATOR_TOKEN", "YEYAK_OPERATORS", "YEYAK_SUBJECT_HASH_KEY",
    "YEYAK_CONTACT_KEYS", "YEYAK_DATABASE_URL", "YEYAK_REDIS_URL", "YEYAK_AMQP_URL",
}
# Names that look secret but are public by design: the trusted *public* keys
# and notification's contact *public* key (reservation seals to it).
PUBLIC_BY_DESIGN = {"YEYAK_TRUSTED_KEYS", "YEYAK_CONTACT_PUBLIC_KEY"}
SECRETISH_NAME = re.compile(r"(_KEYS?$|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.I)
URL_WITH_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s@]+:[^/\s@]*@", re.I)
PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")


def _secret_literal(name: str, value: str) -> str | None:
    if name.endswith("_FILE") and value.startswith("/") and not URL_WITH_CREDENTIALS.search(value):
        return None     # a path to a mounted file (YEYAK_<NAME>_FILE), not the secret itself
    if name in SECRET_VARIABLES:
        return f"{name} is secret and set as a literal"
    if SECRETISH_NAME.search(name) and name not in PUBLIC_BY_DESIGN:
        return f"{name} looks secret and is set as a literal"
    if URL_WITH_CREDENTIALS.search(value):
        return f"{name} holds a URL with credentials"
    if PEM.search(value):
        return f"{name} holds a private key"
    return None


def workload_findings(obj: dict, existing_secrets: set[str],
                      emptydir_allowed: set[tuple[str, str]] = frozenset()) -> list[str]:
    """Problems of one workload (Deployment, Job, ...)."""
    spec = pod_spec(obj)
    where = f"{obj['kind']}/{obj['metadata']['name']}"
    out: list[str] = []
    pod_sc = spec.get("securityContext") or {}
    if pod_sc.get("runAsNonRoot") is not True:
        out.append(f"{where}: pod runAsNonRoot is not true")
    if not isinstance(pod_sc.get("runAsUser"), int) or pod_sc.get("runAsUser", 0) <= 0:
        out.append(f"{where}: pod runAsUser is not a numeric non-root uid: {pod_sc.get('runAsUser')!r}")
    if (pod_sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        out.append(f"{where}: pod seccompProfile is not RuntimeDefault")
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            out.append(f"{where}: {field}")
    if spec.get("automountServiceAccountToken") is not False:
        out.append(f"{where}: automountServiceAccountToken is not false")
    volumes = spec.get("volumes", [])
    for volume in volumes:
        if "hostPath" in volume:
            out.append(f"{where}: hostPath volume {volume['name']}")
        if "secret" in volume and volume["secret"].get("secretName") not in existing_secrets:
            out.append(f"{where}: secret volume of an unknown Secret {volume['secret'].get('secretName')}")
    mounted = {m["name"] for c in all_containers(spec) for m in c.get("volumeMounts", [])}
    for volume in volumes:
        if "emptyDir" in volume:
            if (obj["metadata"]["name"], volume["name"]) not in emptydir_allowed:
                out.append(f"{where}: emptyDir {volume['name']} not on the list of intended ones")
            elif volume["name"] not in mounted:
                out.append(f"{where}: emptyDir {volume['name']} is not mounted")
    for container in all_containers(spec):
        cwhere = f"{where} container {container['name']}"
        sc = container.get("securityContext") or {}
        if sc.get("readOnlyRootFilesystem") is not True:
            out.append(f"{cwhere}: readOnlyRootFilesystem is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"{cwhere}: allowPrivilegeEscalation is not false")
        if sc.get("privileged"):
            out.append(f"{cwhere}: privileged")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            out.append(f"{cwhere}: capabilities do not drop ALL")
        if caps.get("add"):
            out.append(f"{cwhere}: adds capabilities {caps['add']}")
        if sc.get("runAsNonRoot") is False or sc.get("runAsUser") == 0:
            out.append(f"{cwhere}: overrides the pod to run as root")
        if "seccompProfile" in sc and sc["seccompProfile"].get("type") != "RuntimeDefault":
            out.append(f"{cwhere}: seccompProfile overridden")
        for port in container.get("ports", []):
            if "hostPort" in port:
                out.append(f"{cwhere}: hostPort {port['hostPort']}")
        resources = container.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        for key in ("cpu", "memory"):
            if key not in requests:
                out.append(f"{cwhere}: no {key} request")
        if "memory" not in limits:
            out.append(f"{cwhere}: no memory limit")
        image = container.get("image", "")
        tag = image.rsplit("@", 1)[0].rsplit("/", 1)[-1].partition(":")[2]
        if "@sha256:" not in image and (not tag or tag == "latest"):
            out.append(f"{cwhere}: image {image!r} has no pinned tag")
        for env in container.get("env", []):
            if "value" in env:
                problem = _secret_literal(env["name"], str(env["value"]))
                if problem:
                    out.append(f"{cwhere}: env {problem}")
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if ref is not None and ref.get("name") not in existing_secrets:
                out.append(f"{cwhere}: env {env['name']} reads Secret {ref.get('name')!r}, "
                           f"not one of the existingSecret names")
        for source in container.get("envFrom", []):
            if "secretRef" in source and source["secretRef"].get("name") not in existing_secrets:
                out.append(f"{cwhere}: envFrom an unknown Secret")
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            if "exec" in (container.get(probe) or {}):
                out.append(f"{cwhere}: {probe} runs a command (the images have no shell)")
        for hook in ("preStop", "postStart"):
            if "exec" in ((container.get("lifecycle") or {}).get(hook) or {}):
                out.append(f"{cwhere}: {hook} runs a command (the images have no shell)")
    return out


def configmap_findings(obj: dict) -> list[str]:
    out = []
    for key, value in (obj.get("data") or {}).items():
        problem = _secret_literal(key, str(value))
        if problem:
            out.append(f"ConfigMap/{obj['metadata']['name']}: {problem}")
    return out


def findings(objects, existing_secrets: set[str],
             emptydir_allowed: set[tuple[str, str]] = frozenset()) -> list[str]:
    out = []
    for obj in objects:
        if pod_spec(obj) is not None:
            out.extend(workload_findings(obj, existing_secrets, emptydir_allowed))
        elif obj.get("kind") == "ConfigMap":
            out.extend(configmap_findings(obj))
        elif obj.get("kind") == "Secret":
            out.append(f"Secret/{obj['metadata']['name']}: the chart renders a Secret")
    return out
