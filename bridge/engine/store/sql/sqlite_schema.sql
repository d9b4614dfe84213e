-- Schema of the SQLite engine store (schema version 1).
-- Table and column names follow assay v0.11.2 (engine-api §2.5); the extra columns and tables
-- (origin_id, timeout_at, workflow_signal_waits, workflow_side_effects, pid in engine_lock) carry
-- the corrections of compat-policy.md. Every statement is idempotent (IF NOT EXISTS).
-- Ids are plain rowids, not AUTOINCREMENT: the engine never deletes events, activities, timers
-- or signals, so the next id is always one past the highest ever given, without the
-- sqlite_sequence row every insert would also write (databases made with AUTOINCREMENT keep it,
-- to the same effect).

CREATE TABLE IF NOT EXISTS namespaces (
    name        TEXT PRIMARY KEY,
    created_at  REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS workflows (
    id                       TEXT PRIMARY KEY,
    namespace                TEXT NOT NULL DEFAULT 'main',
    run_id                   TEXT NOT NULL,
    workflow_type            TEXT NOT NULL,
    task_queue               TEXT NOT NULL DEFAULT 'default',
    status                   TEXT NOT NULL DEFAULT 'PENDING',
    input                    TEXT,
    result                   TEXT,
    error                    TEXT,
    parent_id                TEXT,
    origin_id                TEXT,
    claimed_by               TEXT,
    needs_dispatch           INTEGER NOT NULL DEFAULT 0,
    dispatch_claimed_by      TEXT,
    dispatch_last_heartbeat  REAL,
    created_at               REAL NOT NULL,
    updated_at               REAL NOT NULL,
    completed_at             REAL
);
CREATE INDEX IF NOT EXISTS workflows_dispatch ON workflows (task_queue, updated_at)
    WHERE needs_dispatch = 1 AND dispatch_claimed_by IS NULL;
CREATE INDEX IF NOT EXISTS workflows_lease ON workflows (dispatch_last_heartbeat)
    WHERE dispatch_claimed_by IS NOT NULL;
CREATE INDEX IF NOT EXISTS workflows_namespace ON workflows (namespace, created_at);
-- children only: a top-level workflow (no parent) writes no entry
DROP INDEX IF EXISTS workflows_parent;
CREATE INDEX IF NOT EXISTS workflows_children ON workflows (parent_id, created_at)
    WHERE parent_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS workflow_events (
    id           INTEGER PRIMARY KEY,
    workflow_id  TEXT NOT NULL REFERENCES workflows (id),
    seq          INTEGER NOT NULL,
    event_type   TEXT NOT NULL,
    payload      TEXT,
    timestamp    REAL NOT NULL,
    UNIQUE (workflow_id, seq)
);

CREATE TABLE IF NOT EXISTS workflow_activities (
    id                      INTEGER PRIMARY KEY,
    workflow_id             TEXT NOT NULL REFERENCES workflows (id),
    seq                     INTEGER NOT NULL,
    name                    TEXT NOT NULL,
    task_queue              TEXT NOT NULL DEFAULT 'default',
    input                   TEXT,
    status                  TEXT NOT NULL DEFAULT 'PENDING',
    result                  TEXT,
    error                   TEXT,
    attempt                 INTEGER NOT NULL DEFAULT 1,
    max_attempts            INTEGER NOT NULL DEFAULT 3,
    initial_interval_secs   REAL NOT NULL DEFAULT 1.0,
    backoff_coefficient     REAL NOT NULL DEFAULT 2.0,
    start_to_close_secs     REAL NOT NULL DEFAULT 300.0,
    heartbeat_timeout_secs  REAL,
    claimed_by              TEXT,
    scheduled_at            REAL NOT NULL,
    started_at              REAL,
    completed_at            REAL,
    last_heartbeat          REAL,
    timeout_at              REAL,
    UNIQUE (workflow_id, seq)
);
CREATE INDEX IF NOT EXISTS activities_claim ON workflow_activities (task_queue, status, scheduled_at);
CREATE INDEX IF NOT EXISTS activities_timeout ON workflow_activities (timeout_at)
    WHERE status = 'RUNNING';
CREATE INDEX IF NOT EXISTS activities_claimed_by ON workflow_activities (claimed_by)
    WHERE status = 'RUNNING';
CREATE INDEX IF NOT EXISTS activities_pending ON workflow_activities (scheduled_at)
    WHERE status = 'PENDING';

CREATE TABLE IF NOT EXISTS workflow_timers (
    id           INTEGER PRIMARY KEY,
    workflow_id  TEXT NOT NULL REFERENCES workflows (id),
    seq          INTEGER NOT NULL,
    fire_at      REAL NOT NULL,
    fired        INTEGER NOT NULL DEFAULT 0,
    UNIQUE (workflow_id, seq)
);
CREATE INDEX IF NOT EXISTS timers_due ON workflow_timers (fire_at) WHERE fired = 0;

CREATE TABLE IF NOT EXISTS workflow_signals (
    id           INTEGER PRIMARY KEY,
    workflow_id  TEXT NOT NULL REFERENCES workflows (id),
    name         TEXT NOT NULL,
    payload      TEXT,
    received_at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS signals_by_name ON workflow_signals (workflow_id, name);

CREATE TABLE IF NOT EXISTS workflow_signal_waits (
    workflow_id   TEXT NOT NULL REFERENCES workflows (id),
    name          TEXT NOT NULL,
    signal_count  INTEGER NOT NULL,
    PRIMARY KEY (workflow_id, name, signal_count)
);

CREATE TABLE IF NOT EXISTS workflow_side_effects (
    workflow_id  TEXT NOT NULL REFERENCES workflows (id),
    seq          INTEGER NOT NULL,
    PRIMARY KEY (workflow_id, seq)
);

CREATE TABLE IF NOT EXISTS workflow_schedules (
    namespace         TEXT NOT NULL DEFAULT 'main',
    name              TEXT NOT NULL,
    workflow_type     TEXT NOT NULL,
    cron_expr         TEXT NOT NULL,
    input             TEXT,
    task_queue        TEXT NOT NULL DEFAULT 'default',
    overlap_policy    TEXT NOT NULL DEFAULT 'skip',
    paused            INTEGER NOT NULL DEFAULT 0,
    last_run_at       REAL,
    next_run_at       REAL,
    last_workflow_id  TEXT,
    created_at        REAL NOT NULL,
    PRIMARY KEY (namespace, name)
);
CREATE INDEX IF NOT EXISTS schedules_due ON workflow_schedules (next_run_at) WHERE paused = 0;

CREATE TABLE IF NOT EXISTS workflow_workers (
    id                         TEXT PRIMARY KEY,
    namespace                  TEXT NOT NULL DEFAULT 'main',
    identity                   TEXT NOT NULL,
    task_queue                 TEXT NOT NULL,
    workflows                  TEXT,
    activities                 TEXT,
    max_concurrent_workflows   INTEGER NOT NULL DEFAULT 10,
    max_concurrent_activities  INTEGER NOT NULL DEFAULT 10,
    active_tasks               INTEGER NOT NULL DEFAULT 0,
    last_heartbeat             REAL NOT NULL,
    registered_at              REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS workers_heartbeat ON workflow_workers (last_heartbeat);
CREATE INDEX IF NOT EXISTS workers_namespace ON workflow_workers (namespace, registered_at);

CREATE TABLE IF NOT EXISTS api_keys (
    key_hash    TEXT PRIMARY KEY,
    prefix      TEXT NOT NULL,
    label       TEXT,
    created_at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS api_keys_prefix ON api_keys (prefix);

CREATE TABLE IF NOT EXISTS engine_lock (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    instance_id     TEXT NOT NULL,
    pid             INTEGER,
    hostname        TEXT,
    started_at      REAL NOT NULL,
    last_heartbeat  REAL NOT NULL
);
