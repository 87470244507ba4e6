"""A real Prometheus server (Debian's `prometheus`) on loopback, scraping the
chart run's pods, and the checks the dashboards and alert rules must pass
against it: every panel's query parses and returns data once the stack has
booked, for every value of a dashboard's single-valued variables, and every
rule of the rules file evaluates without error.

Grafana's variables are resolved as Grafana would: a query variable from
`label_values(...)` through the series API, "All" as its `allValue`, and the
interval variables as fixed ranges the run has data for.
"""
from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

from proxy import free_port

INTERVALS = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "10m", "${__range}": "10m"}


class Prometheus:
    def __init__(self, workdir: Path, targets: dict[str, list[str]], rule_files: list[Path]):
        """`targets`: job name → host:port of /metrics endpoints."""
        self.dir = workdir / "prometheus"
        self.dir.mkdir(parents=True, exist_ok=True)
        rules = []
        for i, f in enumerate(rule_files):
            copy = self.dir / f"rules-{i}.yml"
            shutil.copy(f, copy)
            rules.append(str(copy))
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": rules,
            "scrape_configs": [{"job_name": job, "static_configs": [{"targets": addrs}]} for job, addrs in targets.items()],
        }
        (self.dir / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = open(self.dir / "prometheus.log", "w")
        self.process = subprocess.Popen(
            ["prometheus", f"--config.file={self.dir / 'prometheus.yml'}", f"--storage.tsdb.path={self.dir / 'data'}",
             f"--web.listen-address={self.url.removeprefix('http://')}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.wait(lambda: self.get("/-/ready", raw=True) is not None, 60, "Prometheus ready")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()

    def get(self, path: str, params: dict | None = None, raw: bool = False):
        url = self.url + path + ("?" + urllib.parse.urlencode(params, doseq=True) if params else "")
        try:
            body = urllib.request.urlopen(url, timeout=10).read()
        except (OSError, urllib.error.HTTPError):
            return None
        return body if raw else json.loads(body)

    @staticmethod
    def wait(check, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.5)

    def scraped(self, samples: int = 5) -> None:
        """Waits until every target is up, then for `samples` more scrapes of
        each (a rate or an increase needs two samples of every series, and
        targets are scraped at different offsets of the interval)."""
        def ready():
            active = (self.get("/api/v1/targets") or {}).get("data", {}).get("activeTargets", [])
            return bool(active) and all(t["health"] == "up" for t in active)
        self.wait(ready, 60, "every target up")
        time.sleep(samples)

    def query(self, expr: str) -> tuple[str, list]:
        """(error or "", result) of an instant query."""
        url = self.url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            answer = json.loads(urllib.request.urlopen(url, timeout=10).read())
        except urllib.error.HTTPError as e:
            return json.loads(e.read()).get("error", str(e)), []
        return "", answer["data"]["result"]

    def label_values(self, query: str) -> list[str]:
        """`label_values(<series selector>, <label>)` as Grafana's variable query."""
        m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", query)
        assert m, f"unsupported variable query {query!r}"
        answer = self.get("/api/v1/series", {"match[]": m.group(1)}) or {"data": []}
        return sorted({s[m.group(2)] for s in answer["data"] if m.group(2) in s})

    def rule_health(self) -> list[tuple[str, str, str]]:
        """(group/rule name, health, last error) of every rule loaded."""
        groups = (self.get("/api/v1/rules") or {}).get("data", {}).get("groups", [])
        return [(f"{g['name']}/{r['name']}", r.get("health", ""), r.get("lastError", "")) for g in groups for r in g["rules"]]


def panel_exprs(dashboard: dict) -> list[tuple[str, str]]:
    """(panel title, expression) of every target, rows and nested panels included."""
    found = []
    def walk(panels):
        for p in panels:
            found.extend((p.get("title", "?"), t["expr"]) for t in p.get("targets", []) if t.get("expr"))
            walk(p.get("panels", []))
    walk(dashboard.get("panels", []))
    return found


def substitute(expr: str, values: dict[str, str]) -> str:
    for name, value in itertools.chain(INTERVALS.items(), values.items()):
        expr = expr.replace(name, value)
    assert "$" not in expr, f"unresolved variable in {expr!r}"
    return expr


def variable_bindings(prom: Prometheus, dashboard: dict) -> list[dict[str, str]]:
    """Every combination the checks run with: "All" for multi-valued
    variables, each value in turn for single-valued ones (resolved in order,
    so a variable may use the ones before it)."""
    bindings: list[dict[str, str]] = [{}]
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") != "query":
            continue
        name, query = var["name"], var["query"]
        query = query["query"] if isinstance(query, dict) else query
        out = []
        for b in bindings:
            if var.get("includeAll"):
                choices = [var.get("allValue") or ".*"]
            else:
                choices = prom.label_values(substitute(query, b))
                assert choices, f"variable {name}: {query!r} has no values"
            for c in choices:
                out.append({**b, f"${{{name}}}": c, f"${name}": c})
        bindings = out
    return bindings


def dead_panels(prom: Prometheus, dashboards: list[Path]) -> tuple[int, list[str]]:
    """(queries run, problems): a query that does not parse or returns nothing."""
    problems, runs = [], 0
    for path in dashboards:
        dashboard = json.loads(path.read_text())
        for binding in variable_bindings(prom, dashboard):
            for title, expr in panel_exprs(dashboard):
                query = substitute(expr, binding)
                error, result = prom.query(query)
                runs += 1
                if error or not result:
                    problems.append(f"{path.name} / {title} {binding or ''}: {error or 'no data'}: {query}")
    return runs, problems
