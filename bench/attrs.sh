#!/usr/bin/env bash
# idm-attrs benchmark: pass-through of 10,000 / 100,000 / 1,000,000 mapped users (report only,
# no tenant): seconds, records/s and peak RSS, which must stay flat (the stream is spooled to
# disk; only one entry per distinct attribute is kept). Also checks the output is byte-identical.
# usage: bench/attrs.sh [USERS...]; BENCH_DIR overrides the work dir (default target/bench).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --bin idm-attrs >&2
dir="${BENCH_DIR:-target/bench}"
mkdir -p "$dir"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000 1000000)
for n in "${sizes[@]}"; do
    input="$dir/mapped-$n.ndjson"
    [ -s "$input" ] || python3 bench/gen_mapped.py "$n" > "$input"
    lines=$(wc -l < "$input")
    read -r secs user sys rss < <( { env -u IDM_ONELOGIN_URL -u IDM_ONELOGIN_CLIENT_ID /usr/bin/time -f '%e %U %S %M' \
        target/release/idm-attrs -q -i "$input" -o "$dir/attrs-out-$n.ndjson" 2>&1 >/dev/null; } | tail -n 1)
    if cmp -s "$input" "$dir/attrs-out-$n.ndjson"; then same=yes; else same=NO; fi
    rm -f "$dir/attrs-out-$n.ndjson"
    rate=$(python3 -c "print(int($lines / max($secs, 0.01)))")
    cpu=$(python3 -c "print(round($user + $sys, 2))")
    echo "idm-attrs users=$n records=$lines seconds=$secs records_per_s=$rate cpu_seconds=$cpu peak_rss_kb=$rss byte_identical=$same"
done
