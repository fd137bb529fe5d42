#!/usr/bin/env bash
# Measures the HTTP API on the embedded default (SQLite, local disk) with wrk on 127.0.0.1:
# requests/s and latency p50/p99 at 16 and 64 connections for
#   plain  GET /healthz         (the framework's own ceiling, same run)
#   submit POST /v1/video       (test key, enough credits and daily limit)
#   poll   GET /v1/video/{id}   (poll throttle lifted with VIDEOGATE_POLL_INTERVAL_SECONDS=0)
# The server runs with --role api so that no renders compete for the 2 cores; jobs stay pending.
# Usage: bench/api-throughput.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null 2>&1 || { echo "wrk is needed (apt-get install wrk)"; exit 1; }; }
swift build -c release --product videogate >/dev/null
bin=.build/release/videogate
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
export VIDEOGATE_DATA_DIR="$work/data" VIDEOGATE_POLL_INTERVAL_SECONDS=0 VIDEOGATE_LOG_LEVEL=error VIDEOGATE_ADMIN_TOKEN=bench
account=$($bin accounts create --name bench --plan enterprise --daily-limit 100000000 --json | python3 -c 'import sys,json; print(json.load(sys.stdin)["id"])')
key=$($bin keys create --account "$account" --environment test --json | python3 -c 'import sys,json; print(json.load(sys.stdin)["key"])')
$bin credits add --account "$account" --amount 1000000000000 --environment test --json >/dev/null
$bin serve --role api --port "$port" > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
job=$(curl -fs -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d '{"prompt":"bench","model":"kling-v2.5-turbo-pro"}' "http://127.0.0.1:$port/v1/video" | python3 -c 'import sys,json; print(json.load(sys.stdin)["request_id"])')
cat > "$work/submit.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"prompt":"a red fox in snow","model":"kling-v2.5-turbo-pro","aspect_ratio":"9:16"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
LUA
cat > "$work/poll.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $key"
LUA
run() { # name connections path script
    local out
    out=$(wrk -t2 -c"$2" -d"${duration}s" --latency ${4:+-s "$4"} "http://127.0.0.1:$port$3")
    local rps p50 p99 non2xx
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
    printf "%-7s %5s conns  %10s req/s  p50 %8s  p99 %8s  non-2xx %s\n" "$1" "$2" "$rps" "$p50" "$p99" "${non2xx:-0}"
}
echo "videogate API benchmark: ${duration}s per run, wrk -t2, $(nproc) cores"
for conns in 16 64; do
    run plain "$conns" /healthz
    run submit "$conns" /v1/video "$work/submit.lua"
    run poll "$conns" "/v1/video/$job" "$work/poll.lua"
done
