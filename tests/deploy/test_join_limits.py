"""Admission's join limits from the chart (docs/stuffing.md): the defaults,
the trusted proxies behind an ingress, proof of work per event, and the
schema refusing what admission would refuse at start."""

from __future__ import annotations

import pytest
from helm_python.errors import HelmError

import chartlib
import valuesets
from deploytest import SERVICES, find, render

JOIN = ("YEYAK_TRUSTED_PROXIES", "YEYAK_JOIN_", "YEYAK_JOIN_POW_BITS")


def config(objs, service) -> dict:
    return find(objs, "ConfigMap", f"yeyak-{service}")["data"]


def test_only_admission_gets_join_limits_and_the_defaults_are_admissions():
    objs = render(valuesets.PRODUCTION)
    for service in SERVICES:
        join = {k: v for k, v in config(objs, service).items() if k.startswith(JOIN)}
        if service != "admission":
            assert join == {}, service
            continue
        assert join == {"YEYAK_JOIN_CLIENT_BURST": "3", "YEYAK_JOIN_CLIENT_PER_MINUTE": "3",
                        "YEYAK_JOIN_SOURCE_BURST": "500", "YEYAK_JOIN_SOURCE_PER_MINUTE": "1200"}


def test_passes_are_bound_to_device_keys_unless_the_values_say_optional():
    """Only admission reads it; a deployment gets required unless it opts out."""
    objs = render(valuesets.PRODUCTION)
    assert [s for s in SERVICES if "YEYAK_DEVICE_BINDING" in config(objs, s)] == ["admission"]
    assert config(objs, "admission")["YEYAK_DEVICE_BINDING"] == "required"
    optional = chartlib.deep_merge(valuesets.PRODUCTION, {"joinLimits": {"deviceBinding": "optional"}})
    assert config(render(optional), "admission")["YEYAK_DEVICE_BINDING"] == "optional"


def test_trusted_proxies_and_proof_of_work_reach_admission():
    values = chartlib.deep_merge(valuesets.PRODUCTION, {"joinLimits": {
        "trustedProxies": ["10.244.0.0/16", "fd00::/8"], "perSource": {"burst": 50, "perMinute": 600},
        "proofOfWorkBits": "covid-2021=20,*=0"}})
    data = config(render(values), "admission")
    assert data["YEYAK_TRUSTED_PROXIES"] == "10.244.0.0/16,fd00::/8"
    assert (data["YEYAK_JOIN_SOURCE_BURST"], data["YEYAK_JOIN_SOURCE_PER_MINUTE"]) == ("50", "600")
    assert data["YEYAK_JOIN_POW_BITS"] == "covid-2021=20,*=0"
    assert "YEYAK_JOIN_REQUIRE_IDENTITY" not in data, "no identity-first event unless asked"
    first = chartlib.deep_merge(values, {"joinLimits": {"requireIdentity": "covid-2021=covid-2021-verify"}})
    assert config(render(first), "admission")["YEYAK_JOIN_REQUIRE_IDENTITY"] == "covid-2021=covid-2021-verify"


@pytest.mark.parametrize("bad, fragment", [
    ({"joinLimits": {"trustedProxies": ["10.0.0.1"]}}, "trustedProxies"),
    ({"joinLimits": {"perClient": {"burst": 0, "perMinute": 3}}}, "burst"),
    ({"joinLimits": {"proofOfWorkBits": "twenty"}}, "proofOfWorkBits"),
    ({"joinLimits": {"deviceBinding": "sometimes"}}, "deviceBinding"),
    ({"joinLimits": {"requireIdentity": "covid-2021"}}, "requireIdentity"),
])
def test_the_schema_refuses_limits_admission_would_refuse(bad, fragment):
    with pytest.raises(HelmError) as err:
        chartlib.chart().validate_schema(chartlib.deep_merge(valuesets.PRODUCTION, bad))
    assert fragment in str(err.value), str(err.value)
