"""Dashboards and alerts (docs/operations.md): the rules checked and unit-tested
with the real promtool, every alert tested firing and not firing and pointing at
its runbook, the PrometheusRule and the dashboard ConfigMaps the chart renders,
and every dashboard panel a valid query of the metric contract that returns
data once one person has booked.

The one source of truth is in the chart (Helm reads only files inside it):
helm/yeyak/files/rules/yeyak.rules.yml and helm/yeyak/files/dashboards/*.json;
observability/ holds the promtool unit tests and says where the rest is.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

import chartlib
import k8svalidate
import promlint
import valuesets
from deploytest import by_kind, render

ROOT = chartlib.ROOT
RULES_FILE = chartlib.CHART_DIR / "files" / "rules" / "yeyak.rules.yml"
DASHBOARDS = sorted((chartlib.CHART_DIR / "files" / "dashboards").glob("*.json"))
RULE_TESTS = sorted((ROOT / "observability" / "rules" / "tests").glob("*.test.yml"))
OPERATIONS = ROOT / "docs" / "operations.md"
RUNBOOK_BASE = "https://github.com/yeyak/yeyak/blob/main/docs/operations.md#"
PROMETHEUS_RULE_API = "monitoring.coreos.com/v1/PrometheusRule"
SEVERITIES = {"page", "ticket"}
# What Grafana substitutes itself; the tests put an interval and a range in.
GRAFANA_BUILTINS = {"$__rate_interval": "1m", "$__range": "30m"}
PROMTOOL_HELP = ("scripts/bootstrap.sh installs it (Debian's package `prometheus`, which ships promtool; "
                 "its service is left disabled): `make bootstrap`, or as root "
                 "`apt-get install -y --no-install-recommends prometheus`.")


@pytest.fixture(scope="session")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(f"promtool is not installed: the rules are checked with it. {PROMTOOL_HELP}", pytrace=False)
    return path


def run_promtool(promtool: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=300, cwd=cwd, check=False)


@functools.cache
def rules() -> dict:
    return yaml.safe_load(RULES_FILE.read_text())


def all_rules() -> list[dict]:
    return [rule for group in rules()["groups"] for rule in group["rules"]]


def alerts() -> dict[str, dict]:
    return {rule["alert"]: rule for rule in all_rules() if "alert" in rule}


def recordings() -> set[str]:
    return {rule["record"] for rule in all_rules() if "record" in rule}


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    slug = heading.strip().lower()
    slug = re.sub(r"[^\w\- ]", "", slug)
    return slug.replace(" ", "-")


def headings(markdown: str) -> set[str]:
    return {github_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*$", markdown, re.M)}


# ------------------------------------------------------------------ the rules


def test_promtool_checks_the_rules(promtool):
    result = run_promtool(promtool, "check", "rules", str(RULES_FILE.relative_to(ROOT)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_unit_tests_pass(promtool):
    assert RULE_TESTS, "no promtool unit tests in observability/rules/tests"
    result = run_promtool(promtool, "test", "rules", *(str(p.relative_to(ROOT)) for p in RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_can_fail(promtool, tmp_path):
    """A unit test expecting a wrong annotation fails: the suite above is not vacuous."""
    source = ROOT / "observability" / "rules" / "tests" / "dependencies.test.yml"
    broken = yaml.safe_load(source.read_text())
    broken["rule_files"] = [str(RULES_FILE)]
    for test in broken["tests"]:
        for case in test.get("alert_rule_test", []):
            for alert in case["exp_alerts"]:
                alert["exp_annotations"]["description"] += " (not what it says)"
    (tmp_path / "broken.test.yml").write_text(yaml.safe_dump(broken))
    result = run_promtool(promtool, "test", "rules", "broken.test.yml", cwd=tmp_path)
    assert result.returncode != 0 and "not what it says" in result.stdout + result.stderr


def test_rules_use_only_the_metric_contract():
    for rule in all_rules():
        name = rule.get("alert") or rule.get("record")
        assert promlint.problems(rule["expr"], recordings()) == [], name


def test_every_recording_is_used_and_every_use_is_recorded():
    used = set()
    for rule in all_rules():
        used |= set(re.findall(r"yeyak:[a-z_]+:[a-z0-9_]+", rule["expr"]))
    assert used == recordings()


def test_every_alert_has_severity_summary_description_and_runbook():
    anchors = headings(OPERATIONS.read_text())
    assert alerts(), "no alerts"
    for name, rule in alerts().items():
        assert rule["labels"]["severity"] in SEVERITIES, name
        assert {"summary", "description", "runbook_url"} <= set(rule["annotations"]), name
        url = rule["annotations"]["runbook_url"]
        assert url == RUNBOOK_BASE + github_slug(name), f"{name}: runbook_url {url}"
        assert github_slug(name) in anchors, f"{name}: no section `### {name}` in docs/operations.md"


def test_the_issue_alerts_are_all_there():
    """Issue #19: booking availability and latency burn rates, admission stalled,
    outbox lag, dead letters, one provider RED, every provider RED, a dependency
    unreachable, shedding."""
    assert set(alerts()) == {
        "YeyakBookingAvailabilityBurnFast", "YeyakBookingAvailabilityBurnSlow",
        "YeyakBookingLatencyBurnFast", "YeyakBookingLatencyBurnSlow",
        "YeyakAdmissionStalled", "YeyakOutboxLag", "YeyakDeadLetters",
        "YeyakIdentityProviderRed", "YeyakIdentityAllProvidersRed",
        "YeyakDependencyUnreachable", "YeyakShedRateHigh",
        # Issue #20: SMS waiting on a gateway that does not answer.
        "YeyakSmsOutcomeUnknown",
        # The edge (#21's page reaches the services through it): calls no service sees.
        "YeyakEdgeShedding", "YeyakEdgeUpstreamUnreachable"}
    for name in ("YeyakBookingAvailabilityBurnFast", "YeyakBookingLatencyBurnFast"):
        assert alerts()[name]["labels"]["severity"] == "page"
    for name in ("YeyakBookingAvailabilityBurnSlow", "YeyakBookingLatencyBurnSlow"):
        assert alerts()[name]["labels"]["severity"] == "ticket"


def test_every_alert_is_tested_firing_and_not_firing():
    """Each alert has a unit test where it fires, with its labels and every
    annotation checked, and one where it stays quiet."""
    fired: dict[str, list[dict]] = {}
    quiet: set[str] = set()
    for path in RULE_TESTS:
        doc = yaml.safe_load(path.read_text())
        assert doc["rule_files"] == ["../../../helm/yeyak/files/rules/yeyak.rules.yml"], path.name
        for test in doc["tests"]:
            for case in test.get("alert_rule_test", []):
                if case["exp_alerts"]:
                    fired.setdefault(case["alertname"], []).extend(case["exp_alerts"])
                else:
                    quiet.add(case["alertname"])
    for name, rule in alerts().items():
        assert name in fired, f"{name}: no unit test where it fires"
        assert name in quiet, f"{name}: no unit test where it stays quiet"
        for expected in fired[name]:
            assert expected["exp_labels"]["severity"] == rule["labels"]["severity"], name
            assert set(expected["exp_annotations"]) == set(rule["annotations"]), name
            assert expected["exp_annotations"]["runbook_url"] == rule["annotations"]["runbook_url"], name
    assert set(fired) | quiet <= set(alerts()), "a unit test names an alert that does not exist"


def test_docs_state_the_slos_the_rules_use():
    text = OPERATIONS.read_text()
    for fragment in ("99.5 %", "99 %", "1 s", "14.4", "30 days", "Following one booking", "trace_id"):
        assert fragment in text, fragment
    expr = "\n".join(rule["expr"] for rule in all_rules())
    for factor in ("14.4 * 0.005", "6 * 0.005", "3 * 0.005", "1 * 0.005", "14.4 * 0.01", "6 * 0.01"):
        assert factor in expr, factor


# ------------------------------------------------------------------ the PrometheusRule


@pytest.mark.parametrize("enabled,force,api,rendered", [
    (True, False, False, False),    # the default on a cluster without the Operator
    (True, False, True, True),      # the Operator's API is served
    (True, True, False, True),      # forced (e.g. `helm template` in a pipeline)
    (False, False, True, False),
    (False, True, True, False),
])
def test_prometheus_rule_only_when_the_api_exists_or_forced(enabled, force, api, rendered):
    values = chartlib.deep_merge(valuesets.PRODUCTION,
                                 {"metrics": {"prometheusRule": {"enabled": enabled, "force": force}}})
    objs = render(values, api_versions=[PROMETHEUS_RULE_API] if api else [])
    found = by_kind(objs, "PrometheusRule")
    if not rendered:
        assert found == []
        return
    [rule] = found
    assert rule.name == "yeyak"
    assert k8svalidate.errors(rule) == []


def test_prometheus_rule_is_the_plain_rules_file(renders):
    [rule] = by_kind(renders["observability"], "PrometheusRule")
    assert rule["spec"] == {"groups": rules()["groups"]}
    assert set(rule["spec"]) == set(rules()), "the rules file has keys a PrometheusRule spec has not"
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert k8svalidate.errors(rule) == []


def test_prometheus_rule_validator_can_fail(renders):
    [rule] = by_kind(renders["observability"], "PrometheusRule")
    rule = json.loads(json.dumps(rule))
    rule["spec"]["groups"][0]["rules"][0]["recrod"] = rule["spec"]["groups"][0]["rules"][0].pop("record")
    assert k8svalidate.errors(rule)


def test_service_monitors_keep_the_service_label(renders):
    """The dashboards and alerts select `service="admission"` and so on: the
    Operator's own `service` target label must not replace the services' one."""
    for monitor in by_kind(renders["observability"], "ServiceMonitor"):
        assert all(e["honorLabels"] is True for e in monitor["spec"]["endpoints"]), monitor.name


# ------------------------------------------------------------------ the dashboard ConfigMaps


def dashboard_maps(objs) -> list[chartlib.Obj]:
    return [o for o in by_kind(objs, "ConfigMap")
            if o["metadata"]["labels"].get("app.kubernetes.io/component") == "dashboards"]


def test_no_dashboards_unless_enabled(renders):
    for name, objs in renders.items():
        if name != "observability":
            assert dashboard_maps(objs) == [], name


def test_each_dashboard_is_a_configmap_for_the_grafana_sidecar(renders):
    maps = dashboard_maps(renders["observability"])
    assert sorted(m.name for m in maps) == sorted(f"yeyak-dashboard-{p.stem}" for p in DASHBOARDS)
    for config_map in maps:
        [(key, text)] = config_map["data"].items()
        source = chartlib.CHART_DIR / "files" / "dashboards" / key
        assert json.loads(text) == json.loads(source.read_text()), key
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert config_map["metadata"]["annotations"] == {"grafana_folder": "Yeyak"}
        assert config_map.namespace is None
        # Client-side `kubectl apply` keeps a copy in an annotation (256 KiB at most).
        assert len(text.encode()) < 256 * 1024, key
    assert k8svalidate.all_errors(maps) == []


def test_dashboard_label_and_namespace_are_configurable():
    values = chartlib.deep_merge(valuesets.PRODUCTION, {"metrics": {"grafanaDashboards": {
        "enabled": True, "namespace": "monitoring", "labels": {"grafana_dashboard": "yeyak", "team": "booking"}}}})
    maps = dashboard_maps(render(values))
    assert len(maps) == len(DASHBOARDS)
    for config_map in maps:
        assert config_map.namespace == "monitoring"
        labels = config_map["metadata"]["labels"]
        assert (labels["grafana_dashboard"], labels["team"]) == ("yeyak", "booking")
        assert "annotations" not in config_map["metadata"]
    assert k8svalidate.all_errors(maps) == []


@pytest.mark.parametrize("values,fragment", [
    ({"metrics": {"grafanaDashboards": {"enabeld": True}}}, "enabeld"),
    # Without a label the sidecar finds nothing (null removes a default key).
    ({"metrics": {"grafanaDashboards": {"labels": {"grafana_dashboard": None}}}}, "labels"),
    ({"metrics": {"grafanaDashboards": {"labels": {"grafana_dashboard": 1}}}}, "grafana_dashboard"),
    ({"metrics": {"grafanaDashboards": {"namespace": "Monitoring"}}}, "namespace"),
    ({"metrics": {"prometheusRule": {"forced": True}}}, "forced"),
])
def test_schema_refuses_bad_observability_values(values, fragment):
    from helm_python.errors import HelmError  # noqa: PLC0415

    with pytest.raises(HelmError) as err:
        chartlib.chart().validate_schema(values)
    assert fragment in str(err.value)


# ------------------------------------------------------------------ the dashboards


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def panel_exprs(dashboard: dict):
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel, target


def substitute(expr: str, variables: dict[str, str]) -> str:
    for name in sorted(variables, key=len, reverse=True):
        expr = expr.replace(name, variables[name])
    return expr


def all_values(dashboard: dict) -> dict[str, str]:
    """Every variable at its All value (`.*`), and Grafana's interval and range."""
    out = dict(GRAFANA_BUILTINS)
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            out[f"${var['name']}"] = ".*"
    return out


def test_dashboards_are_the_issue_four():
    assert sorted(p.stem for p in DASHBOARDS) == ["identity-providers", "messaging", "overview", "service"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.stem for p in DASHBOARDS])
def test_dashboard_model(path):
    dashboard = load(path)
    assert dashboard["schemaVersion"] >= 36
    assert dashboard["uid"] == f"yeyak-{path.stem}"
    assert "yeyak" in dashboard["tags"]
    assert dashboard.get("id") is None, "an exported id ties the JSON to one Grafana"
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    datasource = variables["datasource"]
    assert (datasource["type"], datasource["query"]) == ("datasource", "prometheus")
    for var in variables.values():
        if var["type"] == "query":
            assert var["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, var["name"]
            assert promlint.problems(var["definition"].removeprefix("label_values(").rsplit(",", 1)[0]) == []
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    assert 8 <= len(ids) <= 16, "keep dashboards focused"
    cells = set()
    for panel in dashboard["panels"]:
        where = f"{path.stem}: {panel['title']}"
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, where
        assert panel.get("description"), f"{where}: say what the panel answers"
        assert panel["targets"], where
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), where
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, where
        mine = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not cells & mine, f"{where}: overlaps another panel"
        cells |= mine
    known = set(all_values(dashboard))
    for panel, target in panel_exprs(dashboard):
        where = f"{path.stem}: {panel['title']} {target['refId']}"
        assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, where
        used = set(re.findall(r"\$\w+", target["expr"]))
        assert used <= known, f"{where}: undefined variables {used - known}"
        assert promlint.problems(substitute(target["expr"], all_values(dashboard))) == [], where


def dashboard_queries() -> list[tuple[str, str]]:
    """(where, expr) of every panel query: every variable at All, and the
    service dashboard once per service as well."""
    out = []
    for path in DASHBOARDS:
        dashboard = load(path)
        settings = [all_values(dashboard)]
        if "$service" in settings[0]:
            # The services with a gRPC API ($service lists grpc_server_started_total's): not the edge.
            settings += [{**settings[0], "$service": s} for s in sorted(promlint.API)]
        for variables in settings:
            for panel, target in panel_exprs(dashboard):
                label = variables.get("$service", "")
                out.append((f"{path.stem}: {panel['title']} {target['refId']} {label}".strip(),
                            substitute(target["expr"], variables)))
    return out


def data_check(queries: list[tuple[str, str]]) -> dict:
    """Rules recording each query and an alert when a recording is empty, and
    the promtool test expecting no alert on the series after one booking."""
    recorded, quiet, cases = [], [], []
    for i, (where, expr) in enumerate(queries):
        recorded.append({"record": f"panel:query_{i}", "expr": expr, "labels": {"panel": where}})
        quiet.append({"alert": f"PanelDead{i}", "expr": f"absent(panel:query_{i})",
                      "annotations": {"panel": where}})
        cases.append({"eval_time": "30m", "alertname": f"PanelDead{i}", "exp_alerts": []})
    rule_file = {"groups": [{"name": "panels", "rules": recorded}, {"name": "dead", "rules": quiet}]}
    test_file = {"rule_files": ["panels.rules.yml"], "evaluation_interval": "1m",
                 "tests": [{"interval": "15s", "input_series": promlint.series_after_one_booking(),
                            "alert_rule_test": cases}]}
    return {"panels.rules.yml": rule_file, "panels.test.yml": test_file}


def run_data_check(promtool, tmp_path, queries):
    for name, doc in data_check(queries).items():
        (tmp_path / name).write_text(yaml.safe_dump(doc, sort_keys=False, width=10_000))
    check = run_promtool(promtool, "check", "rules", "panels.rules.yml", cwd=tmp_path)
    assert check.returncode == 0, "a panel query does not parse:\n" + check.stdout + check.stderr
    return run_promtool(promtool, "test", "rules", "panels.test.yml", cwd=tmp_path)


def test_every_panel_returns_data_after_one_booking(promtool, tmp_path):
    """Each panel query parses (promtool's PromQL parser) and returns data on the
    series the services expose once one person booked (promlint): no misspelt
    metric, no label no series has, no panel left empty because nothing failed."""
    queries = dashboard_queries()
    assert len(queries) > 50
    result = run_data_check(promtool, tmp_path, queries)
    output = result.stdout + result.stderr
    dead = re.findall(r'panel="([^"]+)"', output)
    assert result.returncode == 0, "panels without data:\n  " + "\n  ".join(sorted(set(dead))) + "\n" + output[-3000:]


def test_the_data_check_can_fail(promtool, tmp_path):
    result = run_data_check(promtool, tmp_path, [
        ("good", "sum(yeyak_queue_waiting)"),
        ("misspelt", "sum(yeyak_queue_wating)"),
        ("nothing shed", "sum(rate(yeyak_grpc_server_shed_total[1m])) > 0"),
    ])
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert 'panel="misspelt"' in output and 'panel="nothing shed"' in output and 'panel="good"' not in output


def test_observability_readme_points_at_the_sources():
    text = (ROOT / "observability" / "README.md").read_text()
    for fragment in ("helm/yeyak/files/rules/yeyak.rules.yml", "helm/yeyak/files/dashboards", "make test-rules",
                     "docs/operations.md"):
        assert fragment in text, fragment
