#!/usr/bin/env bash
# CPU per sandbox (test-key) job, end to end in one server process (`serve`, all roles, embedded
# default): submission, the render (ffmpeg children), the check of the result, its poster and
# storage. The server's own CPU and its waited-for children's come from /proc/PID/stat.
#   cold  the first job of a shape (frame size and length): renders the cached test picture
#   warm  JOBS further jobs of that shape with different prompts: a title card and a join each
# It also checks one result: H.264, the requested size and duration, every frame decodable.
# Usage: bench/sandbox-cost.sh [JOBS=40]   (VIDEOGATE_BIN=path skips the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${1:-40}"
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [JOBS]" >&2; exit 2; }
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || { echo "ffmpeg and ffprobe are needed" >&2; exit 1; }
bin="${VIDEOGATE_BIN:-}"
if [[ -z "$bin" ]]; then
    swift build -c release --product videogate >/dev/null
    bin=.build/release/videogate
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/videogate-bench-sandbox.XXXXXX")
server=""
cleanup() {
    [[ -n "$server" ]] && { kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
    rm -rf "$work"
}
trap cleanup EXIT
port=$((20000 + RANDOM % 20000))
export VIDEOGATE_DATA_DIR="$work/data" VIDEOGATE_LOG_LEVEL=error VIDEOGATE_SANDBOX_DELAY_MS=0 VIDEOGATE_POLL_INTERVAL_SECONDS=0
account=$($bin accounts create --name bench --plan enterprise --daily-limit 1000000 --json | python3 -c 'import sys,json; print(json.load(sys.stdin)["id"])')
key=$($bin keys create --account "$account" --environment test --json | python3 -c 'import sys,json; print(json.load(sys.stdin)["key"])')
$bin credits add --account "$account" --amount 100000000 --environment test --json >/dev/null
$bin serve --port "$port" > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

B_PORT="$port" B_KEY="$key" B_PID="$server" B_JOBS="$jobs" B_WORK="$work" python3 - <<'PY'
import json, os, subprocess, time, urllib.request

port, key, pid, jobs = os.environ["B_PORT"], os.environ["B_KEY"], int(os.environ["B_PID"]), int(os.environ["B_JOBS"])
base = f"http://127.0.0.1:{port}"
tick = os.sysconf("SC_CLK_TCK")


def cpu():
    """(the server itself, its waited-for children) in CPU seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


def call(method, path, body=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def run(count, label):
    before = cpu()
    started = time.monotonic()
    ids = [call("POST", "/v1/video", {"model": "kling-v2.5-turbo-pro", "prompt": f"{label} job {i}: a red fox in snow",
                                      "aspect_ratio": "16:9", "duration": 5})["request_id"] for i in range(count)]
    pending, last = set(ids), None
    deadline = time.monotonic() + 600
    while pending and time.monotonic() < deadline:
        for job in list(pending):
            last = call("GET", f"/v1/video/{job}")
            if last["status"] in ("completed", "error"):
                if last["status"] == "error":
                    raise SystemExit(f"job {job} failed: {last.get('error')}")
                pending.discard(job)
        time.sleep(0.5)
    if pending:
        raise SystemExit(f"{len(pending)} jobs not done after 600 s")
    after = cpu()
    own, children = after[0] - before[0], after[1] - before[1]
    print(f"{label:<5} {count:>4} jobs in {time.monotonic() - started:6.1f} s: {(own + children) / count:.4f} core-s per job"
          f" ({children / count:.4f} in ffmpeg, {own / count:.4f} the server itself: API, worker, polls)")
    return last, (own + children) / count


print(f"sandbox job cost: 1280x720, 5 s, {os.cpu_count()} cores, server pid {pid}")
run(1, "cold")
last, per_job = run(jobs, "warm")
print(f"aim: at most 0.05 core-s per job -> {'met' if per_job <= 0.05 else 'not met'}")
video = os.path.join(os.environ["B_WORK"], "result.mp4")
urllib.request.urlretrieve(last["video_url"], video)
probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "stream=codec_name,width,height:format=duration",
                        "-of", "csv=p=0", video], capture_output=True, text=True, check=True).stdout.split()
decoded = subprocess.run(["ffmpeg", "-v", "error", "-xerror", "-i", video, "-f", "null", "-"], capture_output=True, text=True)
print(f"one result: {', '.join(probe)}; full decode {'clean' if decoded.returncode == 0 and not decoded.stderr else 'FAILED: ' + decoded.stderr[:200]}")
PY
