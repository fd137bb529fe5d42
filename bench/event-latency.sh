#!/usr/bin/env bash
# How long a job change takes to reach an open live status stream on another process: two
# `--role api` processes and one `--role worker` on one PostgreSQL database (fsync on), everything
# on 127.0.0.1. For each of JOBS sandbox jobs, one after the other, a stream is opened on each API
# process; the worker stores `processing` (submitted_at) and `completed` (completed_at), and the
# time from that stored time (the worker's clock when it decided, before its commit) to the event
# read by the client on each API process is the figure. Prints median, 90th percentile and max.
# Usage: bench/event-latency.sh [jobs, default 30]      BUILD=debug uses the debug binary.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VIDEOGATE_TEST_POSTGRES_URL:-}" ]; then
    ./scripts/setup >/dev/null
    VIDEOGATE_SERVICES_DURABLE=1 exec ./scripts/with-services "$0" "$@"
fi
jobs="${1:-30}"
build="${BUILD:-release}"
swift build -c "$build" --product videogate >/dev/null
bin=$PWD/.build/$build/videogate
work=$(mktemp -d)
pids=()
stop_all() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; pids=(); }
trap 'stop_all; rm -rf "$work"' EXIT

database="bench_$RANDOM$RANDOM"
psql -q "$VIDEOGATE_TEST_POSTGRES_URL" -c "CREATE DATABASE $database" >/dev/null
export VIDEOGATE_DATABASE_URL="${VIDEOGATE_TEST_POSTGRES_URL%/*}/$database" VIDEOGATE_DATABASE_POOL_SIZE=8
export VIDEOGATE_STORAGE_URL="file://$work/videos"
export VIDEOGATE_POLL_INTERVAL_SECONDS=0 VIDEOGATE_LOG_LEVEL=error VIDEOGATE_ADMIN_TOKEN=bench VIDEOGATE_SIGNING_SECRET=bench
export VIDEOGATE_SANDBOX_DELAY_MS=700 VIDEOGATE_SANDBOX_SHORT_SIDE=64
cli() { VIDEOGATE_DATA_DIR="$work/cli" "$bin" "$@"; }
json_field() { python3 -c "import sys,json; print(json.load(sys.stdin)['$1'])"; }
cli migrate >/dev/null
account=$(cli accounts create --name bench --plan enterprise --daily-limit 100000000 --json | json_field id)
cli credits add --account "$account" --amount 1000000000 --environment test --json >/dev/null
key=$(cli keys create --account "$account" --environment test --json | json_field key)

start() { # role name: starts a process (not in a subshell: its pid is kept) and sets $port
    port=$((20000 + RANDOM % 20000))
    VIDEOGATE_DATA_DIR="$work/$2" $bin serve --role "$1" --port "$port" >"$work/$2.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 200); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
}
start api api_a; api_a=$port
start api api_b; api_b=$port
start worker worker; worker=$port

python3 - "$api_a" "$api_b" "$key" "$jobs" "$VIDEOGATE_DATABASE_URL" <<'PY'
import http.client, json, statistics, subprocess, sys, threading, time

api_a, api_b, key, jobs, database = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]

def stream(port, job, seen, opened):
    """Reads the job's event stream; records when each status was first read (wall clock)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", f"/v1/video/{job}/events", headers={"Authorization": f"Bearer {key}"})
    response = connection.getresponse()
    opened.set()
    for raw in response:
        line = raw.decode().rstrip("\n")
        if line.startswith("data: "):
            status = json.loads(line[6:])["status"]
            seen.setdefault(status, time.time())
    connection.close()

samples = {("A", "processing"): [], ("B", "processing"): [], ("A", "completed"): [], ("B", "completed"): []}
records = []
for n in range(jobs):
    connection = http.client.HTTPConnection("127.0.0.1", api_a, timeout=30)
    body = json.dumps({"prompt": f"latency {n}", "model": "sora-2"})
    connection.request("POST", "/v1/video", body, {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    job = json.loads(connection.getresponse().read())["request_id"]
    connection.close()
    seen = {"A": {}, "B": {}}
    threads = []
    for name, port in (("A", api_a), ("B", api_b)):
        opened = threading.Event()
        thread = threading.Thread(target=stream, args=(port, job, seen[name], opened))
        thread.start()
        opened.wait(10)
        threads.append(thread)
    for thread in threads:
        thread.join(60)
    records.append((job, seen))

ids = ",".join(f"'{job}'" for job, _ in records)
rows = subprocess.run(["psql", "-At", "-F", " ", database, "-c", f"SELECT id, submitted_at, completed_at FROM jobs WHERE id IN ({ids})"],
                      capture_output=True, text=True, check=True).stdout.split("\n")
stored = {}
for row in rows:
    if row:
        job, submitted, completed = row.split(" ")
        stored[job] = {"processing": int(submitted) / 1000, "completed": int(completed) / 1000}
missed = 0
for job, seen in records:
    for name in ("A", "B"):
        for status in ("processing", "completed"):
            if status in seen[name]:
                samples[(name, status)].append((seen[name][status] - stored[job][status]) * 1000)
            elif status == "completed":
                missed += 1

def describe(values):
    values = sorted(values)
    p90 = values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]
    return f"n={len(values):3d}  median {statistics.median(values):6.1f} ms  p90 {p90:6.1f} ms  max {max(values):6.1f} ms"

print(f"{jobs} sandbox jobs, one at a time; the worker stores each change, streams on API A and API B read it")
for (name, status), values in samples.items():
    if values:
        print(f"  {status:10s} on API {name}: {describe(values)}")
both = [v for values in samples.values() for v in values]
print(f"  all changes, both APIs: {describe(both)}")
print(f"  completed events missing: {missed}")
PY
