"""A non-Rust client loads `proto/` as it is and reads our error details.

Every .proto under proto/ is compiled with the protoc of grpcio-tools (as a
gateway team would, with nothing fetched), then the `grpc-status-details-bin`
trailers of real errors are decoded with the generated google.rpc classes.
The errors come from the real binaries over the wire, not from a fixture
(fixtures go stale): admission hands out a pass, and identity, with its one
identity provider unreachable, answers a bad field with `BadRequest` and a
verification with `ErrorInfo` + `RetryInfo`. Needs the debug binaries
(`make test-chart-run` builds them first), PostgreSQL and Redis on loopback.
"""
from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import grpc
import pytest
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[2]
PROTO = ROOT / "proto"
BIN = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug"
PG = "postgres://postgres@127.0.0.1:5432"


def proto_files() -> list[str]:
    return sorted(str(p.relative_to(PROTO)) for p in PROTO.rglob("*.proto"))


@pytest.fixture(scope="module")
def pb(tmp_path_factory):
    """Every .proto under proto/, compiled and imported; modules by file name."""
    out = tmp_path_factory.mktemp("generated")
    well_known = Path(protoc.__file__).resolve().parent / "_proto"
    args = ["protoc", f"-I{PROTO}", f"-I{well_known}", f"--python_out={out}", f"--grpc_python_out={out}", *proto_files()]
    assert protoc.main(args) == 0, f"protoc failed on proto/: {' '.join(args)}"
    sys.path.insert(0, str(out))
    try:
        yield {name: importlib.import_module(name.removesuffix(".proto").replace("/", ".") + "_pb2") for name in proto_files()}
    finally:
        sys.path.remove(str(out))


def test_every_proto_compiles_and_google_rpc_is_there(pb):
    assert "google/rpc/status.proto" in pb and "google/rpc/error_details.proto" in pb
    assert sum(name.startswith("yeyak/") for name in pb) >= 7, sorted(pb)
    details = pb["google/rpc/error_details.proto"]
    for message in ("BadRequest", "ErrorInfo", "RetryInfo"):
        assert hasattr(details, message), message


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_serving(addr: str, process: subprocess.Popen, timeout: float = 60) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(addr) as channel:
        while time.monotonic() < deadline:
            assert process.poll() is None, f"{process.args[0]} exited with {process.returncode}"
            try:
                answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise AssertionError(f"{addr} not SERVING after {timeout}s")


@pytest.fixture(scope="module")
def stack():
    """admission (the pass) and identity (the errors), sharing fresh dev keys."""
    for name in ("yeyak-dev", "yeyak-admission", "yeyak-identity"):
        assert (BIN / name).exists(), f"{BIN / name} missing: cargo build --bins -p yeyak-dev -p admission -p identity"
    out = subprocess.run([str(BIN / "yeyak-dev"), "keys"], check=True, capture_output=True, text=True).stdout
    keys = dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines() if line.startswith("export "))
    keys = {k: v.strip("'") for k, v in keys.items()}
    tag = uuid.uuid4().hex[:12]
    database = f"yeyak_test_proto_{tag}"
    nobody = f"127.0.0.1:{free_port()}"  # nothing listens: RabbitMQ and the identity provider are down
    common = {"PATH": os.environ.get("PATH", ""), "YEYAK_ENV": "dev", "YEYAK_LOG": "warn", "YEYAK_METRICS_ADDR": "off",
              "YEYAK_QUEUE_IDS": "demo", "YEYAK_TRUSTED_KEYS": keys["YEYAK_TRUSTED_KEYS"],
              "YEYAK_AMQP_URL": f"amqp://guest:guest@{nobody}/%2f"}
    admission_addr, identity_addr = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    admission = {**common, "YEYAK_GRPC_ADDR": admission_addr, "YEYAK_DATABASE_URL": f"{PG}/{database}",
                 "YEYAK_REDIS_KEY_PREFIX": f"test.proto.{tag}.adm", "YEYAK_SIGNING_KEY": keys["YEYAK_ADMISSION_SIGNING_KEY"]}
    identity = {**common, "YEYAK_GRPC_ADDR": identity_addr, "YEYAK_REDIS_KEY_PREFIX": f"test.proto.{tag}.idn",
                "YEYAK_SIGNING_KEY": keys["YEYAK_IDENTITY_SIGNING_KEY"], "YEYAK_SUBJECT_HASH_KEY": keys["YEYAK_SUBJECT_HASH_KEY"],
                "YEYAK_PROVIDERS": f"carrier-sms=http://{nobody}#sms_code"}
    processes = []
    try:
        for name, env, addr in (("yeyak-admission", admission, admission_addr), ("yeyak-identity", identity, identity_addr)):
            processes.append(subprocess.Popen([str(BIN / name)], env=env, stdout=subprocess.DEVNULL))
            wait_serving(addr, processes[-1])
        yield {"admission": admission_addr, "identity": identity_addr}
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc",
                        f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'], capture_output=True)


def details_of(error: grpc.RpcError, pb) -> tuple:
    """The trailer a gateway reads, decoded with the classes built from proto/."""
    trailer = dict(error.trailing_metadata() or ()).get("grpc-status-details-bin")
    assert isinstance(trailer, bytes) and trailer, f"no details on {error.code()}: {error.details()}"
    status = pb["google/rpc/status.proto"].Status.FromString(trailer)
    assert status.code == error.code().value[0] and status.message == error.details()
    found = {}
    for any_detail in status.details:
        for name in ("BadRequest", "ErrorInfo", "RetryInfo"):
            message = getattr(pb["google/rpc/error_details.proto"], name)()
            if any_detail.Unpack(message):
                found[name] = message
    assert len(found) == len(status.details), [d.type_url for d in status.details]
    return status, found


def call_error(call, request, **kwargs) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(request, timeout=10, **kwargs)
    return caught.value


def admitted_pass(stack, pb, client_id: str) -> str:
    admission = pb["yeyak/admission/v1/admission.proto"]
    with grpc.insecure_channel(stack["admission"]) as channel:
        stub = importlib.import_module("yeyak.admission.v1.admission_pb2_grpc").AdmissionServiceStub(channel)
        ticket = stub.JoinQueue(admission.JoinQueueRequest(queue_id="demo", client_id=client_id), timeout=10).ticket
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = stub.GetQueueStatus(admission.GetQueueStatusRequest(ticket=ticket, client_id=client_id), timeout=10).status
            if status.admission_pass:
                return status.admission_pass
            time.sleep(0.3)
    raise AssertionError("not admitted within 30 s")


def test_a_bad_field_is_a_bad_request_naming_it(stack, pb):
    admission = pb["yeyak/admission/v1/admission.proto"]
    with grpc.insecure_channel(stack["admission"]) as channel:
        stub = importlib.import_module("yeyak.admission.v1.admission_pb2_grpc").AdmissionServiceStub(channel)
        error = call_error(stub.JoinQueue, admission.JoinQueueRequest(queue_id="demo", client_id="short"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    _, found = details_of(error, pb)
    assert [v.field for v in found["BadRequest"].field_violations] == ["client_id"], found


def test_a_provider_down_is_error_info_with_a_retry_hint(stack, pb):
    client_id = f"proto-test-{uuid.uuid4().hex}"
    headers = (("yeyak-admission-pass", admitted_pass(stack, pb, client_id)), ("yeyak-client-id", client_id))
    identity = pb["yeyak/identity/v1/identity.proto"]
    person = identity.StartVerificationRequest(provider_id="carrier-sms", name="홍길동",
                                               resident_registration_number="900101-1234568", phone_number="010-1234-5678")
    with grpc.insecure_channel(stack["identity"]) as channel:
        stub = importlib.import_module("yeyak.identity.v1.identity_pb2_grpc").IdentityServiceStub(channel)
        unknown = call_error(stub.StartVerification, identity.StartVerificationRequest(provider_id="nope"), metadata=headers)
        down = call_error(stub.StartVerification, person, metadata=headers)
    assert unknown.code() == grpc.StatusCode.INVALID_ARGUMENT
    _, found = details_of(unknown, pb)
    assert [v.field for v in found["BadRequest"].field_violations] == ["provider_id"], found
    assert down.code() == grpc.StatusCode.UNAVAILABLE, down.details()
    _, found = details_of(down, pb)
    info, retry = found["ErrorInfo"], found["RetryInfo"]
    assert (info.reason, info.domain, info.metadata["provider"]) == ("PROVIDER_UNAVAILABLE", "identity.yeyak", "carrier-sms"), info
    assert retry.retry_delay.ToTimedelta().total_seconds() > 0, retry
