"""Security lint of every rendered workload (services, migration Jobs, mocks)."""

from __future__ import annotations

import copy

import pytest

import chartlib
import seclint
import valuesets
from deploytest import by_kind, pod_spec, workloads

# emptyDir volumes that a process needs, (workload name, volume name) with
# the reason. None today: every binary writes only to stdout and its sockets.
EMPTYDIR_ALLOWED: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize("set_name", list(valuesets.SETS))
def test_workloads_pass_the_security_lint(renders, set_name):
    objs = renders[set_name]
    assert workloads(objs), "nothing to lint"
    problems = seclint.findings(objs, valuesets.EXISTING_SECRETS, set(EMPTYDIR_ALLOWED))
    assert problems == [], "\n".join(problems)


def test_every_secret_comes_from_an_existing_secret(renders):
    """The variables that hold secrets are set, each from the Secret of its concern."""
    expected = {
        # Admission's keys are files of its Secret's volume (test_keys.py).
        "admission": {"YEYAK_DATABASE_URL": "yeyak-database", "YEYAK_REDIS_URL": "yeyak-redis", "YEYAK_AMQP_URL": "yeyak-amqp"},
        "identity": {"YEYAK_SIGNING_KEY": "yeyak-identity-keys", "YEYAK_SUBJECT_HASH_KEY": "yeyak-identity-keys",
                     "YEYAK_REDIS_URL": "yeyak-redis", "YEYAK_SESSIONS_REDIS_URL": "yeyak-redis"},
        "eligibility": {"YEYAK_REDIS_URL": "yeyak-redis", "YEYAK_AMQP_URL": "yeyak-amqp",
                        "YEYAK_SESSIONS_REDIS_URL": "yeyak-redis"},
        "inventory": {"YEYAK_DATABASE_URL": "yeyak-database", "YEYAK_REDIS_URL": "yeyak-redis",
                      "YEYAK_AMQP_URL": "yeyak-amqp", "YEYAK_SESSIONS_REDIS_URL": "yeyak-redis"},
        "reservation": {"YEYAK_DATABASE_URL": "yeyak-database", "YEYAK_AMQP_URL": "yeyak-amqp",
                        "YEYAK_SESSIONS_REDIS_URL": "yeyak-redis"},
        "notification": {"YEYAK_CONTACT_KEYS": "yeyak-notification-keys", "YEYAK_DATABASE_URL": "yeyak-database",
                         "YEYAK_AMQP_URL": "yeyak-amqp", "YEYAK_SESSIONS_REDIS_URL": "yeyak-redis"},
        # The browser-facing components hold no secret: no Secret env, and no
        # volume without tls.internal (with it, test_web_pods_mount_only_client_tls).
        "edge": {},
        "static": {},
    }
    deployments = by_kind(renders["network"], "Deployment")
    assert {"yeyak-edge", "yeyak-static"} <= {d.name for d in deployments}
    for dep in deployments:
        service = dep.name.removeprefix("yeyak-")
        env = pod_spec(dep)["containers"][0].get("env", [])
        if not expected[service]:
            assert "volumes" not in pod_spec(dep) and "volumeMounts" not in pod_spec(dep)["containers"][0], service
        got = {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in env if "valueFrom" in e}
        assert got == expected[service], service
        assert all("value" not in e for e in env), f"{service}: a literal env value"


@pytest.mark.parametrize("set_name", list(valuesets.SETS))
def test_web_pods_mount_only_client_tls(renders, set_name):
    """The edge reads no Secret but, under tls.internal, its own client TLS
    material (and the CA bundle, not a Secret of a service's); the static
    server mounts nothing, ever. Neither has a Secret in its env."""
    objs = renders[set_name]
    tls = chartlib.chart().merge_values(valuesets.SETS[set_name])["tls"]
    for dep in by_kind(objs, "Deployment"):
        name = dep.name.removeprefix("yeyak-")
        if name not in ("edge", "static"):
            continue
        spec = pod_spec(dep)
        container = spec["containers"][0]
        assert "env" not in container, name
        assert [e["configMapRef"]["name"] for e in container["envFrom"]] == [dep.name], name
        secrets = {v["secret"]["secretName"] for v in spec.get("volumes", []) if "secret" in v}
        others = {v["name"] for v in spec.get("volumes", []) if "secret" not in v}
        if name == "edge" and tls["internal"]["enabled"]:
            assert secrets == {"yeyak-edge-tls"} | ({tls["caBundle"]["secret"]} if tls["caBundle"]["secret"] else set()), set_name
            assert others == ({"ca-bundle"} if tls["caBundle"]["configMap"] else set()), set_name
        else:
            assert "volumes" not in spec and "volumeMounts" not in container, (set_name, name)


def _first(objs, kind):
    return copy.deepcopy(by_kind(objs, kind)[0])


BREAKAGES = {
    "root": lambda s, c: s["securityContext"].update(runAsUser=0),
    "named user": lambda s, c: s["securityContext"].update(runAsUser="nonroot"),
    "writable root": lambda s, c: c["securityContext"].update(readOnlyRootFilesystem=False),
    "escalation": lambda s, c: c["securityContext"].pop("allowPrivilegeEscalation"),
    "capabilities": lambda s, c: c["securityContext"].update(capabilities={"drop": ["NET_RAW"]}),
    "seccomp": lambda s, c: s["securityContext"].pop("seccompProfile"),
    "host network": lambda s, c: s.update(hostNetwork=True),
    "host path": lambda s, c: s.setdefault("volumes", []).append({"name": "h", "hostPath": {"path": "/"}}),
    "privileged": lambda s, c: c["securityContext"].update(privileged=True),
    "no memory limit": lambda s, c: c["resources"].pop("limits"),
    "no requests": lambda s, c: c["resources"].pop("requests"),
    "token": lambda s, c: s.pop("automountServiceAccountToken"),
    "latest": lambda s, c: c.update(image=c["image"].rsplit(":", 1)[0] + ":latest"),
    "untagged": lambda s, c: c.update(image=c["image"].rsplit(":", 1)[0]),
    "secret literal": lambda s, c: c["env"].append({"name": "YEYAK_SIGNING_KEY", "value": "x"}),
    "secret in a _FILE name": lambda s, c: c["env"].append({"name": "YEYAK_OPERATOR_TOKEN_FILE", "value": "hunter2"}),
    "unknown secret volume": lambda s, c: s["volumes"].append({"name": "x", "secret": {"secretName": "stolen"}}),
    "credential url": lambda s, c: c["env"].append({"name": "YEYAK_X_URL", "value": "redis://u:pw@r:6379"}),
    "other secret": lambda s, c: c["env"].append(
        {"name": "YEYAK_REDIS_URL", "valueFrom": {"secretKeyRef": {"name": "someone-else", "key": "url"}}}),
    "stray emptyDir": lambda s, c: s.setdefault("volumes", []).append({"name": "tmp", "emptyDir": {}}),
    "shell probe": lambda s, c: c.update(livenessProbe={"exec": {"command": ["sh", "-c", "true"]}}),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_the_lint_catches(renders, breakage):
    """Each rule can fail: a copy of a rendered Deployment broken one way is reported."""
    dep = _first(renders["production"], "Deployment")
    spec = pod_spec(dep)
    BREAKAGES[breakage](spec, spec["containers"][0])
    assert seclint.findings([dep], valuesets.EXISTING_SECRETS), breakage


def test_the_lint_catches_secrets_in_config_maps(renders):
    config = _first(renders["production"], "ConfigMap")
    config["data"]["YEYAK_OPERATOR_TOKEN"] = "hunter2"
    assert seclint.findings([config], valuesets.EXISTING_SECRETS)
    config = _first(renders["production"], "ConfigMap")
    config["data"]["OTEL_EXPORTER_OTLP_HEADERS"] = "x"
    config["data"]["YEYAK_AMQP"] = "amqps://yeyak:s3cret@mq:5671/%2f"
    assert len(seclint.findings([config], valuesets.EXISTING_SECRETS)) == 1
