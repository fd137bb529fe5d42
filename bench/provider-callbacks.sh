#!/usr/bin/env bash
# Completion latency with and without provider callbacks, against a fake Kling that finishes each
# task a fixed time after its creation (bench/FakeProviders with FAKE_FINISH_AFTER_MS) and, when
# the create named a callback_url, POSTs Kling's callback there at that instant. Everything runs on
# 127.0.0.1. Two rounds with the same poll setting, each on a fresh data directory and a fresh
# `videogate serve` (role all):
#   off  VIDEOGATE_PROVIDER_CALLBACKS=off: the job is seen done at its next scheduled poll
#   on   VIDEOGATE_PROVIDER_CALLBACKS=on:  the callback makes the job due for a poll at once
# Each round submits JOBS live kling-v2.5-turbo-pro jobs at once, waits until all are final, and
# prints the mean, p50, p95 and max of (our completed_at - the fake's finishes_at), in seconds,
# both read in milliseconds (the SQLite database, the fake's /_stats).
#
# Usage: bench/provider-callbacks.sh [JOBS=20] [POLL_SECONDS=10] [FINISH_MS=5000]
#   POLL_SECONDS is VIDEOGATE_PROVIDER_POLL_SECONDS (first poll after it, then every POLL_SECONDS
#   to 4x that); CONFIG=release builds and runs the release binaries (default: debug).
#   KEEP_WORK=1 keeps the temporary directory and prints its path.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${1:-20}"
poll_seconds="${2:-10}"
finish_ms="${3:-5000}"
config="${CONFIG:-debug}"
for value in "$jobs" "$poll_seconds" "$finish_ms"; do
    [[ "$value" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [JOBS] [POLL_SECONDS] [FINISH_MS]" >&2; exit 2; }
done
[[ "$config" == debug || "$config" == release ]] || { echo "CONFIG must be debug or release" >&2; exit 2; }
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || { echo "ffmpeg and ffprobe are needed" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/videogate-bench-callbacks.XXXXXX")
pids=()
cleanup() {
    local status=$?
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ "${KEEP_WORK:-0}" == 1 ]]; then echo "kept $work"; else rm -rf "$work"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building ($config)..."
for product in videogate videogate-fake-providers; do
    swift build -c "$config" --product "$product" > "$work/build-$product.log" 2>&1 || { tail -40 "$work/build-$product.log"; exit 1; }
done
bin=".build/$config/videogate"

FAKE_FINISH_AFTER_MS="$finish_ms" ".build/$config/videogate-fake-providers" > "$work/fakes.out" 2> "$work/fakes.err" &
pids+=("$!")
for _ in $(seq 1 600); do [[ -s "$work/fakes.out" ]] && break; sleep 0.1; done
[[ -s "$work/fakes.out" ]] || { echo "the fakes did not start:"; cat "$work/fakes.err"; exit 1; }
kling_port=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["kling"])' "$(head -1 "$work/fakes.out")")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

cat > "$work/round.py" <<'PY'
import http.client, json, os, sqlite3, statistics, sys, time

N = int(os.environ["B_JOBS"])
PORT = int(os.environ["B_PORT"])
KLING = int(os.environ["B_KLING_PORT"])
ADMIN = {"Authorization": "Bearer bench-admin"}
DB = os.path.join(os.environ["VIDEOGATE_DATA_DIR"], "videogate.sqlite")


def call(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        if resp.status >= 300:
            sys.exit(f"{method} {path}: HTTP {resp.status}: {payload[:300]!r}")
        return json.loads(payload)
    finally:
        conn.close()


account = call(PORT, "POST", "/admin/accounts", {"name": "bench", "plan": "enterprise"}, ADMIN)["account"]["id"]
key = call(PORT, "POST", f"/admin/accounts/{account}/keys", {"environment": "live"}, ADMIN)["key"]
call(PORT, "POST", f"/admin/accounts/{account}/credits", {"amount": 100000000, "environment": "live"}, ADMIN)
ids = [call(PORT, "POST", "/v1/video", {"prompt": f"bench job {i}", "model": "kling-v2.5-turbo-pro"}, {"Authorization": "Bearer " + key})["request_id"]
       for i in range(N)]
deadline = time.monotonic() + 600
while time.monotonic() < deadline:
    db = sqlite3.connect(f"file:{DB}?mode=ro", uri=True, timeout=30)
    rows = db.execute("SELECT id, status, provider_job_id, completed_at FROM jobs").fetchall()
    db.close()
    if len(rows) >= N and all(r[1] in ("completed", "error") for r in rows):
        break
    time.sleep(0.5)
else:
    sys.exit("jobs still unfinished after 600 s")
finishes = call(KLING, "GET", "/_stats")["finishes_at"]
latencies = sorted((r[3] - finishes[r[2]]) / 1000 for r in rows if r[1] == "completed" and r[2] in finishes)
errors = sum(1 for r in rows if r[1] == "error")
if not latencies:
    sys.exit("no job completed")
p = lambda q: latencies[min(len(latencies) - 1, int(round(q * (len(latencies) - 1))))]
print(f"  {len(latencies)} completed, {errors} error; upstream finish -> completed, s: mean {statistics.mean(latencies):.2f}"
      f"  p50 {p(0.5):.2f}  p95 {p(0.95):.2f}  max {latencies[-1]:.2f}")
PY

for mode in off on; do
    port=$(free_port)
    data="$work/data-$mode"
    mkdir -p "$data"
    VIDEOGATE_DATA_DIR="$data" VIDEOGATE_ADMIN_TOKEN=bench-admin VIDEOGATE_LOG_LEVEL=warning VIDEOGATE_OUTBOUND_ALLOW_HOSTS=127.0.0.1 \
        VIDEOGATE_PROVIDER_POLL_SECONDS="$poll_seconds" VIDEOGATE_PROVIDER_CALLBACKS="$mode" VIDEOGATE_WORKER_CONCURRENCY=32 \
        KLING_ACCESS_KEY=ak-test KLING_SECRET_KEY=sk-test VIDEOGATE_KLING_BASE_URL="http://127.0.0.1:$kling_port" \
        "$bin" serve --port "$port" > "$work/serve-$mode.log" 2>&1 &
    server=$!
    pids+=("$server")
    for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    echo "callbacks $mode: $jobs jobs, upstream finishes ${finish_ms} ms after create, VIDEOGATE_PROVIDER_POLL_SECONDS=$poll_seconds ($config build)"
    B_JOBS="$jobs" B_PORT="$port" B_KLING_PORT="$kling_port" VIDEOGATE_DATA_DIR="$data" python3 "$work/round.py" \
        || { tail -20 "$work/serve-$mode.log"; exit 1; }
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
done
