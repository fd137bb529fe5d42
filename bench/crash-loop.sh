#!/usr/bin/env bash
# A crash loop loses nothing: runs Tests/IntegrationTests/CrashLoopTests (the real binary on
# embedded SQLite, clients submitting with Idempotency-Keys and retrying whatever got no answer,
# SIGKILL at random instants and restarts on the same data directory) and prints its figures:
# kills, keys answered, requests sent, requests that got no answer, replays checked, jobs.
# Usage: bench/crash-loop.sh [runs, default 1]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-1}"
swift build --build-tests >/dev/null 2>&1 || { swift build --build-tests 2>&1 | grep -E "error" ; exit 1; }
for run in $(seq 1 "$runs"); do
    output=$(swift test --skip-build --filter CrashLoopTests 2>&1) || { echo "$output" | tail -40; exit 1; }
    echo "run $run: $(echo "$output" | grep -o 'crash-loop: .*')"
done
