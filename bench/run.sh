#!/usr/bin/env bash
# bench/run.sh (`make bench`): build once in release mode, run every bench/<area>.sh, collect
# their `area: figure` lines into bench-out/report.txt and print it.
#
# A failing bench script is reported in the report and does not stop the others; the exit
# status is 1 when any failed. Sizes are set by each script's IDM_BENCH_* variables, runs per
# figure by IDM_BENCH_RUNS (default 3). IDM_BENCH_ONLY="foundation csv" runs only those areas;
# one area alone without the report: bash bench/foundation.sh
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out="$root/bench-out"
mkdir -p "$out"
report="$out/report.txt"

echo "bench: building release binaries and bench helpers (log: bench-out/build.log)" >&2
if ! { cargo build --release --locked && cargo bench --no-run --locked; } >"$out/build.log" 2>&1; then
    echo "bench: build failed, see bench-out/build.log" >&2
    tail -n 20 "$out/build.log" >&2
    exit 1
fi
export IDM_BENCH_BUILT=1

{
    echo "# idm benchmarks, $(date -u '+%Y-%m-%dT%H:%M:%SZ'), $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "# $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, $(uname -sr)"
} >"$report"

failed=0
for script in "$root"/bench/*.sh; do
    name="$(basename "$script" .sh)"
    case "$name" in lib | run) continue ;; esac
    if [[ -n "${IDM_BENCH_ONLY:-}" && " $IDM_BENCH_ONLY " != *" $name "* ]]; then
        continue
    fi
    echo "bench: $name (log: bench-out/$name.log)" >&2
    started=$SECONDS
    if bash "$script" >"$out/$name.out" 2>"$out/$name.log"; then
        cat "$out/$name.out" >>"$report"
    else
        status=$?
        failed=1
        cat "$out/$name.out" >>"$report"
        echo "$name: FAILED (exit $status after $((SECONDS - started)) s; see bench-out/$name.log)" >>"$report"
        tail -n 5 "$out/$name.log" | sed "s/^/bench: $name: /" >&2
    fi
done

cat "$report"
exit "$failed"
