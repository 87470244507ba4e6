#!/usr/bin/env bash
# Lint the protobuf contracts with buf (config: proto/buf.yaml).
# Exits non-zero when buf reports findings. Install buf with scripts/bootstrap.sh.
set -euo pipefail

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUF_BIN="$ROOT_DIR/.tools/node_modules/.bin/buf"

if [ ! -x "$BUF_BIN" ]; then
    echo "[lint-protos] $BUF_BIN not found; run scripts/bootstrap.sh first" >&2
    exit 1
fi

cd "$ROOT_DIR/proto"
echo "[lint-protos] buf $("$BUF_BIN" --version) lint proto/"
"$BUF_BIN" lint
echo "[lint-protos] ok"
