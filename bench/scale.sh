#!/usr/bin/env bash
# bench/scale.sh — the whole migration at growing sizes, printed as `scale: ...` lines: for each
# size in IDM_BENCH_SCALE_SIZES (default 10,000, 100,000 and 1,000,000 users) a sandbox is
# seeded, and export -> map -> attrs -> load (into the sandbox's OneLogin, no quota) run one
# after another on files, then the load again (a re-run: nothing to write), idm-verify, idm-csv
# and idm-report. Each stage's wall time and peak RSS (from /usr/bin/time) is printed, and the
# API calls per user of the load: time should grow linearly, memory stay flat (aim < 50 MB).
# Alone: bash bench/scale.sh; a quick run: IDM_BENCH_SCALE_SIZES=10000 bash bench/scale.sh
. "$(dirname "$0")/lib.sh"

SIZES=${IDM_BENCH_SCALE_SIZES:-"10000 100000 1000000"}
SANDBOX=$(bench_bin idm-sandbox)
EXPORT=$(bench_bin idm-export)
MAP=$(bench_bin idm-map)
ATTRS=$(bench_bin idm-attrs)
LOAD=$(bench_bin idm-load)
VERIFY=$(bench_bin idm-verify)
CSV=$(bench_bin idm-csv)
REPORT=$(bench_bin idm-report)
TMP=$(mktemp -d "$BENCH_OUT/scale.XXXXXX")
SANDBOX_PID=
cleanup() {
    [ -n "$SANDBOX_PID" ] && kill "$SANDBOX_PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

# stage NAME IN OUT CMD...: run one stage (exit 3, "some records rejected", is a result, not a
# failure) and print "SECONDS PEAK_KB".
stage() {
    local name="$1" in="$2" out="$3" t rc=0
    shift 3
    t="$TMP/time.$name"
    /usr/bin/time -f '%e %M' -o "$t" "$@" <"$in" >"$out" 2>"$TMP/$name.err" || rc=$?
    if [[ $rc -ne 0 && $rc -ne 3 ]]; then
        note "scale: $name failed ($rc):"
        tail -n 5 "$TMP/$name.err" >&2
        return 1
    fi
    tail -n 1 "$t"
}

for n in $SIZES; do
    note "scale: seeding a sandbox with $n users"
    rm -f "$TMP/ready.json" "$TMP/state.ndjson"
    "$SANDBOX" --users "$n" --seed 1 --ready-file "$TMP/ready.json" >/dev/null 2>"$TMP/sandbox.err" &
    SANDBOX_PID=$!
    for _ in $(seq 1 6000); do [ -s "$TMP/ready.json" ] && break; sleep 0.1; done
    [ -s "$TMP/ready.json" ] || { cat "$TMP/sandbox.err" >&2; exit 1; }
    IDM_OKTA_URL=$(jq -r .okta_url "$TMP/ready.json")
    IDM_OKTA_TOKEN=$(jq -r .okta_token "$TMP/ready.json")
    IDM_ONELOGIN_URL=$(jq -r .onelogin_url "$TMP/ready.json")
    IDM_ONELOGIN_CLIENT_ID=$(jq -r .onelogin_client_id "$TMP/ready.json")
    IDM_ONELOGIN_CLIENT_SECRET=$(jq -r .onelogin_client_secret "$TMP/ready.json")
    export IDM_OKTA_URL IDM_OKTA_TOKEN IDM_ONELOGIN_URL IDM_ONELOGIN_CLIENT_ID IDM_ONELOGIN_CLIENT_SECRET
    export IDM_STATE="$TMP/state.ndjson" IDM_OKTA_RATE_LIMIT=none IDM_ONELOGIN_RATE_LIMIT=none

    line="scale: $n users:"
    read -r s kb < <(stage export /dev/null "$TMP/export.ndjson" "$EXPORT" -q) || exit 1
    line="$line export ${s} s $(mb "$kb") MB,"
    read -r s kb < <(stage map "$TMP/export.ndjson" "$TMP/mapped.ndjson" "$MAP" --to onelogin -q) || exit 1
    line="$line map ${s} s $(mb "$kb") MB,"
    read -r s kb < <(stage attrs "$TMP/mapped.ndjson" "$TMP/ready.ndjson" "$ATTRS" --apply -q) || exit 1
    line="$line attrs ${s} s $(mb "$kb") MB,"
    before=$(curl -s "$IDM_ONELOGIN_URL/__admin/stats" | jq .requests)
    read -r s kb < <(stage load "$TMP/ready.ndjson" "$TMP/results.ndjson" \
        "$LOAD" --apply --force --workers 8 -q) || exit 1
    after=$(curl -s "$IDM_ONELOGIN_URL/__admin/stats" | jq .requests)
    users=$(grep -c '"kind":"user"' "$TMP/ready.ndjson" || true)
    per_user=$(awk -v a="$after" -v b="$before" -v u="$users" 'BEGIN { printf "%.3f", (u > 0 ? (a - b) / u : 0) }')
    line="$line load ${s} s $(mb "$kb") MB, $per_user calls per migrated user,"
    # the re-run writes nothing; then the proof and the by-products
    read -r s kb < <(stage reload "$TMP/ready.ndjson" "$TMP/results2.ndjson" \
        "$LOAD" --apply --force --workers 8 -q) || exit 1
    line="$line re-run ${s} s $(mb "$kb") MB,"
    read -r s kb < <(stage verify "$TMP/ready.ndjson" "$TMP/verify.ndjson" "$VERIFY" -q) || exit 1
    line="$line verify ${s} s $(mb "$kb") MB,"
    read -r s kb < <(stage csv "$TMP/ready.ndjson" "$TMP/users.csv" "$CSV" -q) || exit 1
    line="$line csv ${s} s $(mb "$kb") MB,"
    read -r s kb < <(stage report /dev/null /dev/null "$REPORT" -o "$TMP/report.html" \
        "$TMP/mapped.ndjson" "$TMP/results.ndjson" "$TMP/verify.ndjson") || exit 1
    echo "$line report ${s} s $(mb "$kb") MB"

    kill "$SANDBOX_PID"; wait "$SANDBOX_PID" 2>/dev/null || true
    SANDBOX_PID=
done
