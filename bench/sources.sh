#!/usr/bin/env bash
# bench/sources.sh — figures for the two newer sources of idm-export, printed as `sources: ...`
# lines:
#   - `--from onelogin`: records/s, wall time, peak RSS and requests of a full export (every
#     kind) from the sandbox's OneLogin account at IDM_BENCH_SOURCES_ONELOGIN users (default
#     10,000 and 100,000; the account has one role per five users and one app per twenty), no
#     limits; peak RSS must stay flat (one page in memory, plus the ids of roles and apps);
#   - `--from csv`: records/s, wall time and peak RSS of a staging file of
#     IDM_BENCH_SOURCES_CSV_ROWS rows (default 10,000 and 1,000,000; 2 groups per row), so the
#     growth of peak RSS from the smallest to the largest file is in the report (the export
#     keeps a hash of each login and id per row, nothing else per row).
# Run by `make bench` (bench/run.sh); alone: bash bench/sources.sh
. "$(dirname "$0")/lib.sh"

OL_SIZES=${IDM_BENCH_SOURCES_ONELOGIN:-"10000 100000"}
CSV_ROWS=${IDM_BENCH_SOURCES_CSV_ROWS:-"10000 1000000"}
EXPORT=$(bench_bin idm-export)
SANDBOX=$(bench_bin idm-sandbox)
TMP=$(mktemp -d "$BENCH_OUT/sources.XXXXXX")
SANDBOX_PID=
cleanup() {
    [ -n "$SANDBOX_PID" ] && kill "$SANDBOX_PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

# records FILE: the records of an export (its stream markers left out).
records() { grep -vc '"kind":"stream"' "$1"; }

for n in $OL_SIZES; do
    note "sources: seeding a sandbox's OneLogin account with $n users"
    rm -f "$TMP/ready.json"
    "$SANDBOX" --users 0 --onelogin-users "$n" --seed 1 --ready-file "$TMP/ready.json" \
        >/dev/null 2>"$TMP/sandbox.err" &
    SANDBOX_PID=$!
    for _ in $(seq 1 3000); do [ -s "$TMP/ready.json" ] && break; sleep 0.1; done
    [ -s "$TMP/ready.json" ] || { cat "$TMP/sandbox.err" >&2; exit 1; }
    url=$(jq -r .onelogin_url "$TMP/ready.json")
    export IDM_ONELOGIN_URL=$url
    IDM_ONELOGIN_CLIENT_ID=$(jq -r .onelogin_client_id "$TMP/ready.json")
    IDM_ONELOGIN_CLIENT_SECRET=$(jq -r .onelogin_client_secret "$TMP/ready.json")
    export IDM_ONELOGIN_CLIENT_ID IDM_ONELOGIN_CLIENT_SECRET

    before=$(curl -s "$url/__admin/stats" | jq .requests)
    read -r secs kb < <(measure_runs "$BENCH_RUNS" /dev/null "$TMP/onelogin.ndjson" \
        "$EXPORT" --from onelogin --rate-limit none --state "$TMP/state.ndjson" -q)
    after=$(curl -s "$url/__admin/stats" | jq .requests)
    recs=$(records "$TMP/onelogin.ndjson")
    users=$(grep -c '"kind":"user"' "$TMP/onelogin.ndjson")
    requests=$(awk -v a="$after" -v b="$before" -v r="$BENCH_RUNS" 'BEGIN { printf "%.0f", (a - b) / r }')
    echo "sources: onelogin $users users, all kinds: $(per_s "$recs" "$secs") records/s ($recs records in ${secs} s), peak RSS $(mb "$kb") MB, $requests requests"

    kill "$SANDBOX_PID"; wait "$SANDBOX_PID" 2>/dev/null || true
    SANDBOX_PID=
    rm -f "$TMP/onelogin.ndjson" "$TMP/state.ndjson"
done

first_kb=
for rows in $CSV_ROWS; do
    csv="$BENCH_OUT/sources-$rows.csv"
    # a login, an email, names, a status, two groups of 50 and a custom integer column
    generate_once "$csv" awk -v n="$rows" 'BEGIN {
        print "login,email,firstName,lastName,status,department,groups,employeeId:integer"
        for (i = 0; i < n; i++)
            printf "user%d@example.com,user%d@example.com,First%d,Last%d,ACTIVE,Dept %d,Group %d|All Staff,%d\n", i, i, i, i, i % 20, i % 50, i
    }'
    read -r secs kb < <(measure_runs "$BENCH_RUNS" /dev/null "$TMP/csv.ndjson" \
        "$EXPORT" --from csv -i "$csv" --state "$TMP/state.ndjson" -q)
    recs=$(records "$TMP/csv.ndjson")
    line="sources: csv $rows rows: $(per_s "$recs" "$secs") records/s ($recs records in ${secs} s, $(mb_per_s "$(file_bytes "$csv")" "$secs") MB/s of CSV), peak RSS $(mb "$kb") MB"
    if [ -z "$first_kb" ]; then
        first_kb=$kb first_rows=$rows
    else
        line="$line ($(awk -v d=$((kb - first_kb)) 'BEGIN { printf "%+.1f", d / 1024 }') MB against $first_rows rows)"
    fi
    echo "$line"
    rm -f "$TMP/csv.ndjson"
done
