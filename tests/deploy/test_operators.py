"""The operators Secret (docs/operators.md): mounted as a file, re-read live,
in exactly the services that serve an operator or support API (admission,
inventory, reservation and notification; never their migration Jobs), and the
deprecated single operator token as the fallback."""

from __future__ import annotations

import pytest
from helm_python.errors import HelmError

import chartlib
import valuesets
from deploytest import SERVICES, find, pod_spec, service_deployments

OPERATORS_DIR = "/var/run/secrets/yeyak/operators"
WITH_OPERATOR_API = {"admission", "inventory", "reservation", "notification"}


def config(objs, service) -> dict:
    return find(objs, "ConfigMap", f"yeyak-{service}")["data"]


def volumes(dep) -> dict:
    return {v["name"]: v for v in pod_spec(dep).get("volumes", [])}


def mounts(dep) -> dict:
    return {m["name"]: m for m in pod_spec(dep)["containers"][0].get("volumeMounts", [])}


def operator_settings(data: dict) -> set:
    return {k for k in data if k.startswith("YEYAK_OPERATOR")}


def test_named_operators_are_a_file_of_their_own_secret_in_the_services_with_an_operator_api(renders):
    objs = renders["operators"]
    for service, dep in service_deployments(objs).items():
        data = config(objs, service)
        if service not in WITH_OPERATOR_API:
            assert not operator_settings(data) and "operators" not in volumes(dep), service
            continue
        assert operator_settings(data) == {"YEYAK_OPERATORS_FILE"}, f"{service}: no deprecated token beside the list"
        assert data["YEYAK_OPERATORS_FILE"] == f"{OPERATORS_DIR}/operators"
        mount = mounts(dep)["operators"]
        assert mount == {"name": "operators", "mountPath": OPERATORS_DIR, "readOnly": True}, "a directory: reloaded live"
        assert volumes(dep)["operators"]["secret"] == {
            "secretName": valuesets.OPERATORS_SECRET, "defaultMode": 0o440,
            "items": [{"key": "staff", "path": "operators"}]}
        # Nothing about operators is in an environment variable.
        env = {e["name"] for e in pod_spec(dep)["containers"][0].get("env", [])}
        assert not {n for n in env if n.startswith("YEYAK_OPERATOR")}, service
    admission_items = volumes(service_deployments(objs)["admission"])["admission-keys"]["secret"]["items"]
    assert "YEYAK_OPERATOR_TOKEN" not in {i["key"] for i in admission_items}, "the old token is no longer required"


@pytest.mark.parametrize("set_name", ["production", "mocks", "tls"])
def test_without_named_operators_the_deprecated_token_serves_them_all(renders, set_name):
    """Existing installs keep working: admission reads its token as before, and
    the other services with an operator API are given that one key of
    admission's Secret, nothing else."""
    objs = renders[set_name]
    deps = service_deployments(objs)
    assert config(objs, "admission")["YEYAK_OPERATOR_TOKEN_FILE"] == "/var/run/secrets/yeyak/admission/operator-token"
    assert "operators" not in volumes(deps["admission"]), "admission has the token in admission-keys"
    for service in WITH_OPERATOR_API - {"admission"}:
        data = config(objs, service)
        assert operator_settings(data) == {"YEYAK_OPERATOR_TOKEN_FILE"}, service
        assert data["YEYAK_OPERATOR_TOKEN_FILE"] == f"{OPERATORS_DIR}/operator-token"
        assert volumes(deps[service])["operators"]["secret"] == {
            "secretName": "yeyak-admission-keys", "defaultMode": 0o440,
            "items": [{"key": "YEYAK_OPERATOR_TOKEN", "path": "operator-token"}]}, "never the signing or ticket keys"
    for service in set(SERVICES) - WITH_OPERATOR_API:
        assert not operator_settings(config(objs, service)) and "operators" not in volumes(deps[service]), service


@pytest.mark.parametrize("bad,fragment", [
    ({"secrets": {"operators": {"existingSecret": "yeyak-operators", "key": ""}}}, "secrets/operators/key"),
    ({"secrets": {"operators": {"existingSecret": "yeyak-operators", "key": "operators", "token": "x"}}}, "token"),
    ({"admission": {"env": {"YEYAK_OPERATORS": "alice:support:0123456789abcdefghijkl"}}}, "YEYAK_OPERATORS"),
    ({"notification": {"env": {"YEYAK_OPERATOR_TOKEN": "hunter2"}}}, "YEYAK_OPERATOR_TOKEN"),
])
def test_the_schema_keeps_operator_tokens_out_of_values(bad, fragment):
    with pytest.raises(HelmError) as err:
        chartlib.chart().validate_schema(chartlib.deep_merge(valuesets.PRODUCTION, bad))
    assert fragment in str(err.value), str(err.value)


def test_migration_jobs_get_no_operators(renders):
    """`<binary> migrate` reads the database settings only: the Secret stays
    with the serving pods."""
    for set_name in ("operators", "production"):
        jobs = [o for o in renders[set_name] if o["kind"] == "Job" and o["metadata"]["name"].endswith("-migrate")]
        assert {j["metadata"]["name"] for j in jobs} >= {"yeyak-inventory-migrate", "yeyak-reservation-migrate"}, set_name
        for job in jobs:
            spec = pod_spec(job)
            env = {e["name"] for e in spec["containers"][0].get("env", [])}
            assert not {n for n in env if n.startswith("YEYAK_OPERATOR")}, job["metadata"]["name"]
            assert "operators" not in {v["name"] for v in spec.get("volumes", [])}, job["metadata"]["name"]
