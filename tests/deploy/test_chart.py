"""helm lint, and the strict values schema catching an SRE's typos."""

from __future__ import annotations

import copy

import helm_python as helm
import pytest
from helm_python.errors import HelmError

import chartlib
import valuesets

KUBE_VERSION = "v1.32.0"


@pytest.mark.parametrize("set_name", list(valuesets.SETS))
def test_helm_lint_strict(set_name):
    """`helm lint --strict --kube-version v1.32.0`: no error, no warning."""
    report = helm.lint(str(chartlib.CHART_DIR), valuesets.SETS[set_name], strict=True,
                       kube_version=KUBE_VERSION)
    assert report["total_charts_linted"] == 1
    assert report["errors"] == [], report
    # Severity 1 is INFO (only "icon is recommended": the project has no
    # icon); 2 WARNING and 3 ERROR fail.
    serious = [m for m in report["messages"] if m["severity"] >= 2]
    assert serious == [], serious


def test_helm_lint_reports_a_broken_chart(tmp_path):
    """The lint test can fail: a chart with a template error is reported."""
    broken = tmp_path / "yeyak"
    chartlib.chart().save_dir(tmp_path)
    (broken / "templates" / "broken.yaml").write_text("{{ .Values.nope.deeper }}\n")
    report = helm.lint(str(broken), valuesets.PRODUCTION, strict=True, kube_version=KUBE_VERSION)
    assert report["errors"] or [m for m in report["messages"] if m["severity"] >= 2]


def test_chart_metadata():
    meta = chartlib.chart().metadata
    assert meta["apiVersion"] == "v2"
    assert meta["type"] == "application"
    assert meta["kubeVersion"].startswith(">=1.32")


def test_defaults_validate():
    chartlib.chart().validate_schema({})
    for values in valuesets.SETS.values():
        chartlib.chart().validate_schema(values)


TYPOS = [
    ({"identity": {"replica": 10}}, "identity", "replica"),
    ({"identity": {"autoscaling": {"enabld": True}}}, "identity/autoscaling", "enabld"),
    ({"replicas": 3}, "", "replicas"),
    ({"networkPolicy": {"egress": {"postgress": {"cidrs": []}}}}, "networkPolicy/egress", "postgress"),
    ({"identity": {"preScaling": {"schedules": [{"start": "30 19 * * *", "end": "30 21 * * *",
                                                 "desiredReplica": 30}]}}},
     "identity/preScaling/schedules/0", "desiredReplica"),
]


@pytest.mark.parametrize("values,path,key", TYPOS, ids=[t[2] for t in TYPOS])
def test_typo_fails_with_its_path(values, path, key):
    with pytest.raises(HelmError) as err:
        chartlib.chart().validate_schema(values)
    message = str(err.value)
    assert key in message, message
    if path:
        assert path in message, message


def test_typo_fails_rendering_too():
    """`helm template`/`install` apply the schema, not only `helm lint`."""
    values = copy.deepcopy(valuesets.PRODUCTION)
    values["identity"] = {"replica": 10}
    with pytest.raises(HelmError) as err:
        chartlib.render(values)
    assert "replica" in str(err.value)


@pytest.mark.parametrize("values,fragment", [
    ({"identity": {"replicas": "10"}}, "identity/replicas"),
    ({"identity": {"replicas": -1}}, "identity/replicas"),
    ({"identity": {"autoscaling": {"targetCPUUtilizationPercentage": 150}}}, "targetCPUUtilizationPercentage"),
    ({"environment": "prod"}, "environment"),
    ({"identity": {"preScaling": {"schedules": [{"start": "30 19 * *", "end": "30 21 * * *",
                                                 "desiredReplicas": 30}]}}}, "start"),
    # A secret never goes through values: the variables that hold one are refused in env.
    ({"identity": {"env": {"YEYAK_SIGNING_KEY": "c2VjcmV0"}}}, "YEYAK_SIGNING_KEY"),
    ({"common": {"env": {"YEYAK_DATABASE_URL": "postgres://u:p@db/x"}}}, "YEYAK_DATABASE_URL"),
])
def test_wrong_types_and_secret_env_fail(values, fragment):
    with pytest.raises(HelmError) as err:
        chartlib.chart().validate_schema(values)
    assert fragment in str(err.value), str(err.value)


@pytest.mark.parametrize("values,message", [
    ({"eligibility": {"rules": {"toml": valuesets.RULES}}, "edge": valuesets.PRODUCTION["edge"]},
     "thirdParties.registryUrl"),
    ({k: v for k, v in valuesets.PRODUCTION.items() if k != "eligibility"}, "eligibility.rules"),
    # The edge refuses to start without its origins outside dev: so does the render.
    ({k: v for k, v in valuesets.PRODUCTION.items() if k != "edge"}, "edge.allowedOrigins"),
])
def test_production_requires_its_inputs(values, message):
    """Without mocks, the third parties' URLs and the rules are required at render time."""
    with pytest.raises(HelmError) as err:
        chartlib.render(values)
    assert message in str(err.value)
