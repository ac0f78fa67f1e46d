#!/usr/bin/env bash
# bench/sandbox.sh — figures for idm-sandbox, printed as `sandbox: ...` lines:
#   - list-page requests per second on loopback with 2 client threads (Okta users, following
#     Link headers; aim >= 5,000/s), at limit=200 and limit=20, against 10k seeded users;
#   - wall time and peak RSS of a sandbox seeded with 100k users that serves a walk of them;
#   - wall time and peak RSS of `--emit-export` of 1M users (streamed: RSS must stay flat).
# Run by `make bench`. Builds in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet --bin idm-sandbox --example sandbox_load
BIN=target/release/idm-sandbox
LOAD=target/release/examples/sandbox_load
TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

# wait_ready FILE: poll until the sandbox has written its ready line (at most 120 s)
wait_ready() {
    for _ in $(seq 1 1200); do
        [ -s "$1" ] && return 0
        sleep 0.1
    done
    echo "sandbox: did not become ready" >&2
    exit 1
}

# 1. throughput
"$BIN" --users 10000 --groups 30 --apps 8 --ready-file "$TMP/ready1.json" >/dev/null &
PIDS+=($!)
wait_ready "$TMP/ready1.json"
URL=$(jq -r .okta_url "$TMP/ready1.json")
export IDM_OKTA_TOKEN
IDM_OKTA_TOKEN=$(jq -r .okta_token "$TMP/ready1.json")
for LIMIT in 200 20; do
    read -r RPS N MBS < <("$LOAD" "$URL" 2 8 "$LIMIT")
    echo "sandbox: ${RPS} list-page requests/s (users, limit=${LIMIT}, 2 client threads, ${N} pages, ${MBS} MB/s)"
done
kill -INT "${PIDS[0]}"
wait "${PIDS[0]}" || true

# 2. memory at 100k users: /usr/bin/time around the server; a full walk, then SIGINT
/usr/bin/time -f '%e %M' -o "$TMP/time2" "$BIN" --users 100000 --groups 50 --apps 20 \
    --ready-file "$TMP/ready2.json" >/dev/null &
TIMEPID=$!
PIDS+=($TIMEPID)
START=$(date +%s.%N)
wait_ready "$TMP/ready2.json"
READY=$(echo "$(date +%s.%N) - $START" | bc)
IDM_OKTA_TOKEN=$(jq -r .okta_token "$TMP/ready2.json")
"$LOAD" "$(jq -r .okta_url "$TMP/ready2.json")" 2 5 200 >/dev/null
SERVER=$(pgrep -P "$TIMEPID" || true)
[ -n "$SERVER" ] && kill -INT "$SERVER"
wait "$TIMEPID" || true
read -r SECS KB < "$TMP/time2"
echo "sandbox: 100k users: ready in $(printf '%.1f' "$READY") s, peak RSS $((KB / 1024)) MB (seed + 5 s of list walks)"

# 3. streaming export of 1M users
/usr/bin/time -f '%e %M' -o "$TMP/time3" "$BIN" --users 1000000 --groups 200 --apps 40 \
    --emit-export - | wc -c > "$TMP/bytes3"
read -r SECS KB < "$TMP/time3"
BYTES=$(cat "$TMP/bytes3")
echo "sandbox: --emit-export 1M users: ${SECS} s, $((BYTES / 1024 / 1024)) MB written, peak RSS $((KB / 1024)) MB"
