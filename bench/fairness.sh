#!/usr/bin/env bash
# Measures fairness between accounts on the embedded default (SQLite, local disk, sandbox renders):
# one account submits a burst of test jobs at once, then a second account submits one job. Prints
# when the lone job finished (seconds after its own submission) against the burst's completions
# (how many finished before it, first, median and last), from a poll of /admin/jobs every 100 ms.
# Usage: bench/fairness.sh [burst size, default 60] [sandbox lane, default 2] [account cap, default 0]
# CONFIG=release builds and runs the release binary (default: debug, the build the tests use).
set -euo pipefail
cd "$(dirname "$0")/.."
burst="${1:-60}"
lane="${2:-2}"
cap="${3:-0}"
config="${CONFIG:-debug}"
swift build -c "$config" --product videogate >/dev/null
bin=".build/$config/videogate"
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
export VIDEOGATE_DATA_DIR="$work/data" VIDEOGATE_POLL_INTERVAL_SECONDS=0 VIDEOGATE_LOG_LEVEL=error VIDEOGATE_ADMIN_TOKEN=bench \
    VIDEOGATE_SANDBOX_DELAY_MS=200 VIDEOGATE_SANDBOX_SHORT_SIDE=144 VIDEOGATE_SANDBOX_CONCURRENCY="$lane" \
    VIDEOGATE_ACCOUNT_MAX_IN_FLIGHT="$cap"
key_for() { # name plan
    local account
    account=$($bin accounts create --name "$1" --plan "$2" --json | python3 -c 'import sys,json; print(json.load(sys.stdin)["id"])')
    $bin credits add --account "$account" --amount 100000000 --environment test --json >/dev/null
    $bin keys create --account "$account" --environment test --json | python3 -c 'import sys,json; print(json.load(sys.stdin)["key"])'
}
busy=$(key_for busy enterprise)
lone=$(key_for lone pro)
$bin serve --role all --port "$port" > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
echo "videogate fairness benchmark: burst of $burst, sandbox lane $lane, account cap $cap, $config build, $(nproc) cores"
python3 - "$port" "$busy" "$lone" "$burst" <<'PY'
import json, sys, time, urllib.request
from concurrent.futures import ThreadPoolExecutor
port, busy, lone, burst = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
base = f"http://127.0.0.1:{port}"
def call(method, path, key, body=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)
def submit(key, prompt, model):
    return call("POST", "/v1/video", key, {"prompt": prompt, "model": model})["request_id"]
start = time.monotonic()
with ThreadPoolExecutor(16) as pool:
    burst_ids = list(pool.map(lambda i: submit(busy, f"burst {i}", "kling-v2.5-turbo-pro"), range(burst)))
lone_submitted = time.monotonic() - start
lone_id = submit(lone, "alone", "sora-2")
everyone, finished = set(burst_ids + [lone_id]), {}
deadline = time.monotonic() + 1800
while len(finished) < len(everyone) and time.monotonic() < deadline:
    for status in ("completed", "error"):
        cursor = None
        while True:
            page = call("GET", f"/admin/jobs?limit=100&status={status}" + (f"&after={cursor}" if cursor else ""), "bench")
            for job in page["data"]:
                if job["id"] in everyone and job["id"] not in finished:
                    finished[job["id"]] = (time.monotonic() - start, status)
            cursor = page.get("next_cursor")
            if not cursor:
                break
    time.sleep(0.1)
times = sorted(finished[i][0] for i in burst_ids if i in finished)
lone_at = finished.get(lone_id, (float("nan"), "unfinished"))[0]
errors = sum(1 for _, status in finished.values() if status == "error")
print(f"burst submitted in {lone_submitted:.1f} s; lone job finished {lone_at - lone_submitted:.1f} s after its submission")
print(f"burst jobs finished before the lone job: {sum(1 for t in times if t < lone_at)} of {burst}")
print(f"burst completions: first {times[0]:.1f} s, median {times[len(times) // 2]:.1f} s, last {times[-1]:.1f} s"
      f" ({len(times)} finished, {errors} in error)")
PY
