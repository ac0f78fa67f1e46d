# bench/lib.sh: helpers for bench/<area>.sh scripts. Source it:  . "$(dirname "$0")/lib.sh"
#
# A bench script prints its figures on stdout as lines `area: figure` (bench/run.sh collects
# them into bench-out/report.txt) and its progress on stderr (kept in bench-out/<area>.log).
# Generated data goes under $BENCH_OUT (bench-out/, gitignored); make sizes adjustable with
# environment variables so a quick run is possible, e.g. IDM_BENCH_RECORDS_MB=50 make bench.
#
# Wall time and peak memory are measured from outside with /usr/bin/time -f '%e %M'
# (seconds, KB), never by timed tests.

set -euo pipefail

BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_OUT="${BENCH_OUT:-$BENCH_ROOT/bench-out}"
BENCH_RUNS="${IDM_BENCH_RUNS:-3}"
mkdir -p "$BENCH_OUT"
cd "$BENCH_ROOT"

# Progress for people, on stderr.
note() { printf '%s\n' "$*" >&2; }

# Path of a release binary of this crate (built by bench/run.sh, or here if missing).
bench_bin() {
    local exe="$BENCH_ROOT/target/release/$1"
    if [[ ! -x "$exe" || -z "${IDM_BENCH_BUILT:-}" ]]; then
        cargo build --release --locked --bin "$1" >&2
    fi
    printf '%s\n' "$exe"
}

# Path of a `harness = false` bench target (a helper program under benches/), built with the
# release profile. Cargo names it with a hash, so ask cargo where it is.
bench_exe() {
    cargo bench --no-run --locked --bench "$1" --message-format=json 2>/dev/null |
        jq -r --arg name "$1" 'select(.executable != null and .target.name == $name) | .executable' |
        tail -n 1
}

# measure IN OUT CMD...: run CMD once with stdin from IN and stdout to OUT (files; /dev/null
# is fine) and print "SECONDS PEAK_KB". CMD's stderr goes to ours.
measure() {
    local in="$1" out="$2" t
    shift 2
    t="$(mktemp "$BENCH_OUT/time.XXXXXX")"
    if ! /usr/bin/time -f '%e %M' -o "$t" "$@" <"$in" >"$out"; then
        note "bench: command failed: $*"
        rm -f "$t"
        return 1
    fi
    tail -n 1 "$t"
    rm -f "$t"
}

# median: the median of the numbers on stdin, one per line.
median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# measure_runs RUNS IN OUT CMD...: run CMD RUNS times as `measure` does and print
# "MEDIAN_SECONDS MAX_PEAK_KB".
measure_runs() {
    local runs="$1" in="$2" out="$3" r i
    shift 3
    local secs=() kbs=()
    for ((i = 0; i < runs; i++)); do
        r="$(measure "$in" "$out" "$@")" || return 1
        secs+=("${r% *}")
        kbs+=("${r#* }")
    done
    printf '%s %s\n' "$(printf '%s\n' "${secs[@]}" | median)" "$(printf '%s\n' "${kbs[@]}" | sort -g | tail -n 1)"
}

# File size in bytes.
file_bytes() { stat -c %s "$1"; }

# mb_per_s BYTES SECONDS: throughput in MB/s (1 MB = 10^6 bytes), one decimal.
mb_per_s() { awk -v b="$1" -v s="$2" 'BEGIN { if (s <= 0) s = 0.001; printf "%.1f", b / 1e6 / s }'; }

# per_s COUNT SECONDS: a rate, rounded.
per_s() { awk -v n="$1" -v s="$2" 'BEGIN { if (s <= 0) s = 0.001; printf "%.0f", n / s }'; }

# mb KB: kilobytes as MB, one decimal.
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# generate_once FILE CMD...: run CMD > FILE unless FILE exists (data is reused between runs;
# delete bench-out/ to regenerate). Writes through a temporary file so an interrupted run
# leaves no half file behind.
generate_once() {
    local file="$1"
    shift
    if [[ -s "$file" ]]; then
        note "bench: reusing $file"
        return 0
    fi
    note "bench: generating $file"
    "$@" >"$file.tmp"
    mv "$file.tmp" "$file"
}
