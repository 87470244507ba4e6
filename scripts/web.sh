#!/usr/bin/env bash
# Builds the citizen page (`make web`): its npm packages into web/node_modules
# (`npm ci`, again only when web/package-lock.json changes), a type check
# (tsc, no output), then web/build.mjs: `buf generate` into web/gen and
# esbuild into web/dist. Needs buf (scripts/bootstrap.sh) and node/npm.
set -euo pipefail

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT_DIR/web"

log() { printf '[web] %s\n' "$*"; }

command -v npm >/dev/null 2>&1 || { echo "[web] ERROR: npm is missing (scripts/bootstrap.sh installs it)" >&2; exit 1; }
[ -x ../.tools/node_modules/.bin/buf ] || { echo "[web] ERROR: buf is missing: run scripts/bootstrap.sh" >&2; exit 1; }

STAMP=node_modules/.package-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    log "web/node_modules up to date"
else
    log "npm ci into web/node_modules"
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
    echo "$want" >"$STAMP"
fi
# The generated code must exist before tsc reads it: build.mjs generates it.
node build.mjs
log "type check (tsc --noEmit)"
node_modules/.bin/tsc -p .
log "built web/dist"
