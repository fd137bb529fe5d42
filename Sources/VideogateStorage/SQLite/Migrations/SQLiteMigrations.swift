/// The SQLite schema, as numbered migrations applied in order, each once.
///
/// Times are integer milliseconds since 1970 UTC. The partial unique indexes on
/// `ledger_entries` make "one hold and at most one capture or release per job" a database rule,
/// and the CHECKs on `balances` make a negative available balance impossible.
enum SQLiteMigrations {
    static let all: [(version: Int, name: String, sql: String)] = [
        (
            1, "initial schema",
            """
            CREATE TABLE accounts (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                plan TEXT NOT NULL,
                daily_limit INTEGER NOT NULL,
                webhook_secret TEXT NOT NULL,
                created_at INTEGER NOT NULL
            );
            CREATE TABLE api_keys (
                id TEXT PRIMARY KEY,
                account_id TEXT NOT NULL REFERENCES accounts(id),
                environment TEXT NOT NULL,
                name TEXT,
                prefix TEXT NOT NULL,
                hash TEXT NOT NULL UNIQUE,
                created_at INTEGER NOT NULL,
                revoked_at INTEGER
            );
            CREATE INDEX api_keys_by_account ON api_keys(account_id);
            CREATE TABLE balances (
                account_id TEXT NOT NULL REFERENCES accounts(id),
                environment TEXT NOT NULL,
                total INTEGER NOT NULL DEFAULT 0,
                held INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (account_id, environment),
                CHECK (held >= 0),
                CHECK (total >= held)
            );
            CREATE TABLE ledger_entries (
                id TEXT PRIMARY KEY,
                account_id TEXT NOT NULL REFERENCES accounts(id),
                environment TEXT NOT NULL,
                kind TEXT NOT NULL,
                amount INTEGER NOT NULL,
                job_id TEXT,
                reason TEXT,
                total_after INTEGER NOT NULL,
                held_after INTEGER NOT NULL,
                created_at INTEGER NOT NULL
            );
            CREATE INDEX ledger_by_account ON ledger_entries(account_id, id);
            CREATE UNIQUE INDEX ledger_one_hold_per_job ON ledger_entries(job_id) WHERE kind = 'hold';
            CREATE UNIQUE INDEX ledger_one_settlement_per_job ON ledger_entries(job_id) WHERE kind IN ('capture', 'release');
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
                duration INTEGER NOT NULL,
                webhook_url TEXT,
                metadata TEXT NOT NULL,
                status TEXT NOT NULL,
                progress INTEGER,
                credits_reserved INTEGER NOT NULL,
                credits_used INTEGER NOT NULL,
                error_code TEXT,
                error_message TEXT,
                provider_job_id TEXT,
                provider_request_id TEXT,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at INTEGER NOT NULL,
                lease_owner TEXT,
                lease_expires_at INTEGER,
                deadline_at INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                submitted_at INTEGER,
                completed_at INTEGER,
                expires_at INTEGER,
                video_key TEXT,
                thumbnail_key TEXT,
                video_bytes INTEGER,
                video_duration_ms INTEGER,
                video_width INTEGER,
                video_height INTEGER,
                result_deleted INTEGER NOT NULL DEFAULT 0
            );
            CREATE INDEX jobs_by_account ON jobs(account_id, id);
            CREATE INDEX jobs_by_status ON jobs(status, id);
            CREATE INDEX jobs_due ON jobs(next_attempt_at) WHERE status IN ('pending', 'processing');
            CREATE INDEX jobs_deadline ON jobs(deadline_at) WHERE status IN ('pending', 'processing');
            CREATE INDEX jobs_expiring ON jobs(expires_at) WHERE status = 'completed' AND result_deleted = 0;
            CREATE TABLE idempotency_keys (
                account_id TEXT NOT NULL,
                key TEXT NOT NULL,
                request_hash TEXT NOT NULL,
                job_id TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (account_id, key)
            );
            CREATE TABLE quota_buckets (
                key_id TEXT NOT NULL,
                bucket INTEGER NOT NULL,
                count INTEGER NOT NULL,
                PRIMARY KEY (key_id, bucket)
            );
            """
        ),
        (
            2, "webhook outbox",
            // One delivery per job (its final state), written with that state; `webhook_attempts`
            // keeps every POST for the admin API.
            """
            CREATE TABLE webhook_deliveries (
                id TEXT PRIMARY KEY,
                job_id TEXT NOT NULL UNIQUE REFERENCES jobs(id),
                account_id TEXT NOT NULL REFERENCES accounts(id),
                url TEXT NOT NULL,
                event TEXT NOT NULL,
                status TEXT NOT NULL,
                attempt_count INTEGER NOT NULL DEFAULT 0,
                next_attempt_at INTEGER NOT NULL,
                lease_owner TEXT,
                lease_expires_at INTEGER,
                created_at INTEGER NOT NULL,
                finished_at INTEGER
            );
            CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';
            CREATE TABLE webhook_attempts (
                delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id),
                number INTEGER NOT NULL,
                attempted_at INTEGER NOT NULL,
                status_code INTEGER,
                latency_ms INTEGER NOT NULL,
                error TEXT,
                PRIMARY KEY (delivery_id, number)
            );
            """
        ),
        (
            3, "openai: videos deleted through /v1/videos",
            // Set by DELETE /v1/videos/{id}: the job leaves that surface's list (it stays on /v1/video).
            """
            ALTER TABLE jobs ADD COLUMN openai_deleted_at INTEGER;
            """
        ),
        (
            4, "queue: a lease token per claim",
            // Written afresh by every claim and cleared with the lease: renew, apply and release are
            // fenced by (id, lease_token), so a process whose lease lapsed and was claimed again
            // (by anyone, itself included) can no longer act under its old claim.
            """
            ALTER TABLE jobs ADD COLUMN lease_token TEXT;
            """
        ),
        (
            5, "test and live: idempotency keys per environment",
            // Idempotency keys become scoped to (account, environment, key), so that a test request
            // never replays into or conflicts with a live one; existing records take their job's
            // environment. The index serves job lists filtered by the key's environment.
            """
            CREATE TABLE idempotency_keys_v5 (
                account_id TEXT NOT NULL,
                environment TEXT NOT NULL,
                key TEXT NOT NULL,
                request_hash TEXT NOT NULL,
                job_id TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (account_id, environment, key)
            );
            INSERT INTO idempotency_keys_v5 (account_id, environment, key, request_hash, job_id, created_at)
            SELECT i.account_id, COALESCE(j.environment, 'live'), i.key, i.request_hash, i.job_id, i.created_at
            FROM idempotency_keys i LEFT JOIN jobs j ON j.id = i.job_id;
            DROP TABLE idempotency_keys;
            ALTER TABLE idempotency_keys_v5 RENAME TO idempotency_keys;
            CREATE INDEX jobs_by_account_environment ON jobs(account_id, environment, id);
            """
        ),
        (
            6, "housekeeping: deferred result deletes, purge indexes, job counters",
            // A result whose delete failed waits until `result_delete_retry_at`. The purge deletes by
            // age through an index on each growing table. Finished jobs are counted by triggers in
            // the transaction of each change, so `/metrics` reads a few counter rows instead of
            // scanning `jobs`; `shard` spreads PostgreSQL's counter updates (one shard here).
            """
            ALTER TABLE jobs ADD COLUMN result_delete_failures INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE jobs ADD COLUMN result_delete_retry_at INTEGER;
            CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_at);
            CREATE INDEX quota_buckets_by_bucket ON quota_buckets(bucket);
            CREATE INDEX webhook_deliveries_finished ON webhook_deliveries(finished_at) WHERE status <> 'pending';
            CREATE INDEX balances_holding ON balances(environment, held) WHERE held > 0;
            CREATE TABLE job_status_counts (
                status TEXT NOT NULL,
                shard INTEGER NOT NULL,
                count INTEGER NOT NULL,
                PRIMARY KEY (status, shard)
            );
            INSERT INTO job_status_counts (status, shard, count)
                SELECT status, 0, COUNT(*) FROM jobs WHERE status IN ('completed', 'error') GROUP BY status;
            CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs WHEN NEW.status IN ('completed', 'error') BEGIN
                INSERT INTO job_status_counts (status, shard, count) VALUES (NEW.status, 0, 1)
                    ON CONFLICT (status, shard) DO UPDATE SET count = count + 1;
            END;
            CREATE TRIGGER jobs_count_update AFTER UPDATE OF status ON jobs WHEN NEW.status IS NOT OLD.status BEGIN
                UPDATE job_status_counts SET count = count - 1 WHERE status = OLD.status AND shard = 0;
                INSERT INTO job_status_counts (status, shard, count) SELECT NEW.status, 0, 1 WHERE NEW.status IN ('completed', 'error')
                    ON CONFLICT (status, shard) DO UPDATE SET count = count + 1;
            END;
            CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs WHEN OLD.status IN ('completed', 'error') BEGIN
                UPDATE job_status_counts SET count = count - 1 WHERE status = OLD.status AND shard = 0;
            END;
            """
        ),
        (
            7, "fair claims: unfinished jobs by account",
            // Counts each account's jobs in flight at every claim (the per-account cap).
            """
            CREATE INDEX jobs_unfinished_by_account ON jobs(account_id, status) WHERE status IN ('pending', 'processing');
            """
        ),
        (
            8, "queue estimates: recent run time per model",
            // One row per (provider, model), updated by the transaction that completes a job, so an
            // estimate reads a few rows instead of scanning finished jobs. `run_ms` is a weighted
            // mean (each completion weighs one fifth).
            """
            CREATE TABLE model_timings (
                provider TEXT NOT NULL,
                model_id TEXT NOT NULL,
                run_ms INTEGER NOT NULL,
                samples INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (provider, model_id)
            );
            """
        ),
        (
            9, "spend limit per key",
            // `spend_limit_daily`: credits, NULL for no limit. The index covers the sum that a
            // submission of a key with a limit reads (its jobs of the last 24 hours), and `GET /v1/account`.
            """
            ALTER TABLE api_keys ADD COLUMN spend_limit_daily INTEGER;
            CREATE INDEX jobs_spend_by_key ON jobs(key_id, created_at, status, credits_reserved, credits_used);
            """
        ),
        (
            10, "usage: hourly and daily rollups of jobs and charges",
            // One row per (account, environment, creation hour or day, model, key), changed with each
            // hold, capture and release in their transaction: `/v1/usage` reads whole days from
            // `usage_daily`, whole hours at the ends from `usage_hourly`. Filled from the jobs already stored.
            """
            CREATE TABLE usage_hourly (
                account_id TEXT NOT NULL,
                environment TEXT NOT NULL,
                hour INTEGER NOT NULL,
                model_id TEXT NOT NULL,
                key_id TEXT NOT NULL,
                jobs INTEGER NOT NULL,
                completed INTEGER NOT NULL,
                failed INTEGER NOT NULL,
                credits_charged INTEGER NOT NULL,
                seconds_rendered INTEGER NOT NULL,
                PRIMARY KEY (account_id, environment, hour, model_id, key_id)
            );
            CREATE INDEX usage_hourly_by_hour ON usage_hourly(environment, hour);
            CREATE TABLE usage_daily (
                account_id TEXT NOT NULL,
                environment TEXT NOT NULL,
                day INTEGER NOT NULL,
                model_id TEXT NOT NULL,
                key_id TEXT NOT NULL,
                jobs INTEGER NOT NULL,
                completed INTEGER NOT NULL,
                failed INTEGER NOT NULL,
                credits_charged INTEGER NOT NULL,
                seconds_rendered INTEGER NOT NULL,
                PRIMARY KEY (account_id, environment, day, model_id, key_id)
            );
            CREATE INDEX usage_daily_by_day ON usage_daily(environment, day);
            INSERT INTO usage_hourly (account_id, environment, hour, model_id, key_id, jobs, completed, failed, credits_charged, seconds_rendered)
            SELECT account_id, environment, created_at / 3600000, model_id, key_id, COUNT(*),
                SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END), SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END),
                SUM(CASE WHEN status = 'completed' THEN credits_used ELSE 0 END), SUM(CASE WHEN status = 'completed' THEN duration ELSE 0 END)
            FROM jobs GROUP BY account_id, environment, created_at / 3600000, model_id, key_id;
            INSERT INTO usage_daily (account_id, environment, day, model_id, key_id, jobs, completed, failed, credits_charged, seconds_rendered)
            SELECT account_id, environment, hour / 24, model_id, key_id, SUM(jobs), SUM(completed), SUM(failed), SUM(credits_charged),
                SUM(seconds_rendered)
            FROM usage_hourly GROUP BY account_id, environment, hour / 24, model_id, key_id;
            """
        ),
        (
            12, "provider routing: the credential a job is bound to, its routed model, credential health",
            """
            ALTER TABLE jobs ADD COLUMN credential TEXT;
            ALTER TABLE jobs ADD COLUMN credential_definition TEXT;
            ALTER TABLE jobs ADD COLUMN routed_model TEXT;
            CREATE INDEX jobs_in_flight_by_credential ON jobs(credential, status) WHERE status IN ('pending', 'processing');
            CREATE TABLE credential_health (
                name TEXT PRIMARY KEY,
                provider TEXT NOT NULL,
                state TEXT NOT NULL,
                consecutive_failures INTEGER NOT NULL,
                open_seconds INTEGER NOT NULL,
                opened_until INTEGER,
                probe_until INTEGER,
                last_error TEXT,
                last_failure_at INTEGER,
                failures_total INTEGER NOT NULL,
                successes_total INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            );
            """
        ),
        (
            13, "operator console: sessions",
            """
            CREATE TABLE console_sessions (
                id_hash TEXT PRIMARY KEY,
                csrf_token TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL
            );
            CREATE INDEX console_sessions_by_expiry ON console_sessions(expires_at);
            """
        ),
        (
            14, "tracing: the submission's trace context",
            """
            ALTER TABLE jobs ADD COLUMN trace_parent TEXT;
            """
        ),
    ]
}
