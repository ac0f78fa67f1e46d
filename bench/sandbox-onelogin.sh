#!/usr/bin/env bash
# bench/sandbox-onelogin.sh — figures for the OneLogin side of idm-sandbox, printed as
# `sandbox-onelogin: ...` lines, over HTTP on loopback with 2 client threads:
#   - user creates per second (POST /api/2/users with a custom attribute) while loading
#     100,000 users into the simulated account;
#   - exact email lookups per second (GET /api/2/users?email=..., a loader's duplicate check)
#     and list-page requests per second (limit=100, by After-Cursor) at 100k users;
#   - peak RSS of the sandbox holding those 100k OneLogin users.
# Run by `make bench`. Builds in release mode. usage: bench/sandbox-onelogin.sh [USERS]
set -euo pipefail
cd "$(dirname "$0")/.."

USERS="${1:-100000}"
cargo build --release --quiet --bin idm-sandbox --example onelogin_load
BIN=target/release/idm-sandbox
LOAD=target/release/examples/onelogin_load
TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

wait_ready() {
    for _ in $(seq 1 1200); do
        [ -s "$1" ] && return 0
        sleep 0.1
    done
    echo "sandbox-onelogin: the sandbox did not become ready" >&2
    exit 1
}

/usr/bin/time -f '%e %M' -o "$TMP/time" "$BIN" --users 100 --ready-file "$TMP/ready.json" >/dev/null &
TIMEPID=$!
PIDS+=($TIMEPID)
wait_ready "$TMP/ready.json"
export IDM_ONELOGIN_CLIENT_ID IDM_ONELOGIN_CLIENT_SECRET
IDM_ONELOGIN_CLIENT_ID=$(jq -r .onelogin_client_id "$TMP/ready.json")
IDM_ONELOGIN_CLIENT_SECRET=$(jq -r .onelogin_client_secret "$TMP/ready.json")
"$LOAD" "$(jq -r .onelogin_url "$TMP/ready.json")" 2 "$USERS" 8 > "$TMP/load"
while read -r WHAT N SECS RATE; do
    case "$WHAT" in
        create) echo "sandbox-onelogin: ${RATE} user creates/s (${N} users in ${SECS} s, 2 client threads)" ;;
        lookup) echo "sandbox-onelogin: ${RATE} email lookups/s at ${USERS} users (2 client threads)" ;;
        list) echo "sandbox-onelogin: ${RATE} list-page requests/s (users, limit=100, ${USERS} users, 2 client threads)" ;;
    esac
done < "$TMP/load"
SERVER=$(pgrep -P "$TIMEPID" || true)
[ -n "$SERVER" ] && kill -INT "$SERVER"
wait "$TIMEPID" || true
read -r _ KB < "$TMP/time"
echo "sandbox-onelogin: peak RSS $((KB / 1024)) MB with ${USERS} OneLogin users (sandbox incl. a 100-user Okta seed)"
