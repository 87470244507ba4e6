#!/usr/bin/env bash
# The citizen page's browser test (tests/tests/browser.rs: the whole stack,
# the edge, the static server and Debian's Chromium) on its own.
#
# `make test` runs it beside the chart run, after the main `cargo test`
# (which skips it): both mostly wait on processes, so side by side they
# take the time of the longer one. The test binary is the one that
# `cargo test --workspace --all-targets` built (asked of cargo, not
# rebuilt with other features), run directly.
set -euo pipefail

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT_DIR"
TEST=a_person_books_from_the_page_waits_fairly_and_every_step_is_accessible_and_light

[ -f web/dist/index.html ] || scripts/web.sh
bin="$(cargo test --workspace --all-targets --no-run --message-format=json | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    t = m.get("target", {})
    if m.get("reason") == "compiler-artifact" and t.get("name") == "browser" and "test" in t.get("kind", []) and m.get("executable"):
        print(m["executable"])
')"
[ -n "$bin" ] || { echo "[test-browser] ERROR: cargo built no browser test binary" >&2; exit 1; }
echo "[test-browser] $bin $TEST"
exec "$bin" --exact "$TEST"
