#!/usr/bin/env bash
# bench/export.sh: idm-export of 10,000 and 100,000 users from the sandbox (no limits).
#
# For each size: records/s, wall time and peak RSS of idm-export (`/usr/bin/time -f '%e %M'`),
# and HTTP requests per 1,000 users (from the sandbox's /__admin/stats). Peak RSS should stay
# flat from 10k to 100k: export streams page by page.
#
# Usage: bench/export.sh [SIZES...]   (default: 10000 100000)
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000)

cargo build --release --quiet --bin idm-export --bin idm-sandbox
bin=target/release
work=$(mktemp -d)
trap 'kill "${sandbox_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

printf '%-8s %10s %8s %10s %12s %10s %14s\n' users records secs records/s peak_rss_kb requests req/1k_users
for n in "${sizes[@]}"; do
  rm -f "$work/ready.json"
  "$bin/idm-sandbox" --users "$n" --seed 1 --ready-file "$work/ready.json" >/dev/null 2>"$work/sandbox.err" &
  sandbox_pid=$!
  for _ in $(seq 1 600); do [ -s "$work/ready.json" ] && break; sleep 0.1; done
  [ -s "$work/ready.json" ] || { echo "sandbox did not start:" >&2; cat "$work/sandbox.err" >&2; exit 1; }
  url=$(jq -r .okta_url "$work/ready.json")
  export IDM_OKTA_URL=$url
  IDM_OKTA_TOKEN=$(jq -r .okta_token "$work/ready.json")
  export IDM_OKTA_TOKEN

  /usr/bin/time -f '%e %M' -o "$work/time" \
    "$bin/idm-export" --objects users --include-deprovisioned --rate-limit none \
      --state "$work/state.ndjson" -o "$work/users.ndjson" 2>"$work/export.err" \
    || { cat "$work/export.err" >&2; exit 1; }
  read -r secs rss < "$work/time"
  records=$(wc -l < "$work/users.ndjson")
  requests=$(curl -s "$url/__admin/stats" | jq .requests)
  awk -v n="$n" -v r="$records" -v s="$secs" -v m="$rss" -v q="$requests" 'BEGIN {
    printf "%-8d %10d %8.2f %10.0f %12d %10d %14.2f\n", n, r, s, (s > 0 ? r / s : 0), m, q, q * 1000 / n }'

  kill "$sandbox_pid"; wait "$sandbox_pid" 2>/dev/null || true
  unset sandbox_pid
done
