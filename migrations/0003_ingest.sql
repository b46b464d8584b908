-- Live ingest: the durable queue of threat IDs to fetch, and one record per run.

CREATE TABLE ingest_queue ( -- One row per threat ID to fetch from the console; an ID is marked done in the same transaction that stores its analysis.
    threat_id TEXT PRIMARY KEY NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'not_found', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0, -- requests made for it in its latest run
    last_status INTEGER, -- HTTP status of the latest attempt; NULL when no response came (connection error, timeout)
    last_error TEXT, -- why the latest attempt failed; NULL once done
    retryable INTEGER NOT NULL DEFAULT 1, -- 0/1: a later `ingest --queue` tries a failed ID again only when 1
    next_attempt_at TEXT, -- not before this time (ISO-8601 UTC); NULL = now
    enqueued_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    run_id INTEGER -- the run that last enqueued or worked on it (ingest_runs.run_id)
) WITHOUT ROWID;
CREATE INDEX ingest_queue_state ON ingest_queue(state, threat_id);

CREATE TABLE ingest_runs ( -- One row per ingest run: what it was asked, what it did, how it ended.
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    command TEXT NOT NULL, -- ingest, demo, sync
    source TEXT NOT NULL, -- where the IDs came from: a file, stdin, the queue, the console's threat list
    console TEXT, -- the console URL (never credentials)
    started_at TEXT NOT NULL,
    ended_at TEXT, -- NULL while running (or when the process was killed)
    status TEXT NOT NULL CHECK (status IN ('running', 'ok', 'partial', 'failed', 'aborted')),
    requested INTEGER NOT NULL DEFAULT 0, -- IDs taken from the queue for this run
    stored INTEGER NOT NULL DEFAULT 0, -- analyses written (new or replaced)
    unchanged INTEGER NOT NULL DEFAULT 0, -- same body as already stored
    not_found INTEGER NOT NULL DEFAULT 0, -- 404 from the console
    failed INTEGER NOT NULL DEFAULT 0, -- gave up after retries, or not retryable
    invalid_ids INTEGER NOT NULL DEFAULT 0, -- lines of the ID file that were not IDs
    retries INTEGER NOT NULL DEFAULT 0, -- requests repeated after a retryable failure
    requests INTEGER NOT NULL DEFAULT 0, -- HTTP requests made
    message TEXT, -- the reason for failed or aborted runs
    version TEXT NOT NULL -- s1ingest version
);
