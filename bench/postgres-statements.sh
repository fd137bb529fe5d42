#!/usr/bin/env bash
# PostgreSQL per request: the statements one submit and one poll send (each is one round trip:
# postgres-nio's extended protocol syncs every statement, BEGIN and COMMIT included), counted
# from the server's log with log_statement = 'all'; then wrk on submit and on poll (16
# connections) with the CPU of the API process beside the CPU of every PostgreSQL process,
# per request. Runs under scripts/with-services (a throw-away cluster with PostgreSQL's own
# durability: VIDEOGATE_SERVICES_DURABLE=1), videogate `--role api`, release build.
# Usage: bench/postgres-statements.sh [seconds per run, default 10]   (VIDEOGATE_BIN=path skips the build)
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
if [[ -z "${VIDEOGATE_TEST_POSTGRES_URL:-}" ]]; then
    VIDEOGATE_SERVICES_DURABLE=1 exec scripts/with-services "$0" "$@"
fi
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null 2>&1 || { echo "wrk is needed (apt-get install wrk)"; exit 1; }; }
bin="${VIDEOGATE_BIN:-}"
if [[ -z "$bin" ]]; then
    swift build -c release --product videogate >/dev/null
    bin=.build/release/videogate
fi
psql_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)/psql
pg_log="$(dirname "$VIDEOGATE_TEST_POSTGRES_DATA")/server.log"
postmaster=$(head -1 "$VIDEOGATE_TEST_POSTGRES_DATA/postmaster.pid")
sql() { "$psql_bin" -q -X -A -t "$VIDEOGATE_TEST_POSTGRES_URL" -c "$1"; }
sql "DROP DATABASE IF EXISTS bench_statements" >/dev/null
sql "CREATE DATABASE bench_statements" >/dev/null
work=$(mktemp -d "${TMPDIR:-/tmp}/videogate-bench-pg.XXXXXX")
server=""
cleanup() {
    [[ -n "$server" ]] && { kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
    sql "ALTER SYSTEM RESET log_statement" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
port=$((20000 + RANDOM % 20000))
export VIDEOGATE_DATA_DIR="$work/data" VIDEOGATE_LOG_LEVEL=error VIDEOGATE_POLL_INTERVAL_SECONDS=0
export VIDEOGATE_DATABASE_URL="${VIDEOGATE_TEST_POSTGRES_URL%/*}/bench_statements"
account=$($bin accounts create --name bench --plan enterprise --daily-limit 100000000 --json | python3 -c 'import sys,json; print(json.load(sys.stdin)["id"])')
key=$($bin keys create --account "$account" --environment test --json | python3 -c 'import sys,json; print(json.load(sys.stdin)["key"])')
$bin credits add --account "$account" --amount 1000000000000 --environment test --json >/dev/null
$bin serve --role api --port "$port" > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port"
body='{"prompt":"a red fox in snow","model":"kling-v2.5-turbo-pro","aspect_ratio":"9:16"}'
submit() { curl -fs -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d "$body" "$base/v1/video"; }
job=$(submit | python3 -c 'import sys,json; print(json.load(sys.stdin)["request_id"])')
curl -fs -H "Authorization: Bearer $key" "$base/v1/video/$job" >/dev/null

# Statements per request, from the log. Ten of each, so that a background statement (the API's
# metrics gauges, the readiness probe) cannot pass for part of a request.
sql "ALTER SYSTEM SET log_statement = 'all'" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null
sleep 1
count() { # what, command: statements in the log while the command runs ten times
    local before after
    before=$(wc -l < "$pg_log")
    for _ in $(seq 1 10); do "${@:2}" >/dev/null; done
    sleep 0.5
    after=$(wc -l < "$pg_log")
    tail -n "$((after - before))" "$pg_log" | grep -cE 'LOG:  (statement|execute [^:]*):' || true
}
submits=$(count submit submit)
polls=$(count poll curl -fs -H "Authorization: Bearer $key" "$base/v1/video/$job")
sql "ALTER SYSTEM RESET log_statement" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null
echo "PostgreSQL statements (round trips), from log_statement = 'all', 10 requests each:"
echo "  submit: $(python3 -c "print($submits / 10)") per request (no idempotency key, no spend limit)"
echo "  poll:   $(python3 -c "print($polls / 10)") per request"

# CPU per request: the API process against every process of the cluster (postmaster and backends).
cpu_of() { python3 - "$@" <<'PY'
import os, sys
tick = os.sysconf("SC_CLK_TCK")
def cpu(pid):
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick
    except OSError:
        return 0.0
def parent(pid):
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1]
    except OSError:
        return None
api, postmaster = int(sys.argv[1]), sys.argv[2]
cluster = [p for p in os.listdir("/proc") if p.isdigit() and (p == postmaster or parent(p) == postmaster)]
print(f"{cpu(api):.3f} {sum(cpu(p) for p in cluster):.3f}")
PY
}
cat > "$work/submit.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
LUA
echo "wrk.headers[\"Authorization\"] = \"Bearer $key\"" > "$work/poll.lua"
measure() { # name path script
    local before after out requests
    before=$(cpu_of "$server" "$postmaster")
    out=$(wrk -t2 -c16 -d"${duration}s" -s "$3" "$base$2")
    after=$(cpu_of "$server" "$postmaster")
    requests=$(echo "$out" | awk '/requests in/ {print $1}')
    python3 - "$1" "$requests" "$before" "$after" "$(echo "$out" | awk '/Requests\/sec/ {print $2}')" <<'PY'
import sys
name, requests = sys.argv[1], int(sys.argv[2])
api0, db0 = map(float, sys.argv[3].split()); api1, db1 = map(float, sys.argv[4].split())
print(f"  {name:<7} {float(sys.argv[5]):>8.0f} req/s   API {1e6 * (api1 - api0) / requests:6.0f} µs of CPU per request,"
      f" PostgreSQL {1e6 * (db1 - db0) / requests:6.0f} µs")
PY
}
echo "CPU per request (wrk -t2 -c16 ${duration}s, $(nproc) cores, wrk on the same cores):"
measure submit /v1/video "$work/submit.lua"
measure poll "/v1/video/$job" "$work/poll.lua"
