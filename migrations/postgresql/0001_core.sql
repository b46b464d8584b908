-- s1ingest on PostgreSQL: the same tables, keys, column names and views as the SQLite
-- schema (migrations/*.sql, through 0006_consoles), in one migration with native types:
-- IDs are text (they exceed 2^53), booleans boolean, counts bigint, times timestamptz
-- (microseconds, as SQLite's six fractional digits), the raw body json (its exact text, so
-- body->'data' works). Later changes are new numbered files here, beside SQLite's.
-- The threat child tables (detection_addresses ... custom_detection_rules) name their threat
-- without a FOREIGN KEY, as SQLite's writer runs without checking them: a checked key is a
-- trigger per row, three times the cost of the insert itself. The writer stores a threat and
-- its children in one transaction, replaces or deletes them together (prune too), and the
-- tests check that no child row lacks its threat.

CREATE TABLE schema_migrations ( -- One row per migration applied; the newest is the schema version.
    version bigint NOT NULL PRIMARY KEY,
    name text NOT NULL, -- the file in migrations/
    applied_at timestamptz NOT NULL
);

CREATE TABLE agents ( -- One row per agent: agentRealtimeInfo, the latest ingested state wins.
    agent_id text NOT NULL PRIMARY KEY, -- agentRealtimeInfo.agentId
    account_id text,
    account_name text,
    active_threats bigint,
    agent_computer_name text,
    agent_decommissioned_at timestamptz,
    agent_domain text,
    agent_infected boolean,
    agent_is_active boolean,
    agent_is_decommissioned boolean,
    agent_machine_type text,
    agent_mitigation_mode text,
    agent_network_status text,
    agent_os_name text,
    agent_os_revision text,
    agent_os_type text,
    agent_uuid text,
    agent_version text,
    group_id text,
    group_name text,
    operational_state text,
    reboot_required boolean,
    scan_aborted_at timestamptz,
    scan_finished_at timestamptz,
    scan_started_at timestamptz,
    scan_status text,
    site_id text,
    site_name text,
    storage_name text,
    storage_type text,
    user_actions_needed text, -- JSON array as sent
    last_threat_id text, -- the threat whose analysis last updated this row
    first_ingested_at timestamptz NOT NULL,
    last_ingested_at timestamptz NOT NULL,
    console text NOT NULL DEFAULT 'default' -- the console the agent was read from (consoles.console)
);
CREATE INDEX agents_site ON agents(site_id);
CREATE INDEX agents_group ON agents(group_id);
CREATE INDEX agents_console ON agents(console);

CREATE TABLE interfaces ( -- An agent's network interfaces (agentRealtimeInfo.networkInterfaces), replaced whenever the agent is ingested.
    agent_id text NOT NULL REFERENCES agents(agent_id) ON DELETE CASCADE,
    interface_id text NOT NULL, -- networkInterfaces[].id
    position bigint NOT NULL, -- order in the array
    name text,
    mac text, -- networkInterfaces[].physical, upper-case as sent; NULL when empty
    PRIMARY KEY (agent_id, interface_id)
);

CREATE TABLE interface_addresses ( -- One row per address of an interface (inet and inet6); empty strings are dropped.
    agent_id text NOT NULL,
    interface_id text NOT NULL,
    family bigint NOT NULL CHECK (family IN (4, 6)), -- 4 from inet, 6 from inet6
    address text NOT NULL,
    PRIMARY KEY (agent_id, interface_id, family, address),
    FOREIGN KEY (agent_id, interface_id) REFERENCES interfaces(agent_id, interface_id) ON DELETE CASCADE
);
CREATE INDEX interface_addresses_address ON interface_addresses(address);

CREATE TABLE threats ( -- One row per threat: every scalar of threatInfo, the agent at detection (detection_*), containerInfo (container_*), kubernetesInfo (kubernetes_*), ecsInfo (ecs_*).
    threat_id text NOT NULL PRIMARY KEY, -- threatInfo.threatId
    agent_id text REFERENCES agents(agent_id), -- agentRealtimeInfo.agentId
    analyst_verdict text,
    analyst_verdict_description text,
    automatically_resolved boolean,
    browser_type text,
    certificate_id text,
    classification text,
    classification_source text,
    cloud_files_hash_verdict text,
    collection_id text,
    confidence_level text,
    created_at timestamptz,
    detection_type text,
    external_ticket_exists boolean,
    external_ticket_id text,
    failed_actions boolean,
    file_extension text,
    file_extension_type text,
    file_path text,
    file_size bigint,
    file_verification_type text,
    identified_at timestamptz,
    incident_status text,
    incident_status_description text,
    initiated_by text,
    initiated_by_description text,
    initiating_user_id text,
    initiating_username text,
    is_fileless boolean,
    is_valid_certificate boolean,
    macro_modules text, -- JSON when not a plain string
    malicious_process_arguments text,
    md5 text,
    mitigated_preemptively boolean,
    mitigation_status text, -- threatInfo.mitigationStatus (a string; the actions are in mitigations)
    mitigation_status_description text,
    originator_process text,
    pending_actions boolean,
    process_user text,
    publisher_name text,
    reached_events_limit boolean,
    reboot_required boolean,
    root_process_upn text,
    sha1 text,
    sha256 text,
    storyline text,
    threat_name text,
    updated_at timestamptz,
    detection_account_id text, -- agentDetectionInfo: the agent as it was at detection
    detection_account_name text,
    detection_agent_detection_state text,
    detection_agent_domain text,
    detection_agent_ip_v4 text, -- comma list as sent; one row per address in detection_addresses
    detection_agent_ip_v6 text,
    detection_agent_last_logged_in_upn text,
    detection_agent_last_logged_in_user_mail text,
    detection_agent_last_logged_in_user_name text,
    detection_agent_mitigation_mode text,
    detection_agent_os_name text,
    detection_agent_os_revision text,
    detection_agent_registered_at timestamptz,
    detection_agent_uuid text,
    detection_agent_version text,
    detection_asset_version text,
    detection_cloud_providers text, -- JSON object as sent
    detection_external_ip text,
    detection_group_id text,
    detection_group_name text,
    detection_site_id text,
    detection_site_name text,
    container_id text,
    container_image text,
    container_is_container_quarantine boolean,
    container_labels text, -- JSON as sent
    container_name text,
    kubernetes_cluster text,
    kubernetes_controller_kind text,
    kubernetes_controller_labels text, -- JSON as sent
    kubernetes_controller_name text,
    kubernetes_is_container_quarantine boolean,
    kubernetes_namespace text,
    kubernetes_namespace_labels text, -- JSON as sent
    kubernetes_node text,
    kubernetes_node_labels text, -- JSON as sent
    kubernetes_pod text,
    kubernetes_pod_labels text, -- JSON as sent
    ecs_cluster_name text,
    ecs_service_arn text,
    ecs_service_name text,
    ecs_task_arn text,
    ecs_task_availability_zone text,
    ecs_task_definition_arn text,
    ecs_task_definition_family text,
    ecs_task_definition_revision text,
    ecs_type text,
    ecs_version text,
    first_ingested_at timestamptz NOT NULL, -- when s1ingest first stored this threat
    last_ingested_at timestamptz NOT NULL, -- when s1ingest last read a document for it (changed or not)
    console text NOT NULL DEFAULT 'default' -- the console the threat was read from (consoles.console)
);
CREATE INDEX threats_agent ON threats(agent_id);
CREATE INDEX threats_created ON threats(created_at);
CREATE INDEX threats_updated ON threats(updated_at);
CREATE INDEX threats_sha1 ON threats(sha1);
CREATE INDEX threats_console ON threats(console);

CREATE TABLE detection_addresses ( -- The detection-time agentIpV4/agentIpV6 comma lists, one row per address.
    threat_id text NOT NULL, -- threats.threat_id
    family bigint NOT NULL CHECK (family IN (4, 6)),
    position bigint NOT NULL, -- order in its list
    address text NOT NULL,
    PRIMARY KEY (threat_id, family, position)
);

CREATE TABLE mitigations ( -- One row per data.mitigationStatus element (an action taken on the threat).
    threat_id text NOT NULL, -- threats.threat_id
    position bigint NOT NULL, -- order in the array
    action text, -- quarantine, kill, remediate, rollback, ...
    status text, -- success, failed, pending, ...
    agent_supports_report boolean,
    group_not_found boolean,
    last_update timestamptz,
    latest_report text, -- NULL when null or ""
    mitigation_ended_at timestamptz,
    mitigation_started_at timestamptz,
    report_id text,
    actions_failed bigint, -- actionsCounters.failed; the five counters are NULL when actionsCounters is null
    actions_not_found bigint,
    actions_pending_reboot bigint,
    actions_success bigint,
    actions_total bigint,
    PRIMARY KEY (threat_id, position)
);

CREATE TABLE detection_engines ( -- threatInfo.detectionEngines: the engines that detected the threat.
    threat_id text NOT NULL, -- threats.threat_id
    position bigint NOT NULL,
    engine_key text, -- detectionEngines[].key, e.g. pre_execution
    title text, -- detectionEngines[].title, e.g. On-Write Static AI
    PRIMARY KEY (threat_id, position)
);

CREATE TABLE engines ( -- threatInfo.engines: the plain list of engine names.
    threat_id text NOT NULL, -- threats.threat_id
    position bigint NOT NULL,
    engine text NOT NULL,
    PRIMARY KEY (threat_id, position)
);

CREATE TABLE indicators ( -- data.indicators: behavioural indicators of the threat.
    threat_id text NOT NULL, -- threats.threat_id
    position bigint NOT NULL,
    category text,
    category_id bigint,
    description text,
    ids text, -- JSON array of indicator ids as sent
    PRIMARY KEY (threat_id, position)
);

CREATE TABLE indicator_tactics ( -- indicators[].tactics: MITRE ATT&CK tactics, one row each.
    threat_id text NOT NULL, -- threats.threat_id
    indicator_position bigint NOT NULL,
    position bigint NOT NULL,
    name text,
    source text,
    PRIMARY KEY (threat_id, indicator_position, position)
);

CREATE TABLE indicator_techniques ( -- indicators[].tactics[].techniques: MITRE ATT&CK techniques, one row each.
    threat_id text NOT NULL, -- threats.threat_id
    indicator_position bigint NOT NULL,
    tactic_position bigint NOT NULL,
    position bigint NOT NULL,
    tactic text, -- the tactic's name, repeated so one GROUP BY answers "top techniques per tactic"
    name text, -- technique id, e.g. T1059
    link text,
    PRIMARY KEY (threat_id, indicator_position, tactic_position, position)
);

CREATE TABLE whitening_options ( -- data.whiteningOptions: how the threat may be excluded (hash, path, ...).
    threat_id text NOT NULL, -- threats.threat_id
    option text NOT NULL,
    PRIMARY KEY (threat_id, option)
);

CREATE TABLE custom_detection_rules ( -- data.customDetectionRules, each element kept as JSON (no public sample of one exists yet).
    threat_id text NOT NULL, -- threats.threat_id
    position bigint NOT NULL,
    rule text NOT NULL, -- the element as JSON; reach fields with rule::json->>'name'
    PRIMARY KEY (threat_id, position)
);

CREATE TABLE raw_analyses ( -- Each threat's latest analysis body exactly as received; body->'data' reaches any key not modelled above.
    threat_id text NOT NULL PRIMARY KEY REFERENCES threats(threat_id) ON DELETE CASCADE,
    body json NOT NULL, -- the {"data": {...}} document, byte for byte
    source text, -- where it came from: file:line, file[index] or the console URL
    ingested_at timestamptz NOT NULL -- when this body was stored
);
-- Bodies are stored uncompressed, as in SQLite: compressing each one cost a third of an import.
ALTER TABLE raw_analyses ALTER COLUMN body SET STORAGE EXTERNAL;

-- Several consoles in one database (SQLite's 0006_consoles).

CREATE TABLE consoles ( -- One row per console the database holds data from: its name (used in every table's console column and on the command line) and URL.
    console text NOT NULL PRIMARY KEY, -- the name: [consoles.NAME] of the consoles file, else 'default'
    url text UNIQUE, -- the console base URL (never credentials); NULL while only imported files named it
    first_seen_at timestamptz NOT NULL, -- when a run first used it
    last_seen_at timestamptz NOT NULL -- when a run last used it
);

-- Live ingest: the durable queue of threat IDs to fetch, and one record per run.

CREATE TABLE ingest_queue ( -- One row per threat ID to fetch from the console; an ID is marked done in the same transaction that stores its analysis.
    threat_id text NOT NULL PRIMARY KEY,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'not_found', 'failed')),
    attempts bigint NOT NULL DEFAULT 0, -- requests made for it in its latest run
    last_status bigint, -- HTTP status of the latest attempt; NULL when no response came (connection error, timeout)
    last_error text, -- why the latest attempt failed; NULL once done
    retryable boolean NOT NULL DEFAULT true, -- a later `ingest --queue` tries a failed ID again only when true
    next_attempt_at timestamptz, -- not before this time; NULL = now
    enqueued_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    run_id bigint, -- the run that last enqueued or worked on it (ingest_runs.run_id)
    console text NOT NULL DEFAULT 'default', -- the console to fetch it from (consoles.console)
    lease_owner text, -- the worker that claimed it (host:pid:run), while it fetches it; NULL when unclaimed
    lease_expires_at timestamptz -- when the claim lapses: a killed worker's IDs return to the queue then
);
CREATE INDEX ingest_queue_state ON ingest_queue(state, threat_id);
CREATE INDEX ingest_queue_console ON ingest_queue(console, state, threat_id);

CREATE TABLE ingest_runs ( -- One row per ingest run: what it was asked, what it did, how it ended.
    run_id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    command text NOT NULL, -- ingest, demo, sync
    source text NOT NULL, -- where the IDs came from: a file, stdin, the queue, the console's threat list
    console_url text, -- the console URL (never credentials)
    started_at timestamptz NOT NULL,
    ended_at timestamptz, -- NULL while running (or when the process was killed)
    status text NOT NULL CHECK (status IN ('running', 'ok', 'partial', 'failed', 'aborted')),
    requested bigint NOT NULL DEFAULT 0, -- IDs taken from the queue for this run
    stored bigint NOT NULL DEFAULT 0, -- analyses written (new or replaced)
    unchanged bigint NOT NULL DEFAULT 0, -- same body as already stored
    not_found bigint NOT NULL DEFAULT 0, -- 404 from the console
    failed bigint NOT NULL DEFAULT 0, -- gave up after retries, or not retryable
    invalid_ids bigint NOT NULL DEFAULT 0, -- lines of the ID file that were not IDs
    retries bigint NOT NULL DEFAULT 0, -- requests repeated after a retryable failure
    requests bigint NOT NULL DEFAULT 0, -- HTTP requests made
    message text, -- the reason for failed or aborted runs
    version text NOT NULL, -- s1ingest version
    pace double precision, -- requests per second the run was pacing at when it ended
    budget double precision, -- the console's budget in requests per second as measured from its 429s; NULL when none was measured
    rate_limited bigint NOT NULL DEFAULT 0, -- 429 answers the run got
    console text, -- the console's name (consoles.console); NULL for runs that read no console
    conflicts bigint NOT NULL DEFAULT 0 -- analyses not written: their threat or agent is stored for another console
);
CREATE INDEX ingest_runs_console ON ingest_runs(console, run_id);

-- Nightly sync: where each console's threat listing was last read up to.

CREATE TABLE sync_state ( -- One row per console and site filter: the watermark `s1ingest sync` lists from next time.
    sync_key text NOT NULL PRIMARY KEY, -- the console base URL, plus " sites=ID,ID" when the sync was limited to sites
    watermark timestamptz NOT NULL, -- threatInfo.updatedAt: the next sync lists updatedAt >= this
    updated_at timestamptz NOT NULL, -- when the watermark last moved
    run_id bigint, -- the run (ingest_runs.run_id) whose committed analyses moved it
    console text NOT NULL DEFAULT 'default' -- the console's name (consoles.console)
);

-- Pacing: the request budget each console showed, remembered between runs.

CREATE TABLE console_pace ( -- One row per console: the requests per second it accepted from this client when it last answered 429, so the next run starts near that pace instead of finding it again.
    console text NOT NULL PRIMARY KEY, -- the console base URL
    budget double precision NOT NULL, -- requests per second the console accepted, measured between its 429s
    measured_at timestamptz NOT NULL, -- when
    run_id bigint -- the run that measured it (ingest_runs.run_id)
);
