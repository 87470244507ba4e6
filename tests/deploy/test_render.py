"""Render every value set and check each object: strict Kubernetes 1.32 schemas,
no duplicate YAML keys, the common labels, and the wiring between objects
(selectors, named ports, referenced ConfigMaps and scale targets)."""

from __future__ import annotations

import copy

import pytest
import yaml

import chartlib
import k8svalidate
import valuesets
from deploytest import SERVICES, WEB_COMPONENTS, by_kind, label_name, pod_labels, pod_spec, render, workloads

SETS = list(valuesets.SETS)
COMMON_LABELS = {
    "app.kubernetes.io/part-of": "yeyak",
    "app.kubernetes.io/instance": chartlib.RELEASE,
    "app.kubernetes.io/managed-by": "Helm",
}


def test_each_set_renders_what_it_should(renders):
    kinds = {name: sorted({o.kind for o in objs}) for name, objs in renders.items()}
    base = {"ConfigMap", "Deployment", "Job", "PodDisruptionBudget", "Service", "ServiceAccount"}
    assert set(kinds["production"]) == base
    assert set(kinds["mocks"]) == base | {"Namespace"}
    assert set(kinds["identity-scaled"]) == base | {"HorizontalPodAutoscaler"}
    assert set(kinds["network"]) == base | {"NetworkPolicy", "ServiceMonitor"}
    assert set(kinds["network-mocks"]) == base | {"NetworkPolicy", "Namespace"}
    assert set(kinds["prescaling"]) == base | {"ScaledObject"}
    assert set(kinds["tls"]) == base | {"NetworkPolicy", "ServiceMonitor"}
    assert set(kinds["tls-mocks"]) == base | {"Namespace"}
    assert set(kinds["ca-bundle"]) == base
    assert set(kinds["observability"]) == base | {"ServiceMonitor", "PrometheusRule"}


@pytest.mark.parametrize("set_name", SETS)
def test_objects_validate_strictly_against_kubernetes_1_32(renders, set_name):
    errors = k8svalidate.all_errors(renders[set_name])
    assert errors == [], "\n".join(errors)


def test_the_validator_can_fail(renders):
    """A misspelt field, a wrong type, a bad CRD field: each is reported."""
    deployment = copy.deepcopy(by_kind(renders["production"], "Deployment")[0])
    deployment["spec"]["replica"] = 3
    assert k8svalidate.errors(deployment)
    deployment = copy.deepcopy(by_kind(renders["production"], "Deployment")[0])
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["grpc"]["port"] = "grpc"
    assert k8svalidate.errors(deployment)
    monitor = copy.deepcopy(by_kind(renders["network"], "ServiceMonitor")[0])
    monitor["spec"]["endpoints"][0]["intervall"] = "15s"
    assert k8svalidate.errors(monitor)
    scaled = copy.deepcopy(by_kind(renders["prescaling"], "ScaledObject")[0])
    scaled["spec"]["triggers"][0]["metadata"]["desiredReplicas"] = 30
    assert k8svalidate.errors(scaled)


@pytest.mark.parametrize("set_name", SETS)
def test_no_duplicate_yaml_keys(set_name):
    """Each template's output parses with a loader that refuses a repeated key."""
    templates = chartlib.render_templates(valuesets.SETS[set_name])
    for path, text in templates.items():
        if not path.endswith("NOTES.txt"):
            chartlib.load_all(text, path)


def test_strict_loader_refuses_a_duplicate_key():
    with pytest.raises(chartlib.DuplicateKeyError):
        chartlib.load_all("a: 1\nb:\n  c: 1\n  c: 2\n")


@pytest.mark.parametrize("set_name", SETS)
def test_common_labels_everywhere(renders, set_name):
    for obj in renders[set_name]:
        labels = obj["metadata"].get("labels", {})
        where = f"{obj.kind}/{obj.name} ({obj.source})"
        for key, value in COMMON_LABELS.items():
            assert labels.get(key) == value, f"{where}: label {key}={labels.get(key)!r}"
        assert labels.get("helm.sh/chart", "").startswith("yeyak-"), where
        assert labels.get("app.kubernetes.io/version"), where
        if pod_spec(obj) is not None:
            pod = pod_labels(obj)
            for key in ("app.kubernetes.io/part-of", "app.kubernetes.io/instance", "app.kubernetes.io/name"):
                assert pod.get(key), f"{where}: pod template label {key} missing"


def _matches(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("set_name", SETS)
def test_wiring(renders, set_name):
    objs = renders[set_name]
    deployments = by_kind(objs, "Deployment")
    ns_of = lambda o: o.namespace or chartlib.NAMESPACE  # noqa: E731
    # Every Deployment's selector picks its own pod template, and no other Deployment's pods.
    for dep in deployments:
        selector = dep["spec"]["selector"]["matchLabels"]
        assert _matches(selector, pod_labels(dep)), dep.name
        others = [d.name for d in deployments if d is not dep and ns_of(d) == ns_of(dep)
                  and _matches(selector, pod_labels(d))]
        assert others == [], f"{dep.name} selects the pods of {others}"
    # Every Service selects exactly one Deployment's pods, whose containers name its target ports.
    for svc in by_kind(objs, "Service"):
        targets = [d for d in deployments if ns_of(d) == ns_of(svc)
                   and _matches(svc["spec"]["selector"], pod_labels(d))]
        assert len(targets) == 1, f"Service {svc.name} selects {[d.name for d in targets]}"
        names = {p.get("name") for c in pod_spec(targets[0])["containers"] for p in c.get("ports", [])}
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in names, f"Service {svc.name}: no container port {port['targetPort']}"
    # envFrom and volumes point at ConfigMaps of the render (or at existingConfigMap).
    config_maps = {(ns_of(c), c.name) for c in by_kind(objs, "ConfigMap")}
    config_maps |= {(chartlib.NAMESPACE, name) for name in valuesets.EXISTING_CONFIG_MAPS}
    for workload in workloads(objs):
        spec = pod_spec(workload)
        for container in spec["containers"]:
            for source in container.get("envFrom", []):
                ref = source["configMapRef"]["name"]
                assert (ns_of(workload), ref) in config_maps, f"{workload.name}: envFrom {ref}"
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                assert (ns_of(workload), volume["configMap"]["name"]) in config_maps, workload.name
    # HPAs, ScaledObjects, PDBs, ServiceMonitors target what exists.
    dep_names = {d.name for d in deployments}
    for hpa in by_kind(objs, "HorizontalPodAutoscaler"):
        assert hpa["spec"]["scaleTargetRef"]["name"] in dep_names
    for scaled in by_kind(objs, "ScaledObject"):
        assert scaled["spec"]["scaleTargetRef"]["name"] in dep_names
    for pdb in by_kind(objs, "PodDisruptionBudget"):
        hits = [d for d in deployments if _matches(pdb["spec"]["selector"]["matchLabels"], pod_labels(d))]
        assert len(hits) == 1, pdb.name
    for monitor in by_kind(objs, "ServiceMonitor"):
        hits = [s for s in by_kind(objs, "Service")
                if _matches(monitor["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])]
        assert len(hits) == 1, f"ServiceMonitor {monitor.name} selects {len(hits)} Services"
        assert {e["port"] for e in monitor["spec"]["endpoints"]} <= {p["name"] for p in hits[0]["spec"]["ports"]}
    # Every ServiceAccount a pod names exists (or is the namespace's default).
    accounts = {(ns_of(a), a.name) for a in by_kind(objs, "ServiceAccount")}
    for workload in workloads(objs):
        name = pod_spec(workload).get("serviceAccountName", "default")
        assert name == "default" or (ns_of(workload), name) in accounts, workload.name


def test_mocks_only_when_enabled(renders):
    def mocks(objs):
        return sorted(label_name(d) for d in by_kind(objs, "Deployment")
                      if label_name(d) not in SERVICES + WEB_COMPONENTS)

    assert mocks(renders["production"]) == []
    assert mocks(renders["mocks"]) == [
        "mock-idp-carrier-sms", "mock-idp-fin-cert", "mock-idp-kakao-cert", "mock-idp-naver-cert",
        "mock-registry", "mock-sms"]
    registry = [d for d in by_kind(renders["mocks"], "Deployment") if label_name(d) == "mock-registry"][0]
    assert registry.namespace == "yeyak-registry"
    # Everything else stays in the release namespace.
    elsewhere = [o.name for o in renders["mocks"] if o.namespace not in (None, "yeyak-registry")]
    assert elsewhere == []


def test_services_point_at_mocks_or_third_parties(renders):
    def config(objs, service):
        return next(c["data"] for c in by_kind(objs, "ConfigMap") if c.name == f"yeyak-{service}")

    prod, mocks = renders["production"], renders["mocks"]
    assert config(prod, "eligibility")["YEYAK_REGISTRY_URL"] == "https://registry.example.org"
    assert config(prod, "identity")["YEYAK_PROVIDERS"] == (
        "carrier-sms=https://carrier-sms.example.org,kakao-cert=https://kakao-cert.example.org")
    assert config(prod, "notification")["YEYAK_SMS_GATEWAY_URL"] == "https://sms-gateway.example.org"
    assert config(prod, "reservation")["YEYAK_INVENTORY_ADDR"] == "yeyak-inventory:50061"
    assert config(prod, "reservation")["YEYAK_ELIGIBILITY_ADDR"] == "yeyak-eligibility:50051"
    assert all(config(prod, s)["YEYAK_ENV"] == "production" for s in SERVICES)
    assert config(mocks, "eligibility")["YEYAK_REGISTRY_URL"] == (
        "http://yeyak-mock-registry.yeyak-registry.svc:8080")
    assert config(mocks, "notification")["YEYAK_SMS_GATEWAY_URL"] == "http://yeyak-mock-sms:8080"
    assert config(mocks, "identity")["YEYAK_PROVIDERS"].split(",")[0] == (
        "carrier-sms=http://yeyak-mock-idp-carrier-sms:8080")
    assert all(config(mocks, s)["YEYAK_ENV"] == "dev" for s in SERVICES)


def test_rules_mounted_as_a_directory(renders):
    """The rules ConfigMap is mounted as a directory (not subPath), so the
    kubelet swaps the file when it changes and eligibility reloads it live."""
    objs = renders["production"]
    rules = next(c for c in by_kind(objs, "ConfigMap") if c.name == "yeyak-eligibility-rules")
    assert yaml.safe_load(yaml.safe_dump({"r": rules["data"]["rules.toml"]}))["r"] == valuesets.RULES
    dep = next(d for d in by_kind(objs, "Deployment") if d.name == "yeyak-eligibility")
    container = pod_spec(dep)["containers"][0]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "rules")
    assert "subPath" not in mount and mount["readOnly"] is True
    config = next(c["data"] for c in by_kind(objs, "ConfigMap") if c.name == "yeyak-eligibility")
    assert config["YEYAK_RULES_FILE"] == mount["mountPath"].rstrip("/") + "/rules.toml"
    # An operator-managed ConfigMap replaces the chart's.
    values = copy.deepcopy(valuesets.PRODUCTION)
    values["eligibility"]["rules"] = {"toml": "", "existingConfigMap": "our-rules"}
    objs = render(values)
    assert not [c for c in by_kind(objs, "ConfigMap") if c.name == "yeyak-eligibility-rules"]
    dep = next(d for d in by_kind(objs, "Deployment") if d.name == "yeyak-eligibility")
    rules = next(v for v in pod_spec(dep)["volumes"] if v["name"] == "rules")
    assert rules["configMap"]["name"] == "our-rules"


def test_migrations_are_hooks_of_the_owning_services(renders):
    jobs = by_kind(renders["production"], "Job")
    assert sorted(j.name for j in jobs) == [
        "yeyak-admission-migrate", "yeyak-inventory-migrate", "yeyak-notification-migrate", "yeyak-reservation-migrate"]
    for job in jobs:
        annotations = job["metadata"]["annotations"]
        assert set(annotations["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
        container = pod_spec(job)["containers"][0]
        assert container["args"] == ["migrate"]
        service = job.name.removeprefix("yeyak-").removesuffix("-migrate")
        dep = next(d for d in by_kind(renders["production"], "Deployment") if d.name == f"yeyak-{service}")
        assert container["image"] == pod_spec(dep)["containers"][0]["image"]
        assert container["command"] == pod_spec(dep)["containers"][0]["command"]
    # The services then leave migrations to the hooks.
    for service in ("admission", "inventory", "reservation", "notification"):
        config = next(c["data"] for c in by_kind(renders["production"], "ConfigMap")
                      if c.name == f"yeyak-{service}")
        assert config["YEYAK_RUN_MIGRATIONS"] == "false"
    values = chartlib.deep_merge(valuesets.PRODUCTION, {"migrations": {"enabled": False}})
    objs = render(values)
    assert by_kind(objs, "Job") == []
    assert all("YEYAK_RUN_MIGRATIONS" not in c.get("data", {}) for c in by_kind(objs, "ConfigMap"))


def test_notes_render():
    text = chartlib.notes(valuesets.PRODUCTION)
    assert "yeyak-identity:50051" in text and "NetworkPolicies are off" in text
    assert "MOCK" in chartlib.notes(valuesets.MOCKS)
