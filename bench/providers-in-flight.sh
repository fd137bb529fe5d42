#!/usr/bin/env bash
# One worker process tracking many live jobs in flight across the five providers, against fakes
# that answer instantly (bench/FakeProviders: the Tests/ProviderFakes fakes, first status call
# reports success, every result the same 1 s 128x72 MP4). Everything runs on 127.0.0.1:
#   fakes   videogate-fake-providers (five ports, GET /_stats on each)
#   api     videogate serve --role api      (takes the submissions, serves /admin and /metrics)
#   worker  videogate serve --role worker   (the process measured), same data directory
# It submits JOBS live jobs spread evenly over veo3.1, sora-2, kling-v2.5-turbo-pro, wan-2.5 and
# seedance-v1.5-pro-t2v, samples every second until all are final (or the time bound passes),
# and prints:
#   - upstream requests/s, overall and per provider (average over the run and peak second),
#   - the worker's memory: peak RSS (VmHWM) and RSS at the end, from /proc/PID/status,
#   - success -> completed: from the instant a fake first answered "succeeded" to the job's
#     completed_at (p50, p90, p99, max), matched by the provider's task id,
#   - the wall time from the first submission to the last job final.
# Each completed job also runs ffprobe and ffmpeg (poster frame) as subprocesses on the same cores.
#
# Usage: bench/providers-in-flight.sh [JOBS=10000] [POLL_SECONDS=20] [MAX_MINUTES=30] [WORKER_CONCURRENCY=64]
#   POLL_SECONDS is VIDEOGATE_PROVIDER_POLL_SECONDS: the first poll of every job comes this long
#   after its submission, so that all jobs are in flight upstream before the first one succeeds.
#   KEEP_WORK=1 keeps the temporary directory (data, logs, samples.jsonl) and prints its path.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${1:-10000}"
poll_seconds="${2:-20}"
max_minutes="${3:-30}"
concurrency="${4:-64}"
for value in "$jobs" "$max_minutes" "$concurrency"; do
    [[ "$value" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [JOBS] [POLL_SECONDS] [MAX_MINUTES] [WORKER_CONCURRENCY]" >&2; exit 2; }
done
[[ "$poll_seconds" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "POLL_SECONDS must be a number" >&2; exit 2; }
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || { echo "ffmpeg and ffprobe are needed" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/videogate-bench-providers.XXXXXX")
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

echo "building (release)..."
for product in videogate videogate-fake-providers; do
    swift build -c release --product "$product" > "$work/build-$product.log" 2>&1 || { tail -40 "$work/build-$product.log"; exit 1; }
done
bin=.build/release/videogate
fakes_bin=.build/release/videogate-fake-providers

# The fakes: one JSON line with their ports on stdout.
"$fakes_bin" > "$work/fakes.out" 2> "$work/fakes.err" &
fakes_pid=$!
pids+=("$fakes_pid")
for _ in $(seq 1 600); do [[ -s "$work/fakes.out" ]] && break; kill -0 "$fakes_pid" 2>/dev/null || break; sleep 0.1; done
[[ -s "$work/fakes.out" ]] || { echo "the fakes did not start:"; cat "$work/fakes.err"; exit 1; }
fake_ports=$(head -1 "$work/fakes.out")
port_of() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$fake_ports" "$1"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

api_port=$(free_port)
worker_port=$(free_port)
mkdir -p "$work/data" "$work/tmp"
export TMPDIR="$work/tmp"
export VIDEOGATE_DATA_DIR="$work/data" VIDEOGATE_ADMIN_TOKEN=bench-admin VIDEOGATE_LOG_LEVEL=warning
export VIDEOGATE_OUTBOUND_ALLOW_HOSTS=127.0.0.1 VIDEOGATE_WORKER_CONCURRENCY="$concurrency"
export VIDEOGATE_PROVIDER_POLL_SECONDS="$poll_seconds" VIDEOGATE_JOB_TIMEOUT_SECONDS=3600
export KLING_ACCESS_KEY=ak-test KLING_SECRET_KEY=sk-test VIDEOGATE_KLING_BASE_URL="http://127.0.0.1:$(port_of kling)"
export GEMINI_API_KEY=gemini-test VIDEOGATE_GEMINI_BASE_URL="http://127.0.0.1:$(port_of veo)/v1beta"
export OPENAI_API_KEY=openai-test VIDEOGATE_OPENAI_BASE_URL="http://127.0.0.1:$(port_of sora)/v1"
export DASHSCOPE_API_KEY=dashscope-test VIDEOGATE_DASHSCOPE_BASE_URL="http://127.0.0.1:$(port_of wan)/api/v1"
export ARK_API_KEY=ark-test VIDEOGATE_ARK_BASE_URL="http://127.0.0.1:$(port_of seedance)/api/v3"

"$bin" migrate > "$work/migrate.log" 2>&1 || { cat "$work/migrate.log"; exit 1; }
wait_healthy() { # port log
    for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$1/healthz" >/dev/null && return 0; sleep 0.1; done
    echo "a server did not start:"; tail -20 "$2"; exit 1
}
# The api first (it makes the data directory's secrets on its first start), then the worker.
"$bin" serve --role api --port "$api_port" > "$work/api.log" 2>&1 &
api_pid=$!
pids+=("$api_pid")
wait_healthy "$api_port" "$work/api.log"
"$bin" serve --role worker --port "$worker_port" > "$work/worker.log" 2>&1 &
worker_pid=$!
pids+=("$worker_pid")
wait_healthy "$worker_port" "$work/worker.log"

echo "videogate providers benchmark: $jobs live jobs, first poll after ${poll_seconds}s, worker concurrency $concurrency," \
    "bound ${max_minutes} min, $(nproc) cores"
echo "fakes $fake_ports; api :$api_port (pid $api_pid); worker :$worker_port (pid $worker_pid)"

cat > "$work/bench.py" <<'PY'
import http.client, json, math, os, re, sqlite3, sys, threading, time
from concurrent.futures import ThreadPoolExecutor

N = int(os.environ["B_JOBS"])
API_PORT = int(os.environ["B_API_PORT"])
WORKER_PID = int(os.environ["B_WORKER_PID"])
API_PID = int(os.environ["B_API_PID"])
FAKES_PID = int(os.environ["B_FAKES_PID"])
FAKES = json.loads(os.environ["B_FAKE_PORTS"])
DEADLINE = time.monotonic() + float(os.environ["B_MAX_MINUTES"]) * 60
ADMIN = {"Authorization": "Bearer " + os.environ["VIDEOGATE_ADMIN_TOKEN"]}
DB = os.path.join(os.environ["VIDEOGATE_DATA_DIR"], "videogate.sqlite")
SAMPLES = os.environ["B_SAMPLES"]
MODELS = ["veo3.1", "sora-2", "kling-v2.5-turbo-pro", "wan-2.5", "seedance-v1.5-pro-t2v"]
PROVIDERS = ["veo", "sora", "kling", "wan", "seedance"]  # in the order of MODELS


def call(port, method, path, body=None, headers=None, timeout=60, conn=None):
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        if own:
            conn.close()


def must(port, method, path, body=None, headers=None):
    status, data = call(port, method, path, body, headers)
    if status >= 300:
        sys.exit(f"{method} {path}: HTTP {status}: {data[:300]!r}")
    return json.loads(data)


# Account, live key and credits through the admin API.
account = must(API_PORT, "POST", "/admin/accounts", {"name": "bench", "plan": "enterprise", "daily_limit": 1000000}, ADMIN)["account"]["id"]
key = must(API_PORT, "POST", f"/admin/accounts/{account}/keys", {"environment": "live"}, ADMIN)["key"]
# Enough for every job at the dearest model's price (a fixed 100,000,000 stopped a 100,000-job run at 35,461 with 402s).
must(API_PORT, "POST", f"/admin/accounts/{account}/credits", {"amount": max(100000000, N * 20000), "environment": "live"}, ADMIN)

# Submissions: 16 threads, one keep-alive connection each, at most 3 tries per job.
local = threading.local()
submit = {"ok": 0, "failed": 0, "statuses": {}, "done_at": None}
lock = threading.Lock()


def submit_one(i):
    body = {"prompt": f"bench job {i}: a red fox in snow", "model": MODELS[i % len(MODELS)]}
    headers = {"Authorization": "Bearer " + key}
    status = None
    for _ in range(3):
        if getattr(local, "conn", None) is None:
            local.conn = http.client.HTTPConnection("127.0.0.1", API_PORT, timeout=60)
        try:
            status, _ = call(API_PORT, "POST", "/v1/video", body, headers, conn=local.conn)
        except (OSError, http.client.HTTPException):
            local.conn.close()
            local.conn = None
            status = None
            continue
        if status < 500 and status != 429:
            break
    with lock:
        if status is not None and 200 <= status < 300:
            submit["ok"] += 1
        else:
            submit["failed"] += 1
            submit["statuses"][status] = submit["statuses"].get(status, 0) + 1


def submit_all():
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(submit_one, range(N)))
    submit["done_at"] = time.time()


def proc_status(pid):
    values = {}
    try:
        values["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                name, _, rest = line.partition(":")
                if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                    values[name] = int(rest.split()[0])  # kB
    except OSError:
        pass
    return values


def proc_cpu(pid):
    """CPU seconds of a process itself and of its waited-for children (ffprobe, ffmpeg)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick
    except (OSError, IndexError, ValueError):
        return 0.0, 0.0


def machine_cpu():
    """(busy, total) jiffies of all cores from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def job_states():
    try:
        status, data = call(API_PORT, "GET", "/metrics", timeout=10)
    except (OSError, http.client.HTTPException):
        return {}
    states = {}
    for m in re.finditer(r'^videogate_jobs\{state="(\w+)"\} ([0-9.eE+-]+)$', data.decode(), re.M):
        states[m.group(1)] = int(float(m.group(2)))
    return states


def fake_stats(summary=True):
    stats = {}
    for name, port in FAKES.items():
        try:
            stats[name] = json.loads(call(port, "GET", "/_stats" + ("?summary=1" if summary else ""), timeout=30)[1])
        except (OSError, http.client.HTTPException, ValueError):
            stats[name] = None
    return stats


import resource
own0 = resource.getrusage(resource.RUSAGE_SELF)
cpu0 = {pid: proc_cpu(pid) for pid in (WORKER_PID, API_PID, FAKES_PID)}
machine0 = machine_cpu()
t0 = time.time()
submitter = threading.Thread(target=submit_all, daemon=True)
submitter.start()
samples = []
next_tick = time.monotonic()
last_print = 0
finished_at = None
worker_died = False
last_worker_cpu = proc_cpu(WORKER_PID)
with open(SAMPLES, "w") as out:
    while time.monotonic() < DEADLINE:
        now = time.time()
        sample = {"t": now - t0, "fakes": fake_stats(), "worker": proc_status(WORKER_PID), "states": job_states()}
        if "VmRSS" in sample["worker"]:
            last_worker_cpu = proc_cpu(WORKER_PID)
        samples.append(sample)
        out.write(json.dumps(sample) + "\n")
        states = sample["states"]
        final = states.get("completed", 0) + states.get("error", 0)
        if sample["t"] - last_print >= 10:
            last_print = sample["t"]
            reqs = sum((s or {}).get("requests", 0) for s in sample["fakes"].values())
            print(f"  t={sample['t']:6.0f}s submitted {submit['ok']:>6} states {json.dumps(states, sort_keys=True)}"
                  f" upstream requests {reqs} worker RSS {sample['worker'].get('VmRSS', 0) / 1024:.0f} MiB", flush=True)
        if "VmRSS" not in sample["worker"]:
            worker_died = True
            print(f"  t={sample['t']:6.0f}s THE WORKER PROCESS IS GONE (see its log below); stopping", flush=True)
            break
        unfinished = states.get("pending", 0) + states.get("processing", 0)
        if submit["done_at"] is not None and states and unfinished == 0 and final >= submit["ok"]:
            finished_at = now
            break
        next_tick += 1
        time.sleep(max(0, next_tick - time.monotonic()))
timed_out = finished_at is None
cpu1 = {pid: proc_cpu(pid) for pid in (WORKER_PID, API_PID, FAKES_PID)}
if worker_died:
    cpu1[WORKER_PID] = last_worker_cpu  # as last sampled
machine1 = machine_cpu()
end = samples[-2] if worker_died and len(samples) > 1 else samples[-1]
wall = (finished_at or time.time()) - t0

# Every job through /admin/jobs pages; completed_at there is whole seconds (RFC 3339).
jobs = []
after = None
for _ in range(N // 100 + 20):
    path = "/admin/jobs?limit=100" + (f"&after={after}" if after else "")
    page = must(API_PORT, "GET", path, headers=ADMIN)
    jobs += page["data"]
    if not page["has_more"]:
        break
    after = page["next_cursor"]
# The same instants in milliseconds, read from the database (read-only).
completed_ms = {}
try:
    db = sqlite3.connect(f"file:{DB}?mode=ro", uri=True, timeout=30)
    completed_ms = {row[0]: row[1] for row in db.execute("SELECT id, completed_at FROM jobs WHERE completed_at IS NOT NULL")}
    db.close()
except sqlite3.Error as error:
    print(f"  (reading completed_at in ms from the database failed: {error}; using the admin API's whole seconds)")

full = fake_stats(summary=False)
succeeded_at = {}
for name, stats in full.items():
    for task, ms in ((stats or {}).get("succeeded_at") or {}).items():
        succeeded_at[(name, task)] = ms


def parse_rfc3339(text):
    from datetime import datetime
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


latency = {p: [] for p in PROVIDERS}
latency_s = []
unmatched = 0
status_counts, error_codes = {}, {}
for job in jobs:
    status_counts[job["status"]] = status_counts.get(job["status"], 0) + 1
    if job.get("error"):
        code = job["error"].get("code")
        error_codes[code] = error_codes.get(code, 0) + 1
    if job["status"] != "completed":
        continue
    start = succeeded_at.get((job["provider"], job.get("provider_job_id")))
    if start is None:
        unmatched += 1
        continue
    done_ms = completed_ms.get(job["id"])
    if done_ms is None:
        done_ms = parse_rfc3339(job["completed_at"]) * 1000
    latency[job["provider"]].append((done_ms - start) / 1000)
    latency_s.append(parse_rfc3339(job["completed_at"]) - start / 1000)


def pct(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, math.ceil(q / 100 * len(values)) - 1))]  # nearest rank


def rate_stats(key):
    """Average requests/s over the wall time, and the busiest one-second interval."""
    def total(sample):
        stats = sample["fakes"]
        return sum((stats[n] or {}).get("requests", 0) for n in stats if key is None or n == key)
    peak = 0.0
    for a, b in zip(samples, samples[1:]):
        dt = b["t"] - a["t"]
        if dt > 0:
            peak = max(peak, (total(b) - total(a)) / dt)
    return total(end), total(end) / wall if wall > 0 else 0, peak


def first_time(predicate):
    return next((s["t"] for s in samples if predicate(s)), None)


creates = lambda s: sum((v or {}).get("by_call", {}).get("create", 0) for v in s["fakes"].values())
successes = lambda s: sum((v or {}).get("succeeded", 0) for v in s["fakes"].values())
t_all_created = first_time(lambda s: creates(s) >= submit["ok"] and submit["ok"] > 0)
t_first_success = first_time(lambda s: successes(s) > 0)
max_fds = max((s["worker"].get("fds", 0) for s in samples), default=0)
max_processing = max((s["states"].get("processing", 0) for s in samples), default=0)
rss_in_flight = max((s["worker"].get("VmRSS", 0) for s in samples if successes(s) == 0), default=0)
worker_end = proc_status(WORKER_PID)
if "VmRSS" not in worker_end:
    worker_end = end["worker"]

print()
print(f"jobs: {N} submitted, {submit['ok']} accepted" + (f", {submit['failed']} refused {submit['statuses']}" if submit["failed"] else "")
      + f"; final states {json.dumps(status_counts, sort_keys=True)}" + (f"; errors {json.dumps(error_codes)}" if error_codes else ""))
if worker_died:
    print(f"NOT FINISHED: the worker process died at {samples[-1]['t']:.0f} s with states {json.dumps(end['states'], sort_keys=True)}")
elif timed_out:
    print(f"NOT FINISHED: the time bound passed with states {json.dumps(end['states'], sort_keys=True)}")
print(f"wall time: {wall:.1f} s from the first submission to the last job final"
      f" (submissions took {(submit['done_at'] or time.time()) - t0:.1f} s)")
print(f"in flight: at most {max_processing} jobs processing at once; all upstream creates done at "
      + (f"{t_all_created:.0f} s" if t_all_created is not None else "-")
      + ", first upstream success at " + (f"{t_first_success:.0f} s" if t_first_success is not None else "-"))
print()
print(f"{'upstream':<10} {'requests':>9} {'avg req/s':>10} {'peak req/s':>11}   create / status / content")
for name in [None] + PROVIDERS:
    count, avg, peak = rate_stats(name)
    if name is None:
        calls = {k: sum((v or {}).get("by_call", {}).get(k, 0) for v in end["fakes"].values()) for k in ("create", "status", "content")}
    else:
        calls = (end["fakes"][name] or {}).get("by_call", {})
    print(f"{name or 'all':<10} {count:>9} {avg:>10.1f} {peak:>11.1f}   {calls.get('create', 0)} / {calls.get('status', 0)} / {calls.get('content', 0)}")
print()
mib = lambda kb: f"{kb / 1024:.1f} MiB"
peak_anon = max((s["worker"].get("RssAnon", 0) for s in samples), default=0)
peak_file = max((s["worker"].get("RssFile", 0) for s in samples), default=0)
print(f"worker memory: peak RSS (VmHWM) {mib(worker_end.get('VmHWM', end['worker'].get('VmHWM', 0)))},"
      f" RSS at the end {mib(worker_end.get('VmRSS', end['worker'].get('VmRSS', 0)))},"
      f" RSS with all jobs in flight before the first success {mib(rss_in_flight)}; at most {max_fds} open descriptors")
api_mem, fakes_mem = proc_status(API_PID), proc_status(FAKES_PID)
print(f"  of which anonymous (heap, stacks) {mib(worker_end.get('RssAnon', 0))} at the end, {mib(peak_anon)} at most;"
      f" file-backed (binary, libraries, the SQLite file mapped) {mib(worker_end.get('RssFile', 0))} at the end, {mib(peak_file)} at most")
print(f"(api process peak RSS {mib(api_mem.get('VmHWM', 0))}; fakes process peak RSS {mib(fakes_mem.get('VmHWM', 0))})")
busy = (machine1[0] - machine0[0]) / max(1, machine1[1] - machine0[1])
cpu = {pid: (cpu1[pid][0] - cpu0[pid][0], cpu1[pid][1] - cpu0[pid][1]) for pid in cpu1}
own1 = resource.getrusage(resource.RUSAGE_SELF)
own = own1.ru_utime + own1.ru_stime - own0.ru_utime - own0.ru_stime
ours = sum(a + b for a, b in cpu.values()) + own
machine_core_seconds = busy * os.cpu_count() * wall
print(f"CPU over the run: machine {busy * 100:.0f}% busy ({os.cpu_count()} cores, {busy * os.cpu_count() * wall:.0f} core-seconds);"
      f" worker {cpu[WORKER_PID][0]:.0f} s itself + {cpu[WORKER_PID][1]:.0f} s in ffprobe/ffmpeg,"
      f" api {cpu[API_PID][0]:.0f} s, fakes {cpu[FAKES_PID][0]:.0f} s, this script {own:.0f} s;"
      f" other processes about {max(0, machine_core_seconds - ours):.0f} s")
completed_jobs = status_counts.get("completed", 0)
if completed_jobs:
    worker_self, worker_children = cpu[WORKER_PID]
    print(f"completion cost per completed job: {(worker_self + worker_children) / completed_jobs:.4f} core-s"
          f" ({worker_children / completed_jobs:.4f} in ffmpeg/ffprobe children, {worker_self / completed_jobs:.4f} the worker itself,"
          f" which also polls and creates; aim at most 0.03)")
print()
source = "ms, completed_at from the database" if completed_ms else "whole seconds, completed_at from /admin/jobs"
print(f"success -> completed, seconds ({source}; fake's first 'succeeded' answer to the job's completed_at):")
print(f"{'provider':<10} {'jobs':>6} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8}")
everything = [v for p in PROVIDERS for v in latency[p]]
for name, values in [("all", everything)] + [(p, latency[p]) for p in PROVIDERS]:
    print(f"{name:<10} {len(values):>6} {pct(values, 50):>8.2f} {pct(values, 90):>8.2f} {pct(values, 99):>8.2f} {max(values, default=float('nan')):>8.2f}")
print(f"(from /admin/jobs whole seconds: p50 {pct(latency_s, 50):.2f} p90 {pct(latency_s, 90):.2f}"
      f" p99 {pct(latency_s, 99):.2f} max {max(latency_s, default=float('nan')):.2f}; completed jobs without a fake success: {unmatched})")
sys.exit(1 if timed_out else 0)
PY

result=0
B_JOBS="$jobs" B_API_PORT="$api_port" B_WORKER_PID="$worker_pid" B_API_PID="$api_pid" B_FAKES_PID="$fakes_pid" \
    B_FAKE_PORTS="$fake_ports" B_MAX_MINUTES="$max_minutes" B_SAMPLES="$work/samples.jsonl" python3 "$work/bench.py" || result=$?
problems=$(grep -ciE 'warning|error|critical|crashed' "$work/worker.log" || true)
if [[ "$problems" != 0 ]]; then
    echo "worker log: $problems warning/error lines, e.g.:"
    grep -iE 'warning|error|critical|crashed' "$work/worker.log" | sed -E 's/^[0-9T:+-]+ //; s/job_id=[^ ]+ //' | sort | uniq -c | sort -rn | head -5
fi
if ! kill -0 "$worker_pid" 2>/dev/null; then
    echo "the worker process exited during the run:"
    grep -A12 'crashed:' "$work/worker.log" | head -14 || tail -20 "$work/worker.log"
fi
exit "$result"
