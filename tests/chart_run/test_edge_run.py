"""The browser edge as the chart renders it (docs/edge.md), run as local
processes like test_chart_run.py's Deployments (cluster.py): the chart without
mutual TLS (test_chart_run.py runs the edge with it), admission, inventory and
two edge replicas started from the rendered Deployments, the edge's upstreams
the rendered Services. Then what a browser does, in gRPC-Web over HTTP/1.1
with its Origin: join the waiting room, poll for the pass, list the regions
with it. The services still check everything (no pass: inventory's
UNAUTHENTICATED); an operator RPC on the same public port is refused by the
edge itself; a service with no ready pod is UNAVAILABLE at once; another
origin gets 403. Needs the debug binaries (`make test-chart-run` builds them).
"""
from __future__ import annotations

import importlib
import shutil
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from grpc_tools import protoc

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "scripts" / "deploy"))

import chartlib  # noqa: E402
from cluster import ROOT, Cluster, make_workdir  # noqa: E402
from test_chart_run import dev_keys, infra, platform_secrets, values  # noqa: E402,F401 - infra: the fixture

PAGE = "https://booking.example.kr"
EDGE_PORT = 8090
RUNS = ("yeyak-admission", "yeyak-inventory", "yeyak-edge")
WEB = "application/grpc-web+proto"
UNAUTHENTICATED, UNIMPLEMENTED, UNAVAILABLE = 16, 12, 14


def edge_values(keys: dict) -> dict:
    return chartlib.deep_merge(values(keys, identity_replicas=1), {
        "tls": {"internal": {"enabled": False}},
        "edge": {"enabled": True, "replicas": 2, "allowedOrigins": [PAGE]},
        "admission": {"replicas": 1},
        "inventory": {"replicas": 1},
        # A browser without WebCrypto's device key joins unbound: the device
        # proof is admission's business (its own tests), not the edge's.
        "joinLimits": {"deviceBinding": "optional"},
        # Nothing here serves the metrics the automatic rate reads: the operators' rate alone.
        "automaticAdmission": {"enabled": False},
    })


@pytest.fixture(scope="module")
def pb(tmp_path_factory):
    """proto/ compiled as a gateway team would (tests/proto does the same)."""
    out = tmp_path_factory.mktemp("generated")
    proto = ROOT / "proto"
    files = sorted(str(p.relative_to(proto)) for p in proto.rglob("*.proto"))
    well_known = Path(protoc.__file__).resolve().parent / "_proto"
    assert protoc.main(["protoc", f"-I{proto}", f"-I{well_known}", f"--python_out={out}", *files]) == 0
    sys.path.insert(0, str(out))
    try:
        yield {name: importlib.import_module(f"yeyak.{name}.v1.{name}_pb2") for name in ("admission", "inventory")}
    finally:
        sys.path.remove(str(out))


def grpc_web(edge: str, path: str, message: bytes = b"", metadata: dict | None = None,
             origin: str = PAGE) -> tuple[int, dict, list[bytes]]:
    """One unary call as a browser's gRPC-Web client sends it: one length-prefixed
    frame in, data frames and a trailer frame (flag 0x80) out, or the status in
    the headers for a trailers-only answer. (grpc-status, metadata, messages)."""
    frame = b"\x00" + len(message).to_bytes(4, "big") + message
    request = urllib.request.Request(f"http://{edge}{path}", data=frame, method="POST", headers={
        "content-type": WEB, "accept": WEB, "x-grpc-web": "1", "origin": origin, **(metadata or {})})
    with urllib.request.urlopen(request, timeout=20) as response:
        assert response.status == 200, response.status
        assert response.headers["access-control-allow-origin"] == origin
        meta = {k.lower(): v for k, v in response.headers.items()}
        body = response.read()
    messages = []
    while body:
        flag, length = body[0], int.from_bytes(body[1:5], "big")
        payload, body = body[5:5 + length], body[5 + length:]
        if flag & 0x80:
            for line in payload.decode().split("\r\n"):
                key, _, value = line.partition(":")
                if key:
                    meta[key.strip().lower()] = value.strip()
        else:
            messages.append(payload)
    assert "grpc-status" in meta, meta
    return int(meta["grpc-status"]), meta, messages


def handled(cluster: Cluster, workload: str, method: str) -> dict:
    """{grpc_code: calls} the pods of `workload` handled for `method`, from their /metrics."""
    out: dict = {}
    for pod in cluster.live(cluster.workloads[("yeyak", workload)]):
        text = urllib.request.urlopen(f"http://127.0.0.1:{pod.local_port('metrics')}/metrics", timeout=5).read().decode()
        for line in text.splitlines():
            if line.startswith("grpc_server_handled_total") and f'grpc_method="{method}"' in line:
                code = line.split('grpc_code="', 1)[1].split('"', 1)[0]
                out[code] = out.get(code, 0) + int(float(line.rsplit(" ", 1)[1]))
    return out


def edge_calls(cluster: Cluster) -> dict:
    """{(upstream, action): calls} summed over the edge's pods, from their own /metrics."""
    out: dict = {}
    for pod in cluster.live(cluster.workloads[("yeyak", "yeyak-edge")]):
        text = urllib.request.urlopen(f"http://127.0.0.1:{pod.local_port('metrics')}/metrics", timeout=5).read().decode()
        for line in text.splitlines():
            if line.startswith("yeyak_edge_calls_total{"):
                labels = dict(kv.split("=", 1) for kv in line[line.index("{") + 1:line.index("}")].split(","))
                key = (labels["upstream"].strip('"'), labels["action"].strip('"'))
                out[key] = out.get(key, 0) + int(float(line.rsplit(" ", 1)[1]))
    return out


def test_a_browsers_calls_go_through_the_edge_as_rendered(infra, pb):  # noqa: F811 - the imported fixture
    keys = dev_keys()
    objects = chartlib.render(edge_values(keys))
    workdir = make_workdir()
    cluster = Cluster(platform_secrets(keys, infra), workdir)
    cluster.load(objects)
    cluster.start()
    passed = False
    try:
        for job in (o for o in objects if o["kind"] == "Job" and chartlib.is_hook(o)):
            if job["metadata"]["name"].removesuffix("-migrate") in RUNS:
                cluster.run_job(job)
        deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
        for name in RUNS:
            cluster.apply(deployments[name])
        cluster.wait_ready(timeout=180)
        edge_pods = cluster.live(cluster.workloads[("yeyak", "yeyak-edge")])
        assert len(edge_pods) == 2
        # Its upstreams are the Services, as rendered (cluster.py maps their names).
        assert {p.env["YEYAK_INVENTORY_ADDR"] for p in edge_pods} == {
            f"http://{cluster.service_address('yeyak-inventory', 50051)}"}
        edge = cluster.service_address("yeyak-edge", EDGE_PORT)
        for path in ("/healthz", "/readyz"):
            assert urllib.request.urlopen(f"http://{edge}{path}", timeout=5).read() == b"ok\n", path

        # Join, poll, and get the pass: every call through the edge.
        admission, inventory = pb["admission"], pb["inventory"]
        client_id = f"edge-run-{uuid.uuid4().hex}"
        status, meta, answer = grpc_web(edge, "/yeyak.admission.v1.AdmissionService/JoinQueue",
                                        admission.JoinQueueRequest(queue_id="demo", client_id=client_id).SerializeToString())
        assert status == 0, meta
        ticket, admission_pass = admission.JoinQueueResponse.FromString(answer[0]).ticket, ""
        deadline = time.monotonic() + 60
        while not admission_pass and time.monotonic() < deadline:
            status, meta, answer = grpc_web(edge, "/yeyak.admission.v1.AdmissionService/GetQueueStatus",
                                            admission.GetQueueStatusRequest(ticket=ticket, client_id=client_id).SerializeToString())
            assert status == 0, meta
            admission_pass = admission.GetQueueStatusResponse.FromString(answer[0]).status.admission_pass
            time.sleep(0.3)
        assert admission_pass, "not admitted through the edge within 60 s"

        regions = "/yeyak.inventory.v1.InventoryService/ListRegions"
        before = handled(cluster, "yeyak-inventory", "ListRegions")
        status, meta, answer = grpc_web(edge, regions, metadata={"yeyak-admission-pass": admission_pass,
                                                                 "yeyak-client-id": client_id})
        assert status == 0, meta
        assert inventory.ListRegionsResponse.FromString(answer[0]).provinces, "no region seeded"
        # Without the pass the call still reaches inventory, which refuses it:
        # the edge never answers UNAUTHENTICATED itself.
        status, meta, _ = grpc_web(edge, regions)
        assert status == UNAUTHENTICATED, meta
        after = handled(cluster, "yeyak-inventory", "ListRegions")
        assert after.get("OK", 0) == before.get("OK", 0) + 1, (before, after)
        assert after.get("Unauthenticated", 0) == before.get("Unauthenticated", 0) + 1, (before, after)

        # An operator API shares inventory's public port: the edge refuses it and forwards nothing.
        status, meta, _ = grpc_web(edge, "/yeyak.inventory.v1.InventoryOperatorService/CloseSlots",
                                   metadata={"authorization": f"Bearer {keys['YEYAK_OPERATOR_TOKEN']}"})
        assert status == UNIMPLEMENTED, meta
        assert sum(handled(cluster, "yeyak-inventory", "CloseSlots").values()) == 0
        # Identity has no ready pod: its Service refuses, and the edge says so at once.
        started = time.monotonic()
        status, meta, _ = grpc_web(edge, "/yeyak.identity.v1.IdentityService/ListProviders")
        assert status == UNAVAILABLE and time.monotonic() - started < 5, meta
        # Another site's page: refused before any service.
        with pytest.raises(urllib.error.HTTPError) as refused:
            grpc_web(edge, regions, origin="https://elsewhere.example")
        assert refused.value.code == 403
        # The rendered metrics port: the two edge pods counted what they did, between them.
        calls = edge_calls(cluster)
        assert calls.get(("inventory", "forwarded")) == 2, calls
        assert calls.get(("other", "not_public")) == 1, calls
        assert calls.get(("identity", "unreachable")) == 1, calls
        assert calls.get(("admission", "forwarded"), 0) >= 2, calls   # the join and the polls
        passed = True
    finally:
        cluster.stop()
        shutil.rmtree(workdir / "volumes", ignore_errors=True)
        if passed:
            shutil.rmtree(workdir, ignore_errors=True)
