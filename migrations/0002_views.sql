-- s1ingest reporting views: ready-made answers for sqlite3, Datasette and BI tools.
-- Each view's comment sits inside its CREATE VIEW statement so SQLite keeps it.

CREATE VIEW threat_overview AS -- One row per threat: what it is, the agent it ran on, its site and group, and where its mitigation stands.
-- site_* and group_* are as at detection (agentDetectionInfo), else the agent's current ones.
-- is_resolved is 1 when incident_status = 'resolved'. The last_mitigation_* columns are the
-- last element of data.mitigationStatus; the mitigation counts are over all its elements.
SELECT
    t.threat_id,
    t.threat_name,
    t.classification,
    t.confidence_level,
    t.analyst_verdict,
    t.incident_status,
    CASE WHEN t.incident_status = 'resolved' THEN 1 ELSE 0 END AS is_resolved,
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
    -- SQLite takes the bare columns from the row where max(position) is found.
    SELECT
        threat_id,
        count(*) AS mitigation_count,
        sum(status = 'success') AS mitigations_succeeded,
        sum(status = 'failed' OR coalesce(actions_failed, 0) > 0) AS mitigations_failed,
        action AS last_mitigation_action,
        status AS last_mitigation_status,
        coalesce(mitigation_ended_at, last_update) AS last_mitigation_at,
        max(position) AS last_position
    FROM mitigations
    GROUP BY threat_id
) AS m ON m.threat_id = t.threat_id;

CREATE VIEW mitigation_failures AS -- One row per mitigation action that failed (status 'failed' or a non-zero actions_failed counter), with its threat and agent, newest first.
SELECT
    m.threat_id,
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
ORDER BY m.mitigation_started_at DESC, m.threat_id, m.position;

CREATE VIEW agent_exposure AS -- One row per agent: how many threats it had, how many are still open, and when one was last seen; most exposed first.
-- unresolved_threats counts incident_status 'unresolved'; open_threats counts every status but 'resolved'.
-- last_seen_at is the newest threat's created_at on the agent.
SELECT
    a.agent_id,
    a.agent_computer_name,
    a.agent_os_name,
    a.agent_os_type,
    a.site_name,
    a.group_name,
    a.agent_is_active,
    a.agent_infected,
    count(t.threat_id) AS threat_count,
    coalesce(sum(t.incident_status = 'unresolved'), 0) AS unresolved_threats,
    coalesce(sum(t.incident_status IS NOT 'resolved'), 0) AS open_threats,
    count(DISTINCT t.classification) AS classifications,
    min(t.created_at) AS first_seen_at,
    max(t.created_at) AS last_seen_at
FROM agents AS a
LEFT JOIN threats AS t ON t.agent_id = a.agent_id
GROUP BY a.agent_id
ORDER BY threat_count DESC, open_threats DESC, a.agent_id;

CREATE VIEW mitre_technique_frequency AS -- One row per MITRE ATT&CK technique and tactic: in how many threats it was seen and how often, most frequent first.
SELECT
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
GROUP BY x.name, x.tactic
ORDER BY threat_count DESC, occurrences DESC, technique, x.tactic;

CREATE VIEW new_threats_per_day AS -- One row per UTC day and classification: how many threats were created (threatInfo.createdAt) that day.
SELECT
    substr(created_at, 1, 10) AS day,
    coalesce(classification, '(none)') AS classification,
    count(*) AS threat_count,
    sum(incident_status IS NOT 'resolved') AS open_threats
FROM threats
WHERE created_at IS NOT NULL
GROUP BY day, classification
ORDER BY day, classification;
