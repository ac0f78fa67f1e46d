#!/usr/bin/env bash
# bench/okta-limits.sh — idm-export against an Okta org at its modelled default limits, printed
# as `okta-limits: ...` lines:
#   - the sandbox enforces a free developer org's per-bucket limits (tier:developer: 100/min for
#     users and group members, 20/min for the app list, ...) and its 15 requests at once;
#   - idm-export runs without --rate-limit: it learns every bucket's limit from the headers;
#   - the floor is what the busiest bucket needs at its limit (the clock-aligned windows wholly
#     inside the run); utilisation is the share of the limit used in every bucket's
#     windows after the first (the sandbox counts them; aim >= 90 %); requests over a limit: 0.
# Size: IDM_BENCH_LIMITS_USERS (default 50,000). Alone: bash bench/okta-limits.sh
. "$(dirname "$0")/lib.sh"

USERS=${IDM_BENCH_LIMITS_USERS:-50000}
EXPORT=$(bench_bin idm-export)
SANDBOX=$(bench_bin idm-sandbox)
TMP=$(mktemp -d "$BENCH_OUT/okta-limits.XXXXXX")
SANDBOX_PID=
cleanup() {
    [ -n "$SANDBOX_PID" ] && kill "$SANDBOX_PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

note "okta-limits: seeding a developer org with $USERS users"
"$SANDBOX" --users "$USERS" --seed 1 --okta-rate-limit tier:developer --okta-concurrency 15 \
    --ready-file "$TMP/ready.json" >/dev/null 2>"$TMP/sandbox.err" &
SANDBOX_PID=$!
for _ in $(seq 1 1200); do [ -s "$TMP/ready.json" ] && break; sleep 0.1; done
[ -s "$TMP/ready.json" ] || { cat "$TMP/sandbox.err" >&2; exit 1; }
url=$(jq -r .okta_url "$TMP/ready.json")
export IDM_OKTA_URL=$url
IDM_OKTA_TOKEN=$(jq -r .okta_token "$TMP/ready.json")
export IDM_OKTA_TOKEN
unset IDM_OKTA_RATE_LIMIT
curl -s -X POST "$url/__admin/reset" >/dev/null

read -r secs kb < <(measure /dev/null "$TMP/export.ndjson" \
    "$EXPORT" --state "$TMP/state.ndjson" -q)
curl -s "$url/__admin/stats" >"$TMP/stats.json"
records=$(grep -vc '"kind":"stream"' "$TMP/export.ndjson")

# per bucket (the routes folded as okta-api.md §8 buckets them): requests, limit, requests over
# it, and the sandbox's count of the windows that closed after the first (a client starts in
# the middle of the first): their share of the limit used is the bucket's utilisation
jq -r '
  def bucket: sub("^[A-Z]+ "; "") | split("?")[0] |
    if test("^/api/v1/(users|groups|apps)$") then .
    elif test("^/api/v1/(users|groups|apps)/") then (split("/")[0:4] | join("/")) + "/{id}"
    else "/api/v1" end;
  . as $s
  | [ $s.by_route | to_entries[] | { b: (.key | bucket), n: .value } ]
  | group_by(.b) | map({ b: .[0].b, n: (map(.n) | add) })
  | map(. + ($s.by_bucket[.b] // {}))
  | .[] | select(.limit != null)
  | "\(.b) \(.n) \(.limit) \(.over_limit // 0) \(.full_windows // 0) \(.full_windows_admitted // 0)"' \
  "$TMP/stats.json" >"$TMP/buckets.txt"
note "bucket requests limit over full_windows admitted_in_them"
note "$(cat "$TMP/buckets.txt")"
# the floor: R requests at L a window touch at least ceil(R/L) clock-aligned windows, and all
# but the first and the last lie wholly inside the run: (ceil(R/L) - 2) minutes at least
read -r busiest floor < <(awk '{ w = int(($2 + $3 - 1) / $3) - 2; if (w >= f) { f = w; b = $1 } }
    END { print b, f * 60 }' "$TMP/buckets.txt")
util=$(awk '$5 > 0 { a += $6; c += $5 * $3 } END { if (c > 0) printf "%.1f", 100 * a / c; else print "n/a" }' "$TMP/buckets.txt")
over=$(jq .over_limit "$TMP/stats.json")
refused=$(jq .concurrency.rejected "$TMP/stats.json")
echo "okta-limits: $USERS users ($records records) at tier:developer without --rate-limit: ${secs} s, floor ${floor} s (busiest bucket $busiest), full windows ${util} % used, $over requests over a limit, $refused refused for concurrency, peak RSS $(mb "$kb") MB"
