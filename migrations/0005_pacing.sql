-- Pacing: the request budget each console showed, remembered between runs, and what each run paced at.

CREATE TABLE console_pace ( -- One row per console: the requests per second it accepted from this client when it last answered 429, so the next run starts near that pace instead of finding it again.
    console TEXT PRIMARY KEY NOT NULL, -- the console base URL
    budget REAL NOT NULL, -- requests per second the console accepted, measured between its 429s
    measured_at TEXT NOT NULL, -- when (ISO-8601 UTC)
    run_id INTEGER -- the run that measured it (ingest_runs.run_id)
) WITHOUT ROWID;

ALTER TABLE ingest_runs ADD COLUMN pace REAL /* requests per second the run was pacing at when it ended */;
ALTER TABLE ingest_runs ADD COLUMN budget REAL /* the console's budget in requests per second as measured from its 429s; NULL when none was measured */;
ALTER TABLE ingest_runs ADD COLUMN rate_limited INTEGER NOT NULL DEFAULT 0 /* 429 answers the run got */;
