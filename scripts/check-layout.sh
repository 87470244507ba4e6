#!/usr/bin/env bash
# Checks the service layout of docs/conventions.md: the six folders, the
# direction of imports between them, and the file-size ceiling. Run by
# `make lint` (and so by `make test`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SERVICES=(admission identity eligibility inventory reservation notification)
FOLDERS=(grpc app domain store clients consumers)
# Files allowed above the ceiling: data tables, not logic.
DATA_TABLES=(services/inventory/src/domain/regions.rs)
MAX_LINES=300
failed=0

fail() {
    echo "layout: $*" >&2
    failed=1
}

# Lines of Rust in $2.. (files or folders) that match the regex $1, comments left out.
uses() {
    local pattern=$1
    shift
    local paths=()
    for p in "$@"; do [ -e "$p" ] && paths+=("$p"); done
    [ ${#paths[@]} -eq 0 ] && return 0
    grep -rnE --include='*.rs' "$pattern" "${paths[@]}" | grep -vE '^[^:]+:[0-9]+:\s*//' || true
}

for service in "${SERVICES[@]}"; do
    src="services/$service/src"
    for folder in "${FOLDERS[@]}"; do
        [ -f "$src/$folder/mod.rs" ] || fail "$src/$folder/mod.rs is missing (every service has ${FOLDERS[*]})"
    done
    # Nothing below the handlers knows the transport.
    hits=$(uses '\btonic\b' "$src/app" "$src/domain" "$src/store" "$src/consumers" "$src/events.rs" "$src/error.rs")
    [ -z "$hits" ] || fail "tonic outside grpc/, clients/ and startup in $service:"$'\n'"$hits"
    # Only the store talks to a database.
    hits=$(uses '\b(sqlx|redis)::' "$src/grpc" "$src/domain" "$src/app" "$src/consumers" "$src/clients")
    [ -z "$hits" ] || fail "SQL or Redis outside store/ in $service:"$'\n'"$hits"
    # The handlers and the consumers are entry points: nothing reaches up into them.
    hits=$(uses 'crate::(grpc|consumers)\b|super::super::(grpc|consumers)\b' "$src/app" "$src/domain" "$src/store" "$src/clients" "$src/config.rs" "$src/events.rs")
    [ -z "$hits" ] || fail "a layer reaches up into grpc/ or consumers/ in $service:"$'\n'"$hits"
    # Rules are pure.
    hits=$(uses 'crate::(app|store|clients|grpc|consumers|startup)\b|tokio::(net|fs|time::sleep)|Utc::now\(' "$src/domain")
    [ -z "$hits" ] || fail "domain/ does I/O or reaches other layers in $service:"$'\n'"$hits"
    # Settings do not import stores or clients.
    hits=$(uses 'crate::(store|clients)\b' "$src/config.rs")
    [ -z "$hits" ] || fail "config.rs imports store or client types in $service:"$'\n'"$hits"
done

while IFS= read -r file; do
    [ -f "$file" ] || continue # deleted in the working tree
    case "$file" in
        */tests/* | */tests.rs | *_tests.rs) continue ;;
    esac
    for table in "${DATA_TABLES[@]}"; do [ "$file" = "$table" ] && continue 2; done
    lines=$(wc -l <"$file")
    [ "$lines" -le "$MAX_LINES" ] || fail "$file has $lines lines (at most $MAX_LINES outside tests and data tables)"
done < <(git ls-files --cached --others --exclude-standard -- 'services/*.rs' 'crates/*.rs' 'tools/*.rs' 'tests/*.rs')

if [ "$failed" -ne 0 ]; then
    echo "layout: see docs/conventions.md" >&2
    exit 1
fi
echo "layout: ${#SERVICES[@]} services follow docs/conventions.md"
