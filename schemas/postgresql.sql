-- The schema of a fresh s1ingest PostgreSQL database, after every file in migrations/postgresql/,
-- as the server's catalog describes it (tables, constraints, indexes, views, in creation order).
-- A test fails when it differs from what the migrations produce; it rewrites this file when run
-- with S1INGEST_WRITE_SCHEMA=1. Edit migrations/postgresql/, never this file.
-- schema version 3

CREATE TABLE schema_migrations (
    version bigint NOT NULL,
    name text NOT NULL,
    applied_at timestamp with time zone NOT NULL,
    CONSTRAINT schema_migrations_pkey PRIMARY KEY (version)
);

CREATE TABLE agents (
    agent_id text NOT NULL,
    account_id text,
    account_name text,
    active_threats bigint,
    agent_computer_name text,
    agent_decommissioned_at timestamp with time zone,
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
    scan_aborted_at timestamp with time zone,
    scan_finished_at timestamp with time zone,
    scan_started_at timestamp with time zone,
    scan_status text,
    site_id text,
    site_name text,
    storage_name text,
    storage_type text,
    user_actions_needed text,
    last_threat_id text,
    first_ingested_at timestamp with time zone NOT NULL,
    last_ingested_at timestamp with time zone NOT NULL,
    console text NOT NULL DEFAULT 'default'::text,
    CONSTRAINT agents_pkey PRIMARY KEY (agent_id)
);
CREATE INDEX agents_site ON public.agents USING btree (site_id);
CREATE INDEX agents_group ON public.agents USING btree (group_id);
CREATE INDEX agents_console ON public.agents USING btree (console);

CREATE TABLE interfaces (
    agent_id text NOT NULL,
    interface_id text NOT NULL,
    position bigint NOT NULL,
    name text,
    mac text,
    CONSTRAINT interfaces_pkey PRIMARY KEY (agent_id, interface_id),
    CONSTRAINT interfaces_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES agents(agent_id) ON DELETE CASCADE
);

CREATE TABLE interface_addresses (
    agent_id text NOT NULL,
    interface_id text NOT NULL,
    family bigint NOT NULL,
    address text NOT NULL,
    CONSTRAINT interface_addresses_pkey PRIMARY KEY (agent_id, interface_id, family, address),
    CONSTRAINT interface_addresses_agent_id_interface_id_fkey FOREIGN KEY (agent_id, interface_id) REFERENCES interfaces(agent_id, interface_id) ON DELETE CASCADE,
    CONSTRAINT interface_addresses_family_check CHECK ((family = ANY (ARRAY[(4)::bigint, (6)::bigint])))
);
CREATE INDEX interface_addresses_address ON public.interface_addresses USING btree (address);

CREATE TABLE threats (
    threat_id text NOT NULL,
    agent_id text,
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
    created_at timestamp with time zone,
    detection_type text,
    external_ticket_exists boolean,
    external_ticket_id text,
    failed_actions boolean,
    file_extension text,
    file_extension_type text,
    file_path text,
    file_size bigint,
    file_verification_type text,
    identified_at timestamp with time zone,
    incident_status text,
    incident_status_description text,
    initiated_by text,
    initiated_by_description text,
    initiating_user_id text,
    initiating_username text,
    is_fileless boolean,
    is_valid_certificate boolean,
    macro_modules text,
    malicious_process_arguments text,
    md5 text,
    mitigated_preemptively boolean,
    mitigation_status text,
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
    updated_at timestamp with time zone,
    detection_account_id text,
    detection_account_name text,
    detection_agent_detection_state text,
    detection_agent_domain text,
    detection_agent_ip_v4 text,
    detection_agent_ip_v6 text,
    detection_agent_last_logged_in_upn text,
    detection_agent_last_logged_in_user_mail text,
    detection_agent_last_logged_in_user_name text,
    detection_agent_mitigation_mode text,
    detection_agent_os_name text,
    detection_agent_os_revision text,
    detection_agent_registered_at timestamp with time zone,
    detection_agent_uuid text,
    detection_agent_version text,
    detection_asset_version text,
    detection_cloud_providers text,
    detection_external_ip text,
    detection_group_id text,
    detection_group_name text,
    detection_site_id text,
    detection_site_name text,
    container_id text,
    container_image text,
    container_is_container_quarantine boolean,
    container_labels text,
    container_name text,
    kubernetes_cluster text,
    kubernetes_controller_kind text,
    kubernetes_controller_labels text,
    kubernetes_controller_name text,
    kubernetes_is_container_quarantine boolean,
    kubernetes_namespace text,
    kubernetes_namespace_labels text,
    kubernetes_node text,
    kubernetes_node_labels text,
    kubernetes_pod text,
    kubernetes_pod_labels text,
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
    first_ingested_at timestamp with time zone NOT NULL,
    last_ingested_at timestamp with time zone NOT NULL,
    console text NOT NULL DEFAULT 'default'::text,
    CONSTRAINT threats_pkey PRIMARY KEY (threat_id),
    CONSTRAINT threats_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES agents(agent_id) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX threats_agent ON public.threats USING btree (agent_id);
CREATE INDEX threats_created ON public.threats USING btree (created_at);
CREATE INDEX threats_updated ON public.threats USING btree (updated_at);
CREATE INDEX threats_sha1 ON public.threats USING btree (sha1);
CREATE INDEX threats_console ON public.threats USING btree (console);

CREATE TABLE detection_addresses (
    threat_id text NOT NULL,
    family bigint NOT NULL,
    position bigint NOT NULL,
    address text NOT NULL,
    CONSTRAINT detection_addresses_pkey PRIMARY KEY (threat_id, family, "position"),
    CONSTRAINT detection_addresses_family_check CHECK ((family = ANY (ARRAY[(4)::bigint, (6)::bigint])))
);

CREATE TABLE mitigations (
    threat_id text NOT NULL,
    position bigint NOT NULL,
    action text,
    status text,
    agent_supports_report boolean,
    group_not_found boolean,
    last_update timestamp with time zone,
    latest_report text,
    mitigation_ended_at timestamp with time zone,
    mitigation_started_at timestamp with time zone,
    report_id text,
    actions_failed bigint,
    actions_not_found bigint,
    actions_pending_reboot bigint,
    actions_success bigint,
    actions_total bigint,
    CONSTRAINT mitigations_pkey PRIMARY KEY (threat_id, "position")
);

CREATE TABLE detection_engines (
    threat_id text NOT NULL,
    position bigint NOT NULL,
    engine_key text,
    title text,
    CONSTRAINT detection_engines_pkey PRIMARY KEY (threat_id, "position")
);

CREATE TABLE engines (
    threat_id text NOT NULL,
    position bigint NOT NULL,
    engine text NOT NULL,
    CONSTRAINT engines_pkey PRIMARY KEY (threat_id, "position")
);

CREATE TABLE indicators (
    threat_id text NOT NULL,
    position bigint NOT NULL,
    category text,
    category_id bigint,
    description text,
    ids text,
    CONSTRAINT indicators_pkey PRIMARY KEY (threat_id, "position")
);

CREATE TABLE indicator_tactics (
    threat_id text NOT NULL,
    indicator_position bigint NOT NULL,
    position bigint NOT NULL,
    name text,
    source text,
    CONSTRAINT indicator_tactics_pkey PRIMARY KEY (threat_id, indicator_position, "position")
);

CREATE TABLE indicator_techniques (
    threat_id text NOT NULL,
    indicator_position bigint NOT NULL,
    tactic_position bigint NOT NULL,
    position bigint NOT NULL,
    tactic text,
    name text,
    link text,
    CONSTRAINT indicator_techniques_pkey PRIMARY KEY (threat_id, indicator_position, tactic_position, "position")
);

CREATE TABLE whitening_options (
    threat_id text NOT NULL,
    option text NOT NULL,
    CONSTRAINT whitening_options_pkey PRIMARY KEY (threat_id, option)
);

CREATE TABLE custom_detection_rules (
    threat_id text NOT NULL,
    position bigint NOT NULL,
    rule text NOT NULL,
    CONSTRAINT custom_detection_rules_pkey PRIMARY KEY (threat_id, "position")
);

CREATE TABLE raw_analyses (
    threat_id text NOT NULL,
    body json NOT NULL,
    source text,
    ingested_at timestamp with time zone NOT NULL,
    CONSTRAINT raw_analyses_pkey PRIMARY KEY (threat_id),
    CONSTRAINT raw_analyses_threat_id_fkey FOREIGN KEY (threat_id) REFERENCES threats(threat_id) ON DELETE CASCADE
);

CREATE TABLE consoles (
    console text NOT NULL,
    url text,
    first_seen_at timestamp with time zone NOT NULL,
    last_seen_at timestamp with time zone NOT NULL,
    CONSTRAINT consoles_pkey PRIMARY KEY (console),
    CONSTRAINT consoles_url_key UNIQUE (url)
);

CREATE TABLE ingest_queue (
    threat_id text NOT NULL,
    state text NOT NULL DEFAULT 'pending'::text,
    attempts bigint NOT NULL DEFAULT 0,
    last_status bigint,
    last_error text,
    retryable boolean NOT NULL DEFAULT true,
    next_attempt_at timestamp with time zone,
    enqueued_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    run_id bigint,
    console text NOT NULL DEFAULT 'default'::text,
    lease_owner text,
    lease_expires_at timestamp with time zone,
    CONSTRAINT ingest_queue_pkey PRIMARY KEY (threat_id),
    CONSTRAINT ingest_queue_state_check CHECK ((state = ANY (ARRAY['pending'::text, 'done'::text, 'not_found'::text, 'failed'::text])))
);
CREATE INDEX ingest_queue_state ON public.ingest_queue USING btree (state, threat_id);
CREATE INDEX ingest_queue_console ON public.ingest_queue USING btree (console, state, threat_id);

CREATE TABLE ingest_runs (
    run_id bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL,
    command text NOT NULL,
    source text NOT NULL,
    console_url text,
    started_at timestamp with time zone NOT NULL,
    ended_at timestamp with time zone,
    status text NOT NULL,
    requested bigint NOT NULL DEFAULT 0,
    stored bigint NOT NULL DEFAULT 0,
    unchanged bigint NOT NULL DEFAULT 0,
    not_found bigint NOT NULL DEFAULT 0,
    failed bigint NOT NULL DEFAULT 0,
    invalid_ids bigint NOT NULL DEFAULT 0,
    retries bigint NOT NULL DEFAULT 0,
    requests bigint NOT NULL DEFAULT 0,
    message text,
    version text NOT NULL,
    pace double precision,
    budget double precision,
    rate_limited bigint NOT NULL DEFAULT 0,
    console text,
    conflicts bigint NOT NULL DEFAULT 0,
    CONSTRAINT ingest_runs_pkey PRIMARY KEY (run_id),
    CONSTRAINT ingest_runs_status_check CHECK ((status = ANY (ARRAY['running'::text, 'ok'::text, 'partial'::text, 'failed'::text, 'aborted'::text])))
);
CREATE INDEX ingest_runs_console ON public.ingest_runs USING btree (console, run_id);

CREATE TABLE sync_state (
    sync_key text NOT NULL,
    watermark timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    run_id bigint,
    console text NOT NULL DEFAULT 'default'::text,
    CONSTRAINT sync_state_pkey PRIMARY KEY (sync_key)
);

CREATE TABLE console_pace (
    console text NOT NULL,
    budget double precision NOT NULL,
    measured_at timestamp with time zone NOT NULL,
    run_id bigint,
    CONSTRAINT console_pace_pkey PRIMARY KEY (console)
);

CREATE VIEW threat_overview AS
SELECT t.threat_id,
    t.console,
    t.threat_name,
    t.classification,
    t.confidence_level,
    t.analyst_verdict,
    t.incident_status,
    COALESCE(t.incident_status = 'resolved'::text, false) AS is_resolved,
    t.mitigation_status,
    t.created_at,
    t.updated_at,
    t.file_path,
    t.sha1,
    t.sha256,
    t.agent_id,
    a.agent_computer_name,
    COALESCE(a.agent_os_name, t.detection_agent_os_name) AS agent_os_name,
    a.agent_os_type,
    a.agent_is_active,
    a.agent_infected,
    COALESCE(t.detection_site_id, a.site_id) AS site_id,
    COALESCE(t.detection_site_name, a.site_name) AS site_name,
    COALESCE(t.detection_group_id, a.group_id) AS group_id,
    COALESCE(t.detection_group_name, a.group_name) AS group_name,
    COALESCE(m.mitigation_count, 0::bigint) AS mitigation_count,
    COALESCE(m.mitigations_succeeded, 0::bigint) AS mitigations_succeeded,
    COALESCE(m.mitigations_failed, 0::bigint) AS mitigations_failed,
    m.last_mitigation_action,
    m.last_mitigation_status,
    m.last_mitigation_at
   FROM threats t
     LEFT JOIN agents a ON a.agent_id = t.agent_id
     LEFT JOIN ( SELECT mitigations.threat_id,
            count(*) AS mitigation_count,
            count(*) FILTER (WHERE mitigations.status = 'success'::text) AS mitigations_succeeded,
            count(*) FILTER (WHERE mitigations.status = 'failed'::text OR COALESCE(mitigations.actions_failed, 0::bigint) > 0) AS mitigations_failed,
            (array_agg(mitigations.action ORDER BY mitigations."position" DESC))[1] AS last_mitigation_action,
            (array_agg(mitigations.status ORDER BY mitigations."position" DESC))[1] AS last_mitigation_status,
            (array_agg(COALESCE(mitigations.mitigation_ended_at, mitigations.last_update) ORDER BY mitigations."position" DESC))[1] AS last_mitigation_at
           FROM mitigations
          GROUP BY mitigations.threat_id) m ON m.threat_id = t.threat_id;

CREATE VIEW mitigation_failures AS
SELECT m.threat_id,
    o.console,
    o.threat_name,
    o.classification,
    o.incident_status,
    o.agent_id,
    o.agent_computer_name,
    o.site_name,
    o.group_name,
    m."position",
    m.action,
    m.status,
    m.actions_failed,
    m.actions_total,
    m.mitigation_started_at,
    m.mitigation_ended_at,
    m.latest_report
   FROM mitigations m
     JOIN threat_overview o ON o.threat_id = m.threat_id
  WHERE m.status = 'failed'::text OR COALESCE(m.actions_failed, 0::bigint) > 0
  ORDER BY m.mitigation_started_at DESC NULLS LAST, m.threat_id, m."position";

CREATE VIEW agent_exposure AS
SELECT a.agent_id,
    a.console,
    a.agent_computer_name,
    a.agent_os_name,
    a.agent_os_type,
    a.site_name,
    a.group_name,
    a.agent_is_active,
    a.agent_infected,
    count(t.threat_id) AS threat_count,
    count(t.threat_id) FILTER (WHERE t.incident_status = 'unresolved'::text) AS unresolved_threats,
    count(t.threat_id) FILTER (WHERE t.incident_status IS DISTINCT FROM 'resolved'::text) AS open_threats,
    count(DISTINCT t.classification) AS classifications,
    min(t.created_at) AS first_seen_at,
    max(t.created_at) AS last_seen_at
   FROM agents a
     LEFT JOIN threats t ON t.agent_id = a.agent_id
  GROUP BY a.agent_id
  ORDER BY (count(t.threat_id)) DESC, (count(t.threat_id) FILTER (WHERE t.incident_status IS DISTINCT FROM 'resolved'::text)) DESC, a.agent_id;

CREATE VIEW mitre_technique_frequency AS
SELECT t.console,
    x.name AS technique,
    x.tactic,
    count(DISTINCT x.threat_id) AS threat_count,
    count(*) AS occurrences,
    min(x.link) AS link,
    min(t.created_at) AS first_seen_at,
    max(t.created_at) AS last_seen_at
   FROM indicator_techniques x
     JOIN threats t ON t.threat_id = x.threat_id
  WHERE x.name IS NOT NULL
  GROUP BY t.console, x.name, x.tactic
  ORDER BY (count(DISTINCT x.threat_id)) DESC, (count(*)) DESC, x.name, x.tactic, t.console;

CREATE VIEW new_threats_per_day AS
SELECT threats.console,
    to_char((threats.created_at AT TIME ZONE 'UTC'::text), 'YYYY-MM-DD'::text) AS day,
    COALESCE(threats.classification, '(none)'::text) AS classification,
    count(*) AS threat_count,
    count(*) FILTER (WHERE threats.incident_status IS DISTINCT FROM 'resolved'::text) AS open_threats
   FROM threats
  WHERE threats.created_at IS NOT NULL
  GROUP BY threats.console, (to_char((threats.created_at AT TIME ZONE 'UTC'::text), 'YYYY-MM-DD'::text)), (COALESCE(threats.classification, '(none)'::text))
  ORDER BY (to_char((threats.created_at AT TIME ZONE 'UTC'::text), 'YYYY-MM-DD'::text)), (COALESCE(threats.classification, '(none)'::text)), threats.console;

