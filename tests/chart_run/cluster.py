"""A cluster of local processes that runs what the chart renders, as rendered.

Each Deployment becomes `replicas` processes of the binary its container's
`command` names, with the environment the kubelet would give it: `envFrom`
ConfigMaps, `env` values and `secretKeyRef`s resolved from the rendered
ConfigMaps and the Secrets the test supplies (as a platform team would).
Only what cannot be the same on one machine is mapped: every container port
of every replica (`grpc`, `grpc-internal`, `metrics`, and `health` with
internal TLS) gets its own loopback port (listen addresses `0.0.0.0:<port>`
are rewritten to it), every Service is a loopback TCP proxy balancing
connections over the ready endpoints of the pods its selector matches (as
kube-proxy does; TLS passes through it untouched), Service DNS names in the
environment point at those proxies (`host:port` and `https://host:port`
alike, so `https://yeyak-inventory:50061` becomes `https://127.0.0.1:<proxy>`:
the test certificates include 127.0.0.1), and ConfigMap and Secret volumes are
files in a temporary directory (a Secret's from the test Secrets, with the
rendered file modes), with paths under a mount point rewritten to them.
Readiness is the rendered probe on the rendered port (gRPC health with the
rendered service name, in plaintext as the kubelet asks, or HTTP GET), polled
like the kubelet does; a pod leaves its Services' endpoints when it fails
readiness or starts terminating.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from proxy import Proxies, free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "target" / "debug"
NAMESPACE = "yeyak"


@dataclass
class Pod:
    workload: str
    index: int
    namespace: str
    labels: dict
    ports: dict            # containerPort -> local port
    port_names: dict       # port name -> containerPort
    probe: dict | None
    process: subprocess.Popen
    log: Path
    env: dict              # the environment it was started with (after the mapping)
    ready: bool = False
    terminating: bool = False

    @property
    def name(self) -> str:
        return f"{self.workload}-{self.index}"

    def local_port(self, port) -> int:
        """The loopback port of a container port, given by number or by name."""
        return self.ports[port if isinstance(port, int) else self.port_names[port]]


@dataclass
class Workload:
    """A Deployment as rendered: what the reconciler compares between renders."""
    obj: dict
    pods: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.obj["metadata"]["name"]

    def spec_without_replicas(self) -> dict:
        spec = dict(self.obj["spec"])
        spec.pop("replicas", None)
        return spec


def namespace_of(obj: dict) -> str:
    return obj["metadata"].get("namespace") or NAMESPACE


class Cluster:
    def __init__(self, secrets: dict, workdir: Path):
        self.secrets = secrets      # (namespace, name) -> {key: value}
        self.workdir = workdir
        self.config_maps: dict = {}
        self.services: list = []
        self.workloads: dict = {}   # (namespace, name) -> Workload
        self.proxies = Proxies()
        self._stop = threading.Event()
        self._prober = threading.Thread(target=self._probe_loop, daemon=True)

    # --- objects ---------------------------------------------------------
    def load(self, objects: list) -> None:
        """Takes the ConfigMaps and Services of a render (before any pod starts)."""
        for obj in objects:
            key = (namespace_of(obj), obj["metadata"]["name"])
            if obj["kind"] == "ConfigMap":
                self.config_maps[key] = obj.get("data", {})
            elif obj["kind"] == "Service":
                self.services.append(obj)
                for port in obj["spec"]["ports"]:
                    self.proxies.ensure(key, port["port"])

    def service_address(self, name: str, port: int, namespace: str = NAMESPACE) -> str:
        return f"127.0.0.1:{self.proxies.port((namespace, name), port)}"

    # --- environment -----------------------------------------------------
    def _secret(self, namespace: str, ref: dict) -> str:
        try:
            return self.secrets[(namespace, ref["name"])][ref["key"]]
        except KeyError as e:
            raise AssertionError(f"secret {namespace}/{ref['name']} has no key {ref['key']!r}") from e

    def _rewrite(self, value: str, listen: dict, mounts: dict) -> str:
        # A Service name is matched wherever it stands alone: `host:port`, or
        # after a scheme (`https://host:port`), which is kept.
        for container_port, local in listen.items():
            value = value.replace(f"0.0.0.0:{container_port}", f"127.0.0.1:{local}")
        for svc in self.services:
            ns, name = namespace_of(svc), svc["metadata"]["name"]
            host = rf"{re.escape(name)}(?:\.{re.escape(ns)}(?:\.svc(?:\.cluster\.local)?)?)?"
            for port in svc["spec"]["ports"]:
                local = self.proxies.port((ns, name), port["port"])
                value = re.sub(rf"(?<![\w.-]){host}:{port['port']}(?!\d)", f"127.0.0.1:{local}", value)
        for mount_path, local_dir in mounts.items():
            if value.startswith(mount_path.rstrip("/") + "/"):
                value = str(local_dir) + value[len(mount_path.rstrip("/")):]
        return value

    def environment(self, namespace: str, pod_spec: dict, container: dict, listen: dict, mounts: dict) -> dict:
        env: dict = {}
        for source in container.get("envFrom", []):
            ref = source["configMapRef"]["name"]
            env.update(self.config_maps[(namespace, ref)])
        for entry in container.get("env", []):
            if "value" in entry:
                env[entry["name"]] = entry["value"]
            else:
                env[entry["name"]] = self._secret(namespace, entry["valueFrom"]["secretKeyRef"])
        return {k: self._rewrite(str(v), listen, mounts) for k, v in env.items()}

    def _volume_data(self, namespace: str, volume: dict) -> tuple[dict, list | None]:
        """(data, items) of a configMap or secret volume, as the kubelet reads them."""
        if "configMap" in volume:
            source = volume["configMap"]
            data = self.config_maps.get((namespace, source["name"]))
            what = f"ConfigMap {namespace}/{source['name']}"
        elif "secret" in volume:
            source = volume["secret"]
            data = self.secrets.get((namespace, source["secretName"]))
            what = f"Secret {namespace}/{source['secretName']}"
        else:
            raise AssertionError(f"volume {volume['name']}: only configMap and secret volumes are run here")
        assert data is not None, f"volume {volume['name']}: no {what}"
        return data, source.get("items")

    def _mounts(self, namespace: str, pod_name: str, pod_spec: dict, container: dict) -> dict:
        volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
        mounts = {}
        for mount in container.get("volumeMounts", []):
            assert "subPath" not in mount, f"{pod_name}: {mount['name']} is a subPath mount (never updated)"
            volume = volumes[mount["name"]]
            local = self.workdir / "volumes" / pod_name / mount["name"]
            local.mkdir(parents=True, exist_ok=True)
            data, items = self._volume_data(namespace, volume)
            source = volume.get("configMap") or volume.get("secret")
            for item in items or [{"key": k, "path": k} for k in data]:
                assert item["key"] in data, f"{pod_name}: volume {mount['name']} has no key {item['key']!r}"
                path = local / item["path"]
                path.write_text(data[item["key"]])
                mode = item.get("mode", source.get("defaultMode"))
                if mode is not None:
                    os.chmod(path, mode)
            mounts[mount["mountPath"]] = local
        return mounts

    def command(self, container: dict) -> list:
        binary = BIN / Path(container["command"][0]).name
        assert binary.exists(), f"{binary} is not built"
        return [str(binary), *container.get("args", [])]

    # --- pods ------------------------------------------------------------
    def run_job(self, job: dict, timeout: float = 120) -> None:
        """Runs a Job's pod to completion (a hook before the install)."""
        namespace, pod_spec = namespace_of(job), job["spec"]["template"]["spec"]
        container = pod_spec["containers"][0]
        mounts = self._mounts(namespace, job["metadata"]["name"], pod_spec, container)
        env = self.environment(namespace, pod_spec, container, {}, mounts)
        log = self.workdir / f"{job['metadata']['name']}.log"
        with log.open("w") as out:
            done = subprocess.run(self.command(container), env={"PATH": "/usr/bin:/bin", **env},
                                  stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False)
        assert done.returncode == 0, f"job {job['metadata']['name']} failed: {log.read_text()[-2000:]}"

    def start_pod(self, workload: Workload) -> Pod:
        obj = workload.obj
        namespace, template = namespace_of(obj), obj["spec"]["template"]
        pod_spec, container = template["spec"], template["spec"]["containers"][0]
        index = max((p.index for p in workload.pods), default=-1) + 1
        pod_name = f"{workload.name}-{index}"
        listen = {p["containerPort"]: free_port() for p in container.get("ports", [])}
        mounts = self._mounts(namespace, pod_name, pod_spec, container)
        env = self.environment(namespace, pod_spec, container, listen, mounts)
        log = self.workdir / f"{pod_name}.log"
        process = subprocess.Popen(self.command(container), env={"PATH": "/usr/bin:/bin", **env},
                                   stdout=log.open("w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        pod = Pod(workload.name, index, namespace, template["metadata"]["labels"], listen,
                  {p["name"]: p["containerPort"] for p in container.get("ports", [])},
                  container.get("readinessProbe"), process, log, env)
        workload.pods.append(pod)
        return pod

    def apply(self, deployment: dict) -> Workload:
        key = (namespace_of(deployment), deployment["metadata"]["name"])
        workload = self.workloads.setdefault(key, Workload(deployment))
        workload.obj = deployment
        replicas = deployment["spec"].get("replicas", 1)
        while len(self.live(workload)) < replicas:
            self.start_pod(workload)
        return workload

    def live(self, workload: Workload) -> list:
        return [p for p in workload.pods if not p.terminating]

    def terminate(self, pod: Pod, pre_stop: float, grace: float) -> float:
        """Deletes a pod as the kubelet does: out of the endpoints at once,
        the preStop pause, SIGTERM, then SIGKILL after the grace period.
        Returns how long the process took to exit after SIGTERM."""
        pod.terminating = True
        self._refresh_endpoints()
        time.sleep(pre_stop)
        pod.process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        try:
            pod.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pod.process.kill()
            pod.process.wait()
            raise AssertionError(f"{pod.name} ignored SIGTERM for {grace}s")
        return time.monotonic() - started

    # --- readiness ---------------------------------------------------------
    def _probe(self, pod: Pod) -> bool:
        probe = pod.probe
        if probe is None:
            return pod.process.poll() is None
        if "grpc" in probe:
            # The kubelet's gRPC probe speaks plaintext HTTP/2, to the port as rendered.
            local = pod.local_port(probe["grpc"]["port"])
            with grpc.insecure_channel(f"127.0.0.1:{local}") as channel:
                try:
                    answer = health_pb2_grpc.HealthStub(channel).Check(
                        health_pb2.HealthCheckRequest(service=probe["grpc"].get("service", "")), timeout=1)
                except grpc.RpcError:
                    return False
                return answer.status == health_pb2.HealthCheckResponse.SERVING
        get = probe["httpGet"]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{pod.local_port(get['port'])}{get['path']}", timeout=1) as r:
                return 200 <= r.status < 400
        except OSError:
            return False

    def _refresh_endpoints(self) -> None:
        pods = [p for w in self.workloads.values() for p in w.pods]
        for svc in self.services:
            selector, ns = svc["spec"]["selector"], namespace_of(svc)
            members = [p for p in pods if p.namespace == ns and p.ready and not p.terminating
                       and all(p.labels.get(k) == v for k, v in selector.items())]
            for port in svc["spec"]["ports"]:
                target = port["targetPort"]
                endpoints = []
                for p in members:
                    container_port = p.port_names.get(target) if isinstance(target, str) else target
                    if container_port in p.ports:
                        endpoints.append(p.ports[container_port])
                self.proxies.set_endpoints((ns, svc["metadata"]["name"]), port["port"], endpoints)

    def _probe_loop(self) -> None:
        while not self._stop.is_set():
            for pod in [p for w in list(self.workloads.values()) for p in w.pods]:
                if not pod.terminating:
                    pod.ready = pod.process.poll() is None and self._probe(pod)
            self._refresh_endpoints()
            self._stop.wait(0.3)

    def start(self) -> None:
        self.proxies.start()
        self._prober.start()

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pods = [p for w in self.workloads.values() for p in self.live(w)]
            dead = [p for p in pods if p.process.poll() is not None]
            assert not dead, "exited: " + "; ".join(f"{p.name}: {p.log.read_text()[-1500:]}" for p in dead)
            if all(p.ready for p in pods):
                return
            time.sleep(0.2)
        waiting = [p.name for w in self.workloads.values() for p in self.live(w) if not p.ready]
        raise AssertionError(f"not ready after {timeout}s: {waiting}")

    def stop(self) -> None:
        self._stop.set()
        for pod in [p for w in self.workloads.values() for p in w.pods]:
            if pod.process.poll() is None:
                pod.process.send_signal(signal.SIGTERM)
        for pod in [p for w in self.workloads.values() for p in w.pods]:
            try:
                pod.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pod.process.kill()
        self.proxies.stop()


def make_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="yeyak-chart-run-"))
