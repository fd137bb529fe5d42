#!/usr/bin/env bash
# Measures GET /v1/usage and GET /admin/usage at a million jobs: fills a database with JOBS jobs
# (default 1,000,000) of one account spread evenly over the last 366 days (5 models, 3 keys, 90 %
# completed, 5 % failed, 5 % pending), rebuilds the rollups from them the way migration 10 does,
# then times each route (median and slowest of RUNS requests, curl's total time) for 30 and 366 days
# by day, model and key, with bounds that cut hours (so the edges are read from the jobs). For
# comparison it also times the same 366-day figures computed by scanning the jobs table.
# Usage: bench/usage.sh [sqlite|postgres] [jobs]
#   postgres needs VIDEOGATE_TEST_POSTGRES_URL: run it as scripts/with-services bench/usage.sh postgres
# CONFIG=release builds and runs the release binary (default: debug, the build the tests use).
set -euo pipefail
cd "$(dirname "$0")/.."
store="${1:-sqlite}"
jobs="${2:-1000000}"
runs="${RUNS:-7}"
config="${CONFIG:-debug}"
swift build -c "$config" --product videogate >/dev/null
bin=".build/$config/videogate"
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
server=""
cleanup() {
    [ -z "$server" ] || { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
    [ "$store" != postgres ] || psql -q "$admin_url" -c "DROP DATABASE IF EXISTS usage_bench" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
export VIDEOGATE_DATA_DIR="$work/data" VIDEOGATE_LOG_LEVEL=error VIDEOGATE_ADMIN_TOKEN=bench VIDEOGATE_POLL_INTERVAL_SECONDS=0
case "$store" in
sqlite)
    db="$work/data/videogate.sqlite"
    sql() { sqlite3 "$db" "$@"; }
    ;;
postgres)
    admin_url="${VIDEOGATE_TEST_POSTGRES_URL:?run under scripts/with-services}"
    psql -q "$admin_url" -c "DROP DATABASE IF EXISTS usage_bench" -c "CREATE DATABASE usage_bench" >/dev/null
    export VIDEOGATE_DATABASE_URL="${admin_url%/*}/usage_bench"
    sql() { psql -qAt -v ON_ERROR_STOP=1 "$VIDEOGATE_DATABASE_URL" "$@"; }
    ;;
*) echo "usage: $0 [sqlite|postgres] [jobs]" >&2; exit 2 ;;
esac

field() { python3 -c "import sys,json; print(json.load(sys.stdin)[\"$1\"])"; }
account=$($bin accounts create --name bench --plan enterprise --json | field id)
created=$($bin keys create --account "$account" --environment live --json)
key=$(echo "$created" | field key)
key_id=$(echo "$created" | field key_id)
now=$(($(date +%s%3N) - 1000))
year=$((366 * 86400000))

# Ids are made like the server's: "req_" + the 10 Crockford base32 characters of the creation
# millisecond + 16 more (here the row number), so id order is creation order.
t10() {
    local expr="" shift
    for shift in 45 40 35 30 25 20 15 10 5 0; do
        expr="$expr${expr:+ || }substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', CAST(((t >> $shift) & 31) + 1 AS INTEGER), 1)"
    done
    echo "$expr"
}
select_jobs="
    SELECT 'req_' || $(t10) || PAD, '$account', CASE n % 3 WHEN 0 THEN '$key_id' WHEN 1 THEN 'key_bench_b' ELSE 'key_bench_c' END,
        'live', MODEL, 'kling', 'm', 'text-to-video', 'bench', '16:9', 5, '{}',
        CASE WHEN n % 20 = 0 THEN 'error' WHEN n % 20 = 1 THEN 'pending' ELSE 'completed' END, 1500,
        CASE WHEN n % 20 > 1 THEN 1500 ELSE 0 END, t, t + 1800000, t, t
    FROM numbered"
models="CASE n % 5 WHEN 0 THEN 'kling-v2.5-turbo-pro' WHEN 1 THEN 'sora-2' WHEN 2 THEN 'veo3.1' WHEN 3 THEN 'wan-2.5' ELSE 'kling-v2.6-pro' END"
columns="id, account_id, key_id, environment, model_id, provider, upstream_model, mode, prompt, aspect_ratio, duration, metadata,
    status, credits_reserved, credits_used, next_attempt_at, deadline_at, created_at, updated_at"
rollup="DELETE FROM usage_hourly;
    INSERT INTO usage_hourly (account_id, environment, hour, model_id, key_id, jobs, completed, failed, credits_charged, seconds_rendered)
    SELECT account_id, environment, created_at / 3600000, model_id, key_id, COUNT(*),
        SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END), SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END),
        SUM(CASE WHEN status = 'completed' THEN credits_used ELSE 0 END), SUM(CASE WHEN status = 'completed' THEN duration ELSE 0 END)
    FROM jobs GROUP BY account_id, environment, created_at / 3600000, model_id, key_id;
    DELETE FROM usage_daily;
    INSERT INTO usage_daily (account_id, environment, day, model_id, key_id, jobs, completed, failed, credits_charged, seconds_rendered)
    SELECT account_id, environment, hour / 24, model_id, key_id, SUM(jobs), SUM(completed), SUM(failed), SUM(credits_charged),
        SUM(seconds_rendered)
    FROM usage_hourly GROUP BY account_id, environment, hour / 24, model_id, key_id;"
scan="SELECT created_at / 86400000 AS g, COUNT(*), SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END),
    SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END), SUM(CASE WHEN status = 'completed' THEN credits_used ELSE 0 END)
    FROM jobs WHERE account_id = '$account' AND environment = 'live' AND created_at >= $((now - year)) AND created_at < $now GROUP BY g"
start=$(date +%s.%N)
if [ "$store" = sqlite ]; then
    pad="printf('%016d', n)"
    body=${select_jobs//PAD/$pad}
    sql "PRAGMA journal_mode = WAL; BEGIN;
        WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n + 1 < $jobs),
        numbered AS (SELECT n, $now - n * ($year / $jobs) AS t FROM seq)
        INSERT INTO jobs ($columns) ${body//MODEL/$models};
        $rollup COMMIT;" >/dev/null
else
    pad="lpad(n::text, 16, '0')"
    body=${select_jobs//PAD/$pad}
    # The /metrics counter triggers are off while filling (this database is thrown away): they would
    # make the fill take minutes, and nothing here reads them.
    sql -c "ALTER TABLE jobs DISABLE TRIGGER USER" -c "WITH numbered AS (SELECT n, $now - n * ($year / $jobs) AS t FROM generate_series(0::bigint, $jobs - 1) AS n)
        INSERT INTO jobs ($columns) ${body//MODEL/$models}" -c "$rollup" -c "VACUUM ANALYZE jobs" -c "VACUUM ANALYZE usage_hourly" -c "VACUUM ANALYZE usage_daily"
fi
filled=$(echo "$(date +%s.%N) - $start" | bc)
count() { if [ "$store" = sqlite ]; then sql "SELECT COUNT(*) FROM $1"; else sql -c "SELECT COUNT(*) FROM $1"; fi; }
echo "videogate usage benchmark: $store, $(count jobs) jobs, $(count usage_hourly) hourly and $(count usage_daily) daily rollup rows," \
    "filled in ${filled%.*} s, $config build, $(nproc) cores"

$bin serve --role api --port "$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
rfc() { python3 -c "import datetime,sys; print(datetime.datetime.fromtimestamp(int(sys.argv[1])/1000, datetime.timezone.utc).isoformat(timespec='milliseconds').replace('+00:00','Z'))" "$1"; }
to=$(rfc "$now")
measure() { # label auth path
    local times
    times=$(for _ in $(seq 1 "$runs"); do
        curl -fsS -o "$work/answer.json" -w '%{time_total}\n' -H "Authorization: Bearer $2" "http://127.0.0.1:$port$3"
    done | sort -n)
    local rows jobs_sum
    rows=$(python3 -c "import json; d=json.load(open('$work/answer.json'))['data']; print(len(d), sum(r['jobs'] for r in d))")
    printf '%-44s median %6.1f ms  slowest %6.1f ms  (%s rows, %s jobs)\n' "$1" \
        "$(echo "$times" | sed -n "$(((runs + 1) / 2))p" | awk '{print $1 * 1000}')" "$(echo "$times" | tail -1 | awk '{print $1 * 1000}')" \
        ${rows}
}
for days in 30 366; do
    from=$(rfc $((now - days * 86400000)))
    for group in day model key; do
        measure "/v1/usage $days days by $group" "$key" "/v1/usage?from=$from&to=$to&group_by=$group"
    done
    measure "/admin/usage $days days by account" bench "/admin/usage?from=$from&to=$to&group_by=account"
done
if [ "$store" = sqlite ]; then
    scan_ms=$(sqlite3 -cmd ".timer on" "$db" "$scan" | grep -o 'real [0-9.]*' | awk '{print $2 * 1000}' || true)
    [ -z "${KEEP:-}" ] || cp "$db" "$KEEP"
else
    scan_ms=$(psql -qAt "$VIDEOGATE_DATABASE_URL" -c '\timing on' -c "$scan" | grep -o 'Time: [0-9.]*' | awk '{print $2}')
fi
echo "for comparison, the 366-day figures by day from a scan of the jobs table: ${scan_ms} ms"
