"""Key sets as mounted files, reloaded live (docs/deployment.md "Rotating
keys"), and plain HTTP allowed only towards the mocks."""

from __future__ import annotations

import pytest

import chartlib
import valuesets
from deploytest import SERVICES, by_kind, find, pod_spec, render, service_deployments

KEYS_DIR = "/etc/yeyak/keys"
ADMISSION_DIR = "/var/run/secrets/yeyak/admission"
# The services that call a third party the mocks stand in for.
PLAIN_HTTP_CALLERS = {"identity", "eligibility", "notification"}


def config(objs, service) -> dict:
    return find(objs, "ConfigMap", f"yeyak-{service}")["data"]


def mount_of(dep, volume: str) -> dict:
    container = pod_spec(dep)["containers"][0]
    [mount] = [m for m in container.get("volumeMounts", []) if m["name"] == volume]
    return mount


def volume_of(dep, volume: str) -> dict:
    [found] = [v for v in pod_spec(dep).get("volumes", []) if v["name"] == volume]
    return found


# --- A: YEYAK_ALLOW_PLAIN_HTTP --------------------------------------------

@pytest.mark.parametrize("set_name", list(valuesets.SETS))
def test_plain_http_allowed_only_towards_the_mocks(renders, set_name):
    mocks = chartlib.chart().merge_values(valuesets.SETS[set_name])["mocks"]["enabled"]
    objs = renders[set_name]
    allowed = {s for s in SERVICES if "YEYAK_ALLOW_PLAIN_HTTP" in config(objs, s)}
    assert allowed == (PLAIN_HTTP_CALLERS if mocks else set()), set_name
    for service in allowed:
        assert config(objs, service)["YEYAK_ALLOW_PLAIN_HTTP"] == "true"
    # Nowhere else either: not in a Deployment's env, not in the mocks' pods.
    for dep in by_kind(objs, "Deployment"):
        for container in pod_spec(dep)["containers"]:
            assert "YEYAK_ALLOW_PLAIN_HTTP" not in {e["name"] for e in container.get("env", [])}, dep.name
    for cm in by_kind(objs, "ConfigMap"):
        if cm.name not in {f"yeyak-{s}" for s in PLAIN_HTTP_CALLERS}:
            assert "YEYAK_ALLOW_PLAIN_HTTP" not in cm.get("data", {}), cm.name


# --- B: the trusted keys --------------------------------------------------

@pytest.mark.parametrize("set_name", ["production", "network", "tls", "prescaling"])
def test_trusted_keys_are_a_mounted_file(renders, set_name):
    objs = renders[set_name]
    keys = find(objs, "ConfigMap", "yeyak-trusted-keys")["data"]["trusted-keys"]
    assert keys.split(",") == valuesets.PRODUCTION["trustedKeys"]
    for service, dep in service_deployments(objs).items():
        data = config(objs, service)
        assert "YEYAK_TRUSTED_KEYS" not in data, service
        assert data["YEYAK_TRUSTED_KEYS_FILE"] == f"{KEYS_DIR}/trusted-keys", service
        # A directory, never a subPath: the kubelet never updates a subPath mount.
        mount = mount_of(dep, "trusted-keys")
        assert mount["mountPath"] == KEYS_DIR and mount["readOnly"] is True and "subPath" not in mount
        assert volume_of(dep, "trusted-keys")["configMap"] == {
            "name": "yeyak-trusted-keys", "items": [{"key": "trusted-keys", "path": "trusted-keys"}]}
        assert keys not in str(data), f"{service}: the keys themselves are in its ConfigMap"


def test_dev_without_keys_sets_no_file(renders):
    """Dev mode with no trustedKeys generates throwaway keys; an empty file would refuse to start."""
    for service in SERVICES:
        data = config(renders["mocks"], service)
        assert not {"YEYAK_TRUSTED_KEYS", "YEYAK_TRUSTED_KEYS_FILE"} & set(data), service


def test_a_key_rotation_rolls_no_pod():
    """Changing trustedKeys changes the keys ConfigMap and nothing in any pod
    template: the checksum annotation does not cover the keys."""
    rotated = chartlib.deep_merge(valuesets.PRODUCTION, {"trustedKeys": [
        *valuesets.PRODUCTION["trustedKeys"], "admission:adm-2026-2:22qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="]})
    before = {o.key: o.plain() for o in render(valuesets.PRODUCTION)}
    after = {o.key: o.plain() for o in render(rotated)}
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert changed == {("ConfigMap", chartlib.NAMESPACE, "yeyak-trusted-keys")}, changed


def test_a_config_change_still_rolls_the_pods():
    """The checksum still covers the service's own settings (it can fail)."""
    changed = chartlib.deep_merge(valuesets.PRODUCTION, {"common": {"requestTimeoutMs": 7000}})
    before = service_deployments(render(valuesets.PRODUCTION))
    after = service_deployments(render(changed))
    for service in SERVICES:
        annotation = lambda d: d["spec"]["template"]["metadata"]["annotations"]["checksum/config"]  # noqa: E731
        assert annotation(before[service]) != annotation(after[service]), service


# --- B: admission's Secret as files -----------------------------------------

@pytest.mark.parametrize("set_name", list(valuesets.SETS))
def test_admission_keys_are_files_of_its_secret(renders, set_name):
    objs = renders[set_name]
    dep = service_deployments(objs)["admission"]
    container = pod_spec(dep)["containers"][0]
    assert not [e for e in container["env"] if e["name"].startswith(("YEYAK_TICKET_KEYS", "YEYAK_SIGNING_KEY",
                                                                      "YEYAK_OPERATOR_TOKEN"))]
    mount = mount_of(dep, "admission-keys")
    assert mount["mountPath"] == ADMISSION_DIR and mount["readOnly"] is True and "subPath" not in mount
    secret = volume_of(dep, "admission-keys")["secret"]
    assert secret["secretName"] == "yeyak-admission-keys"
    files = {i["key"]: f"{ADMISSION_DIR}/{i['path']}" for i in secret["items"]}
    data = config(objs, "admission")
    # The deprecated operator token only while no named operators are given (test_operators.py).
    named = chartlib.chart().merge_values(valuesets.SETS[set_name])["secrets"]["operators"]["existingSecret"]
    for key in ("YEYAK_TICKET_KEYS", "YEYAK_SIGNING_KEY", *([] if named else ["YEYAK_OPERATOR_TOKEN"])):
        assert key not in data
        assert data[f"{key}_FILE"] == files[key], key
    assert ("YEYAK_OPERATOR_TOKEN" in files) == (not named), set_name
    # Only admission mounts its keys.
    for service, other in service_deployments(objs).items():
        if service != "admission":
            assert "admission-keys" not in {v["name"] for v in pod_spec(other)["volumes"]}, service


@pytest.mark.parametrize("set_name", list(valuesets.SETS))
def test_every_file_setting_points_into_a_read_only_directory_mount(renders, set_name):
    """Every YEYAK_*_FILE of a service is under one of its mounts, each mounted
    read-only as a directory (no subPath), so the kubelet's updates reach it."""
    objs = renders[set_name]
    for service, dep in service_deployments(objs).items():
        container = pod_spec(dep)["containers"][0]
        mounts = container["volumeMounts"]
        assert all(m.get("readOnly") is True and "subPath" not in m for m in mounts), service
        volumes = {v["name"]: v for v in pod_spec(dep)["volumes"]}
        for name, path in config(objs, service).items():
            if not name.endswith("_FILE"):
                continue
            [mount] = [m for m in mounts if path.startswith(m["mountPath"].rstrip("/") + "/")]
            source = volumes[mount["name"]]
            items = (source.get("secret") or source.get("configMap"))["items"]
            assert path.removeprefix(mount["mountPath"].rstrip("/") + "/") in {i["path"] for i in items}, (
                service, name)
