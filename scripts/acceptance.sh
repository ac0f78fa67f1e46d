#!/usr/bin/env bash
# The figures a migration is judged by, on a seeded sandbox tenant: the exit code of every tool,
# results by status from a first run and from a re-run, and what verify found.
#
#   scripts/acceptance.sh [USERS]      # default 3000; IDM_BIN=target/debug to skip a release build
#
# Everything stays in acceptance-out/ (0700) for jq; the sandbox is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

USERS=${1:-3000}
BIN=${IDM_BIN:-target/release}
OUT=${IDM_ACCEPTANCE_OUT:-acceptance-out}
[ -x "$BIN/idm-load" ] || cargo build --locked --release --bins >/dev/null

rm -rf "$OUT" && mkdir -p "$OUT" && chmod 700 "$OUT"
export IDM_STATE="$OUT/state.ndjson"
"$BIN/idm-sandbox" --users "$USERS" --groups 40 --apps 12 --seed 7 \
  --ready-file "$OUT/sandbox.json" >/dev/null 2>"$OUT/sandbox.log" &
sandbox=$!
trap 'kill "$sandbox" 2>/dev/null || true; wait "$sandbox" 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  [ -s "$OUT/sandbox.json" ] && break
  kill -0 "$sandbox" 2>/dev/null || { cat "$OUT/sandbox.log" >&2; exit 1; }
  sleep 0.1
done
IDM_OKTA_URL=$(jq -r .okta_url "$OUT/sandbox.json")
IDM_OKTA_TOKEN=$(jq -r .okta_token "$OUT/sandbox.json")
IDM_ONELOGIN_URL=$(jq -r .onelogin_url "$OUT/sandbox.json")
IDM_ONELOGIN_CLIENT_ID=$(jq -r .onelogin_client_id "$OUT/sandbox.json")
IDM_ONELOGIN_CLIENT_SECRET=$(jq -r .onelogin_client_secret "$OUT/sandbox.json")
export IDM_OKTA_URL IDM_OKTA_TOKEN IDM_ONELOGIN_URL IDM_ONELOGIN_CLIENT_ID IDM_ONELOGIN_CLIENT_SECRET
export IDM_OKTA_RATE_LIMIT=none IDM_ONELOGIN_RATE_LIMIT=none

# run NAME CMD...: the tool's stderr to OUT/NAME.log, its exit code to the table
run() {
  local name=$1; shift
  local rc=0
  "$@" 2>"$OUT/$name.log" || rc=$?
  printf '%-26s exit %s   %s\n' "$name" "$rc" "$(tail -n 1 "$OUT/$name.log")"
}
by_status() {
  jq -r 'select(.kind == "result") | "\(.data.of) \(.data.op) \(.data.status)"' "$1" \
    | sort | uniq -c | awk '{ printf "    %6d  %s %s %s\n", $1, $2, $3, $4 }'
}

echo "# $USERS seeded Okta users → OneLogin ($(git rev-parse --short HEAD 2>/dev/null || echo ?))"
run idm-export "$BIN/idm-export" --from okta -o "$OUT/export.ndjson"
run idm-connectors "$BIN/idm-connectors" -i "$OUT/export.ndjson" -o "$OUT/connectors.draft.json"
# a person's decision, emulated: the best candidate (or the generic connector) of every app
jq '.application_connectors += ([(.to_choose // {}, .no_candidate // {}) | to_entries[]
      | .key as $app | .value[] | {label: $app, mode: (.sign_on_mode | ascii_downcase),
        pick: ((.candidates // []) + (.generic // []))[0]}
      | select(.pick) | {key: .label, value: {(.mode): {id: .pick.id,
        allows_new_parameters: (.pick.allows_new_parameters // false)}}}]
    | reduce .[] as $e ({}; .[$e.key] += $e.value))
  | del(.to_choose, .no_candidate)' "$OUT/connectors.draft.json" >"$OUT/connectors.json"
run idm-map "$BIN/idm-map" --to onelogin --connectors "$OUT/connectors.json" \
  -i "$OUT/export.ndjson" -o "$OUT/mapped.ndjson" --rejects "$OUT/map-rejects.ndjson"
run idm-attrs "$BIN/idm-attrs" --to onelogin --apply -i "$OUT/mapped.ndjson" -o "$OUT/ready.ndjson"
run "idm-load (plan)" "$BIN/idm-load" --to onelogin -i "$OUT/ready.ndjson" -o "$OUT/plan.ndjson"
run "idm-load --apply" "$BIN/idm-load" --to onelogin --apply -i "$OUT/ready.ndjson" -o "$OUT/results.ndjson"
writes=$(curl -fsS "$IDM_ONELOGIN_URL/__admin/stats" | jq .writes)
run "idm-load --apply (re-run)" "$BIN/idm-load" --to onelogin --apply -i "$OUT/ready.ndjson" -o "$OUT/rerun.ndjson"
rewrites=$(( $(curl -fsS "$IDM_ONELOGIN_URL/__admin/stats" | jq .writes) - writes ))
run idm-verify sh -c "cat '$OUT/export.ndjson' '$OUT/ready.ndjson' | '$BIN/idm-verify' --to onelogin -o '$OUT/verify.ndjson'"
run idm-csv "$BIN/idm-csv" -i "$OUT/mapped.ndjson" -o "$OUT/bulk_upload.csv"
run idm-report "$BIN/idm-report" -o "$OUT/report.html" "$OUT/export.ndjson" "$OUT/mapped.ndjson" \
  "$OUT/results.ndjson" "$OUT/verify.ndjson" "$IDM_STATE"
echo "  results of the first run, by kind, op and status:"
by_status "$OUT/results.ndjson"
echo "  results of the re-run ($rewrites writes):"
by_status "$OUT/rerun.ndjson"
echo "  verify:"
jq -r 'select(.kind == "verify") | "\(.data.of) \(.data.status)"' "$OUT/verify.ndjson" \
  | sort | uniq -c | awk '{ printf "    %6d  %s %s\n", $1, $2, $3 }'
