#!/usr/bin/env bash
# Durable submissions with and without group commit, on the embedded default with an fsync per
# commit (VIDEOGATE_SQLITE_SYNCHRONOUS=full): wrk POST /v1/video at 64 connections against
#   on    VIDEOGATE_SQLITE_GROUP_COMMIT=on   (submissions arriving together share one transaction)
#   off   VIDEOGATE_SQLITE_GROUP_COMMIT=off  (one transaction, so one fsync, per submission)
# each on a fresh data directory, `--role api` (no worker). Prints both rates and their ratio
# (aim: on at 3x off or more). The disk decides the absolute figures: fsync on this machine's
# disk is what is being amortized.
# Usage: bench/group-commit.sh [seconds per run, default 10]   (VIDEOGATE_BIN=path skips the build)
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null 2>&1 || { echo "wrk is needed (apt-get install wrk)"; exit 1; }; }
bin="${VIDEOGATE_BIN:-}"
if [[ -z "$bin" ]]; then
    swift build -c release --product videogate >/dev/null
    bin=.build/release/videogate
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/videogate-bench-group-commit.XXXXXX")
server=""
cleanup() {
    [[ -n "$server" ]] && { kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
    rm -rf "$work"
}
trap cleanup EXIT

measure() { # on|off -> prints req/s
    local mode=$1 data="$work/$1" port=$((20000 + RANDOM % 20000))
    export VIDEOGATE_DATA_DIR="$data" VIDEOGATE_LOG_LEVEL=error VIDEOGATE_SQLITE_SYNCHRONOUS=full VIDEOGATE_SQLITE_GROUP_COMMIT="$mode"
    local account key
    account=$($bin accounts create --name bench --plan enterprise --daily-limit 100000000 --json | python3 -c 'import sys,json; print(json.load(sys.stdin)["id"])')
    key=$($bin keys create --account "$account" --environment test --json | python3 -c 'import sys,json; print(json.load(sys.stdin)["key"])')
    $bin credits add --account "$account" --amount 1000000000000 --environment test --json >/dev/null
    $bin serve --role api --port "$port" > "$data.log" 2>&1 &
    server=$!
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    cat > "$work/submit-$mode.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"prompt":"a red fox in snow","model":"kling-v2.5-turbo-pro","aspect_ratio":"9:16"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
LUA
    local out
    out=$(wrk -t2 -c64 -d"${duration}s" --latency -s "$work/submit-$mode.lua" "http://127.0.0.1:$port/v1/video")
    kill -TERM "$server"; wait "$server" 2>/dev/null || true; server=""
    local non2xx
    non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
    [[ -z "$non2xx" ]] || { echo "group commit $mode: $non2xx responses were not 2xx" >&2; exit 1; }
    echo "$out" | awk -v mode="$mode" '/Requests\/sec/ {rps=$2} $1 == "99%" {p99=$2} END {printf "%s %s %s\n", mode, rps, p99}'
}

echo "group commit: VIDEOGATE_SQLITE_SYNCHRONOUS=full, POST /v1/video, wrk -t2 -c64 ${duration}s, $(nproc) cores, $(date -u +%Y-%m-%d)"
on=$(measure on)
off=$(measure off)
python3 - "$on" "$off" <<'PY'
import sys
on, off = (line.split() for line in sys.argv[1:3])
print(f"on:  {float(on[1]):>8.0f} submissions/s, p99 {on[2]}")
print(f"off: {float(off[1]):>8.0f} submissions/s, p99 {off[2]} (one fsync per submission)")
ratio = float(on[1]) / max(1.0, float(off[1]))
print(f"ratio on/off: {ratio:.1f}x (aim 3x or more) -> {'met' if ratio >= 3 else 'not met'}")
PY
