#!/usr/bin/env bash
# idm-csv benchmark: rows/s and peak RSS for 100,000 and 1,000,000 mapped users (~3
# memberships each). Peak RSS should stay flat: the stream is spooled to disk and the
# membership index is an external sort.
# usage: bench/csv.sh [USERS...]   (default: 100000 1000000); BENCH_DIR overrides the work dir.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --bin idm-csv >&2
dir="${BENCH_DIR:-target/bench}"
mkdir -p "$dir"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
for n in "${sizes[@]}"; do
    input="$dir/mapped-$n.ndjson"
    [ -s "$input" ] || python3 bench/gen_mapped.py "$n" > "$input"
    read -r secs user sys rss < <( { /usr/bin/time -f '%e %U %S %M' target/release/idm-csv -q \
        -i "$input" -o "$dir/bulk-$n.csv" 2>&1 >/dev/null; } | tail -n 1)
    rows=$(( $(python3 -c 'import csv,sys; print(sum(1 for _ in csv.reader(open(sys.argv[1], newline=""))))' "$dir/bulk-$n.csv") - 1 ))
    rate=$(python3 -c "print(int($rows / max($secs, 0.01)))")
    cpu=$(python3 -c "print(round($user + $sys, 2))")
    cpu_rate=$(python3 -c "print(int($rows / max($user + $sys, 0.01)))")
    # wall time depends on what else the machine runs; CPU time is the tool's own cost
    echo "idm-csv users=$n rows=$rows seconds=$secs rows_per_s=$rate cpu_seconds=$cpu rows_per_cpu_s=$cpu_rate peak_rss_kb=$rss"
done
