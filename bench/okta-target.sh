#!/usr/bin/env bash
# bench/okta-target.sh: an org-to-org migration into Okta (release builds, two sandboxes).
#
#   calls per migrated user   a seeded source org → an empty target org, no limit: every call
#                             the target answered (attributes, groups, users, memberships,
#                             apps, assignments, reads) over the users created
#   bucket utilisation        the target enforces an Okta tier's per-bucket limits and idm-load
#                             runs with no --rate-limit of its own (Okta's headers only) for
#                             BENCH_OKTA_SECS; the binding bucket's requests over its limit in
#                             the windows after the first (aim >= 90 %, 0 over any limit)
#
# Knobs: BENCH_OKTA_USERS (2000), BENCH_OKTA_TIER (developer), BENCH_OKTA_SECS (190).
. "$(dirname "$0")/lib.sh"

USERS=${BENCH_OKTA_USERS:-2000}
TIER=${BENCH_OKTA_TIER:-developer}
SECS=${BENCH_OKTA_SECS:-190}
BIN="$BENCH_ROOT/target/release"
for b in idm-sandbox idm-export idm-map idm-attrs idm-load; do bench_bin "$b" >/dev/null; done
unset IDM_OKTA_RATE_LIMIT
export IDM_STATS_INTERVAL=0

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# start NAME ARGS...: a sandbox whose ready line is WORK/NAME.json
start() {
    local name=$1
    shift
    "$BIN/idm-sandbox" "$@" >"$WORK/$name.json" 2>"$WORK/$name.err" &
    PIDS+=($!)
    for _ in $(seq 1 300); do [[ -s "$WORK/$name.json" ]] && break; sleep 0.1; done
    [[ -s "$WORK/$name.json" ]] || { note "okta-target: sandbox $name did not start"; cat "$WORK/$name.err" >&2; exit 1; }
}
url() { jq -r .okta_url "$WORK/$1.json"; }
token() { jq -r .okta_token "$WORK/$1.json"; }
stats() { curl -sf "$(url "$1")/__admin/stats"; }

start source --users "$USERS" --groups 40 --apps 8 --seed 3
IDM_OKTA_URL=$(url source) IDM_OKTA_TOKEN=$(token source) IDM_OKTA_RATE_LIMIT=none \
    "$BIN/idm-export" --state "$WORK/export-state.ndjson" -o "$WORK/export.ndjson" -q
"$BIN/idm-map" --to okta --email-domain migrated.example -i "$WORK/export.ndjson" \
    -o "$WORK/mapped.ndjson" 2>"$WORK/map.log" || [[ $? -eq 3 ]]

# load_into NAME STATE RATE [LOAD FLAGS...]: attrs --apply then load --apply into sandbox NAME;
# RATE is the client's --rate-limit (empty: none given, the default a person gets)
load_into() {
    local name=$1 state=$2 rate=$3
    shift 3
    local limit=()
    [[ -n "$rate" ]] && limit=(--rate-limit "$rate")
    IDM_OKTA_URL=$(url "$name") IDM_OKTA_TOKEN=$(token "$name") \
        "$BIN/idm-attrs" --to okta --apply --state "$state" -i "$WORK/mapped.ndjson" \
        -o "$WORK/ready-$name.ndjson" -q "${limit[@]}"
    IDM_OKTA_URL=$(url "$name") IDM_OKTA_TOKEN=$(token "$name") \
        "$BIN/idm-load" --to okta --apply --state "$state" -i "$WORK/ready-$name.ndjson" \
        -o "$WORK/results-$name.ndjson" -q "${limit[@]}" "$@"
}

# 1. calls per migrated user
start free --users 0
load_into free "$WORK/free.ndjson" none --workers 8
created=$(jq -c 'select(.kind == "result" and .data.of == "user" and .data.op == "create" and .data.status == "ok")' \
    "$WORK/results-free.ndjson" | wc -l)
calls=$(stats free | jq .requests)
memberships=$(jq -c 'select(.kind == "membership")' "$WORK/ready-free.ndjson" | wc -l)
echo "okta-target: calls per migrated user: $(awk -v c="$calls" -v u="$created" 'BEGIN { printf "%.3f", c / u }') ($calls calls for $created users created, $memberships memberships, every kind, empty org, no limit)"
echo "okta-target: calls by route: $(stats free | jq -r '.by_route | to_entries | sort_by(-.value) | map("\(.key) \(.value)") | join(", ")')"
writes=$(stats free | jq .writes)
load_into free "$WORK/free.ndjson" none --workers 8
echo "okta-target: second apply: $(( $(stats free | jq .writes) - writes )) writes"

# 2. the binding bucket's utilisation at a tier's default limits, Okta's headers only
start tier --users 0 --okta-rate-limit "tier:$TIER"
(load_into tier "$WORK/tier.ndjson" "" --workers 4 >/dev/null 2>&1 || true) &
LOADER=$!
sleep "$SECS"
pkill -P "$LOADER" 2>/dev/null || true
kill "$LOADER" 2>/dev/null || true
wait "$LOADER" 2>/dev/null || true
stats tier >"$WORK/tier-stats.json"
jq -r --arg tier "$TIER" --arg secs "$SECS" '
  [.by_bucket | to_entries[] | select(.value.limit != null and .value.full_windows > 0)
   | {bucket: .key, used: (.value.full_windows_admitted / (.value.full_windows * .value.limit)),
      windows: .value.full_windows, limit: .value.limit}] as $b
  | ($b | max_by(.used)) as $top
  | "okta-target: binding bucket at tier \($tier): \($top.bucket) \(($top.used * 1000 | round) / 10) % of its \($top.limit)/min over \($top.windows) full windows (\($secs) s run); requests over any limit: \(.over_limit) (aim >= 90 %, 0)"
' "$WORK/tier-stats.json"
