#!/usr/bin/env bash
# Measures what queue_position costs a poll as the queue grows. One `--role api` process (no
# workers, so every job stays pending) takes JOBS sandbox submissions spread over ACCOUNTS accounts;
# at 1, 1/10 of JOBS and JOBS pending jobs it prints the median and 95th percentile of:
#   - GET /v1/account (authentication and a read, no position: the baseline),
#   - GET /v1/video/{id} of the newest pending job,
#   - GET /v1/video?limit=100 (a page of 100 pending jobs),
# and their maximum: a process reads the whole queue order at most once a second (sooner for a job
# changed since), so most polls reuse it and the maximum shows the polls that read it.
# Usage: bench/queue-position.sh [jobs, default 10000] [accounts, default 20]
# STORE=postgres runs on a throw-away PostgreSQL (scripts/with-services); CONFIG=release builds and
# runs the release binary (default: debug, the build the tests use).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${STORE:-sqlite}" = postgres ] && [ -z "${VIDEOGATE_TEST_POSTGRES_URL:-}" ]; then
    exec ./scripts/with-services "$0" "$@"
fi
jobs="${1:-10000}"
accounts="${2:-20}"
config="${CONFIG:-debug}"
swift build -c "$config" --product videogate >/dev/null
bin=".build/$config/videogate"
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
export VIDEOGATE_DATA_DIR="$work/data" VIDEOGATE_POLL_INTERVAL_SECONDS=0 VIDEOGATE_LOG_LEVEL=error VIDEOGATE_ADMIN_TOKEN=bench
if [ "${STORE:-sqlite}" = postgres ]; then
    database="bench_$RANDOM$RANDOM"
    psql -q "$VIDEOGATE_TEST_POSTGRES_URL" -c "CREATE DATABASE $database" >/dev/null
    export VIDEOGATE_DATABASE_URL="${VIDEOGATE_TEST_POSTGRES_URL%/*}/$database"
fi
keys=()
for index in $(seq 1 "$accounts"); do
    account=$($bin accounts create --name "a$index" --plan enterprise --json | python3 -c 'import sys,json; print(json.load(sys.stdin)["id"])')
    $bin credits add --account "$account" --amount 1000000000 --environment test --json >/dev/null
    keys+=("$($bin keys create --account "$account" --environment test --json | python3 -c 'import sys,json; print(json.load(sys.stdin)["key"])')")
done
$bin serve --role api --port "$port" > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
echo "videogate queue position benchmark: $jobs pending jobs over $accounts accounts, ${STORE:-sqlite}, $config build, $(nproc) cores"
python3 - "$port" "$jobs" "${keys[@]}" <<'PY'
import json, sys, time, urllib.request
from concurrent.futures import ThreadPoolExecutor
port, total, keys = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
base = f"http://127.0.0.1:{port}"
def call(method, path, key, body=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)
def submit(index):
    return call("POST", "/v1/video", keys[index % len(keys)], {"prompt": f"job {index}", "model": "kling-v2.5-turbo-pro"})["request_id"]
def timed(method, path, key, count):
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        answer = call(method, path, key)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return samples[len(samples) // 2], samples[int(len(samples) * 0.95)], samples[-1], answer
submitted, last = 0, None
for checkpoint in sorted({1, max(1, total // 10), total}):
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(submit, range(submitted, checkpoint)))
    last_index, last = checkpoint - 1, ids[-1]
    submitted = checkpoint
    key = keys[last_index % len(keys)]
    account = timed("GET", "/v1/account", key, 100)
    poll = timed("GET", f"/v1/video/{last}", key, 100)
    page = timed("GET", "/v1/video?limit=100", key, 40)
    print(f"{checkpoint:>7} pending: account {account[0]:.1f}/{account[1]:.1f}/{account[2]:.1f} ms, "
          f"poll {poll[0]:.1f}/{poll[1]:.1f}/{poll[2]:.1f} ms (queue_position {poll[3].get('queue_position')}), "
          f"list of {len(page[3]['data'])} {page[0]:.1f}/{page[1]:.1f}/{page[2]:.1f} ms  (median/p95/max)")
PY
