#!/usr/bin/env bash
# Measures videogate against two peers in one run, on the same machine, with wrk on 127.0.0.1,
# and prints one table of ratios:
#   hello-world  a plain Hummingbird 2 server (bench/HelloWorld), GET /healthz: the framework's
#                own ceiling, that videogate's routes are compared with
#   videogate    on the embedded default (SQLite, local disk), --role api, as in
#                bench/api-throughput.sh: GET /healthz, submit POST /v1/video, poll GET /v1/video/{id}
#   LiteLLM      the proxy (litellm[proxy] in .venv-litellm, 2 workers) creating a video with
#                POST /v1/videos, relayed to an instant fake of OpenAI's video API
#                (bench/compare/fake_openai_videos.py), so that only LiteLLM itself is measured
# Each at 16 and 64 connections, wrk -t2, --latency. All servers listen on random free ports
# on 127.0.0.1 and are stopped on exit. Then, with the same videogate binary: group commit with
# an fsync per commit (bench/group-commit.sh), the CPU of a sandbox job (bench/sandbox-cost.sh),
# live jobs against the fake providers with the completion cost per job and the worker's memory
# (bench/providers-in-flight.sh), and result downloads (bench/downloads.sh).
#
# Usage: bench/compare.sh [seconds per run, default 10] [--skip-build]
#   --skip-build          use the binaries and the venv already there (fails if one is missing)
#   VIDEOGATE_BIN=path    an existing release binary of videogate; nothing of videogate is built
#   LITELLM_VERSION=x.y.z the LiteLLM to install (default 1.108.7; the newest one if pip has not that)
#   CONNECTIONS="16 64"   the connection counts
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

duration=10
skip_build=false
for arg in "$@"; do
    case "$arg" in
    --skip-build) skip_build=true ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *[!0-9]* | '') echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
    *) duration=$arg ;;
    esac
done
connections=${CONNECTIONS:-16 64}
litellm_wanted=${LITELLM_VERSION:-1.108.7}
venv=$root/.venv-litellm
started=$SECONDS

# ---------------------------------------------------------------------------------------------
# Processes and clean-up. Every server starts in its own session (setsid), so that its PID is
# also its process group: the trap stops the group (LiteLLM's worker processes included) by that
# id, then removes the scratch folder.
# ---------------------------------------------------------------------------------------------
set +m # no job control (the default in a script): setsid then runs the server in place, same PID
work=$(mktemp -d)
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 1 50); do
        local alive=false
        # An ended server stays a zombie until waited for: count only the live processes of its session.
        # shellcheck disable=SC2009
        for pid in "${pids[@]}"; do ps -o stat= --sid "$pid" 2>/dev/null | grep -qv '^Z' && alive=true; done
        $alive || break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME COMMAND...: runs COMMAND in the background, output to $work/NAME.log.
start() {
    local name=$1; shift
    setsid "$@" >"$work/$name.log" 2>&1 &
    pids+=($!)
}

# wait_http NAME URL SECONDS: until URL answers 2xx; fails with the server's log if it does not.
wait_http() {
    local deadline=$((SECONDS + $3))
    until curl -fs -o /dev/null "$2"; do
        if ((SECONDS > deadline)) || ! kill -0 "${pids[-1]}" 2>/dev/null; then
            echo "$1 did not answer at $2 within $3 s; its log ends with:" >&2
            tail -n 30 "$work/$1.log" >&2
            exit 1
        fi
        sleep 0.2
    done
}

# A free TCP port on 127.0.0.1 (the kernel's pick; it is free again by the time the server binds).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq wrk >/dev/null 2>&1; } ||
    { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# 1. Builds, all release.
# ---------------------------------------------------------------------------------------------
# (a) The hello-world baseline, its own package (its Package.resolved gives the Hummingbird version).
if ! $skip_build; then
    echo "building bench/HelloWorld (release)..." >&2
    swift build -c release --package-path bench/HelloWorld >"$work/build-hello.log" 2>&1 ||
        { tail -n 30 "$work/build-hello.log" >&2; exit 1; }
fi
hello_bin=$(swift build -c release --package-path bench/HelloWorld --show-bin-path)/hello-world

# (b) videogate and the fake providers, release, in .build (the per-job sections below use both).
if ! $skip_build; then
    for product in videogate videogate-fake-providers; do
        echo "building $product (release)..." >&2
        swift build -c release --product "$product" >"$work/build-$product.log" 2>&1 ||
            { tail -n 30 "$work/build-$product.log" >&2; exit 1; }
    done
fi
vg_bin=${VIDEOGATE_BIN:-$root/.build/release/videogate}
for b in "$hello_bin" "$vg_bin"; do [[ -x "$b" ]] || { echo "missing binary $b (build it, or drop --skip-build)" >&2; exit 1; }; done

# (c) LiteLLM in .venv-litellm, pinned; pip runs only when the venv has another version or none.
litellm_version() { "$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"))' 2>/dev/null || true; }
have=""
if [[ -x "$venv/bin/python" ]]; then have=$(litellm_version); fi
if [[ "$have" != "$litellm_wanted" ]] && ! $skip_build; then
    echo "installing litellm[proxy]==$litellm_wanted into .venv-litellm..." >&2
    [[ -x "$venv/bin/python" ]] || "$(command -v python3.11 || command -v python3)" -m venv "$venv"
    if ! "$venv/bin/pip" install -q "litellm[proxy]==$litellm_wanted" >"$work/pip.log" 2>&1; then
        echo "pip has no litellm $litellm_wanted here; installing the newest one" >&2
        "$venv/bin/pip" install -q -U "litellm[proxy]" >"$work/pip.log" 2>&1 || { tail -n 30 "$work/pip.log" >&2; exit 1; }
    fi
    have=$(litellm_version)
fi
[[ -n "$have" ]] || { echo "no LiteLLM in .venv-litellm (drop --skip-build)" >&2; exit 1; }
[[ "$have" == "$litellm_wanted" ]] || echo "note: measuring LiteLLM $have, not $litellm_wanted" >&2

# ---------------------------------------------------------------------------------------------
# 2. The servers, each on a free port of 127.0.0.1, each answering before any measurement.
# ---------------------------------------------------------------------------------------------
# hello-world: port as its first argument.
hello_port=$(free_port)
start hello "$hello_bin" "$hello_port"
wait_http hello "http://127.0.0.1:$hello_port/healthz" 30

# videogate, exactly as bench/api-throughput.sh: embedded default in a new data folder, a test
# key on an enterprise account with a huge daily limit and credits, no poll throttle, --role api
# (no renders compete for the 2 cores; submitted jobs stay pending), errors only in the log.
vg_port=$(free_port)
export VIDEOGATE_DATA_DIR="$work/data" VIDEOGATE_POLL_INTERVAL_SECONDS=0 VIDEOGATE_LOG_LEVEL=error VIDEOGATE_ADMIN_TOKEN=bench
json_field() { python3 -c 'import sys,json; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
account=$("$vg_bin" accounts create --name bench --plan enterprise --daily-limit 100000000 --json | json_field id)
key=$("$vg_bin" keys create --account "$account" --environment test --json | json_field key)
"$vg_bin" credits add --account "$account" --amount 1000000000000 --environment test --json >/dev/null
start videogate "$vg_bin" serve --role api --host 127.0.0.1 --port "$vg_port"
wait_http videogate "http://127.0.0.1:$vg_port/healthz" 60
job=$(curl -fs -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d '{"prompt":"bench","model":"kling-v2.5-turbo-pro"}' "http://127.0.0.1:$vg_port/v1/video" | json_field request_id)

# The fake OpenAI video API, then LiteLLM in front of it: the model "sora-2" maps to
# openai/sora-2 at the fake (LiteLLM adds /videos to api_base), with a dummy key. The master
# key is needed for the /v1/videos route (its auth dependency); no database.
fake_port=$(free_port)
start fake "$venv/bin/python" bench/compare/fake_openai_videos.py "$fake_port"
wait_http fake "http://127.0.0.1:$fake_port/_count" 30
litellm_port=$(free_port)
cat >"$work/litellm.yaml" <<YAML
model_list:
  - model_name: sora-2
    litellm_params:
      model: openai/sora-2
      api_base: http://127.0.0.1:$fake_port/v1
      api_key: sk-fake-upstream
general_settings:
  master_key: sk-bench
litellm_settings:
  set_verbose: false
YAML
# LITELLM_LOCAL_MODEL_COST_MAP: the bundled price map, not one fetched from the internet.
LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_LOG=ERROR LITELLM_DONT_SHOW_FEEDBACK_BOX=true \
    start litellm "$venv/bin/litellm" --config "$work/litellm.yaml" --host 127.0.0.1 --port "$litellm_port" --num_workers 2
wait_http litellm "http://127.0.0.1:$litellm_port/health/liveliness" 180

# One create through LiteLLM before measuring: 200, a video object, and the fake counted it.
litellm_body='{"model":"sora-2","prompt":"a red fox in snow","seconds":"4","size":"720x1280"}'
before=$(curl -fs "http://127.0.0.1:$fake_port/_count" | json_field creates)
status=$(curl -s -o "$work/litellm-create.json" -w '%{http_code}' -H 'Authorization: Bearer sk-bench' \
    -H 'Content-Type: application/json' -d "$litellm_body" "http://127.0.0.1:$litellm_port/v1/videos")
after=$(curl -fs "http://127.0.0.1:$fake_port/_count" | json_field creates)
object=$(json_field object <"$work/litellm-create.json" 2>/dev/null || true)
if [[ "$status" != 200 || "$object" != video || "$after" != $((before + 1)) ]]; then
    echo "LiteLLM create did not relay to the fake: HTTP $status, object '$object', fake creates $before -> $after" >&2
    cat "$work/litellm-create.json" >&2; echo >&2; tail -n 30 "$work/litellm.log" >&2
    exit 1
fi

# wrk scripts: the request bodies and keys of the POST and authenticated runs.
cat >"$work/submit.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"prompt":"a red fox in snow","model":"kling-v2.5-turbo-pro","aspect_ratio":"9:16"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
LUA
cat >"$work/poll.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $key"
LUA
cat >"$work/litellm-create.lua" <<LUA
wrk.method = "POST"
wrk.body = '$litellm_body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
LUA

# ---------------------------------------------------------------------------------------------
# 3. Measurement. measure NAME CONNS URL [LUA] runs wrk once, prints one line and keeps the
# figures in R["NAME@CONNS:rps|p50|p99|non2xx|errors"] (latencies in ms). Later sections call it
# the same way and read R with fig.
# ---------------------------------------------------------------------------------------------
declare -A R
fig() { echo "${R[$1@$2:$3]:-}"; }
to_ms() { # wrk's "850.00us", "12.5ms", "1.02s", "1.50m" → milliseconds
    awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : (u == "h") ? 3600000 : 0
        if (v == "" || f == 0) print ""; else printf "%.3f", n * f }'
}
measure() {
    local name=$1 conns=$2 url=$3 lua=${4:-} out
    out=$(wrk -t2 -c"$conns" -d"${duration}s" --timeout 10s --latency ${lua:+-s "$lua"} "$url")
    local rps p50 p99 non2xx errors
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
    non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
    errors=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' <<<"$out")
    R[$name@$conns:rps]=${rps:-0} R[$name@$conns:p50]=$p50 R[$name@$conns:p99]=$p99
    R[$name@$conns:non2xx]=${non2xx:-0} R[$name@$conns:errors]=${errors:-0}
    printf "%-16s %3s conns %10s req/s   p50 %9s ms   p99 %9s ms   non-2xx %s   socket errors %s\n" \
        "$name" "$conns" "${R[$name@$conns:rps]}" "$p50" "$p99" "${R[$name@$conns:non2xx]}" "${R[$name@$conns:errors]}"
}

# ---------------------------------------------------------------------------------------------
# Header: the machine and the versions.
# ---------------------------------------------------------------------------------------------
hummingbird=$(python3 -c 'import json,sys
pins = json.load(open(sys.argv[1]))["pins"]
print(next((p["state"].get("version") or p["state"].get("revision") for p in pins if p["identity"] == "hummingbird"), "?"))' \
    bench/HelloWorld/Package.resolved 2>/dev/null || echo "? (no bench/HelloWorld/Package.resolved)")
vg_commit=$(git rev-parse --short HEAD 2>/dev/null || echo "?")
[[ -z "$(git status --porcelain -- Sources Package.swift 2>/dev/null)" ]] || vg_commit="$vg_commit + uncommitted changes in Sources/Package.swift"
if [[ -n "${VIDEOGATE_BIN:-}" ]]; then vg_commit="VIDEOGATE_BIN=$VIDEOGATE_BIN"
elif $skip_build; then vg_commit="$vg_commit (checkout; binary not rebuilt: --skip-build)"; fi
echo "videogate vs peers: ${duration}s per run, wrk -t2 --latency, connections: $connections"
echo "machine:  $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), kernel $(uname -r)"
echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "versions: Hummingbird $hummingbird (bench/HelloWorld), videogate $vg_commit, LiteLLM $have (2 workers)," \
    "$(swift --version 2>/dev/null | awk '/Swift version/ {print "Swift " $3; exit}'), $(wrk -v 2>&1 | awk 'NR == 1 {print $1, $2}')"
echo

# Warm-up, not reported: 1 s per target (first requests load code and fill caches, LiteLLM's
# second worker has not served yet).
for target in "$hello_port/healthz" "$vg_port/healthz" "$vg_port/v1/video $work/submit.lua" \
    "$vg_port/v1/video/$job $work/poll.lua" "$litellm_port/v1/videos $work/litellm-create.lua"; do
    read -r path lua <<<"$target"
    wrk -t2 -c16 -d1s --timeout 10s ${lua:+-s "$lua"} "http://127.0.0.1:$path" >/dev/null
done

# The runs, one connection count at a time. LiteLLM is slow (tens of requests/s): expected.
for conns in $connections; do
    measure hello/healthz "$conns" "http://127.0.0.1:$hello_port/healthz"
    measure vg/healthz "$conns" "http://127.0.0.1:$vg_port/healthz"
    measure vg/submit "$conns" "http://127.0.0.1:$vg_port/v1/video" "$work/submit.lua"
    measure vg/poll "$conns" "http://127.0.0.1:$vg_port/v1/video/$job" "$work/poll.lua"
    measure litellm/create "$conns" "http://127.0.0.1:$litellm_port/v1/videos" "$work/litellm-create.lua"
done

# ---------------------------------------------------------------------------------------------
# 4. Ratios against the aims. ratio LABEL VALUE AIM-OP AIM UNIT: one line with met / NOT met.
# ---------------------------------------------------------------------------------------------
echo
printf "%-44s %12s %12s   %s\n" "ratio" "value" "aim" "verdict"
ratio() { # label value op aim unit
    local verdict
    if [[ -z "$2" ]]; then verdict="no figure"
    elif awk -v v="$2" -v a="$4" -v op="$3" 'BEGIN { exit !((op == ">=") ? v >= a : v <= a) }'; then verdict="met"
    else verdict="NOT met"; fi
    printf "%-44s %11s%s %3s %7s%s   %s\n" "$1" "${2:-–}" "$5" "$3" "$4" "$5" "$verdict"
}
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", 100 * a / b }'; }
times_of() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b }'; }
for conns in $connections; do
    base=$(fig hello/healthz "$conns" rps)
    ratio "videogate healthz / hello-world, $conns conns" "$(pct "$(fig vg/healthz "$conns" rps)" "$base")" ">=" 95 " %"
    ratio "videogate submit / hello-world, $conns conns" "$(pct "$(fig vg/submit "$conns" rps)" "$base")" ">=" 25 " %"
    ratio "videogate poll / hello-world, $conns conns" "$(pct "$(fig vg/poll "$conns" rps)" "$base")" ">=" 50 " %"
done
last=${connections##* }
limit=$(awk -v p="$(fig hello/healthz "$last" p99)" 'BEGIN { if (p != "") printf "%.2f", 2 * p }')
ratio "p99 submit vs 2 × hello-world p99, $last conns" "$(fig vg/submit "$last" p99)" "<=" "$limit" " ms"
ratio "p99 poll vs 2 × hello-world p99, $last conns" "$(fig vg/poll "$last" p99)" "<=" "$limit" " ms"
for conns in $connections; do
    ratio "videogate submit / LiteLLM create, $conns conns" "$(times_of "$(fig vg/submit "$conns" rps)" "$(fig litellm/create "$conns" rps)")" ">=" 60 " ×"
done
# A run with failed requests measured something else than the route: say so.
for k in "${!R[@]}"; do
    if [[ ($k == *:non2xx || $k == *:errors) && ${R[$k]} != 0 ]]; then
        echo "warning: ${k%:*} had ${R[$k]} ${k##*:} (its figures are suspect)"
    fi
done | sort

# ---------------------------------------------------------------------------------------------
# Work per job, durability and downloads: each its own script (readable and runnable alone),
# run here one after the other with the same binary, on a fresh data directory each. The servers
# above are idle by now. JOBS_IN_FLIGHT (default 2000) sets the providers run's size.
# ---------------------------------------------------------------------------------------------
export VIDEOGATE_BIN=$vg_bin
section() { echo; echo "== $1"; }
section "group commit (bench/group-commit.sh)"
bench/group-commit.sh "$duration"
section "sandbox job cost (bench/sandbox-cost.sh)"
bench/sandbox-cost.sh 40
section "live job completion cost and jobs in flight (bench/providers-in-flight.sh ${JOBS_IN_FLIGHT:-2000} jobs)"
bench/providers-in-flight.sh "${JOBS_IN_FLIGHT:-2000}" 10 20 64
section "result downloads (bench/downloads.sh)"
bench/downloads.sh 256

echo
echo "whole run: $((SECONDS - started)) s"
