#!/usr/bin/env bash
# Measures what a key's spend limit costs a submission: the sum over the key's jobs of the last
# 24 hours that the submit transaction reads for a key that has a limit (docs/lifecycle/spend.md),
# with N jobs of that key in the window and as many of other keys beside them.
#   SQLite:     python3's sqlite3 on a database that `videogate migrate` made (the same schema and index)
#   PostgreSQL: pgbench, when VIDEOGATE_TEST_POSTGRES_URL names a cluster (run under scripts/with-services)
# Usage: bench/spend-limit.sh [N ...]   (default: 1000 10000 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-1000 10000 100000}")
read -r -a sizes <<< "${sizes[*]}"
[ -x .build/debug/videogate ] || swift build --product videogate >/dev/null
bin=$PWD/.build/debug/videogate
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
now_ms=$(($(date +%s) * 1000))
sum_sql="SELECT COALESCE(SUM(CASE status WHEN 'completed' THEN credits_used WHEN 'error' THEN 0 ELSE credits_reserved END), 0) FROM jobs WHERE key_id = 'key_bench' AND created_at > $((now_ms - 86400000))"

echo "spend-limit sum, $(nproc) cores"
for n in "${sizes[@]}"; do
    data="$work/sqlite-$n"
    VIDEOGATE_DATA_DIR="$data" VIDEOGATE_LOG_LEVEL=error "$bin" migrate >/dev/null
    python3 - "$data/videogate.sqlite" "$n" "$now_ms" "$sum_sql" <<'PY'
import sqlite3, sys, time, random
path, n, now, sql = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
db = sqlite3.connect(path)
db.execute("INSERT INTO accounts VALUES ('acct_bench', 'bench', 'pro', 1000, 'whsec_x', ?)", (now,))
statuses = ["pending", "processing", "completed", "error"]
def rows():
    for i in range(2 * n):
        key = "key_bench" if i % 2 == 0 else "key_other%d" % (i % 97)
        created = now - random.randint(0, 2 * 86400000)  # half of them older than the window
        status = statuses[i % 4]
        used = 1500 if status == "completed" else 0
        yield ("req_%012d" % i, key, status, used, created, created, created)
db.executemany("""INSERT INTO jobs (id, account_id, key_id, environment, model_id, provider, upstream_model, mode, prompt,
    aspect_ratio, duration, metadata, status, credits_reserved, credits_used, next_attempt_at, deadline_at, created_at, updated_at)
    VALUES (?, 'acct_bench', ?, 'test', 'kling-v2.5-turbo-pro', 'sandbox', 'k', 'text-to-video', 'p', '16:9', 5, '{}', ?, 1500, ?, ?, ?, ?, ?)""",
    [(r[0], r[1], r[2], r[3], r[4], r[4] + 1800000, r[5], r[6]) for r in rows()])
db.commit()
db.execute("ANALYZE")
plan = " ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql))
runs = 200
started = time.perf_counter()
for _ in range(runs):
    total = db.execute(sql).fetchone()[0]
elapsed = (time.perf_counter() - started) / runs * 1000
in_window = db.execute("SELECT COUNT(*) FROM jobs WHERE key_id = 'key_bench' AND created_at > ?", (now - 86400000,)).fetchone()[0]
print(f"sqlite    {2 * n:>7} jobs, {in_window:>6} of the key in the window: {elapsed:8.3f} ms per sum  ({plan})")
PY
done

if [ -n "${VIDEOGATE_TEST_POSTGRES_URL:-}" ]; then
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    for n in "${sizes[@]}"; do
        db="spendbench$n"
        "$pg_bin/pgbench" -n -t 1 -f <(echo "DROP DATABASE IF EXISTS $db;") "$VIDEOGATE_TEST_POSTGRES_URL" >/dev/null 2>&1
        "$pg_bin/pgbench" -n -t 1 -f <(echo "CREATE DATABASE $db;") "$VIDEOGATE_TEST_POSTGRES_URL" >/dev/null
        url="${VIDEOGATE_TEST_POSTGRES_URL%/*}/$db"
        VIDEOGATE_DATABASE_URL="$url?sslmode=disable" VIDEOGATE_DATA_DIR="$work/pg-$n" VIDEOGATE_LOG_LEVEL=error "$bin" migrate >/dev/null
        cat > "$work/fill.sql" <<SQL
INSERT INTO accounts VALUES ('acct_bench', 'bench', 'pro', 1000, 'whsec_x', $now_ms);
INSERT INTO jobs (id, account_id, key_id, environment, model_id, provider, upstream_model, mode, prompt, aspect_ratio, duration, metadata,
    status, credits_reserved, credits_used, next_attempt_at, deadline_at, created_at, updated_at)
SELECT 'req_' || lpad(i::text, 12, '0'), 'acct_bench', CASE WHEN i % 2 = 0 THEN 'key_bench' ELSE 'key_other' || (i % 97) END, 'test',
    'kling-v2.5-turbo-pro', 'sandbox', 'k', 'text-to-video', 'p', '16:9', 5, '{}', (ARRAY['pending','processing','completed','error'])[i % 4 + 1],
    1500, CASE WHEN i % 4 = 2 THEN 1500 ELSE 0 END, c, c + 1800000, c, c
FROM (SELECT i, $now_ms - (random() * 2 * 86400000)::bigint AS c FROM generate_series(0, $((2 * n - 1))) i) s;
SQL
        "$pg_bin/pgbench" -n -t 1 -f "$work/fill.sql" "$url" >/dev/null
        "$pg_bin/pgbench" -n -t 1 -f <(echo "VACUUM ANALYZE jobs;") "$url" >/dev/null
        echo "$sum_sql;" > "$work/sum.sql"
        latency=$("$pg_bin/pgbench" -n -c 1 -T 5 -f "$work/sum.sql" "$url" | awk -F' = ' '/latency average/ {print $2}')
        printf "postgres  %7d jobs, %6s of the key in the window: %11s per sum\n" $((2 * n)) "~$((n / 2))" "$latency"
        "$pg_bin/pgbench" -n -t 1 -f <(echo "DROP DATABASE $db;") "$VIDEOGATE_TEST_POSTGRES_URL" >/dev/null 2>&1 || true
    done
fi
