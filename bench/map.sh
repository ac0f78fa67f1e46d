#!/usr/bin/env bash
# bench/map.sh: idm-map against `jq -c .` merely re-printing the same export, and idm-map's
# peak memory, at 200k and 1M users (aims: idm-map <= 0.35x jq's time at 200k, < 50 MB at 1M).
#
#   bash bench/map.sh                            # 200000 and 1000000 users
#   BENCH_MAP_USERS="10000 200000" bash bench/map.sh
#
# Exports come from `idm-sandbox --emit-export FILE --users N` (a seeded, realistic Okta
# tenant: users, groups, ~3 memberships a user, apps). Up to 200k users each tool runs
# IDM_BENCH_RUNS times (default 3), idm-map and jq taking turns, and the medians are compared;
# above, once each. The runs' outputs must be byte-identical (idm-map uses both cores; its
# output does not depend on their timing).
. "$(dirname "$0")/lib.sh"

SIZES=${BENCH_MAP_USERS:-"200000 1000000"}
command -v jq >/dev/null || { note "bench/map.sh: jq is required"; exit 1; }
MAP=$(bench_bin idm-map)
SANDBOX=$(bench_bin idm-sandbox)

for n in $SIZES; do
    f="$BENCH_OUT/map-export-$n.ndjson"
    [[ -s "$f" ]] || "$SANDBOX" --emit-export "$f" --users "$n" >&2
    lines=$(wc -l <"$f")
    runs=$BENCH_RUNS
    ((n > 200000)) && runs=1
    map_s=() jq_s=() map_kb=0
    for ((i = 0; i < runs; i++)); do
        # exit 3 (some records rejected: the seeded tenant has duplicate emails) is a result
        t="$BENCH_OUT/map-time.txt"
        /usr/bin/time -f '%e %M' -o "$t" "$MAP" --to onelogin -q -i "$f" \
            >"$BENCH_OUT/map-out.$i" 2>"$BENCH_OUT/map-err.txt" || {
            rc=$?
            [[ $rc -eq 3 ]] || { tail -n 5 "$BENCH_OUT/map-err.txt" >&2; exit 1; }
        }
        read -r s kb < <(tail -n 1 "$t")
        map_s+=("$s")
        ((kb > map_kb)) && map_kb=$kb
        if ((i > 0)) && ! cmp -s "$BENCH_OUT/map-out.0" "$BENCH_OUT/map-out.$i"; then
            note "bench/map.sh: run $i wrote another output than run 0"
            exit 1
        fi
        r=$(measure "$f" /dev/null jq -c .)
        jq_s+=("${r% *}")
    done
    rm -f "$BENCH_OUT"/map-out.*
    m=$(printf '%s\n' "${map_s[@]}" | median)
    j=$(printf '%s\n' "${jq_s[@]}" | median)
    ratio=$(awk -v m="$m" -v j="$j" 'BEGIN { printf "%.2f", (j > 0 ? m / j : 0) }')
    echo "map: $n users ($lines lines): idm-map ${m} s, jq -c . ${j} s (medians of $runs), idm-map/jq ${ratio} (aim <= 0.35); $(per_s "$lines" "$m") records/s; peak RSS $(mb "$map_kb") MB (aim < 50)"
done
