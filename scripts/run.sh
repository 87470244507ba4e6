#!/usr/bin/env bash
# Run the whole Yeyak platform locally (used by `make run` / `make run-check`).
#
# Usage: scripts/run.sh [--no-demo] [--no-wait]
#   --no-demo   start everything but skip the scripted demo (`yeyak-dev demo`)
#   --no-wait   stop everything right after the demo instead of waiting for Ctrl-C
#
# Steps: scripts/bootstrap.sh, `cargo build --workspace --bins`, dev keys
# (generated once by `target/debug/yeyak-dev keys` into .run/dev.env and
# reused afterwards; delete the file or `make clean-run` to rotate), start the
# three mock third parties and six services in the background (logs in
# .run/logs/<name>.log, pids in .run/pids), wait for their ports, run the demo.
#
# Addresses (all overridable from the caller's environment, host:port):
#   YEYAK_REGISTRY_ADDR           mock population registry (HTTP)  127.0.0.1:18081
#   YEYAK_IDP_CARRIER_SMS_ADDR    mock IdP carrier-sms (HTTP)      127.0.0.1:18082
#   YEYAK_IDP_KAKAO_CERT_ADDR     mock IdP kakao-cert (HTTP)       127.0.0.1:18083
#   YEYAK_IDP_NAVER_CERT_ADDR     mock IdP naver-cert (HTTP)       127.0.0.1:18085
#   YEYAK_IDP_FIN_CERT_ADDR       mock IdP fin-cert (HTTP)         127.0.0.1:18086
#   YEYAK_SMS_GATEWAY_ADDR        mock SMS gateway (HTTP)          127.0.0.1:18084
#   YEYAK_ADMISSION_ADDR          admission gRPC                   127.0.0.1:50051
#   YEYAK_IDENTITY_ADDR           identity gRPC                    127.0.0.1:50052
#   YEYAK_ELIGIBILITY_ADDR        eligibility gRPC                 127.0.0.1:50053
#   YEYAK_INVENTORY_ADDR          inventory gRPC                   127.0.0.1:50054
#   YEYAK_INVENTORY_INTERNAL_ADDR inventory internal gRPC (SlotCatalogService, reservation only) 127.0.0.1:50064
#   YEYAK_RESERVATION_ADDR        reservation gRPC                 127.0.0.1:50055
#   YEYAK_NOTIFICATION_ADDR       notification gRPC                127.0.0.1:50056
#   YEYAK_BROKER_ADDR             RabbitMQ (AMQP) the services use 127.0.0.1:5672
#   YEYAK_BROKER_LINK_ADDR        the services' link to it         127.0.0.1:5673
#   YEYAK_BROKER_LINK_ADMIN_ADDR  its admin API (HTTP; yeyak-surge --chaos cuts it) 127.0.0.1:18087
#   YEYAK_EDGE_ADDR               browser edge (gRPC-Web)          127.0.0.1:8090
#   YEYAK_EDGE_METRICS_ADDR       its Prometheus /metrics          127.0.0.1:9107
#   YEYAK_PAGE_ADDR               the citizen page (yeyak-static)  127.0.0.1:8080
#   YEYAK_ADMISSION_METRICS_ADDR    .. YEYAK_NOTIFICATION_METRICS_ADDR
#                                 Prometheus /metrics     127.0.0.1:9101 .. 9106
# Other knobs:
#   YEYAK_SEED_COUNT=1000000      people seeded by the mock registry
#   YEYAK_QUEUE_IDS=demo,demo-changes  admission queues: the booking event, and the
#                                 line the page joins to change or cancel a booking
#   YEYAK_START_TIMEOUT=120       seconds to wait for each start-up stage
#   YEYAK_RUN_PROFILE=dev         cargo profile the stack is built with: dev (default),
#                                 release (as shipped: fat LTO, ~40 min on 2 cores) or
#                                 measure (release without LTO: ~10% more CPU per call,
#                                 a fraction of the build time; yeyak-surge measurements)
#
# Each child gets its own explicit YEYAK_* environment; the YEYAK_* variables
# this script manages are removed from what children inherit, any other
# variable (RUST_LOG, other YEYAK_* settings) is passed through unchanged.
set -euo pipefail

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT_DIR"

DEMO=1
WAIT=1
for arg in "$@"; do
    case "$arg" in
        --no-demo) DEMO=0 ;;
        --no-wait) WAIT=0 ;;
        -h|--help) sed -n '2,35p' "$0"; exit 0 ;;
        *) echo "[run] unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done

log() { printf '[run] %s\n' "$*"; }
die() { printf '[run] ERROR: %s\n' "$*" >&2; exit 1; }

# --- configuration --------------------------------------------------------------
REGISTRY_ADDR="${YEYAK_REGISTRY_ADDR:-127.0.0.1:18081}"
IDP_CARRIER_SMS_ADDR="${YEYAK_IDP_CARRIER_SMS_ADDR:-127.0.0.1:18082}"
IDP_KAKAO_CERT_ADDR="${YEYAK_IDP_KAKAO_CERT_ADDR:-127.0.0.1:18083}"
IDP_NAVER_CERT_ADDR="${YEYAK_IDP_NAVER_CERT_ADDR:-127.0.0.1:18085}"
IDP_FIN_CERT_ADDR="${YEYAK_IDP_FIN_CERT_ADDR:-127.0.0.1:18086}"
SMS_GATEWAY_ADDR="${YEYAK_SMS_GATEWAY_ADDR:-127.0.0.1:18084}"
ADMISSION_ADDR="${YEYAK_ADMISSION_ADDR:-127.0.0.1:50051}"
IDENTITY_ADDR="${YEYAK_IDENTITY_ADDR:-127.0.0.1:50052}"
ELIGIBILITY_ADDR="${YEYAK_ELIGIBILITY_ADDR:-127.0.0.1:50053}"
INVENTORY_ADDR="${YEYAK_INVENTORY_ADDR:-127.0.0.1:50054}"
INVENTORY_INTERNAL_ADDR="${YEYAK_INVENTORY_INTERNAL_ADDR:-127.0.0.1:50064}"
RESERVATION_ADDR="${YEYAK_RESERVATION_ADDR:-127.0.0.1:50055}"
NOTIFICATION_ADDR="${YEYAK_NOTIFICATION_ADDR:-127.0.0.1:50056}"
ADMISSION_METRICS_ADDR="${YEYAK_ADMISSION_METRICS_ADDR:-127.0.0.1:9101}"
IDENTITY_METRICS_ADDR="${YEYAK_IDENTITY_METRICS_ADDR:-127.0.0.1:9102}"
ELIGIBILITY_METRICS_ADDR="${YEYAK_ELIGIBILITY_METRICS_ADDR:-127.0.0.1:9103}"
INVENTORY_METRICS_ADDR="${YEYAK_INVENTORY_METRICS_ADDR:-127.0.0.1:9104}"
RESERVATION_METRICS_ADDR="${YEYAK_RESERVATION_METRICS_ADDR:-127.0.0.1:9105}"
NOTIFICATION_METRICS_ADDR="${YEYAK_NOTIFICATION_METRICS_ADDR:-127.0.0.1:9106}"
BROKER_ADDR="${YEYAK_BROKER_ADDR:-127.0.0.1:5672}"
BROKER_LINK_ADDR="${YEYAK_BROKER_LINK_ADDR:-127.0.0.1:5673}"
BROKER_LINK_ADMIN_ADDR="${YEYAK_BROKER_LINK_ADMIN_ADDR:-127.0.0.1:18087}"
EDGE_ADDR="${YEYAK_EDGE_ADDR:-127.0.0.1:8090}"
PAGE_ADDR="${YEYAK_PAGE_ADDR:-127.0.0.1:8080}"
EDGE_METRICS_ADDR="${YEYAK_EDGE_METRICS_ADDR:-127.0.0.1:9107}"
SEED_COUNT="${YEYAK_SEED_COUNT:-1000000}"
QUEUE_IDS="${YEYAK_QUEUE_IDS:-demo,demo-changes}"
START_TIMEOUT="${YEYAK_START_TIMEOUT:-120}"

REGISTRY_URL="http://$REGISTRY_ADDR"
SMS_GATEWAY_URL="http://$SMS_GATEWAY_ADDR"
IDP_URLS="carrier-sms=http://$IDP_CARRIER_SMS_ADDR,kakao-cert=http://$IDP_KAKAO_CERT_ADDR,naver-cert=http://$IDP_NAVER_CERT_ADDR,fin-cert=http://$IDP_FIN_CERT_ADDR"

RUN_DIR="$ROOT_DIR/.run"
LOG_DIR="$RUN_DIR/logs"
DEV_ENV="$RUN_DIR/dev.env"
PID_FILE="$RUN_DIR/pids"
PROFILE="${YEYAK_RUN_PROFILE:-dev}"
case "$PROFILE" in
    dev) BIN_DIR="$ROOT_DIR/target/debug" ;;
    release | measure) BIN_DIR="$ROOT_DIR/target/$PROFILE" ;;
    *) echo "[run] YEYAK_RUN_PROFILE=$PROFILE: dev, release or measure" >&2; exit 2 ;;
esac
STOP_GRACE=15

DEV_KEYS=(YEYAK_ADMISSION_SIGNING_KEY YEYAK_IDENTITY_SIGNING_KEY YEYAK_TRUSTED_KEYS
          YEYAK_SUBJECT_HASH_KEY YEYAK_OPERATOR_TOKEN YEYAK_CONTACT_KEYS YEYAK_CONTACT_PUBLIC_KEY)

# YEYAK_* variables this script sets itself; stripped from inherited env.
MANAGED_VARS=(
    "${DEV_KEYS[@]}"
    YEYAK_ENV YEYAK_HTTP_ADDR YEYAK_GRPC_ADDR YEYAK_METRICS_ADDR YEYAK_SIGNING_KEY
    YEYAK_SEED_COUNT YEYAK_QUEUE_IDS YEYAK_PROVIDER_ID YEYAK_PROVIDER_KIND YEYAK_RUN_PROFILE
    YEYAK_PROVIDERS YEYAK_REGISTRY_URL YEYAK_SMS_GATEWAY_URL YEYAK_IDP_URLS
    YEYAK_REGISTRY_ADDR YEYAK_IDP_CARRIER_SMS_ADDR YEYAK_IDP_KAKAO_CERT_ADDR
    YEYAK_IDP_NAVER_CERT_ADDR YEYAK_IDP_FIN_CERT_ADDR
    YEYAK_SMS_GATEWAY_ADDR YEYAK_ADMISSION_ADDR YEYAK_IDENTITY_ADDR
    YEYAK_ELIGIBILITY_ADDR YEYAK_INVENTORY_ADDR YEYAK_INVENTORY_INTERNAL_ADDR YEYAK_INTERNAL_GRPC_ADDR
    YEYAK_RESERVATION_ADDR
    YEYAK_NOTIFICATION_ADDR YEYAK_ADMISSION_METRICS_ADDR YEYAK_IDENTITY_METRICS_ADDR
    YEYAK_ELIGIBILITY_METRICS_ADDR YEYAK_INVENTORY_METRICS_ADDR
    YEYAK_RESERVATION_METRICS_ADDR YEYAK_NOTIFICATION_METRICS_ADDR
    YEYAK_START_TIMEOUT YEYAK_ADMISSION_CONTROL_TARGETS
    YEYAK_EDGE_ADDR YEYAK_EDGE_METRICS_ADDR YEYAK_PAGE_ADDR YEYAK_EDGE_URL YEYAK_STATIC_DIR YEYAK_QUEUE_ID YEYAK_CHANGES_QUEUE_ID YEYAK_DEMO_PHONES YEYAK_ALLOWED_ORIGINS
    YEYAK_AMQP_URL YEYAK_BROKER_ADDR YEYAK_BROKER_LINK_ADDR YEYAK_BROKER_LINK_ADMIN_ADDR
)
UNSET_ARGS=()
for v in "${MANAGED_VARS[@]}"; do UNSET_ARGS+=(-u "$v"); done

# --- helpers ------------------------------------------------------------------
NAMES=()
PIDS=()
CLEANED=0

# "host:port" -> "host port" usable with /dev/tcp (wildcards map to loopback).
split_addr() {
    local addr="$1" host port
    host="${addr%:*}"
    port="${addr##*:}"
    host="${host#[}"
    host="${host%]}"
    case "$host" in ""|0.0.0.0) host=127.0.0.1 ;; "::") host=::1 ;; esac
    printf '%s %s' "$host" "$port"
}

addr_open() {
    local host port
    read -r host port <<<"$(split_addr "$1")"
    timeout 1 bash -c "exec 3<>/dev/tcp/$host/$port" >/dev/null 2>&1
}

show_log_tail() {
    local name="$1"
    echo "----- tail of $LOG_DIR/$name.log -----" >&2
    tail -n 40 "$LOG_DIR/$name.log" >&2 2>/dev/null || true
    echo "----- end of $name.log -----" >&2
}

# Fail (printing the log) if any started process has exited.
check_alive() {
    local i
    for i in "${!PIDS[@]}"; do
        if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
            local rc=0
            wait "${PIDS[$i]}" 2>/dev/null || rc=$?
            printf '[run] ERROR: %s (pid %s) exited with status %s\n' "${NAMES[$i]}" "${PIDS[$i]}" "$rc" >&2
            show_log_tail "${NAMES[$i]}"
            exit 1
        fi
    done
}

cleanup() {
    local status=$?
    if [ "$CLEANED" -eq 1 ]; then return; fi
    CLEANED=1
    trap - INT TERM
    # A service yeyak-surge --chaos started again is stopped as the original was.
    if declare -F adopt_restarted >/dev/null; then adopt_restarted || true; fi
    if [ "${#PIDS[@]}" -gt 0 ]; then
        log "stopping ${#PIDS[@]} processes"
        local pid waited=0 alive i
        for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
        while :; do
            alive=0
            for pid in "${PIDS[@]}"; do
                if kill -0 "$pid" 2>/dev/null; then alive=1; fi
            done
            if [ "$alive" -eq 0 ] || [ "$waited" -ge $((STOP_GRACE * 2)) ]; then break; fi
            sleep 0.5
            waited=$((waited + 1))
        done
        for i in "${!PIDS[@]}"; do
            if kill -0 "${PIDS[$i]}" 2>/dev/null; then
                log "${NAMES[$i]} (pid ${PIDS[$i]}) ignored SIGTERM for ${STOP_GRACE}s; sending SIGKILL"
                kill -KILL "${PIDS[$i]}" 2>/dev/null || true
            fi
        done
        wait 2>/dev/null || true
        rm -f "$PID_FILE"
    fi
    log "stopped"
    return "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME VAR=VALUE... -- BINARY [ARGS...]
start() {
    local name="$1"; shift
    local vars=()
    while [ "$1" != "--" ]; do vars+=("$1"); shift; done
    shift
    local bin="$1"
    [ -x "$bin" ] || die "$bin not found after cargo build"
    env "${UNSET_ARGS[@]}" \
        YEYAK_ENV=dev \
        YEYAK_TRUSTED_KEYS="$YEYAK_TRUSTED_KEYS" \
        YEYAK_QUEUE_IDS="$QUEUE_IDS" \
        YEYAK_SUBJECT_HASH_KEY="$YEYAK_SUBJECT_HASH_KEY" \
        YEYAK_OPERATOR_TOKEN="$YEYAK_OPERATOR_TOKEN" \
        YEYAK_AMQP_URL="amqp://guest:guest@$BROKER_LINK_ADDR/%2f" \
        "${vars[@]}" "$@" >"$LOG_DIR/$name.log" 2>&1 </dev/null &
    local pid=$!
    NAMES+=("$name")
    PIDS+=("$pid")
    printf '%s %s\n' "$name" "$pid" >>"$PID_FILE"
    log "started $name (pid $pid, log .run/logs/$name.log)"
}

# wait_ready STAGE "name=addr"...: wait until every address accepts TCP.
wait_ready() {
    local stage="$1"; shift
    local pending=("$@") deadline=$((SECONDS + START_TIMEOUT)) next entry
    log "waiting for $stage (timeout ${START_TIMEOUT}s)"
    while [ "${#pending[@]}" -gt 0 ]; do
        check_alive
        next=()
        for entry in "${pending[@]}"; do
            if addr_open "${entry#*=}"; then
                log "  ${entry%%=*} ready on ${entry#*=}"
            else
                next+=("$entry")
            fi
        done
        pending=("${next[@]+"${next[@]}"}")
        [ "${#pending[@]}" -eq 0 ] && break
        if [ "$SECONDS" -ge "$deadline" ]; then
            for entry in "${pending[@]}"; do
                printf '[run] ERROR: %s not listening on %s after %ss\n' "${entry%%=*}" "${entry#*=}" "$START_TIMEOUT" >&2
                show_log_tail "${entry%%=*}"
            done
            exit 1
        fi
        sleep 0.5
    done
}

# Stop processes left behind by an earlier run that was killed hard.
reap_stale() {
    [ -f "$PID_FILE" ] || return 0
    local name pid
    while read -r name pid; do
        [ -n "${pid:-}" ] || continue
        if kill -0 "$pid" 2>/dev/null \
            && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "target/debug/yeyak-"; then
            log "stopping stale $name (pid $pid) from a previous run"
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done <"$PID_FILE"
    sleep 1
    rm -f "$PID_FILE"
}

# --- 1. infrastructure + build --------------------------------------------------
log "bootstrap"
"$ROOT_DIR/scripts/bootstrap.sh"

log "the citizen page: scripts/web.sh (web/dist)"
"$ROOT_DIR/scripts/web.sh"

log "cargo build --workspace --bins --profile $PROFILE"
cargo build --workspace --bins --profile "$PROFILE"

mkdir -p "$LOG_DIR"
reap_stale

# --- 2. dev keys (generated once, reused) ---------------------------------------
[ -x "$BIN_DIR/yeyak-dev" ] || die "$BIN_DIR/yeyak-dev not found after cargo build"
if [ -s "$DEV_ENV" ]; then
    log "reusing dev keys from .run/dev.env"
else
    log "generating dev keys into .run/dev.env"
    (umask 077 && "$BIN_DIR/yeyak-dev" keys >"$DEV_ENV.tmp")
    mv "$DEV_ENV.tmp" "$DEV_ENV"
fi
# shellcheck source=/dev/null
source "$DEV_ENV"
# A dev.env from before phone numbers were sealed lacks the contact keys:
# add a fresh pair (nothing sealed before exists to open).
if [ -z "${YEYAK_CONTACT_KEYS:-}" ] || [ -z "${YEYAK_CONTACT_PUBLIC_KEY:-}" ]; then
    log "adding contact keys to .run/dev.env"
    (umask 077 && "$BIN_DIR/yeyak-dev" contact-keys >>"$DEV_ENV")
    # shellcheck source=/dev/null
    source "$DEV_ENV"
fi
for k in "${DEV_KEYS[@]}"; do
    [ -n "${!k:-}" ] || die "$k missing from .run/dev.env (delete it to regenerate)"
done

# --- 3. free ports? -------------------------------------------------------------
for a in "$REGISTRY_ADDR" "$IDP_CARRIER_SMS_ADDR" "$IDP_KAKAO_CERT_ADDR" "$IDP_NAVER_CERT_ADDR" "$IDP_FIN_CERT_ADDR" "$SMS_GATEWAY_ADDR" \
         "$ADMISSION_ADDR" "$IDENTITY_ADDR" "$ELIGIBILITY_ADDR" "$INVENTORY_ADDR" "$INVENTORY_INTERNAL_ADDR" \
         "$RESERVATION_ADDR" "$NOTIFICATION_ADDR" "$BROKER_LINK_ADDR" "$BROKER_LINK_ADMIN_ADDR" "$EDGE_ADDR" "$PAGE_ADDR"; do
    if addr_open "$a"; then die "$a is already in use (another run?)"; fi
done

# --- 4. mock third parties ------------------------------------------------------
start mock-registry YEYAK_HTTP_ADDR="$REGISTRY_ADDR" YEYAK_SEED_COUNT="$SEED_COUNT" \
    -- "$BIN_DIR/yeyak-mock-registry" serve
start mock-idp-carrier-sms YEYAK_PROVIDER_ID=carrier-sms YEYAK_PROVIDER_KIND=sms_code \
    YEYAK_HTTP_ADDR="$IDP_CARRIER_SMS_ADDR" -- "$BIN_DIR/yeyak-mock-idp"
start mock-idp-kakao-cert YEYAK_PROVIDER_ID=kakao-cert YEYAK_PROVIDER_KIND=app_approval \
    YEYAK_HTTP_ADDR="$IDP_KAKAO_CERT_ADDR" -- "$BIN_DIR/yeyak-mock-idp"
start mock-idp-naver-cert YEYAK_PROVIDER_ID=naver-cert YEYAK_PROVIDER_KIND=app_approval \
    YEYAK_HTTP_ADDR="$IDP_NAVER_CERT_ADDR" -- "$BIN_DIR/yeyak-mock-idp"
start mock-idp-fin-cert YEYAK_PROVIDER_ID=fin-cert YEYAK_PROVIDER_KIND=app_approval \
    YEYAK_HTTP_ADDR="$IDP_FIN_CERT_ADDR" -- "$BIN_DIR/yeyak-mock-idp"
start mock-sms YEYAK_HTTP_ADDR="$SMS_GATEWAY_ADDR" -- "$BIN_DIR/yeyak-mock-sms"
wait_ready "mock third parties" \
    "mock-registry=$REGISTRY_ADDR" "mock-idp-carrier-sms=$IDP_CARRIER_SMS_ADDR" \
    "mock-idp-kakao-cert=$IDP_KAKAO_CERT_ADDR" "mock-idp-naver-cert=$IDP_NAVER_CERT_ADDR" \
    "mock-idp-fin-cert=$IDP_FIN_CERT_ADDR" "mock-sms=$SMS_GATEWAY_ADDR"

# --- 5. services (reservation last: it calls inventory and eligibility) ---------
# The services reach RabbitMQ through a link yeyak-surge --chaos can cut
# (`broker-cut`, docs/surge.md); cut it by hand with
#   curl -X PUT -H 'content-type: application/json' -d '{"up":false}' http://$BROKER_LINK_ADMIN_ADDR/admin/link
start broker-link -- "$BIN_DIR/yeyak-dev" link --listen "$BROKER_LINK_ADDR" \
    --upstream "$BROKER_ADDR" --admin "$BROKER_LINK_ADMIN_ADDR"
wait_ready "broker link" "broker-link=$BROKER_LINK_ADDR" "broker-link-admin=$BROKER_LINK_ADMIN_ADDR"
# The automatic admission rate reads the booking path's metrics (docs/admission.md):
# until those services are up it holds, then cuts, then climbs back to the
# operators' rate within a minute; `yeyak-ctl admission status demo` shows it.
start admission YEYAK_GRPC_ADDR="$ADMISSION_ADDR" YEYAK_METRICS_ADDR="$ADMISSION_METRICS_ADDR" \
    YEYAK_SIGNING_KEY="$YEYAK_ADMISSION_SIGNING_KEY" YEYAK_TRUSTED_PROXIES=127.0.0.1/32 \
    YEYAK_ADMISSION_CONTROL_TARGETS="identity=http://$IDENTITY_METRICS_ADDR/metrics,eligibility=http://$ELIGIBILITY_METRICS_ADDR/metrics,reservation=http://$RESERVATION_METRICS_ADDR/metrics" \
    -- "$BIN_DIR/yeyak-admission"
start identity YEYAK_GRPC_ADDR="$IDENTITY_ADDR" YEYAK_METRICS_ADDR="$IDENTITY_METRICS_ADDR" \
    YEYAK_SIGNING_KEY="$YEYAK_IDENTITY_SIGNING_KEY" YEYAK_PROVIDERS="$IDP_URLS" \
    -- "$BIN_DIR/yeyak-identity"
start eligibility YEYAK_GRPC_ADDR="$ELIGIBILITY_ADDR" YEYAK_METRICS_ADDR="$ELIGIBILITY_METRICS_ADDR" \
    YEYAK_REGISTRY_URL="$REGISTRY_URL" -- "$BIN_DIR/yeyak-eligibility"
start inventory YEYAK_GRPC_ADDR="$INVENTORY_ADDR" YEYAK_INTERNAL_GRPC_ADDR="$INVENTORY_INTERNAL_ADDR" \
    YEYAK_METRICS_ADDR="$INVENTORY_METRICS_ADDR" \
    -- "$BIN_DIR/yeyak-inventory"
start notification YEYAK_GRPC_ADDR="$NOTIFICATION_ADDR" YEYAK_METRICS_ADDR="$NOTIFICATION_METRICS_ADDR" \
    YEYAK_SMS_GATEWAY_URL="$SMS_GATEWAY_URL" YEYAK_CONTACT_KEYS="$YEYAK_CONTACT_KEYS" \
    -- "$BIN_DIR/yeyak-notification"
wait_ready "services" \
    "admission=$ADMISSION_ADDR" "identity=$IDENTITY_ADDR" "eligibility=$ELIGIBILITY_ADDR" \
    "inventory=$INVENTORY_ADDR" "inventory-internal=$INVENTORY_INTERNAL_ADDR" "notification=$NOTIFICATION_ADDR"

start reservation YEYAK_GRPC_ADDR="$RESERVATION_ADDR" YEYAK_METRICS_ADDR="$RESERVATION_METRICS_ADDR" \
    YEYAK_INVENTORY_ADDR="$INVENTORY_INTERNAL_ADDR" YEYAK_ELIGIBILITY_ADDR="$ELIGIBILITY_ADDR" \
    YEYAK_CONTACT_PUBLIC_KEY="$YEYAK_CONTACT_PUBLIC_KEY" -- "$BIN_DIR/yeyak-reservation"
wait_ready "reservation" "reservation=$RESERVATION_ADDR"

# The browser edge (docs/edge.md): gRPC-Web for the five public services
# only, for pages served from the dev origins (its default). Admission
# trusts 127.0.0.1 as a proxy, so the edge's x-forwarded-for is believed.
start edge YEYAK_HTTP_ADDR="$EDGE_ADDR" YEYAK_ALLOWED_ORIGINS="http://$PAGE_ADDR" YEYAK_METRICS_ADDR="$EDGE_METRICS_ADDR" \
    YEYAK_ADMISSION_ADDR="http://$ADMISSION_ADDR" YEYAK_IDENTITY_ADDR="http://$IDENTITY_ADDR" \
    YEYAK_ELIGIBILITY_ADDR="http://$ELIGIBILITY_ADDR" YEYAK_INVENTORY_ADDR="http://$INVENTORY_ADDR" \
    YEYAK_RESERVATION_ADDR="http://$RESERVATION_ADDR" -- "$BIN_DIR/yeyak-edge"
# The page's files, off the booking path (yeyak-static). The mock providers'
# inboxes play the person's phone: the page links to them in dev mode only.
start static YEYAK_HTTP_ADDR="$PAGE_ADDR" YEYAK_STATIC_DIR="$ROOT_DIR/web/dist" YEYAK_EDGE_URL="http://$EDGE_ADDR" \
    YEYAK_QUEUE_ID="${QUEUE_IDS%%,*}" YEYAK_CHANGES_QUEUE_ID="${QUEUE_IDS%%,*}-changes" \
    YEYAK_DEMO_PHONES="$IDP_URLS" -- "$BIN_DIR/yeyak-static"
wait_ready "edge and page" "edge=$EDGE_ADDR" "static=$PAGE_ADDR"

# --- 6. scripted demo -------------------------------------------------------------
if [ "$DEMO" -eq 1 ]; then
    log "running demo: yeyak-dev demo (output also in .run/logs/demo.log)"
    if ! env "${UNSET_ARGS[@]}" \
        YEYAK_ADMISSION_ADDR="$ADMISSION_ADDR" \
        YEYAK_IDENTITY_ADDR="$IDENTITY_ADDR" \
        YEYAK_ELIGIBILITY_ADDR="$ELIGIBILITY_ADDR" \
        YEYAK_INVENTORY_ADDR="$INVENTORY_ADDR" \
        YEYAK_RESERVATION_ADDR="$RESERVATION_ADDR" \
        YEYAK_NOTIFICATION_ADDR="$NOTIFICATION_ADDR" \
        YEYAK_SMS_GATEWAY_URL="$SMS_GATEWAY_URL" \
        YEYAK_IDP_URLS="$IDP_URLS" \
        YEYAK_OPERATOR_TOKEN="$YEYAK_OPERATOR_TOKEN" \
        "$BIN_DIR/yeyak-dev" demo </dev/null 2>&1 | tee "$LOG_DIR/demo.log"; then
        die "demo failed (see .run/logs/demo.log and the service logs in .run/logs/)"
    fi
    check_alive
    log "demo finished"
else
    log "demo skipped (--no-demo)"
fi

# --- 7. summary + wait ------------------------------------------------------------
# The operator CLI's settings for this stack: `. .run/ctl.env` and every
# `target/debug/yeyak-ctl` command reaches it (the token in a file, as a
# mounted Secret gives it, never on a command line).
(umask 077 && printf '%s\n' "$YEYAK_OPERATOR_TOKEN" >"$RUN_DIR/operator-token")
cat >"$RUN_DIR/ctl.env" <<EOF
export YEYAK_CTL_ADMISSION=http://$ADMISSION_ADDR
export YEYAK_CTL_NOTIFICATION=http://$NOTIFICATION_ADDR
export YEYAK_CTL_INVENTORY=http://$INVENTORY_ADDR
export YEYAK_CTL_RESERVATION=http://$RESERVATION_ADDR
export YEYAK_CTL_METRICS=http://$ADMISSION_METRICS_ADDR/metrics,http://$IDENTITY_METRICS_ADDR/metrics,http://$ELIGIBILITY_METRICS_ADDR/metrics,http://$INVENTORY_METRICS_ADDR/metrics,http://$RESERVATION_METRICS_ADDR/metrics,http://$NOTIFICATION_METRICS_ADDR/metrics
export YEYAK_CTL_TOKEN_FILE=$RUN_DIR/operator-token
EOF
# Where yeyak-surge finds this stack (docs/surge.md); the token stays in its file.
cat >"$RUN_DIR/endpoints.toml" <<EOF
# Written by scripts/run.sh for yeyak-surge (docs/surge.md).
admission = "$ADMISSION_ADDR"
identity = "$IDENTITY_ADDR"
eligibility = "$ELIGIBILITY_ADDR"
inventory = "$INVENTORY_ADDR"
reservation = "$RESERVATION_ADDR"
sms_gateway_url = "$SMS_GATEWAY_URL"
registry_seed = ${YEYAK_SEED:-20210226}
registry_count = $SEED_COUNT
pids_file = "pids"
broker_link_url = "http://$BROKER_LINK_ADMIN_ADDR"

# Counted by process name for the plan's data-store sizing (all of this
# machine's processes of that name: on a shared machine an upper bound).
[data_stores]
postgres = "postgres"
redis = "redis-server"
rabbitmq = "beam.smp"

[idp_urls]
carrier-sms = "http://$IDP_CARRIER_SMS_ADDR"
EOF
cat <<EOF
[run] Yeyak is running:
[run]   admission     grpc $ADMISSION_ADDR    metrics http://$ADMISSION_METRICS_ADDR/metrics
[run]   identity      grpc $IDENTITY_ADDR    metrics http://$IDENTITY_METRICS_ADDR/metrics
[run]   eligibility   grpc $ELIGIBILITY_ADDR    metrics http://$ELIGIBILITY_METRICS_ADDR/metrics
[run]   inventory     grpc $INVENTORY_ADDR    metrics http://$INVENTORY_METRICS_ADDR/metrics    internal $INVENTORY_INTERNAL_ADDR
[run]   reservation   grpc $RESERVATION_ADDR    metrics http://$RESERVATION_METRICS_ADDR/metrics
[run]   notification  grpc $NOTIFICATION_ADDR    metrics http://$NOTIFICATION_METRICS_ADDR/metrics
[run]   mock registry       $REGISTRY_URL
[run]   mock IdP carrier-sms http://$IDP_CARRIER_SMS_ADDR
[run]   mock IdP kakao-cert  http://$IDP_KAKAO_CERT_ADDR
[run]   mock IdP naver-cert  http://$IDP_NAVER_CERT_ADDR
[run]   mock IdP fin-cert    http://$IDP_FIN_CERT_ADDR
[run]   mock SMS gateway    $SMS_GATEWAY_URL
[run]   browser edge        http://$EDGE_ADDR   (gRPC-Web, public RPCs only; docs/edge.md)    metrics http://$EDGE_METRICS_ADDR/metrics
[run]   citizen page        http://$PAGE_ADDR   <- open it to book from a browser, as someone of the
[run]                       mock registry: target/debug/yeyak-dev person   (synthetic; the page links to the mock phone)
[run]   broker link         $BROKER_LINK_ADDR -> $BROKER_ADDR   admin http://$BROKER_LINK_ADMIN_ADDR/admin/link
[run]   logs .run/logs/   dev keys .run/dev.env
[run]   operator CLI: . .run/ctl.env && target/debug/yeyak-ctl status --watch 2   (docs/yeyak-ctl.md)
[run]   surge: target/debug/yeyak-surge run --scenario tools/yeyak-surge/scenarios/ci.toml --operator-token-file .run/operator-token   (docs/surge.md)
EOF

if [ "$WAIT" -eq 0 ]; then
    log "--no-wait: stopping"
    exit 0
fi

# `yeyak-surge run --chaos` stops services and starts them again, writing
# each new pid into the pids file: the stack follows it (and Ctrl-C stops
# the new process), and a process that ended is given RESTART_GRACE seconds
# to reappear there before the stack is declared broken.
RESTART_GRACE=30
declare -A DEAD_SINCE=()
adopt_restarted() {
    [ -f "$PID_FILE" ] || return 0
    local name pid i
    while read -r name pid; do
        for i in "${!NAMES[@]}"; do
            if [ "${NAMES[$i]}" = "$name" ] && [ -n "${pid:-}" ] && [ "${PIDS[$i]}" != "$pid" ]; then
                log "$name is now pid $pid (started again by yeyak-surge --chaos)"
                PIDS[$i]=$pid
                unset "DEAD_SINCE[$i]"
            fi
        done
    done <"$PID_FILE"
}
watch_alive() {
    local i now
    now=$(date +%s)
    for i in "${!PIDS[@]}"; do
        if kill -0 "${PIDS[$i]}" 2>/dev/null; then
            unset "DEAD_SINCE[$i]"
        elif [ -z "${DEAD_SINCE[$i]:-}" ]; then
            DEAD_SINCE[$i]=$now
        elif [ $((now - DEAD_SINCE[$i])) -ge "$RESTART_GRACE" ]; then
            printf '[run] ERROR: %s (pid %s) ended and was not started again within %ss\n' "${NAMES[$i]}" "${PIDS[$i]}" "$RESTART_GRACE" >&2
            show_log_tail "${NAMES[$i]}"
            exit 1
        fi
    done
}

log "Press Ctrl-C to stop"
while :; do
    adopt_restarted
    watch_alive
    sleep 1
done
