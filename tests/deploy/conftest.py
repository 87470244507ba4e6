"""Fixtures of the deployment tests: the chart rendered with each value set.

Run with the project virtualenv (scripts/bootstrap.sh makes it):
    make test-deploy
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "scripts" / "deploy"))
sys.path.insert(0, str(HERE))

import chartlib  # noqa: E402
import valuesets  # noqa: E402

from deploytest import render  # noqa: E402


@pytest.fixture(scope="session")
def renders() -> dict[str, list[chartlib.Obj]]:
    """Every value set of valuesets.SETS, rendered."""
    return {name: render(values) for name, values in valuesets.SETS.items()}


KUBECTL_HELP = (
    "Install the upstream binary (https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/) or the "
    "`kubectl` package of Google's or the Kubernetes apt repository. Debian's own package "
    "`kubernetes-client` is kubectl 1.20 on bookworm, whose kustomize is too old for k8s/.")


@pytest.fixture(scope="session")
def kubectl() -> str:
    """kubectl with kustomize v5 (kubectl 1.27+), which builds the overlays in k8s/."""
    path = shutil.which("kubectl")
    if path is None:
        pytest.fail(f"kubectl is not installed: the kustomize layers are built with `kubectl kustomize`. "
                    f"{KUBECTL_HELP}", pytrace=False)
    result = subprocess.run([path, "version", "--client", "-o", "json"], capture_output=True, text=True,
                            timeout=30, check=False)
    kustomize = ""
    try:
        kustomize = json.loads(result.stdout).get("kustomizeVersion", "")
        major = int(kustomize.lstrip("v").split(".")[0])
    except (ValueError, json.JSONDecodeError):
        major = 0
    if major < 5:
        pytest.fail(f"{path} has kustomize {kustomize or '?'}; k8s/ needs kustomize v5 (kubectl 1.27+). "
                    f"{KUBECTL_HELP}", pytrace=False)
    return path
