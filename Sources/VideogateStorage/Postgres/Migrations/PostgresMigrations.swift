/// The PostgreSQL schema, as numbered migrations applied in order, each once, with the same
/// numbers, tables and columns as `SQLiteMigrations`.
///
/// Times are BIGINT milliseconds since 1970 UTC, as in SQLite. The partial unique indexes on
/// `ledger_entries` make "one hold and at most one capture or release per job" a database rule,
/// and the CHECKs on `balances` make a negative available balance impossible. `ledger_entries.seq`
/// stands in for SQLite's rowid: the order entries were written in.
enum PostgresMigrations {
    /// The key of the transaction-scoped advisory lock `migrate` takes, so replicas starting together
    /// apply the migrations one after the other ("videogat" in ASCII).
    static let lockKey: Int64 = 0x7669_6465_6F67_6174

    static let all: [(version: Int, name: String, statements: [String])] = [
        (
            1, "initial schema",
            [
                """
                CREATE TABLE accounts (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    plan TEXT NOT NULL,
                    daily_limit BIGINT NOT NULL,
                    webhook_secret TEXT NOT NULL,
                    created_at BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE api_keys (
                    id TEXT PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts(id),
                    environment TEXT NOT NULL,
                    name TEXT,
                    prefix TEXT NOT NULL,
                    hash TEXT NOT NULL UNIQUE,
                    created_at BIGINT NOT NULL,
                    revoked_at BIGINT
                )
                """,
                "CREATE INDEX api_keys_by_account ON api_keys(account_id)",
                """
                CREATE TABLE balances (
                    account_id TEXT NOT NULL REFERENCES accounts(id),
                    environment TEXT NOT NULL,
                    total BIGINT NOT NULL DEFAULT 0,
                    held BIGINT NOT NULL DEFAULT 0,
                    PRIMARY KEY (account_id, environment),
                    CHECK (held >= 0),
                    CHECK (total >= held)
                )
                """,
                """
                CREATE TABLE ledger_entries (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY,
                    id TEXT PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts(id),
                    environment TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    amount BIGINT NOT NULL,
                    job_id TEXT,
                    reason TEXT,
                    total_after BIGINT NOT NULL,
                    held_after BIGINT NOT NULL,
                    created_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX ledger_by_account ON ledger_entries(account_id, seq)",
                "CREATE UNIQUE INDEX ledger_one_hold_per_job ON ledger_entries(job_id) WHERE kind = 'hold'",
                "CREATE UNIQUE INDEX ledger_one_settlement_per_job ON ledger_entries(job_id) WHERE kind IN ('capture', 'release')",
                """
                CREATE TABLE jobs (
                    id TEXT PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts(id),
                    key_id TEXT NOT NULL,
                    environment TEXT NOT NULL,
                    model_id TEXT NOT NULL,
                    provider TEXT NOT NULL,
                    upstream_model TEXT NOT NULL,
                    mode TEXT NOT NULL,
                    prompt TEXT NOT NULL,
                    image_url TEXT,
                    image_key TEXT,
                    aspect_ratio TEXT NOT NULL,
                    duration BIGINT NOT NULL,
                    webhook_url TEXT,
                    metadata TEXT NOT NULL,
                    status TEXT NOT NULL,
                    progress BIGINT,
                    credits_reserved BIGINT NOT NULL,
                    credits_used BIGINT NOT NULL,
                    error_code TEXT,
                    error_message TEXT,
                    provider_job_id TEXT,
                    provider_request_id TEXT,
                    attempts BIGINT NOT NULL DEFAULT 0,
                    next_attempt_at BIGINT NOT NULL,
                    lease_owner TEXT,
                    lease_expires_at BIGINT,
                    deadline_at BIGINT NOT NULL,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    submitted_at BIGINT,
                    completed_at BIGINT,
                    expires_at BIGINT,
                    video_key TEXT,
                    thumbnail_key TEXT,
                    video_bytes BIGINT,
                    video_duration_ms BIGINT,
                    video_width BIGINT,
                    video_height BIGINT,
                    result_deleted BOOLEAN NOT NULL DEFAULT FALSE
                )
                """,
                "CREATE INDEX jobs_by_account ON jobs(account_id, id)",
                "CREATE INDEX jobs_by_status ON jobs(status, id)",
                "CREATE INDEX jobs_due ON jobs(next_attempt_at) WHERE status IN ('pending', 'processing')",
                "CREATE INDEX jobs_deadline ON jobs(deadline_at) WHERE status IN ('pending', 'processing')",
                "CREATE INDEX jobs_expiring ON jobs(expires_at) WHERE status = 'completed' AND NOT result_deleted",
                """
                CREATE TABLE idempotency_keys (
                    account_id TEXT NOT NULL,
                    key TEXT NOT NULL,
                    request_hash TEXT NOT NULL,
                    job_id TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    PRIMARY KEY (account_id, key)
                )
                """,
                """
                CREATE TABLE quota_buckets (
                    key_id TEXT NOT NULL,
                    bucket BIGINT NOT NULL,
                    count BIGINT NOT NULL,
                    PRIMARY KEY (key_id, bucket)
                )
                """,
            ]
        ),
        (
            2, "webhook outbox",
            // One delivery per job (its final state), written with that state; `webhook_attempts`
            // keeps every POST for the admin API.
            [
                """
                CREATE TABLE webhook_deliveries (
                    id TEXT PRIMARY KEY,
                    job_id TEXT NOT NULL UNIQUE REFERENCES jobs(id),
                    account_id TEXT NOT NULL REFERENCES accounts(id),
                    url TEXT NOT NULL,
                    event TEXT NOT NULL,
                    status TEXT NOT NULL,
                    attempt_count BIGINT NOT NULL DEFAULT 0,
                    next_attempt_at BIGINT NOT NULL,
                    lease_owner TEXT,
                    lease_expires_at BIGINT,
                    created_at BIGINT NOT NULL,
                    finished_at BIGINT
                )
                """,
                "CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending'",
                """
                CREATE TABLE webhook_attempts (
                    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id),
                    number BIGINT NOT NULL,
                    attempted_at BIGINT NOT NULL,
                    status_code BIGINT,
                    latency_ms BIGINT NOT NULL,
                    error TEXT,
                    PRIMARY KEY (delivery_id, number)
                )
                """,
            ]
        ),
        (
            3, "openai: videos deleted through /v1/videos",
            // Set by DELETE /v1/videos/{id}: the job leaves that surface's list (it stays on /v1/video).
            [
                "ALTER TABLE jobs ADD COLUMN openai_deleted_at BIGINT"
            ]
        ),
        (
            4, "queue: a lease token per claim",
            // Written afresh by every claim and cleared with the lease: renew, apply and release are
            // fenced by (id, lease_token), so a process whose lease lapsed and was claimed again
            // (by anyone, itself included) can no longer act under its old claim.
            [
                "ALTER TABLE jobs ADD COLUMN lease_token TEXT"
            ]
        ),
        (
            5, "test and live: idempotency keys per environment",
            // Idempotency keys become scoped to (account, environment, key), so that a test request
            // never replays into or conflicts with a live one; existing records take their job's
            // environment. The index serves job lists filtered by the key's environment.
            [
                "ALTER TABLE idempotency_keys ADD COLUMN environment TEXT",
                "UPDATE idempotency_keys i SET environment = j.environment FROM jobs j WHERE j.id = i.job_id",
                "UPDATE idempotency_keys SET environment = 'live' WHERE environment IS NULL",
                "ALTER TABLE idempotency_keys ALTER COLUMN environment SET NOT NULL",
                "ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey",
                "ALTER TABLE idempotency_keys ADD PRIMARY KEY (account_id, environment, key)",
                "CREATE INDEX jobs_by_account_environment ON jobs(account_id, environment, id)",
            ]
        ),
        (
            6, "housekeeping: deferred result deletes, purge indexes, job counters",
            // As in SQLite. Counter updates go to one of 16 shards at random, so that concurrent
            // transitions of many workers do not queue on one row lock; readers sum the shards.
            [
                "ALTER TABLE jobs ADD COLUMN result_delete_failures BIGINT NOT NULL DEFAULT 0",
                "ALTER TABLE jobs ADD COLUMN result_delete_retry_at BIGINT",
                "CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_at)",
                "CREATE INDEX quota_buckets_by_bucket ON quota_buckets(bucket)",
                "CREATE INDEX webhook_deliveries_finished ON webhook_deliveries(finished_at) WHERE status <> 'pending'",
                "CREATE INDEX balances_holding ON balances(environment, held) WHERE held > 0",
                """
                CREATE TABLE job_status_counts (
                    status TEXT NOT NULL,
                    shard INTEGER NOT NULL,
                    count BIGINT NOT NULL,
                    PRIMARY KEY (status, shard)
                )
                """,
                """
                INSERT INTO job_status_counts (status, shard, count)
                SELECT status, 0, COUNT(*) FROM jobs WHERE status IN ('completed', 'error') GROUP BY status
                """,
                """
                CREATE FUNCTION videogate_count_job_status() RETURNS trigger LANGUAGE plpgsql AS $$
                DECLARE
                    slot INTEGER := floor(random() * 16)::integer;
                BEGIN
                    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status IN ('completed', 'error') THEN
                        INSERT INTO job_status_counts (status, shard, count) VALUES (OLD.status, slot, -1)
                        ON CONFLICT (status, shard) DO UPDATE SET count = job_status_counts.count - 1;
                    END IF;
                    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status IN ('completed', 'error') THEN
                        INSERT INTO job_status_counts (status, shard, count) VALUES (NEW.status, slot, 1)
                        ON CONFLICT (status, shard) DO UPDATE SET count = job_status_counts.count + 1;
                    END IF;
                    RETURN NULL;
                END
                $$
                """,
                """
                CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs
                FOR EACH ROW WHEN (NEW.status IN ('completed', 'error')) EXECUTE FUNCTION videogate_count_job_status()
                """,
                """
                CREATE TRIGGER jobs_count_update AFTER UPDATE OF status ON jobs
                FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status) EXECUTE FUNCTION videogate_count_job_status()
                """,
                """
                CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs
                FOR EACH ROW WHEN (OLD.status IN ('completed', 'error')) EXECUTE FUNCTION videogate_count_job_status()
                """,
            ]
        ),
        (
            7, "fair claims: unfinished jobs by account",
            // Counts each account's jobs in flight at every claim (the per-account cap).
            [
                "CREATE INDEX jobs_unfinished_by_account ON jobs(account_id, status) WHERE status IN ('pending', 'processing')"
            ]
        ),
        (
            8, "queue estimates: recent run time per model",
            // As in SQLite.
            [
                """
                CREATE TABLE model_timings (
                    provider TEXT NOT NULL,
                    model_id TEXT NOT NULL,
                    run_ms BIGINT NOT NULL,
                    samples BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    PRIMARY KEY (provider, model_id)
                )
                """
            ]
        ),
        (
            9, "spend limit per key",
            // As in SQLite; the index carries the summed columns, so the sum reads the index only.
            [
                "ALTER TABLE api_keys ADD COLUMN spend_limit_daily BIGINT",
                "CREATE INDEX jobs_spend_by_key ON jobs(key_id, created_at) INCLUDE (status, credits_reserved, credits_used)",
            ]
        ),
        (
            10, "usage: hourly and daily rollups of jobs and charges",
            // As in SQLite: one row per (account, environment, creation hour or day, model, key),
            // changed with each hold, capture and release in their transaction, filled from the jobs
            // already stored.
            [
                """
                CREATE TABLE usage_hourly (
                    account_id TEXT NOT NULL,
                    environment TEXT NOT NULL,
                    hour BIGINT NOT NULL,
                    model_id TEXT NOT NULL,
                    key_id TEXT NOT NULL,
                    jobs BIGINT NOT NULL,
                    completed BIGINT NOT NULL,
                    failed BIGINT NOT NULL,
                    credits_charged BIGINT NOT NULL,
                    seconds_rendered BIGINT NOT NULL,
                    PRIMARY KEY (account_id, environment, hour, model_id, key_id)
                )
                """,
                "CREATE INDEX usage_hourly_by_hour ON usage_hourly(environment, hour)",
                """
                CREATE TABLE usage_daily (
                    account_id TEXT NOT NULL,
                    environment TEXT NOT NULL,
                    day BIGINT NOT NULL,
                    model_id TEXT NOT NULL,
                    key_id TEXT NOT NULL,
                    jobs BIGINT NOT NULL,
                    completed BIGINT NOT NULL,
                    failed BIGINT NOT NULL,
                    credits_charged BIGINT NOT NULL,
                    seconds_rendered BIGINT NOT NULL,
                    PRIMARY KEY (account_id, environment, day, model_id, key_id)
                )
                """,
                "CREATE INDEX usage_daily_by_day ON usage_daily(environment, day)",
                """
                INSERT INTO usage_hourly (account_id, environment, hour, model_id, key_id, jobs, completed, failed, credits_charged, seconds_rendered)
                SELECT account_id, environment, created_at / 3600000, model_id, key_id, COUNT(*),
                    SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END), SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN status = 'completed' THEN credits_used ELSE 0 END), SUM(CASE WHEN status = 'completed' THEN duration ELSE 0 END)
                FROM jobs GROUP BY account_id, environment, created_at / 3600000, model_id, key_id
                """,
                """
                INSERT INTO usage_daily (account_id, environment, day, model_id, key_id, jobs, completed, failed, credits_charged, seconds_rendered)
                SELECT account_id, environment, hour / 24, model_id, key_id, SUM(jobs), SUM(completed), SUM(failed), SUM(credits_charged),
                    SUM(seconds_rendered)
                FROM usage_hourly GROUP BY account_id, environment, hour / 24, model_id, key_id
                """,
            ]
        ),
        (
            11, "events: notify job changes",
            // Live status streams on every API process LISTEN on `videogate_jobs`. NOTIFY is
            // transactional: it is sent on commit, never for a rollback, and one per job per
            // transaction. Lease renewals change none of these columns and notify nobody; a claim or
            // a release changes the lease owner, which moves the queue positions of pending jobs.
            [
                """
                CREATE FUNCTION videogate_notify_job_change() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    PERFORM pg_notify('videogate_jobs', NEW.id);
                    RETURN NULL;
                END
                $$
                """,
                """
                CREATE TRIGGER jobs_notify_insert AFTER INSERT ON jobs
                FOR EACH ROW EXECUTE FUNCTION videogate_notify_job_change()
                """,
                """
                CREATE TRIGGER jobs_notify_update AFTER UPDATE ON jobs
                FOR EACH ROW WHEN (
                    NEW.status IS DISTINCT FROM OLD.status OR NEW.progress IS DISTINCT FROM OLD.progress
                    OR NEW.lease_owner IS DISTINCT FROM OLD.lease_owner)
                EXECUTE FUNCTION videogate_notify_job_change()
                """,
            ]
        ),
        (
            12, "provider routing: the credential a job is bound to, its routed model, credential health",
            [
                "ALTER TABLE jobs ADD COLUMN credential TEXT, ADD COLUMN credential_definition TEXT, ADD COLUMN routed_model TEXT",
                "CREATE INDEX jobs_in_flight_by_credential ON jobs(credential, status) WHERE status IN ('pending', 'processing')",
                """
                CREATE TABLE credential_health (
                    name TEXT PRIMARY KEY,
                    provider TEXT NOT NULL,
                    state TEXT NOT NULL,
                    consecutive_failures INTEGER NOT NULL,
                    open_seconds INTEGER NOT NULL,
                    opened_until BIGINT,
                    probe_until BIGINT,
                    last_error TEXT,
                    last_failure_at BIGINT,
                    failures_total BIGINT NOT NULL,
                    successes_total BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL
                )
                """,
            ]
        ),
        (
            13, "operator console: sessions",
            [
                """
                CREATE TABLE console_sessions (
                    id_hash TEXT PRIMARY KEY,
                    csrf_token TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    expires_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX console_sessions_by_expiry ON console_sessions(expires_at)",
            ]
        ),
        (14, "tracing: the submission's trace context", ["ALTER TABLE jobs ADD COLUMN trace_parent TEXT"]),
    ]
}
