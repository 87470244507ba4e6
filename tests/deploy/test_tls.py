"""TLS values (docs/deployment.md "TLS"): the extra CA bundle, mutual TLS
between the services from cert-manager's Secrets, the probes on a plaintext
health-only port, https:// between services only with TLS on."""

from __future__ import annotations

import re

import pytest
import yaml
from helm_python.errors import HelmError

import chartlib
import netmodel
import valuesets
from deploytest import SERVICES, by_kind, find, pod_spec, render, service_deployments

TLS_DIR = "/var/run/secrets/yeyak/tls"
CA_FILE = "/etc/yeyak/ca/ca.crt"
HEALTH_PORT = 8086
TLS_FILES = {
    "YEYAK_TLS_CERT_FILE": f"{TLS_DIR}/tls.crt", "YEYAK_TLS_KEY_FILE": f"{TLS_DIR}/tls.key",
    "YEYAK_TLS_CLIENT_CERT_FILE": f"{TLS_DIR}/tls.crt", "YEYAK_TLS_CLIENT_KEY_FILE": f"{TLS_DIR}/tls.key",
    "YEYAK_TLS_CLIENT_CA_FILE": f"{TLS_DIR}/ca.crt",
}


def settings(set_name: str) -> dict:
    return chartlib.chart().merge_values(valuesets.SETS[set_name])["tls"]


def config(objs, service) -> dict:
    return find(objs, "ConfigMap", f"yeyak-{service}")["data"]


def volumes(spec) -> dict:
    return {v["name"]: v for v in spec.get("volumes", [])}


def mounts(container) -> dict:
    return {m["name"]: m for m in container.get("volumeMounts", [])}


@pytest.mark.parametrize("set_name", list(valuesets.SETS))
def test_internal_tls_only_when_enabled(renders, set_name):
    objs = renders[set_name]
    tls = settings(set_name)
    on, bundle = tls["internal"]["enabled"], bool(tls["caBundle"]["secret"] or tls["caBundle"]["configMap"])
    for service, dep in service_deployments(objs).items():
        data, spec = config(objs, service), pod_spec(dep)
        container = spec["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        if on:
            assert {k: data.get(k) for k in TLS_FILES} == TLS_FILES, service
            # The internal CA is trusted, unless a bundle (which must hold it) replaces it.
            assert data["YEYAK_TLS_CA_FILE"] == (CA_FILE if bundle else f"{TLS_DIR}/ca.crt"), service
            secret = volumes(spec)["tls"]["secret"]
            assert secret["secretName"] == f"yeyak-{service}-tls"
            assert {i["key"] for i in secret["items"]} == {"tls.crt", "tls.key", "ca.crt"}
            mount = mounts(container)["tls"]
            assert (mount["mountPath"], mount["readOnly"], "subPath" in mount) == (TLS_DIR, True, False)
            # Plaintext health only, for the kubelet: the probes ask it.
            assert ports["health"] == HEALTH_PORT
            assert data["YEYAK_HEALTH_GRPC_ADDR"] == f"0.0.0.0:{HEALTH_PORT}"
        else:
            assert not set(TLS_FILES) & set(data), service
            assert "tls" not in volumes(spec) and "health" not in ports, service
            assert "YEYAK_HEALTH_GRPC_ADDR" not in data, service
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["grpc"]["port"] == ports["health" if on else "grpc"], (service, probe)


@pytest.mark.parametrize("set_name", list(valuesets.SETS))
def test_https_between_services_only_with_tls(renders, set_name):
    objs = renders[set_name]
    on = settings(set_name)["internal"]["enabled"]
    data = config(objs, "reservation")
    scheme = "https://" if on else ""
    assert data["YEYAK_ELIGIBILITY_ADDR"] == f"{scheme}yeyak-eligibility:50051"
    assert data["YEYAK_INVENTORY_ADDR"] == f"{scheme}yeyak-inventory:50061"
    for service in SERVICES:
        if service != "reservation":
            assert "https://yeyak-" not in str(config(objs, service)), service
    # A cleartext appProtocol (h2c) only while the ports are cleartext.
    for svc in by_kind(objs, "Service"):
        for port in svc["spec"]["ports"]:
            if port["name"].startswith("grpc"):
                assert port.get("appProtocol") == (None if on else "kubernetes.io/h2c"), (svc.name, port)


@pytest.mark.parametrize("set_name", list(valuesets.SETS))
def test_ca_bundle_in_every_service_and_migration(renders, set_name):
    objs = renders[set_name]
    ca = settings(set_name)["caBundle"]
    pods = list(service_deployments(objs).values()) + by_kind(objs, "Job")
    assert by_kind(objs, "Job"), "no migration Jobs to check"
    for workload in pods:
        spec = pod_spec(workload)
        container = spec["containers"][0]
        volume = volumes(spec).get("ca-bundle")
        if not (ca["secret"] or ca["configMap"]):
            assert volume is None and "ca-bundle" not in mounts(container), workload.name
            continue
        source = volume["secret"]["secretName"] if "secret" in volume else volume["configMap"]["name"]
        assert source == (ca["secret"] or ca["configMap"]), workload.name
        assert (volume.get("secret") or volume.get("configMap"))["items"] == [{"key": ca["key"], "path": "ca.crt"}]
        mount = mounts(container)["ca-bundle"]
        assert (mount["mountPath"], mount["readOnly"], "subPath" in mount) == ("/etc/yeyak/ca", True, False)
        if workload.kind == "Job":
            assert {"name": "YEYAK_TLS_CA_FILE", "value": CA_FILE} in container["env"], workload.name
        else:
            assert config(objs, workload.name.removeprefix("yeyak-"))["YEYAK_TLS_CA_FILE"] == CA_FILE


def test_the_health_port_admits_no_pod():
    """NetworkPolicies admit ports to pods; the kubelet's probes come from the
    node, which NetworkPolicy always allows. No pod reaches the health port."""
    values = chartlib.chart().merge_values(valuesets.TLS)
    cluster, endpoints = netmodel.build(render(valuesets.TLS), values)
    got = netmodel.allowed(cluster, endpoints)
    assert {e.id for e in endpoints if any(p.number == HEALTH_PORT for p in e.ports)} == set(SERVICES)
    assert {t for t in got if t[2] == HEALTH_PORT} == set()


def test_a_bundle_from_both_a_secret_and_a_config_map_is_refused():
    values = chartlib.deep_merge(valuesets.PRODUCTION, {"tls": {"caBundle": {"secret": "a", "configMap": "b"}}})
    with pytest.raises(HelmError) as err:
        chartlib.render(values)
    assert "tls.caBundle" in str(err.value)


@pytest.mark.parametrize("values,fragment", [
    ({"tls": {"internal": {"enable": True}}}, "enable"),
    ({"tls": {"caBundel": {"secret": "x"}}}, "caBundel"),
    ({"tls": {"internal": {"secretSuffix": "Not_A_Name"}}}, "secretSuffix"),
    ({"tls": {"internal": {"enabled": "yes"}}}, "enabled"),
])
def test_tls_values_are_in_the_strict_schema(values, fragment):
    with pytest.raises(HelmError) as err:
        chartlib.chart().validate_schema(values)
    assert fragment in str(err.value), str(err.value)


def test_secret_suffix_names_the_secrets():
    values = chartlib.deep_merge(valuesets.TLS, {"tls": {"internal": {"secretSuffix": "mtls"}}})
    for service, dep in service_deployments(render(values)).items():
        assert volumes(pod_spec(dep))["tls"]["secret"]["secretName"] == f"yeyak-{service}-mtls"


def test_the_docs_certificate_matches_the_chart(renders):
    """docs/deployment.md's cert-manager Certificate makes the Secret the chart
    mounts, valid for the Service's names, for server and client auth."""
    text = (chartlib.ROOT / "docs" / "deployment.md").read_text()
    section = text.split("\n## TLS\n", 1)[1].split("\n## ", 1)[0]
    assert text.index("\n## TLS\n") < text.index("\n## Network policies\n")
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", section, re.S)]
    [cert] = [b for b in blocks if isinstance(b, dict) and b.get("kind") == "Certificate"]
    assert cert["apiVersion"] == "cert-manager.io/v1"
    service = cert["spec"]["secretName"].removeprefix("yeyak-").removesuffix("-tls")
    assert service in SERVICES
    mounted = volumes(pod_spec(service_deployments(renders["tls"])[service]))["tls"]["secret"]["secretName"]
    assert cert["spec"]["secretName"] == mounted
    name = f"yeyak-{service}"
    assert {name, f"{name}.yeyak.svc", f"{name}.yeyak.svc.cluster.local"} <= set(cert["spec"]["dnsNames"])
    assert {"server auth", "client auth"} <= set(cert["spec"]["usages"])
