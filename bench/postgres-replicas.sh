#!/usr/bin/env bash
# The production shape on one machine: PostgreSQL (fsync on, PostgreSQL's defaults) and an S3 server
# (moto) from scripts/with-services, release binaries, everything on 127.0.0.1.
#   1. Submit and poll throughput with wrk against one `--role api` process, then against two
#      (one wrk per process, run at the same time, figures summed).
#   2. Jobs completed per second by one and by two `--role worker` processes: JOBS sandbox jobs are
#      submitted with no worker running, then the workers start and the clock runs until the last
#      one is completed. The sandbox answers at once (delay 0) and renders 64-pixel videos.
# Usage: bench/postgres-replicas.sh [seconds per wrk run, default 10] [jobs per worker run, default 400]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VIDEOGATE_TEST_POSTGRES_URL:-}" ] || [ -z "${VIDEOGATE_TEST_S3_ENDPOINT:-}" ]; then
    ./scripts/setup >/dev/null
    VIDEOGATE_SERVICES_DURABLE=1 exec ./scripts/with-services "$0" "$@"
fi
duration="${1:-10}"
jobs="${2:-400}"
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null 2>&1 || { echo "wrk is needed (apt-get install wrk)"; exit 1; }; }
swift build -c release --product videogate >/dev/null
bin=$PWD/.build/release/videogate
work=$(mktemp -d)
pids=()
stop_all() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; pids=(); }
trap 'stop_all; rm -rf "$work"' EXIT

database="bench_$RANDOM$RANDOM"
psql -q "$VIDEOGATE_TEST_POSTGRES_URL" -c "CREATE DATABASE $database" >/dev/null
bucket="bench-$RANDOM$RANDOM"
curl -fs -X PUT "$VIDEOGATE_TEST_S3_ENDPOINT/$bucket" >/dev/null
export VIDEOGATE_DATABASE_URL="${VIDEOGATE_TEST_POSTGRES_URL%/*}/$database" VIDEOGATE_DATABASE_POOL_SIZE=16
export VIDEOGATE_STORAGE_URL="s3://$bucket/results" VIDEOGATE_S3_ENDPOINT="$VIDEOGATE_TEST_S3_ENDPOINT" VIDEOGATE_S3_PATH_STYLE=true
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
export VIDEOGATE_POLL_INTERVAL_SECONDS=0 VIDEOGATE_LOG_LEVEL=error VIDEOGATE_ADMIN_TOKEN=bench VIDEOGATE_SIGNING_SECRET=bench
export VIDEOGATE_SANDBOX_DELAY_MS=0 VIDEOGATE_SANDBOX_SHORT_SIDE=64 VIDEOGATE_WORKER_CONCURRENCY=8
cli() { VIDEOGATE_DATA_DIR="$work/cli" "$bin" "$@"; }
json_field() { python3 -c "import sys,json; print(json.load(sys.stdin)['$1'])"; }
# An enterprise account with a test key and credits that never run out; prints the key.
bench_key() {
    local account
    account=$(cli accounts create --name "$1" --plan enterprise --daily-limit 100000000 --json | json_field id)
    cli credits add --account "$account" --amount 1000000000000 --environment test --json >/dev/null
    cli keys create --account "$account" --environment test --json | json_field key
}
cli migrate >/dev/null
key=$(bench_key bench)
# 16 more accounts with a key each: submissions of one key (and of one account's balance) are
# serialized by design, so the figure for many clients uses many keys.
keys=()
for n in $(seq 1 16); do keys+=("$(bench_key "bench$n")"); done

start() { # role name: starts a process (not in a subshell: its pid is kept) and sets $port
    port=$((20000 + RANDOM % 20000))
    VIDEOGATE_DATA_DIR="$work/$2" $bin serve --role "$1" --port "$port" >"$work/$2.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 200); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
}
start api api1; api1=$port
job=$(curl -fs -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d '{"prompt":"bench","model":"kling-v2.5-turbo-pro"}' "http://127.0.0.1:$api1/v1/video" | json_field request_id)
cat > "$work/submit.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"prompt":"a red fox in snow","model":"kling-v2.5-turbo-pro","aspect_ratio":"9:16"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
LUA
lua_keys=$(printf '"%s",' "${keys[@]}")
cat > "$work/submit-many.lua" <<LUA
local keys = {${lua_keys%,}}
local n = 0
local body = '{"prompt":"a red fox in snow","model":"kling-v2.5-turbo-pro","aspect_ratio":"9:16"}'
request = function()
    n = n + 1
    return wrk.format("POST", "/v1/video", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. keys[n % #keys + 1]}, body)
end
LUA
cat > "$work/poll.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $key"
LUA
wrk_run() { # out connections port path [script]
    wrk -t1 -c"$2" -d"${duration}s" --latency ${5:+-s "$5"} "http://127.0.0.1:$3$4" >"$1"
}
figures() { # files... -> "rps p50 p99 non2xx" (rps summed, latencies of the first file)
    python3 - "$@" <<'PY'
import re, sys
rps, non2xx, p50, p99 = 0.0, 0, None, None
for path in sys.argv[1:]:
    text = open(path).read()
    rps += float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    non2xx += int(m.group(1)) if m else 0
    p50 = p50 or re.search(r"\s50%\s+(\S+)", text).group(1)
    p99 = p99 or re.search(r"\s99%\s+(\S+)", text).group(1)
print(f"{rps:10.0f} req/s  p50 {p50:>8}  p99 {p99:>8}  non-2xx {non2xx}")
PY
}
echo "videogate on PostgreSQL + S3: ${duration}s per wrk run, $(nproc) cores shared by wrk, PostgreSQL and videogate"
script_of() { case "$1" in submit1) echo "$work/submit.lua" ;; submit16) echo "$work/submit-many.lua" ;; poll) echo "$work/poll.lua" ;; esac; }
path_of() { case "$1" in poll) echo "/v1/video/$job" ;; *) echo /v1/video ;; esac; }
# submit1: every request with one key; submit16: 16 accounts' keys in turn; poll: one job.
for route in submit1 submit16 poll; do
    wrk_run "$work/one.txt" 64 "$api1" "$(path_of $route)" "$(script_of $route)"
    printf "%-8s 1 api process,   64 connections: %s\n" "$route" "$(figures "$work/one.txt")"
done
start api api2; api2=$port
for route in submit1 submit16 poll; do
    wrk_run "$work/a.txt" 32 "$api1" "$(path_of $route)" "$(script_of $route)" &
    first=$!
    wrk_run "$work/b.txt" 32 "$api2" "$(path_of $route)" "$(script_of $route)"
    wait "$first"
    printf "%-8s 2 api processes, 2x32 connections: %s\n" "$route" "$(figures "$work/a.txt" "$work/b.txt")"
done
# The submit runs above left many pending jobs: the worker runs use a fresh database each.
stop_all
for workers in 1 2; do
    database="bench_w${workers}_$RANDOM$RANDOM"
    psql -q "$VIDEOGATE_TEST_POSTGRES_URL" -c "CREATE DATABASE $database" >/dev/null
    export VIDEOGATE_DATABASE_URL="${VIDEOGATE_TEST_POSTGRES_URL%/*}/$database"
    cli migrate >/dev/null
    key=$(bench_key bench)
    start api "wapi$workers"; api=$port
    python3 - "$api" "$key" "$jobs" <<'PY'
import json, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
port, key, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def submit(i):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/video", method="POST",
        data=json.dumps({"prompt": f"bench {i}", "model": "kling-v2.5-turbo-pro"}).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as reply: assert reply.status == 200
with ThreadPoolExecutor(16) as pool: list(pool.map(submit, range(n)))
PY
    busy_before=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9}' /proc/stat)
    began=$(date +%s.%N)
    first_worker=${#pids[@]}
    for w in $(seq 1 "$workers"); do start worker "worker$workers-$w"; done
    completed=0
    while [ "$completed" -lt "$jobs" ]; do
        sleep 0.5
        completed=$(psql -qtA "$VIDEOGATE_DATABASE_URL" -c "SELECT count(*) FROM jobs WHERE status = 'completed'")
    done
    ended=$(date +%s.%N)
    busy_after=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9}' /proc/stat)
    # CPU of the worker processes themselves and of their reaped children (ffmpeg, ffprobe), in ticks.
    worker_ticks=0
    for pid in "${pids[@]:$first_worker}"; do
        worker_ticks=$((worker_ticks + $(awk '{print $14+$15}' /proc/$pid/stat)))
        child_ticks=$(awk '{print $16+$17}' /proc/$pid/stat)
        children_ticks=$(( ${children_ticks:-0} + child_ticks ))
    done
    python3 -c "
import sys
n, t = int(sys.argv[1]), float(sys.argv[3]) - float(sys.argv[2])
hz = 100
busy, own, children = (int(sys.argv[5]) - int(sys.argv[4])) / hz, int(sys.argv[6]) / hz, int(sys.argv[7]) / hz
print(f'workers {sys.argv[8]}: {n} jobs completed in {t:.1f} s = {n / t:.1f} jobs/s; machine busy {busy:.0f} core-s '
      f'({busy / t:.2f} of $(nproc) cores): worker processes {own:.0f}, their ffmpeg/ffprobe children {children:.0f}, '
      f'everything else (PostgreSQL, moto, api) {busy - own - children:.0f}; {busy / n:.3f} core-s per job')
" "$jobs" "$began" "$ended" "$busy_before" "$busy_after" "$worker_ticks" "$children_ticks" "$workers"
    children_ticks=0
    stop_all
done
