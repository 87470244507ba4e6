"""The metric contract of docs/operations.md ("Metrics") in code, a static check
of PromQL expressions against it, and the series the services expose after one
booking, for promtool.

`problems(expr)` names every metric or label an expression uses outside the
contract (a misspelt metric, a label no series has, a status code or funnel
stage that does not exist). `series_after_one_booking()` lists, in promtool's
input format, what the six services and the edge expose once one person has
booked through the edge: every gRPC method's series made at start-up (all
codes at 0), no shed call, no refusal, no failed SMS. The dashboard test
checks that every panel returns data on it.
"""

from __future__ import annotations

import re

# Labels Prometheus (job, instance) or every service (service) adds.
COMMON_LABELS = {"service", "job", "instance"}

GRPC = {"grpc_service", "grpc_method", "grpc_type"}
METHOD = {"grpc_service", "grpc_method"}

# metric -> its own labels (beside COMMON_LABELS).
CONTRACT: dict[str, set[str]] = {
    **{f"grpc_{side}_{name}": labels
       for side in ("server", "client")
       for name, labels in (("started_total", GRPC), ("handled_total", GRPC | {"grpc_code"}),
                            ("handling_seconds_bucket", GRPC | {"le"}), ("handling_seconds_sum", GRPC),
                            ("handling_seconds_count", GRPC))},
    "yeyak_grpc_server_in_flight": METHOD,
    "yeyak_grpc_server_shed_total": METHOD,
    "yeyak_funnel_total": {"event", "stage"},
    "yeyak_funnel_not_eligible_total": {"event", "reason"},
    **{f"yeyak_queue_{name}": {"event"} for name in (
        "waiting", "admitted", "active_seats", "max_active_sessions", "admission_rate_configured",
        "admission_rate_measured", "last_place_wait_seconds", "paused")},
    **{f"yeyak_identity_provider_{name}": {"provider"} for name in (
        "status", "breaker", "in_flight", "success_ratio", "latency_p50_seconds", "latency_p99_seconds")},
    "yeyak_identity_provider_calls_total": {"provider", "outcome"},
    "yeyak_identity_verified_total": {"provider"},
    "yeyak_outbox_oldest_unpublished_seconds": set(),
    "yeyak_outbox_unpublished": set(),
    "yeyak_consumer_ready_messages": {"queue"},
    "yeyak_consumer_dead_letters": {"queue"},
    "yeyak_notification_sms_sent_total": set(),
    "yeyak_notification_sms_retried_total": set(),
    "yeyak_notification_sms_failed_total": set(),
    "yeyak_notification_sms_unknown_deliveries": set(),
    "yeyak_notification_sms_unknown_oldest_age_seconds": set(),
    "yeyak_dependency_up": {"dependency"},
    "yeyak_db_pool_connections": {"state"},
    "yeyak_db_pool_max_connections": set(),
    "yeyak_redis_pool_in_flight": set(),
    "yeyak_edge_calls_total": {"upstream", "action"},
    "yeyak_edge_upstream_seconds_bucket": {"upstream", "le"},
    "yeyak_edge_upstream_seconds_sum": {"upstream"},
    "yeyak_edge_upstream_seconds_count": {"upstream"},
    "yeyak_edge_in_flight": set(),
}

GRPC_CODES = {"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
              "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange",
              "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated"}
STAGES = ["joined", "admitted", "identity_started", "verified", "eligible", "not_eligible", "searched", "booked",
          "sms_sent", "sms_failed", "sms_dead_lettered"]
# The values a label may take, where the contract fixes them.
LABEL_VALUES = {
    "grpc_code": GRPC_CODES,
    "grpc_type": {"unary", "client_stream", "server_stream", "bidi_stream", "unknown"},
    "stage": set(STAGES),
    "dependency": {"postgres", "redis", "rabbitmq"},
    "state": {"idle", "in_use"},
    "outcome": {"ok", "failure", "refused_open", "refused_saturated", "probe_ok", "probe_failure"},
    "service": {"admission", "identity", "eligibility", "inventory", "reservation", "notification", "edge"},
    "upstream": {"admission", "identity", "eligibility", "inventory", "reservation", "notification", "other"},
    "action": {"forwarded", "not_public", "shed", "unreachable", "deadline"},
}
ALL_LABELS = COMMON_LABELS.union(*CONTRACT.values())

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "and", "or",
            "unless", "inf", "nan", "atan2"}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`')
_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}")
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*")\s*,?')
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_RANGE = re.compile(r"\[[^\]]*\]")
_IDENT = re.compile(r"(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")
_WORDS = re.compile(r"^[A-Za-z0-9_]+(\|[A-Za-z0-9_]+)*$")


def problems(expr: str, extra_metrics: set[str] = frozenset()) -> list[str]:
    """What `expr` uses outside the contract (and outside `extra_metrics`, e.g. recording rules)."""
    out = []
    known = set(CONTRACT) | set(extra_metrics)
    # Selectors with braces: the metric (if named) and each matcher.
    for metric, body in _SELECTOR.findall(expr):
        labels = CONTRACT.get(metric, ALL_LABELS) | COMMON_LABELS
        for label, op, quoted in _MATCHER.findall(body):
            value = quoted[1:-1].replace('\\\\', '\\')
            if metric in extra_metrics:
                continue
            if label not in labels:
                out.append(f"{metric or '{...}'}: no label {label} in the contract")
            allowed = LABEL_VALUES.get(label)
            if allowed is None:
                continue
            if op in ("=", "!="):
                if value not in allowed:
                    out.append(f"{metric}: {label}{op}{quoted}: not one of the contract's values")
            elif _WORDS.match(value):
                for word in value.split("|"):
                    if word not in allowed:
                        out.append(f"{metric}: {label}{op}{quoted}: {word} is not one of the contract's values")
    # Every other identifier is a function, a keyword or a metric of the contract.
    bare = _SELECTOR.sub(lambda m: (m.group(1) or "") + " ", _STRING.sub('""', expr))
    bare = _RANGE.sub(" ", bare)
    for _, labels in _GROUPING.findall(bare):
        for label in filter(None, (s.strip() for s in labels.split(","))):
            if label not in ALL_LABELS:
                out.append(f"grouping by {label}: no such label in the contract")
    bare = _GROUPING.sub(" ", bare)
    for name, call in _IDENT.findall(bare):
        if call or name in KEYWORDS or re.fullmatch(r"[0-9.e]+", name):
            continue
        if name not in known:
            out.append(f"{name}: not a metric of the contract")
    return out


def _series(name: str, labels: dict[str, str], values: str) -> dict:
    body = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{body}}}", "values": values}


# What each service serves (its own API; health and reflection are served too).
API = {
    "admission": ("yeyak.admission.v1.AdmissionService", ["JoinQueue", "GetQueueStatus"]),
    "identity": ("yeyak.identity.v1.IdentityService", ["StartVerification", "CompleteVerification"]),
    "eligibility": ("yeyak.eligibility.v1.EligibilityService", ["CheckEligibility"]),
    "inventory": ("yeyak.inventory.v1.InventoryService", ["SearchClinics", "GetAvailability"]),
    "reservation": ("yeyak.reservation.v1.ReservationService", ["CreateReservation", "GetReservation"]),
    "notification": ("yeyak.notification.v1.NotificationService", ["GetDeliveryStatus"]),
}
DEPENDENCIES = {
    "admission": ["postgres", "redis", "rabbitmq"], "identity": ["redis"],
    "eligibility": ["redis", "rabbitmq"], "inventory": ["postgres", "redis", "rabbitmq"],
    "reservation": ["postgres", "rabbitmq"], "notification": ["postgres", "rabbitmq"],
}
CONSUMES = {"admission": "admission.sessions", "eligibility": "eligibility.bookings",
            "inventory": "inventory.availability", "notification": "notification.sms",
            "reservation": "reservation.slot_sizes"}
OUTBOX = {"inventory", "reservation"}
PROVIDERS = ["carrier-sms", "kakao-cert", "naver-cert", "fin-cert"]
# Where each stage of the one booking is counted.
STAGE_OF = {"joined": "admission", "admitted": "admission", "identity_started": "identity",
            "verified": "identity", "eligible": "eligibility", "searched": "inventory",
            "booked": "reservation", "sms_sent": "notification"}
BUCKETS = ["0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0",
           "10.0", "+Inf"]
# One sample every 15 s for 30 minutes (121 samples); the booking happens at minute 10.
SAMPLES = 120
ONCE = f"0x40 1x{SAMPLES - 41}"             # a counter that went from 0 to 1 at minute 10
STEADY = "{}x" + str(SAMPLES)


def _rpc(out, side, service, grpc_service, method, kind, calls):
    base = {"service": service, "instance": f"{service}:9100", "grpc_service": grpc_service,
            "grpc_method": method, "grpc_type": kind}
    values = ONCE if calls else STEADY.format(0)
    out.append(_series(f"grpc_{side}_started_total", base, values))
    for code in sorted(GRPC_CODES):
        out.append(_series(f"grpc_{side}_handled_total", {**base, "grpc_code": code},
                           values if code == "OK" else STEADY.format(0)))
    for le in BUCKETS:
        # Each call took 30 ms: counted from the 0.05 bucket up.
        counted = calls and float(le.replace("+Inf", "inf")) >= 0.05
        out.append(_series(f"grpc_{side}_handling_seconds_bucket", {**base, "le": le},
                           ONCE if counted else STEADY.format(0)))
    out.append(_series(f"grpc_{side}_handling_seconds_count", base, values))
    out.append(_series(f"grpc_{side}_handling_seconds_sum", base, "0x40 0.03x79" if calls else STEADY.format(0)))
    if side == "server":
        short = {k: v for k, v in base.items() if k != "grpc_type"}
        out.append(_series("yeyak_grpc_server_in_flight", short, STEADY.format(0)))
        out.append(_series("yeyak_grpc_server_shed_total", short, STEADY.format(0)))


def series_after_one_booking() -> list[dict]:
    """promtool `input_series` of the six services and the edge after one booking (interval 15s, 30 minutes)."""
    out: list[dict] = []
    for service, (grpc_service, methods) in API.items():
        inst = {"service": service, "instance": f"{service}:9100"}
        _rpc(out, "server", service, "grpc.health.v1.Health", "Check", "unary", True)
        for method in methods:
            _rpc(out, "server", service, grpc_service, method, "unary", True)
        _rpc(out, "server", service, "unknown", "unknown", "unknown", False)
        for dependency in DEPENDENCIES[service]:
            out.append(_series("yeyak_dependency_up", {**inst, "dependency": dependency}, STEADY.format(1)))
        if "postgres" in DEPENDENCIES[service]:
            out.append(_series("yeyak_db_pool_connections", {**inst, "state": "idle"}, STEADY.format(2)))
            out.append(_series("yeyak_db_pool_connections", {**inst, "state": "in_use"}, STEADY.format(0)))
            out.append(_series("yeyak_db_pool_max_connections", inst, STEADY.format(10)))
        if service in OUTBOX:
            out.append(_series("yeyak_outbox_oldest_unpublished_seconds", inst, STEADY.format(0)))
            out.append(_series("yeyak_outbox_unpublished", inst, STEADY.format(0)))
        if service in CONSUMES:
            out.append(_series("yeyak_consumer_ready_messages", {**inst, "queue": CONSUMES[service]},
                               STEADY.format(0)))
            out.append(_series("yeyak_consumer_dead_letters", {**inst, "queue": CONSUMES[service]},
                               STEADY.format(0)))
    for target, method in (("yeyak.eligibility.v1.EligibilityService", "CheckEligibility"),
                           ("yeyak.inventory.v1.SlotCatalogService", "GetSlot")):
        _rpc(out, "client", "reservation", target, method, "unary", True)
    for stage, service in STAGE_OF.items():
        out.append(_series("yeyak_funnel_total", {"service": service, "instance": f"{service}:9100",
                                                  "event": "demo", "stage": stage}, ONCE))
    admission = {"service": "admission", "instance": "admission:9100", "event": "demo"}
    for name, value in (("waiting", "0"), ("admitted", "1"), ("active_seats", "0"), ("max_active_sessions", "10000"),
                        ("admission_rate_configured", "50"), ("admission_rate_measured", "0"),
                        ("last_place_wait_seconds", "NaN"), ("paused", "0")):
        # promtool's series notation has no NaN with a repeat count: spelt out.
        values = " ".join(["NaN"] * (SAMPLES + 1)) if value == "NaN" else STEADY.format(value)
        out.append(_series(f"yeyak_queue_{name}", admission, values))
    identity = {"service": "identity", "instance": "identity:9100"}
    for provider in PROVIDERS:
        labels = {**identity, "provider": provider}
        for name, value in (("status", "0"), ("breaker", "0"), ("in_flight", "0"), ("success_ratio", "1"),
                            ("latency_p50_seconds", "0.2"), ("latency_p99_seconds", "0.8")):
            out.append(_series(f"yeyak_identity_provider_{name}", labels, STEADY.format(value)))
        out.append(_series("yeyak_identity_provider_calls_total", {**labels, "outcome": "probe_ok"}, "0+1x120"))
    used = {**identity, "provider": PROVIDERS[0]}
    out.append(_series("yeyak_identity_provider_calls_total", {**used, "outcome": "ok"}, ONCE))
    out.append(_series("yeyak_identity_verified_total", used, ONCE))
    notification = {"service": "notification", "instance": "notification:9100"}
    out.append(_series("yeyak_notification_sms_sent_total", notification, ONCE))
    out.append(_series("yeyak_notification_sms_retried_total", notification, STEADY.format(0)))
    out.append(_series("yeyak_notification_sms_failed_total", notification, STEADY.format(0)))
    out.append(_series("yeyak_notification_sms_unknown_deliveries", notification, STEADY.format(0)))
    out.append(_series("yeyak_notification_sms_unknown_oldest_age_seconds", notification, STEADY.format(0)))
    # The page booked through the edge: one call forwarded to each service
    # on the way (30 ms each), nothing refused.
    edge = {"service": "edge", "instance": "edge:9100"}
    for upstream in ("admission", "identity", "eligibility", "inventory", "reservation"):
        labels = {**edge, "upstream": upstream}
        out.append(_series("yeyak_edge_calls_total", {**labels, "action": "forwarded"}, ONCE))
        for le in BUCKETS:
            out.append(_series("yeyak_edge_upstream_seconds_bucket", {**labels, "le": le},
                               ONCE if float(le.replace("+Inf", "inf")) >= 0.05 else STEADY.format(0)))
        out.append(_series("yeyak_edge_upstream_seconds_count", labels, ONCE))
        out.append(_series("yeyak_edge_upstream_seconds_sum", labels, "0x40 0.03x79"))
    out.append(_series("yeyak_edge_in_flight", edge, STEADY.format(0)))
    return out
