-- s1ingest core schema: one SentinelOne threat analysis
-- (GET /web/api/v2.1/private/threats/{id}/analysis) flattened into tables.
-- Column names are the snake_case of the JSON keys. IDs are TEXT (they exceed 2^53),
-- booleans are 0/1, timestamps are ISO-8601 UTC TEXT with six fractional digits.
-- Child tables are WITHOUT ROWID (one B-tree each) and secondary indexes are few: every
-- index costs a B-tree insert per row on import, while GROUP BYs and rare lookups over
-- tables of this size scan in milliseconds. Add an index in a later migration when a
-- query needs it.

PRAGMA application_id = 1395738951; -- 0x53314947, "S1IG": marks the file as an s1ingest database

CREATE TABLE schema_migrations ( -- One row per migration applied; PRAGMA user_version holds the newest.
    version INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL, -- the file in migrations/
    applied_at TEXT NOT NULL
);

CREATE TABLE agents ( -- One row per agent: agentRealtimeInfo, the latest ingested state wins.
    agent_id TEXT PRIMARY KEY NOT NULL, -- agentRealtimeInfo.agentId
    account_id TEXT,
    account_name TEXT,
    active_threats INTEGER,
    agent_computer_name TEXT,
    agent_decommissioned_at TEXT,
    agent_domain TEXT,
    agent_infected INTEGER,
    agent_is_active INTEGER,
    agent_is_decommissioned INTEGER,
    agent_machine_type TEXT,
    agent_mitigation_mode TEXT,
    agent_network_status TEXT,
    agent_os_name TEXT,
    agent_os_revision TEXT,
    agent_os_type TEXT,
    agent_uuid TEXT,
    agent_version TEXT,
    group_id TEXT,
    group_name TEXT,
    operational_state TEXT,
    reboot_required INTEGER,
    scan_aborted_at TEXT,
    scan_finished_at TEXT,
    scan_started_at TEXT,
    scan_status TEXT,
    site_id TEXT,
    site_name TEXT,
    storage_name TEXT,
    storage_type TEXT,
    user_actions_needed TEXT, -- JSON array as sent
    last_threat_id TEXT, -- the threat whose analysis last updated this row
    first_ingested_at TEXT NOT NULL,
    last_ingested_at TEXT NOT NULL
);
CREATE INDEX agents_site ON agents(site_id);
CREATE INDEX agents_group ON agents(group_id);

CREATE TABLE interfaces ( -- An agent's network interfaces (agentRealtimeInfo.networkInterfaces), replaced whenever the agent is ingested.
    agent_id TEXT NOT NULL REFERENCES agents(agent_id) ON DELETE CASCADE,
    interface_id TEXT NOT NULL, -- networkInterfaces[].id
    position INTEGER NOT NULL, -- order in the array
    name TEXT,
    mac TEXT, -- networkInterfaces[].physical, upper-case as sent; NULL when empty
    PRIMARY KEY (agent_id, interface_id)
) WITHOUT ROWID;

CREATE TABLE interface_addresses ( -- One row per address of an interface (inet and inet6); empty strings are dropped.
    agent_id TEXT NOT NULL,
    interface_id TEXT NOT NULL,
    family INTEGER NOT NULL CHECK (family IN (4, 6)), -- 4 from inet, 6 from inet6
    address TEXT NOT NULL,
    PRIMARY KEY (agent_id, interface_id, family, address),
    FOREIGN KEY (agent_id, interface_id) REFERENCES interfaces(agent_id, interface_id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX interface_addresses_address ON interface_addresses(address);

CREATE TABLE threats ( -- One row per threat: every scalar of threatInfo, the agent at detection (detection_*), containerInfo (container_*), kubernetesInfo (kubernetes_*), ecsInfo (ecs_*).
    threat_id TEXT PRIMARY KEY NOT NULL, -- threatInfo.threatId
    agent_id TEXT REFERENCES agents(agent_id), -- agentRealtimeInfo.agentId
    analyst_verdict TEXT,
    analyst_verdict_description TEXT,
    automatically_resolved INTEGER,
    browser_type TEXT,
    certificate_id TEXT,
    classification TEXT,
    classification_source TEXT,
    cloud_files_hash_verdict TEXT,
    collection_id TEXT,
    confidence_level TEXT,
    created_at TEXT,
    detection_type TEXT,
    external_ticket_exists INTEGER,
    external_ticket_id TEXT,
    failed_actions INTEGER,
    file_extension TEXT,
    file_extension_type TEXT,
    file_path TEXT,
    file_size INTEGER,
    file_verification_type TEXT,
    identified_at TEXT,
    incident_status TEXT,
    incident_status_description TEXT,
    initiated_by TEXT,
    initiated_by_description TEXT,
    initiating_user_id TEXT,
    initiating_username TEXT,
    is_fileless INTEGER,
    is_valid_certificate INTEGER,
    macro_modules TEXT, -- JSON when not a plain string
    malicious_process_arguments TEXT,
    md5 TEXT,
    mitigated_preemptively INTEGER,
    mitigation_status TEXT, -- threatInfo.mitigationStatus (a string; the actions are in mitigations)
    mitigation_status_description TEXT,
    originator_process TEXT,
    pending_actions INTEGER,
    process_user TEXT,
    publisher_name TEXT,
    reached_events_limit INTEGER,
    reboot_required INTEGER,
    root_process_upn TEXT,
    sha1 TEXT,
    sha256 TEXT,
    storyline TEXT,
    threat_name TEXT,
    updated_at TEXT,
    detection_account_id TEXT, -- agentDetectionInfo: the agent as it was at detection
    detection_account_name TEXT,
    detection_agent_detection_state TEXT,
    detection_agent_domain TEXT,
    detection_agent_ip_v4 TEXT, -- comma list as sent; one row per address in detection_addresses
    detection_agent_ip_v6 TEXT,
    detection_agent_last_logged_in_upn TEXT,
    detection_agent_last_logged_in_user_mail TEXT,
    detection_agent_last_logged_in_user_name TEXT,
    detection_agent_mitigation_mode TEXT,
    detection_agent_os_name TEXT,
    detection_agent_os_revision TEXT,
    detection_agent_registered_at TEXT,
    detection_agent_uuid TEXT,
    detection_agent_version TEXT,
    detection_asset_version TEXT,
    detection_cloud_providers TEXT, -- JSON object as sent
    detection_external_ip TEXT,
    detection_group_id TEXT,
    detection_group_name TEXT,
    detection_site_id TEXT,
    detection_site_name TEXT,
    container_id TEXT,
    container_image TEXT,
    container_is_container_quarantine INTEGER,
    container_labels TEXT, -- JSON as sent
    container_name TEXT,
    kubernetes_cluster TEXT,
    kubernetes_controller_kind TEXT,
    kubernetes_controller_labels TEXT, -- JSON as sent
    kubernetes_controller_name TEXT,
    kubernetes_is_container_quarantine INTEGER,
    kubernetes_namespace TEXT,
    kubernetes_namespace_labels TEXT, -- JSON as sent
    kubernetes_node TEXT,
    kubernetes_node_labels TEXT, -- JSON as sent
    kubernetes_pod TEXT,
    kubernetes_pod_labels TEXT, -- JSON as sent
    ecs_cluster_name TEXT,
    ecs_service_arn TEXT,
    ecs_service_name TEXT,
    ecs_task_arn TEXT,
    ecs_task_availability_zone TEXT,
    ecs_task_definition_arn TEXT,
    ecs_task_definition_family TEXT,
    ecs_task_definition_revision TEXT,
    ecs_type TEXT,
    ecs_version TEXT,
    first_ingested_at TEXT NOT NULL, -- when s1ingest first stored this threat
    last_ingested_at TEXT NOT NULL -- when s1ingest last read a document for it (changed or not)
);
CREATE INDEX threats_agent ON threats(agent_id);
CREATE INDEX threats_created ON threats(created_at);
CREATE INDEX threats_updated ON threats(updated_at);
CREATE INDEX threats_sha1 ON threats(sha1);

CREATE TABLE detection_addresses ( -- The detection-time agentIpV4/agentIpV6 comma lists, one row per address.
    threat_id TEXT NOT NULL REFERENCES threats(threat_id) ON DELETE CASCADE,
    family INTEGER NOT NULL CHECK (family IN (4, 6)),
    position INTEGER NOT NULL, -- order in its list
    address TEXT NOT NULL,
    PRIMARY KEY (threat_id, family, position)
) WITHOUT ROWID;

CREATE TABLE mitigations ( -- One row per data.mitigationStatus element (an action taken on the threat).
    threat_id TEXT NOT NULL REFERENCES threats(threat_id) ON DELETE CASCADE,
    position INTEGER NOT NULL, -- order in the array
    action TEXT, -- quarantine, kill, remediate, rollback, ...
    status TEXT, -- success, failed, pending, ...
    agent_supports_report INTEGER,
    group_not_found INTEGER,
    last_update TEXT,
    latest_report TEXT, -- NULL when null or ""
    mitigation_ended_at TEXT,
    mitigation_started_at TEXT,
    report_id TEXT,
    actions_failed INTEGER, -- actionsCounters.failed; the five counters are NULL when actionsCounters is null
    actions_not_found INTEGER,
    actions_pending_reboot INTEGER,
    actions_success INTEGER,
    actions_total INTEGER,
    PRIMARY KEY (threat_id, position)
) WITHOUT ROWID;

CREATE TABLE detection_engines ( -- threatInfo.detectionEngines: the engines that detected the threat.
    threat_id TEXT NOT NULL REFERENCES threats(threat_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    engine_key TEXT, -- detectionEngines[].key, e.g. pre_execution
    title TEXT, -- detectionEngines[].title, e.g. On-Write Static AI
    PRIMARY KEY (threat_id, position)
) WITHOUT ROWID;

CREATE TABLE engines ( -- threatInfo.engines: the plain list of engine names.
    threat_id TEXT NOT NULL REFERENCES threats(threat_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    engine TEXT NOT NULL,
    PRIMARY KEY (threat_id, position)
) WITHOUT ROWID;

CREATE TABLE indicators ( -- data.indicators: behavioural indicators of the threat.
    threat_id TEXT NOT NULL REFERENCES threats(threat_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    category TEXT,
    category_id INTEGER,
    description TEXT,
    ids TEXT, -- JSON array of indicator ids as sent
    PRIMARY KEY (threat_id, position)
) WITHOUT ROWID;

CREATE TABLE indicator_tactics ( -- indicators[].tactics: MITRE ATT&CK tactics, one row each.
    threat_id TEXT NOT NULL REFERENCES threats(threat_id) ON DELETE CASCADE,
    indicator_position INTEGER NOT NULL,
    position INTEGER NOT NULL,
    name TEXT,
    source TEXT,
    PRIMARY KEY (threat_id, indicator_position, position)
) WITHOUT ROWID;

CREATE TABLE indicator_techniques ( -- indicators[].tactics[].techniques: MITRE ATT&CK techniques, one row each.
    threat_id TEXT NOT NULL REFERENCES threats(threat_id) ON DELETE CASCADE,
    indicator_position INTEGER NOT NULL,
    tactic_position INTEGER NOT NULL,
    position INTEGER NOT NULL,
    tactic TEXT, -- the tactic's name, repeated so one GROUP BY answers "top techniques per tactic"
    name TEXT, -- technique id, e.g. T1059
    link TEXT,
    PRIMARY KEY (threat_id, indicator_position, tactic_position, position)
) WITHOUT ROWID;

CREATE TABLE whitening_options ( -- data.whiteningOptions: how the threat may be excluded (hash, path, ...).
    threat_id TEXT NOT NULL REFERENCES threats(threat_id) ON DELETE CASCADE,
    option TEXT NOT NULL,
    PRIMARY KEY (threat_id, option)
) WITHOUT ROWID;

CREATE TABLE custom_detection_rules ( -- data.customDetectionRules, each element kept as JSON (no public sample of one exists yet).
    threat_id TEXT NOT NULL REFERENCES threats(threat_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    rule TEXT NOT NULL, -- the element as JSON; reach fields with json_extract(rule, '$.name')
    PRIMARY KEY (threat_id, position)
) WITHOUT ROWID;

CREATE TABLE raw_analyses ( -- Each threat's latest analysis body exactly as received; json_extract reaches any key not modelled above.
    threat_id TEXT PRIMARY KEY NOT NULL REFERENCES threats(threat_id) ON DELETE CASCADE,
    body TEXT NOT NULL, -- the {"data": {...}} document, byte for byte
    source TEXT, -- where it came from: file:line, file[index] or the console URL
    ingested_at TEXT NOT NULL -- when this body was stored
);
