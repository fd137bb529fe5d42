#!/usr/bin/env bash
# What failover and the circuit breaker cost and do, through the real binary, on 127.0.0.1.
#   fakes    videogate-fake-providers (the Tests/ProviderFakes fakes; WAN's answers instantly)
#   broken   a tiny HTTP server that answers every request 503 with DashScope's error body,
#            counting the requests it gets
#   server   videogate serve (role all), one run per scenario, each on a fresh data directory
# Scenarios, each JOBS live wan-2.5 jobs submitted one after the other, each polled to its end:
#   healthy   one credential, the healthy fake
#   failover  two credentials: "wan-broken" (weight 10, so it is tried first about 10 times in 11)
#             and "wan-ok" (weight 1)
# It prints, per scenario, the submit -> completed time (p50, p90, max), how many creates the
# broken credential got, and its breaker as GET /admin/providers shows it at the end.
#
# Usage: bench/routing.sh [JOBS=40] [BREAKER_OPEN_SECONDS=30]
#   BUILD=release uses a release build (default: debug, the build the tests use).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${1:-40}"
open_seconds="${2:-30}"
[[ "$jobs" =~ ^[1-9][0-9]*$ && "$open_seconds" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [JOBS] [BREAKER_OPEN_SECONDS]" >&2; exit 2; }
build="${BUILD:-debug}"
work=$(mktemp -d "${TMPDIR:-/tmp}/videogate-bench-routing.XXXXXX")
pids=()
cleanup() {
    local status=$?
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building ($build)..."
for product in videogate videogate-fake-providers; do
    swift build -c "$build" --product "$product" > "$work/build-$product.log" 2>&1 || { tail -40 "$work/build-$product.log"; exit 1; }
done
bin=".build/$build/videogate"

".build/$build/videogate-fake-providers" > "$work/fakes.out" 2> "$work/fakes.err" &
pids+=("$!")
for _ in $(seq 1 600); do [[ -s "$work/fakes.out" ]] && break; sleep 0.1; done
[[ -s "$work/fakes.out" ]] || { echo "the fakes did not start:"; cat "$work/fakes.err"; exit 1; }
wan_port=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["wan"])' "$(head -1 "$work/fakes.out")")

cat > "$work/broken.py" <<'PY'
import http.server, sys, threading
hits = 0
lock = threading.Lock()
class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self):
        global hits
        if self.path == "/_hits":
            body = str(hits).encode()
            self.send_response(200)
        else:
            with lock:
                hits += 1
            length = int(self.headers.get("content-length") or 0)
            if length: self.rfile.read(length)
            body = b'{"code":"InternalError","message":"bench: always 503","request_id":"r"}'
            self.send_response(503)
            self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = answer
    def log_message(self, *args): pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
PY
python3 "$work/broken.py" > "$work/broken.out" &
pids+=("$!")
for _ in $(seq 1 100); do [[ -s "$work/broken.out" ]] && break; sleep 0.1; done
broken_port=$(head -1 "$work/broken.out")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

cat > "$work/drive.py" <<'PY'
import http.client, json, os, sys, time
port, jobs, broken_port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def call(method, path, body=None, token=None, host_port=port):
    connection = http.client.HTTPConnection("127.0.0.1", host_port, timeout=30)
    headers = {"content-type": "application/json"}
    if token: headers["authorization"] = "Bearer " + token
    connection.request(method, path, json.dumps(body) if body is not None else None, headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, (json.loads(data) if data and data[:1] in b"{[" else data)
admin = "bench-admin"
_, account = call("POST", "/admin/accounts", {"name": "bench", "plan": "enterprise", "daily_limit": 1000000}, admin)
account_id = account["account"]["id"]
_, key = call("POST", f"/admin/accounts/{account_id}/keys", {"environment": "live"}, admin)
call("POST", f"/admin/accounts/{account_id}/credits", {"amount": 100000000, "environment": "live"}, admin)
times = []
for _ in range(jobs):
    started = time.monotonic()
    status, answer = call("POST", "/v1/video", {"prompt": "a red fox in snow", "model": "wan-2.5"}, key["key"])
    assert status == 200, answer
    while True:
        status, job = call("GET", "/v1/video/" + answer["request_id"], token=key["key"])
        if status == 200 and job["status"] in ("completed", "error"):
            break
        # The poll throttle answers 429 to polls faster than it allows: wait as a client would.
        time.sleep(0.05 if status == 200 else 0.25)
    assert job["status"] == "completed", job
    times.append(time.monotonic() - started)
times.sort()
pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
_, hits = call("GET", "/_hits", host_port=broken_port)
_, providers = call("GET", "/admin/providers", token=admin)
print(f"  submit -> completed: p50 {pick(0.5)*1000:.0f} ms, p90 {pick(0.9)*1000:.0f} ms, max {times[-1]*1000:.0f} ms over {jobs} jobs")
print(f"  creates the broken credential got: {int(hits)}")
for credential in providers["credentials"]:
    print(f"  {credential['name']}: state {credential['state']}, recent_failures {credential['recent_failures']},"
          f" failures_total {credential['failures_total']}")
PY

run() { # name providers-json
    local data="$work/data-$1" port
    port=$(free_port)
    mkdir -p "$data"
    echo "$2" > "$data/providers.json"
    (
        export VIDEOGATE_DATA_DIR="$data" VIDEOGATE_ADMIN_TOKEN=bench-admin VIDEOGATE_LOG_LEVEL=error VIDEOGATE_PORT="$port"
        export VIDEOGATE_OUTBOUND_ALLOW_HOSTS=127.0.0.1 VIDEOGATE_PROVIDER_POLL_SECONDS=0.1 VIDEOGATE_PROVIDERS_FILE="$data/providers.json"
        export VIDEOGATE_BREAKER_OPEN_SECONDS="$open_seconds" WAN_OK=dashscope-test WAN_BROKEN=dashscope-test VIDEOGATE_POLL_INTERVAL_SECONDS=0
        exec "$bin" serve
    ) > "$data/server.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    echo "$1:"
    python3 "$work/drive.py" "$port" "$jobs" "$broken_port"
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
}

ok='{"name": "wan-ok", "provider": "wan", "api_key": "env:WAN_OK", "base_url": "http://127.0.0.1:'"$wan_port"'/api/v1"}'
broken='{"name": "wan-broken", "provider": "wan", "api_key": "env:WAN_BROKEN", "weight": 10, "base_url": "http://127.0.0.1:'"$broken_port"'/api/v1"}'
echo "videogate routing benchmark: $jobs jobs per scenario, one at a time, breaker open ${open_seconds}s, $build build, $(nproc) cores, $(date -u +%Y-%m-%d)"
run healthy "{\"credentials\": [$ok]}"
run failover "{\"credentials\": [$broken, $ok]}"
