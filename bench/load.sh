#!/usr/bin/env bash
# bench/load.sh: idm-load against idm-sandbox (release builds).
#
#   calls per migrated user  fresh tenant, ~3 memberships per user (aim <= 1.05); and at
#                            CALLS_USERS users into an account that takes a new user's roles
#                            with its create (`role_ids`), and into accounts that do not and
#                            take 100 and 1000 ids a role-users call (neither is documented;
#                            aim <= 1.01)
#   users/s                  8 workers, no limit
#   quota utilisation        sandbox enforcing a limit, idm-load configured to it, 2 minutes
#                            (aim >= 95 %, zero requests over the limit)
#   peak RSS                 100k users: the first apply (everything created) and the second
#                            (everything already there: the journal, the tenant's snapshot)
#
# Knobs: BENCH_LOAD_USERS (5000), BENCH_LOAD_GROUPS (50), BENCH_QUOTA (1200/min),
# BENCH_QUOTA_SECS (120), BENCH_RSS_USERS (100000), BENCH_CALLS_USERS (100000). Results also go to bench-out/load.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

USERS=${BENCH_LOAD_USERS:-5000}
NGROUPS=${BENCH_LOAD_GROUPS:-50}
QUOTA=${BENCH_QUOTA:-1200/min}
QUOTA_SECS=${BENCH_QUOTA_SECS:-120}
RSS_USERS=${BENCH_RSS_USERS:-100000}
CALLS_USERS=${BENCH_CALLS_USERS:-100000}

cargo build --release --quiet --bin idm-load --bin idm-sandbox
BIN=target/release
OUT=bench-out
mkdir -p "$OUT"
WORK=$(mktemp -d)
SANDBOX_PID=
cleanup() {
    if [[ -n "$SANDBOX_PID" ]]; then kill "$SANDBOX_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# start_sandbox [ARGS...]: a fresh sandbox; exports the IDM_ONELOGIN_* variables
start_sandbox() {
    if [[ -n "$SANDBOX_PID" ]]; then kill "$SANDBOX_PID" 2>/dev/null || true; wait "$SANDBOX_PID" 2>/dev/null || true; fi
    : > "$WORK/ready.json"
    "$BIN/idm-sandbox" --users 10 "$@" > "$WORK/ready.json" 2> "$WORK/sandbox.err" &
    SANDBOX_PID=$!
    for _ in $(seq 1 100); do [[ -s "$WORK/ready.json" ]] && break; sleep 0.1; done
    [[ -s "$WORK/ready.json" ]] || { echo "bench/load.sh: the sandbox did not start" >&2; cat "$WORK/sandbox.err" >&2; exit 1; }
    IDM_ONELOGIN_URL=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["onelogin_url"])' < "$WORK/ready.json")
    IDM_ONELOGIN_CLIENT_ID=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["onelogin_client_id"])' < "$WORK/ready.json")
    IDM_ONELOGIN_CLIENT_SECRET=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["onelogin_client_secret"])' < "$WORK/ready.json")
    export IDM_ONELOGIN_URL IDM_ONELOGIN_CLIENT_ID IDM_ONELOGIN_CLIENT_SECRET
}

stat() { curl -sf "$IDM_ONELOGIN_URL/__admin/stats" | python3 -c "import json,sys; d=json.load(sys.stdin); print(d.get('$1') if d.get('$1') is not None else 0)"; }

report() { echo "$*" | tee -a "$OUT/load.txt"; }
: > "$OUT/load.txt"

# 1. calls per migrated user, users/s
start_sandbox
python3 bench/load_input.py "$USERS" "$NGROUPS" > "$WORK/in.ndjson"
before=$(stat requests)
/usr/bin/time -f '%e %M' -o "$WORK/time1" "$BIN/idm-load" --apply --workers 8 --rate-limit none \
    --state "$WORK/state1.ndjson" -i "$WORK/in.ndjson" -o "$WORK/out1.ndjson" -q
calls=$(( $(stat requests) - before ))
read -r secs rss < "$WORK/time1"
report "load: calls per migrated user: $(python3 -c "print(f'{$calls/$USERS:.3f}')") ($calls calls for $USERS users, $NGROUPS roles, 3 memberships each, fresh tenant; aim <= 1.05)"
report "load: users/s with 8 workers, no limit: $(python3 -c "print(f'{$USERS/$secs:.0f}')") ($USERS users + memberships in ${secs}s)"
writes=$(stat writes)
"$BIN/idm-load" --apply --rate-limit none --state "$WORK/state1.ndjson" -i "$WORK/in.ndjson" -o /dev/null -q
report "load: second apply: $(( $(stat writes) - writes )) writes (token exchanges are counted apart as token_requests)"

# 1b. calls per migrated user at CALLS_USERS users, 3 memberships each: into an account that
# takes a new user's roles with its create (the sandbox's default), and into accounts that do
# not, by the most ids a role-users call takes (the load starts at 1000 and keeps to the size
# the account takes)
python3 bench/load_input.py "$CALLS_USERS" "$NGROUPS" | sed 's/bench/calls/g' > "$WORK/calls.ndjson"
for account in "roles-at-create 100" "no-roles-at-create 100" "no-roles-at-create 1000"; do
    read -r how max_ids <<< "$account"
    flags=(--onelogin-max-ids "$max_ids")
    [[ $how == no-roles-at-create ]] && flags+=(--onelogin-create-roles ignore)
    start_sandbox "${flags[@]}"
    before=$(stat requests)
    "$BIN/idm-load" --apply --workers 8 --rate-limit none --state "$WORK/calls-$how-$max_ids.ndjson" \
        -i "$WORK/calls.ndjson" -o /dev/null -q
    calls=$(( $(stat requests) - before ))
    roles_calls=$(curl -sf "$IDM_ONELOGIN_URL/__admin/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['by_route'].get('POST /api/2/roles/{id}/users', 0))")
    report "load: calls per migrated user at $CALLS_USERS users, account $how, taking $max_ids ids a role-users call: $(python3 -c "print(f'{$calls/$CALLS_USERS:.4f}')") ($calls calls, $roles_calls role-users calls, $NGROUPS roles, 3 memberships each; aim <= 1.01)"
done

# 2. quota utilisation: the sandbox enforces QUOTA, idm-load is configured to it
start_sandbox --onelogin-rate-limit "$QUOTA"
per_min=$(python3 -c "n,u='$QUOTA'.split('/'); print(int(n)*{'min':1,'hour':1/60,'s':60,'sec':60}[u])")
need=$(python3 -c "print(int($per_min*$QUOTA_SECS/60*1.2)+100)")
python3 bench/load_input.py "$need" "$NGROUPS" | sed 's/bench/quota/g' > "$WORK/quota.ndjson"
"$BIN/idm-load" --apply --workers 8 --rate-limit "$QUOTA" --state "$WORK/state2.ndjson" \
    -i "$WORK/quota.ndjson" -o /dev/null -q &
LOAD_PID=$!
sleep "$QUOTA_SECS"
kill "$LOAD_PID" 2>/dev/null || true
wait "$LOAD_PID" 2>/dev/null || true
curl -sf "$IDM_ONELOGIN_URL/__admin/stats" > "$WORK/stats2.json"
python3 - "$WORK/stats2.json" "$per_min" "$QUOTA_SECS" "$QUOTA" <<'PY' | tee -a "$OUT/load.txt"
import json, sys
s = json.load(open(sys.argv[1])); per_min = float(sys.argv[2]); secs = float(sys.argv[3])
allowed = per_min * secs / 60
served = s["requests"] - s.get("over_limit", 0)
print(f"load: quota utilisation over {secs:.0f}s at {sys.argv[4]}: {100*served/allowed:.1f}% "
      f"({served} of {allowed:.0f} allowed), {s.get('over_limit', 0)} requests over the limit, "
      f"peak {s.get('peak_per_window')} per {s.get('window_secs')}s window (aim >= 95%, 0 over)")
PY

# 3. peak RSS at RSS_USERS users
start_sandbox
python3 bench/load_input.py "$RSS_USERS" 200 | sed 's/bench/rss/g' > "$WORK/big.ndjson"
/usr/bin/time -f '%e %M' -o "$WORK/time3" "$BIN/idm-load" --apply --workers 8 --rate-limit none \
    --state "$WORK/state3.ndjson" -i "$WORK/big.ndjson" -o /dev/null -q
read -r secs rss < "$WORK/time3"
report "load: peak RSS at $RSS_USERS users, first apply: $(( rss / 1024 )) MB (8 workers, ${secs}s, $(python3 -c "print(f'{$RSS_USERS/$secs:.0f}')") users/s)"
/usr/bin/time -f '%e %M' -o "$WORK/time4" "$BIN/idm-load" --apply --workers 8 --rate-limit none \
    --state "$WORK/state3.ndjson" -i "$WORK/big.ndjson" -o /dev/null -q
read -r secs rss < "$WORK/time4"
report "load: peak RSS at $RSS_USERS users, second apply (everything already there): $(( rss / 1024 )) MB (${secs}s)"
