#!/usr/bin/env bash
# bench/export.sh — figures for idm-export, printed as `export: ...` lines:
#   - records/s, wall time and peak RSS of an export of IDM_BENCH_EXPORT_SIZES users (default
#     10,000 and 100,000) from the sandbox with no limits (peak RSS must stay flat: streaming);
#   - HTTP requests per 1,000 users (the floor is 5 pages of 200), from the sandbox's stats.
# Run by `make bench` (bench/run.sh); alone: bash bench/export.sh
. "$(dirname "$0")/lib.sh"

SIZES=${IDM_BENCH_EXPORT_SIZES:-"10000 100000"}
EXPORT=$(bench_bin idm-export)
SANDBOX=$(bench_bin idm-sandbox)
TMP=$(mktemp -d "$BENCH_OUT/export.XXXXXX")
SANDBOX_PID=
cleanup() {
    [ -n "$SANDBOX_PID" ] && kill "$SANDBOX_PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

for n in $SIZES; do
    note "export: seeding a sandbox with $n users"
    rm -f "$TMP/ready.json"
    "$SANDBOX" --users "$n" --seed 1 --ready-file "$TMP/ready.json" >/dev/null 2>"$TMP/sandbox.err" &
    SANDBOX_PID=$!
    for _ in $(seq 1 1200); do [ -s "$TMP/ready.json" ] && break; sleep 0.1; done
    [ -s "$TMP/ready.json" ] || { cat "$TMP/sandbox.err" >&2; exit 1; }
    url=$(jq -r .okta_url "$TMP/ready.json")
    export IDM_OKTA_URL=$url
    IDM_OKTA_TOKEN=$(jq -r .okta_token "$TMP/ready.json")
    export IDM_OKTA_TOKEN

    curl -s -X POST "$url/__admin/reset" >/dev/null
    read -r secs kb < <(measure_runs "$BENCH_RUNS" /dev/null "$TMP/users.ndjson" \
        "$EXPORT" --objects users --include-deprovisioned --rate-limit none \
        --state "$TMP/state.ndjson")
    records=$(wc -l < "$TMP/users.ndjson")
    requests=$(curl -s "$url/__admin/stats" | jq .requests)
    per_1k=$(awk -v q="$requests" -v r="$BENCH_RUNS" -v n="$n" 'BEGIN { printf "%.2f", q / r * 1000 / n }')
    echo "export: $n users: $(per_s "$records" "$secs") records/s (${secs} s), peak RSS $(mb "$kb") MB, ${per_1k} requests per 1,000 users"

    kill "$SANDBOX_PID"; wait "$SANDBOX_PID" 2>/dev/null || true
    SANDBOX_PID=
done
