#!/usr/bin/env bash
# bench/foundation.sh: the foundation's hot paths.
#  - NDJSON read + write throughput of RecordReader/RecordWriter on a ~1 GB file of Okta user
#    records, against `jq -c .` on the same file in the same run;
#  - replay (fold) time and peak memory of a 1,000,000-event state journal (aim: < 1 s);
#  - journal append throughput; schema validation rate (records/s).
# Sizes: IDM_BENCH_RECORDS_MB (default 1024), IDM_BENCH_JOURNAL_EVENTS (default 1000000),
# IDM_BENCH_VALIDATE_RECORDS (default 400000); runs per figure: IDM_BENCH_RUNS (default 3).
. "$(dirname "$0")/lib.sh"

records_mb="${IDM_BENCH_RECORDS_MB:-1024}"
journal_events="${IDM_BENCH_JOURNAL_EVENTS:-1000000}"
validate_records="${IDM_BENCH_VALIDATE_RECORDS:-400000}"

exe="$(bench_exe foundation)"
[[ -x "$exe" ]] || { note "foundation: bench helper not built"; exit 1; }

# --- NDJSON read + write -------------------------------------------------------------------
# Generated users average ~1.1 KB; aim for records_mb megabytes.
records_file="$BENCH_OUT/okta-users-${records_mb}mb.ndjson"
generate_once "$records_file" "$exe" gen-records "$((records_mb * 1000 * 1000 / 1100))"
bytes="$(file_bytes "$records_file")"
lines="$(wc -l <"$records_file")"

# The copy must be faithful before it is timed: the generator wrote with the same writer, so a
# round trip is byte for byte.
head -n 2000 "$records_file" >"$BENCH_OUT/sample.ndjson"
"$exe" copy <"$BENCH_OUT/sample.ndjson" | cmp -s - "$BENCH_OUT/sample.ndjson" ||
    { note "foundation: copy changed the records"; exit 1; }

note "foundation: read+write $bytes bytes, $BENCH_RUNS runs each (idm, then jq)"
read -r idm_s idm_kb < <(measure_runs "$BENCH_RUNS" "$records_file" /dev/null "$exe" copy)
read -r jq_s jq_kb < <(measure_runs "$BENCH_RUNS" "$records_file" /dev/null jq -c .)
echo "foundation: ndjson read+write (RecordReader -> RecordWriter), $(mb_per_s "$bytes" 1) MB, $lines records: $(mb_per_s "$bytes" "$idm_s") MB/s ($idm_s s, peak $(mb "$idm_kb") MB)"
echo "foundation: jq -c . on the same file: $(mb_per_s "$bytes" "$jq_s") MB/s ($jq_s s, peak $(mb "$jq_kb") MB); idm/jq speed $(awk -v a="$jq_s" -v b="$idm_s" 'BEGIN { printf "%.1fx", a / (b > 0 ? b : 0.001) }')"

# --- state journal -------------------------------------------------------------------------
journal="$BENCH_OUT/journal-${journal_events}.ndjson"
note "foundation: journal of $journal_events events"
rm -f "$journal"
read -r append_s append_kb < <(measure /dev/null /dev/null "$exe" gen-journal "$journal_events" "$journal")
echo "foundation: journal append, $journal_events events in batches of 10000: $(per_s "$journal_events" "$append_s") events/s ($append_s s, peak $(mb "$append_kb") MB)"
read -r replay_s replay_kb < <(measure_runs "$BENCH_RUNS" /dev/null "$BENCH_OUT/replay.out" "$exe" replay "$journal")
fold_s="$(sed -n 's/.*fold_s=\([0-9.]*\).*/\1/p' "$BENCH_OUT/replay.out")"
verdict="$(awk -v s="$replay_s" 'BEGIN { print (s < 1.0 ? "meets" : "MISSES") }')"
echo "foundation: journal replay, $journal_events events ($(mb_per_s "$(file_bytes "$journal")" 1) MB): $replay_s s wall (fold $fold_s s), peak $(mb "$replay_kb") MB; $verdict the < 1 s aim"

# --- schema validation ---------------------------------------------------------------------
mixed="$BENCH_OUT/mixed-${validate_records}.ndjson"
generate_once "$mixed" "$exe" gen-records "$validate_records" mixed
read -r val_s val_kb < <(measure_runs "$BENCH_RUNS" "$mixed" "$BENCH_OUT/validate.out" "$exe" validate)
validate_only_s="$(sed -n 's/.*validate_s=\([0-9.]*\).*/\1/p' "$BENCH_OUT/validate.out")"
echo "foundation: schema validation, $validate_records records (Okta users, mapped OneLogin users, memberships, results): $(per_s "$validate_records" "$validate_only_s") records/s validated; read+parse+validate $(per_s "$validate_records" "$val_s") records/s ($val_s s, peak $(mb "$val_kb") MB)"
