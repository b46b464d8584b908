-- s1ingest reporting views: the same names and columns as SQLite's (migrations/0002_views.sql
-- as 0006_consoles left them), in PostgreSQL's SQL. is_resolved is a boolean here.

CREATE VIEW threat_overview AS -- One row per threat: what it is, the console it came from, the agent it ran on, its site and group, and where its mitigation stands.
-- site_* and group_* are as at detection (agentDetectionInfo), else the agent's current ones.
-- is_resolved is true when incident_status = 'resolved'. The last_mitigation_* columns are the
-- last element of data.mitigationStatus; the mitigation counts are over all its elements.
SELECT
    t.threat_id,
    t.console,
    t.threat_name,
    t.classification,
    t.confidence_level,
    t.analyst_verdict,
    t.incident_status,
    coalesce(t.incident_status = 'resolved', false) AS is_resolved,
    t.mitigation_status,
    t.created_at,
    t.updated_at,
    t.file_path,
    t.sha1,
    t.sha256,
    t.agent_id,
    a.agent_computer_name,
    coalesce(a.agent_os_name, t.detection_agent_os_name) AS agent_os_name,
    a.agent_os_type,
    a.agent_is_active,
    a.agent_infected,
    coalesce(t.detection_site_id, a.site_id) AS site_id,
    coalesce(t.detection_site_name, a.site_name) AS site_name,
    coalesce(t.detection_group_id, a.group_id) AS group_id,
    coalesce(t.detection_group_name, a.group_name) AS group_name,
    coalesce(m.mitigation_count, 0) AS mitigation_count,
    coalesce(m.mitigations_succeeded, 0) AS mitigations_succeeded,
    coalesce(m.mitigations_failed, 0) AS mitigations_failed,
    m.last_mitigation_action,
    m.last_mitigation_status,
    m.last_mitigation_at
FROM threats AS t
LEFT JOIN agents AS a ON a.agent_id = t.agent_id
LEFT JOIN (
    -- The last_* columns come from the element with the highest position.
    SELECT
        threat_id,
        count(*) AS mitigation_count,
        count(*) FILTER (WHERE status = 'success') AS mitigations_succeeded,
        count(*) FILTER (WHERE status = 'failed' OR coalesce(actions_failed, 0) > 0) AS mitigations_failed,
        (array_agg(action ORDER BY position DESC))[1] AS last_mitigation_action,
        (array_agg(status ORDER BY position DESC))[1] AS last_mitigation_status,
        (array_agg(coalesce(mitigation_ended_at, last_update) ORDER BY position DESC))[1] AS last_mitigation_at
    FROM mitigations
    GROUP BY threat_id
) AS m ON m.threat_id = t.threat_id;

CREATE VIEW mitigation_failures AS -- One row per mitigation action that failed (status 'failed' or a non-zero actions_failed counter), with its threat, console and agent, newest first.
SELECT
    m.threat_id,
    o.console,
    o.threat_name,
    o.classification,
    o.incident_status,
    o.agent_id,
    o.agent_computer_name,
    o.site_name,
    o.group_name,
    m.position,
    m.action,
    m.status,
    m.actions_failed,
    m.actions_total,
    m.mitigation_started_at,
    m.mitigation_ended_at,
    m.latest_report
FROM mitigations AS m
JOIN threat_overview AS o ON o.threat_id = m.threat_id
WHERE m.status = 'failed' OR coalesce(m.actions_failed, 0) > 0
ORDER BY m.mitigation_started_at DESC NULLS LAST, m.threat_id, m.position;

CREATE VIEW agent_exposure AS -- One row per agent: its console, how many threats it had, how many are still open, and when one was last seen; most exposed first.
-- unresolved_threats counts incident_status 'unresolved'; open_threats counts every status but 'resolved'.
-- last_seen_at is the newest threat's created_at on the agent.
SELECT
    a.agent_id,
    a.console,
    a.agent_computer_name,
    a.agent_os_name,
    a.agent_os_type,
    a.site_name,
    a.group_name,
    a.agent_is_active,
    a.agent_infected,
    count(t.threat_id) AS threat_count,
    count(t.threat_id) FILTER (WHERE t.incident_status = 'unresolved') AS unresolved_threats,
    count(t.threat_id) FILTER (WHERE t.incident_status IS DISTINCT FROM 'resolved') AS open_threats,
    count(DISTINCT t.classification) AS classifications,
    min(t.created_at) AS first_seen_at,
    max(t.created_at) AS last_seen_at
FROM agents AS a
LEFT JOIN threats AS t ON t.agent_id = a.agent_id
GROUP BY a.agent_id
ORDER BY threat_count DESC, open_threats DESC, a.agent_id;

CREATE VIEW mitre_technique_frequency AS -- One row per console, MITRE ATT&CK technique and tactic: in how many threats it was seen and how often, most frequent first.
SELECT
    t.console,
    x.name AS technique,
    x.tactic,
    count(DISTINCT x.threat_id) AS threat_count,
    count(*) AS occurrences,
    min(x.link) AS link,
    min(t.created_at) AS first_seen_at,
    max(t.created_at) AS last_seen_at
FROM indicator_techniques AS x
JOIN threats AS t ON t.threat_id = x.threat_id
WHERE x.name IS NOT NULL
GROUP BY t.console, x.name, x.tactic
ORDER BY threat_count DESC, occurrences DESC, technique, x.tactic, t.console;

CREATE VIEW new_threats_per_day AS -- One row per console, UTC day and classification: how many threats were created (threatInfo.createdAt) that day.
SELECT
    console,
    to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
    coalesce(classification, '(none)') AS classification,
    count(*) AS threat_count,
    count(*) FILTER (WHERE incident_status IS DISTINCT FROM 'resolved') AS open_threats
FROM threats
WHERE created_at IS NOT NULL
GROUP BY console, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), coalesce(classification, '(none)')
ORDER BY day, classification, console;
