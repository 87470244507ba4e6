#!/usr/bin/env python3
"""What the origin check costs admission's JOIN script on one Redis shard.

Starts a private redis-server, loads JOIN as `store/scripts.rs` builds it
(with the origin check) and the same body without it (the floor), and runs
`redis-benchmark` on both, twice, in the same run: 50 clients, pipelines of
16 and unpipelined. Prints calls per second and the ratio.

    python3 scripts/bench-redis-join.py [--port 6390] [--requests 200000]
"""
import argparse
import re
import subprocess
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "services/admission/src/store/scripts.rs"
KEYS = ["origin", "settings", "preopen", "pre_limit", "pool", "post", "post_limit"]


def scripts() -> tuple[str, str]:
    src = SCRIPTS.read_text()
    prelude_lines = re.search(r"concat!\(\n(.*?)\$body", src, re.S).group(1)
    prelude = "".join(eval(line.strip().rstrip(",")) for line in prelude_lines.strip().splitlines())  # Rust string literals
    body = re.search(r'pub\(super\) const JOIN: &str = checked!\(\n    r"(.*?)"\n\);', src, re.S).group(1)
    clock = "".join(line for line in prelude.splitlines(keepends=True) if "TIME" in line or "local now" in line)
    return prelude + body, clock + body


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--port", default="6390")
    args.add_argument("--requests", default="200000")
    a = args.parse_args()
    server = subprocess.Popen(["redis-server", "--port", a.port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL)
    try:
        cli = lambda *c: subprocess.run(["redis-cli", "-p", a.port, *c], capture_output=True, text=True).stdout.strip()  # noqa: E731
        for _ in range(50):
            if cli("PING") == "PONG":
                break
            time.sleep(0.1)
        checked, floor = scripts()
        keys = [f"bench:{{q}}:{k}" for k in KEYS]
        run_id = re.search(r"run_id:(\w+)", cli("INFO", "server")).group(1)
        cli("SET", keys[0], run_id)
        cli("SET", keys[4], "0")
        cli("SET", keys[6], "1000000000000")
        shas = {"floor (no origin check)": cli("SCRIPT", "LOAD", floor), "JOIN as it runs": cli("SCRIPT", "LOAD", checked)}
        results: dict = {}
        for _ in range(2):
            for name, sha in shas.items():
                for pipeline in ("16", "1"):
                    out = subprocess.run(["redis-benchmark", "-p", a.port, "-q", "-n", a.requests, "-c", "50", "-P", pipeline,
                                          "EVALSHA", sha, "7", *keys, "0", "128"], capture_output=True, text=True).stdout
                    rps = float(re.findall(r"([\d.]+) requests per second", out)[-1])
                    results.setdefault((name, pipeline), []).append(rps)
        for pipeline in ("16", "1"):
            ours = max(results[("JOIN as it runs", pipeline)])
            base = max(results[("floor (no origin check)", pipeline)])
            print(f"pipeline {pipeline:>2}: JOIN {ours:,.0f}/s, floor {base:,.0f}/s, ratio {ours / base:.2f}")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
