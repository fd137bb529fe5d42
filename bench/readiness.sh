#!/usr/bin/env bash
# How long /readyz takes to answer with everything up, with the PostgreSQL cluster paused
# (SIGSTOP), with a storage endpoint that accepts connections and never answers, and with one
# that refuses them. Prints one line per case: status and seconds (curl's time_total) of 5 probes.
# Usage: scripts/with-services bench/readiness.sh      (after swift build)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${VIDEOGATE_TEST_POSTGRES_URL:?run through scripts/with-services}" "${VIDEOGATE_TEST_POSTGRES_DATA:?}" "${VIDEOGATE_TEST_S3_ENDPOINT:?}"
binary=.build/debug/videogate
work=$(mktemp -d /tmp/videogate-readiness-XXXXXX)
pids=()
paused=()
cleanup() {
    for pid in "${paused[@]}"; do kill -CONT "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

curl -fs -X PUT "$VIDEOGATE_TEST_S3_ENDPOINT/vg-readiness" >/dev/null
# A listener that never accepts (Python holds it open) and a port nothing listens on.
python3 -c 'import socket,time,sys; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(64); print(s.getsockname()[1], flush=True); time.sleep(3600)' >"$work/silent" &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/silent" ] && break; sleep 0.1; done
silent_port=$(cat "$work/silent")
refused_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

start() { # NAME S3_ENDPOINT
    VIDEOGATE_DATA_DIR="$work/$1" VIDEOGATE_DATABASE_URL="$VIDEOGATE_TEST_POSTGRES_URL" VIDEOGATE_STORAGE_URL=s3://vg-readiness/r \
        VIDEOGATE_S3_ENDPOINT="$2" AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench VIDEOGATE_LOG_LEVEL=error \
        "$binary" serve --role api --host 127.0.0.1 --port 0 >"$work/$1.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 300); do grep -q "listening on" "$work/$1.log" 2>/dev/null && break; sleep 0.1; done
    grep -o 'http://127.0.0.1:[0-9]*' "$work/$1.log" | head -1
}
probe() { # LABEL BASE
    local line="$1:"
    for _ in 1 2 3 4 5; do line="$line $(curl -s -o /dev/null -m 5 -w '%{http_code}/%{time_total}s' "$2/readyz")"; done
    echo "$line"
}

up=$(start up "$VIDEOGATE_TEST_S3_ENDPOINT")
hanging=$(start hanging "http://127.0.0.1:$silent_port")
refusing=$(start refusing "http://127.0.0.1:$refused_port")
probe "all up" "$up"
probe "storage hangs" "$hanging"
probe "storage refuses" "$refusing"
postmaster=$(head -1 "$VIDEOGATE_TEST_POSTGRES_DATA/postmaster.pid")
paused=("$postmaster" $(ps -o pid= --ppid "$postmaster"))
kill -STOP "${paused[@]}"
probe "database paused" "$up"
probe "database paused, storage hangs" "$hanging"
kill -CONT "${paused[@]}"
paused=()
started=$(date +%s.%N)
until [ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$up/readyz")" = 200 ]; do sleep 0.1; done
echo "ready again after the database resumed: $(echo "$(date +%s.%N) - $started" | bc)s"
