#!/usr/bin/env bash
# Result downloads from local disk through the signed URL (`GET /files/{file_id}`), on 127.0.0.1:
#   one client    curl, the whole file, three times (the best and the median)
#   100 clients   wrk -c100 for 10 s on the same URL (bytes received per second, all connections)
# and the server's peak RSS during the 100-client run (memory must not follow the file size).
# A sandbox job makes the result; its stored video is then replaced by SIZE_MB of random bytes,
# so that the figures measure the transfer, not a 1 MB file's per-request cost.
# Usage: bench/downloads.sh [SIZE_MB=256]   (VIDEOGATE_BIN=path skips the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb="${1:-256}"
[[ "$size_mb" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [SIZE_MB]" >&2; exit 2; }
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null 2>&1 || { echo "wrk is needed (apt-get install wrk)"; exit 1; }; }
bin="${VIDEOGATE_BIN:-}"
if [[ -z "$bin" ]]; then
    swift build -c release --product videogate >/dev/null
    bin=.build/release/videogate
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/videogate-bench-downloads.XXXXXX")
server=""
cleanup() {
    [[ -n "$server" ]] && { kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
    rm -rf "$work"
}
trap cleanup EXIT
port=$((20000 + RANDOM % 20000))
export VIDEOGATE_DATA_DIR="$work/data" VIDEOGATE_LOG_LEVEL=error VIDEOGATE_SANDBOX_DELAY_MS=0
account=$($bin accounts create --name bench --plan enterprise --json | python3 -c 'import sys,json; print(json.load(sys.stdin)["id"])')
key=$($bin keys create --account "$account" --environment test --json | python3 -c 'import sys,json; print(json.load(sys.stdin)["key"])')
$bin credits add --account "$account" --amount 100000 --environment test --json >/dev/null
$bin serve --port "$port" > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
job=$(curl -fs -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d '{"prompt":"download bench","model":"kling-v2.5-turbo-pro","duration":5}' "http://127.0.0.1:$port/v1/video" \
    | python3 -c 'import sys,json; print(json.load(sys.stdin)["request_id"])')
url=""
for _ in $(seq 1 120); do
    url=$(curl -fs -H "Authorization: Bearer $key" "http://127.0.0.1:$port/v1/video/$job" \
        | python3 -c 'import sys,json; j=json.load(sys.stdin); print(j.get("video_url") or "")')
    [[ -n "$url" ]] && break
    sleep 0.5
done
[[ -n "$url" ]] || { echo "the sandbox job did not complete"; exit 1; }
stored="$VIDEOGATE_DATA_DIR/videos/$job.mp4"
head -c "$((size_mb * 1024 * 1024))" /dev/urandom > "$stored.new" && mv "$stored.new" "$stored"
cat "$stored" > /dev/null  # in the page cache, as a recently stored result would be
echo "result downloads: ${size_mb} MiB file, local disk, $(nproc) cores, $(date -u +%Y-%m-%d)"
speeds=()
for _ in 1 2 3; do
    speeds+=("$(curl -fs -o /dev/null -w '%{speed_download}' "$url")")
done
printf '%s\n' "${speeds[@]}" | sort -n | python3 -c '
import sys
values = [float(v) / 1e9 for v in sys.stdin.read().split()]
print(f"one client:   best {max(values):.2f} GB/s, median {sorted(values)[1]:.2f} GB/s (curl, whole file, 3 runs; aim 1 GB/s)")'
peak_file="$work/peak"
( peak=0; while kill -0 "$server" 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$server/status" 2>/dev/null || echo 0)
    (( rss > peak )) && peak=$rss && echo "$peak" > "$peak_file"
    sleep 0.2
  done ) &
sampler=$!
rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$server/status")
out=$(wrk -t2 -c100 -d10s "$url")
kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
echo "$out" | python3 -c '
import re, sys
text = sys.stdin.read()
match = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", text)
value, unit = float(match.group(1)), match.group(2)
scale = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[unit]
print(f"100 clients:  {value * scale / 1e9:.2f} GB/s (wrk -c100 10 s; aim 1 GB/s)")'
echo "server RSS: $((rss_before / 1024)) MiB before, at most $(( $(cat "$peak_file" 2>/dev/null || echo 0) / 1024 )) MiB during the 100-client run"
