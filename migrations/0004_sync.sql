-- Nightly sync: where each console's threat listing was last read up to.

CREATE TABLE sync_state ( -- One row per console and site filter: the watermark `s1ingest sync` lists from next time.
    console TEXT PRIMARY KEY NOT NULL, -- the console base URL, plus " sites=ID,ID" when the sync was limited to sites
    watermark TEXT NOT NULL, -- threatInfo.updatedAt (ISO-8601 UTC, six fractional digits): the next sync lists updatedAt >= this
    updated_at TEXT NOT NULL, -- when the watermark last moved
    run_id INTEGER -- the run (ingest_runs.run_id) whose committed analyses moved it
);
