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
            8, "fair claims: unfinished jobs by account",
            // Counts each account's jobs in flight at every claim (the per-account cap).
            """
            CREATE INDEX jobs_unfinished_by_account ON jobs(account_id, status) WHERE status IN ('pending', 'processing');
            """
        ),
    ]
}
