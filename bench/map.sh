#!/usr/bin/env bash
# bench/map.sh: idm-map throughput and peak memory at 100k and 1M users, against `jq -c .`
# merely re-printing the same file (the aim: idm-map faster than jq, RSS flat from 100k to 1M).
#
#   bash bench/map.sh                     # 100000 and 1000000 users
#   BENCH_MAP_USERS="10000 100000" bash bench/map.sh
#
# Exports come from `idm-sandbox --emit-export FILE --users N` (a seeded, realistic Okta
# tenant); while that flag is not available, from tests/fixtures/gen_okta_export.py --clean.
# Results: one line per size on stdout and in bench-out/map.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=${BENCH_MAP_USERS:-"100000 1000000"}
OUT=bench-out
mkdir -p "$OUT"
TIME=/usr/bin/time
command -v jq >/dev/null || { echo "bench/map.sh: jq is required" >&2; exit 1; }
[ -x "$TIME" ] || { echo "bench/map.sh: $TIME is required" >&2; exit 1; }

cargo build --release --locked --bin idm-map --bin idm-sandbox >&2
MAP=target/release/idm-map
SANDBOX=target/release/idm-sandbox

export_file() { # $1 users → path of an export with that many users
  local n=$1 f="$OUT/map-export-$1.ndjson"
  if [ ! -s "$f" ]; then
    if "$SANDBOX" --help 2>/dev/null | grep -q -- '--emit-export'; then
      "$SANDBOX" --emit-export "$f" --users "$n" >&2
    else
      echo "bench/map.sh: idm-sandbox has no --emit-export yet, using gen_okta_export.py" >&2
      python3 tests/fixtures/gen_okta_export.py --users "$n" --clean > "$f"
    fi
  fi
  echo "$f"
}

measure() { # command... → "seconds kb"
  "$TIME" -f '%e %M' -o "$OUT/time.txt" "$@" > /dev/null 2> "$OUT/stderr.txt" || {
    local rc=$?
    # idm-map exits 3 when some records were rejected; anything else is a failure
    [ "$rc" -eq 3 ] || { cat "$OUT/stderr.txt" >&2; exit 1; }
  }
  tail -n 1 "$OUT/time.txt"
}

{
  printf '%-9s %-10s %-12s %-10s %-12s %-10s %-8s %s\n' users records map_s map_rec/s map_rss_kb jq_s jq_rss_kb jq/map
  for n in $SIZES; do
    f=$(export_file "$n")
    lines=$(wc -l < "$f")
    r=$(measure "$MAP" --to onelogin -i "$f" -q); read -r map_s map_kb <<< "$r"
    r=$(measure jq -c . "$f"); read -r jq_s jq_kb <<< "$r"
    rate=$(awk -v l="$lines" -v s="$map_s" 'BEGIN { printf "%.0f", (s > 0 ? l / s : 0) }')
    ratio=$(awk -v j="$jq_s" -v m="$map_s" 'BEGIN { printf "%.2f", (m > 0 ? j / m : 0) }')
    printf '%-9s %-10s %-12s %-10s %-12s %-10s %-8s %s\n' "$n" "$lines" "$map_s" "$rate" "$map_kb" "$jq_s" "$jq_kb" "$ratio"
  done
} | tee "$OUT/map.txt"
