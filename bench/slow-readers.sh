#!/usr/bin/env bash
# Server memory with clients that stop reading a large result. One `videogate serve` on 127.0.0.1
# renders one sandbox job; its stored MP4 is then replaced by SIZE_MB of random bytes. After one
# full download (warm-up), READERS raw connections each send a GET, read 16 KiB and stop reading.
# For every route it prints the server's idle RSS and its peak RSS (VmRSS in /proc/PID/status,
# sampled every 100 ms for 5 s) while the readers stall:
#   local  /files/{file_id}?expires=&signature=   (signed URL)
#   local  /v1/video/{id}/content                 (Bearer key)
#   S3     /v1/video/{id}/content                 (only when VIDEOGATE_TEST_S3_ENDPOINT is set,
#                                                  e.g. under scripts/with-services: moto)
#
# Usage: bench/slow-readers.sh [READERS=20] [SIZE_MB=48]
#   BUILD=debug uses .build/debug/videogate as built by `swift build` (default: a release build).
#   KEEP_WORK=1 keeps the temporary directory (data, logs) and prints its path.
set -euo pipefail
cd "$(dirname "$0")/.."
readers="${1:-20}"
size_mb="${2:-48}"
for value in "$readers" "$size_mb"; do
    [[ "$value" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [READERS] [SIZE_MB]" >&2; exit 2; }
done
command -v python3 >/dev/null && command -v curl >/dev/null || { echo "python3 and curl are needed" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/videogate-bench-slow-readers.XXXXXX")
server_pid=""
stop_server() {
    [[ -n "$server_pid" ]] || return 0
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}
cleanup() {
    local status=$?
    stop_server
    if [[ "${KEEP_WORK:-0}" == 1 ]]; then echo "kept $work"; else rm -rf "$work"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ "${BUILD:-release}" == debug ]]; then
    bin=.build/debug/videogate
    [[ -x "$bin" ]] || { echo "$bin is missing: run swift build first" >&2; exit 1; }
else
    echo "building (release)..."
    swift build -c release --product videogate > "$work/build.log" 2>&1 || { tail -40 "$work/build.log"; exit 1; }
    bin=.build/release/videogate
fi
head -c $((size_mb * 1024 * 1024)) /dev/urandom > "$work/large.mp4"

json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1]) or "")' "$1"; }

# start_server NAME [VAR=VALUE...]: starts the server with a fresh data directory; sets port, key, data.
start_server() {
    local name=$1; shift
    data="$work/$name"
    mkdir -p "$data"
    env VIDEOGATE_DATA_DIR="$data" VIDEOGATE_SANDBOX_SHORT_SIDE=144 VIDEOGATE_POLL_INTERVAL_SECONDS=0 VIDEOGATE_LOG_LEVEL=warning "$@" \
        "$bin" serve --host 127.0.0.1 --port 0 > "$work/$name.log" 2>&1 &
    server_pid=$!
    port=""
    for _ in $(seq 1 600); do
        port=$(sed -n 's|.*videogate listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$work/$name.log" | head -1)
        [[ -n "$port" ]] && break
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    [[ -n "$port" ]] || { echo "the server did not start:"; cat "$work/$name.log"; exit 1; }
    key=$(sed -n 's|.*Test key (shown once): \([^ ]*\).*|\1|p' "$work/$name.log" | head -1)
}

# completed_job: submits a sandbox job and waits for it; sets id and video_url.
completed_job() {
    local base="http://127.0.0.1:$port" reply status=""
    reply=$(curl -fsS -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
        -d '{"prompt":"large result","model":"sora-2"}' "$base/v1/video")
    id=$(json_field request_id <<< "$reply")
    for _ in $(seq 1 600); do
        reply=$(curl -fsS -H "Authorization: Bearer $key" "$base/v1/video/$id")
        status=$(json_field status <<< "$reply")
        [[ "$status" == completed || "$status" == error ]] && break
        sleep 0.2
    done
    [[ "$status" == completed ]] || { echo "job $id: $reply"; exit 1; }
    video_url=$(json_field video_url <<< "$reply")
}

# measure LABEL PATH [HEADER]: warm-up download, idle RSS, READERS stalled readers, peak RSS.
measure() {
    local label=$1 path=$2 header=${3:-X-Bench: 1}
    local size
    size=$(curl -fsS -H "$header" -o /dev/null -w '%{size_download}' "http://127.0.0.1:$port$path")
    [[ "$size" == $((size_mb * 1024 * 1024)) ]] || { echo "$label: warm-up download got $size bytes"; exit 1; }
    python3 - "$server_pid" "$port" "$path" "$header" "$readers" "$label" "$size_mb" <<'PY'
import socket, sys, time
pid, port, path, header, readers, label, size_mb = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6], sys.argv[7]

def rss(field="VmRSS"):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0

def peak(seconds):
    top, end = rss(), time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.1)
        top = max(top, rss())
    return top

idle = peak(0.5)
idle_anon = rss("RssAnon")
sockets, statuses = [], []
for _ in range(readers):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{header}\r\n\r\n".encode())
    got = b""
    while len(got) < 16 * 1024:
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
    statuses.append(got.split(b" ", 2)[1].decode() if got.count(b" ") >= 2 else "?")
    sockets.append(s)
stalled = peak(5)
stalled_anon = rss("RssAnon")
for s in sockets:
    s.close()
print(f"{label:<16} idle {idle:6.1f} MB   {readers} stalled readers of {size_mb} MiB: {stalled:6.1f} MB (+{stalled - idle:.1f} MB)"
      f"   (anonymous {idle_anon:.1f} -> {stalled_anon:.1f} MB)   statuses {','.join(sorted(set(statuses)))}")
PY
}

start_server local
completed_job
cp "$work/large.mp4" "$data/videos/$id.mp4"
signed_path="/${video_url#http://*/}"
measure "local /files" "$signed_path"
measure "local /content" "/v1/video/$id/content" "Authorization: Bearer $key"
stop_server

if [[ -n "${VIDEOGATE_TEST_S3_ENDPOINT:-}" ]]; then
    endpoint=$VIDEOGATE_TEST_S3_ENDPOINT
    bucket="vg-bench-$(python3 -c 'import uuid; print(uuid.uuid4().hex[:8])')"
    curl -fsS -X PUT "$endpoint/$bucket" -o /dev/null
    start_server s3 VIDEOGATE_STORAGE_URL="s3://$bucket/results" VIDEOGATE_S3_ENDPOINT="$endpoint" VIDEOGATE_S3_PATH_STYLE=true \
        AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret AWS_REGION=us-east-1
    completed_job
    # Replaces the server's object. moto refuses anonymous overwrites and does not check
    # signatures, so the request names the server's access key (a real S3 would need a signature).
    curl -fsS -X PUT -H 'Content-Type: video/mp4' -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -H 'x-amz-date: 20260101T000000Z' \
        -H 'Authorization: AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00' \
        --data-binary "@$work/large.mp4" "$endpoint/$bucket/results/$id.mp4" -o /dev/null
    measure "S3 /content" "/v1/video/$id/content" "Authorization: Bearer $key"
    stop_server
else
    echo "S3: skipped (set VIDEOGATE_TEST_S3_ENDPOINT, e.g. run under scripts/with-services)"
fi
