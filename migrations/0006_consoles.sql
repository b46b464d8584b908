-- Several consoles in one database: which console each threat, agent, queued ID, run and
-- watermark belongs to. A threat ID stays the key of a threat: an analysis whose threat (or
-- agent) is stored for another console is not written (counted as a conflict).
-- A database from an older version: when its runs and raw bodies name one console URL (or
-- none), everything becomes console 'default' (with that URL); when they name several, each
-- URL gets a name made of its host (and port), and what names none stays 'default'.

CREATE TABLE consoles ( -- One row per console the database holds data from: its name (used in every table's console column and on the command line) and URL.
    console TEXT PRIMARY KEY NOT NULL, -- the name: [consoles.NAME] of the consoles file, else 'default'
    url TEXT UNIQUE, -- the console base URL (never credentials); NULL while only imported files named it
    first_seen_at TEXT NOT NULL, -- when a run first used it (ISO-8601 UTC)
    last_seen_at TEXT NOT NULL -- when a run last used it
) WITHOUT ROWID;

ALTER TABLE ingest_runs RENAME COLUMN console TO console_url;
ALTER TABLE ingest_runs ADD COLUMN console TEXT /* the console's name (consoles.console); NULL for runs that read no console */;
ALTER TABLE sync_state RENAME COLUMN console TO sync_key;
ALTER TABLE sync_state ADD COLUMN console TEXT NOT NULL DEFAULT 'default' /* the console's name (consoles.console) */;
ALTER TABLE threats ADD COLUMN console TEXT NOT NULL DEFAULT 'default' /* the console the threat was read from (consoles.console) */;
ALTER TABLE agents ADD COLUMN console TEXT NOT NULL DEFAULT 'default' /* the console the agent was read from (consoles.console) */;
ALTER TABLE ingest_runs ADD COLUMN conflicts INTEGER NOT NULL DEFAULT 0 /* analyses not written: their threat or agent is stored for another console */;
ALTER TABLE ingest_queue ADD COLUMN console TEXT NOT NULL DEFAULT 'default' /* the console to fetch it from (consoles.console) */;

-- What an older database knew of its consoles: the URLs of its runs and of its fetched bodies.
CREATE TEMP TABLE migration_console_urls AS
SELECT url, min(seen) AS first_seen_at, max(seen) AS last_seen_at FROM (
    SELECT console_url AS url, started_at AS seen FROM ingest_runs WHERE console_url IS NOT NULL AND console_url <> ''
    UNION ALL
    SELECT substr(source, 1, instr(source, '/web/api/') - 1), ingested_at FROM raw_analyses WHERE instr(source, '/web/api/') > 1
) GROUP BY url;

INSERT OR IGNORE INTO consoles (console, url, first_seen_at, last_seen_at)
SELECT CASE WHEN (SELECT count(*) FROM migration_console_urls) = 1 THEN 'default'
            ELSE trim(replace(replace(replace(replace(lower(substr(url, instr(url, '://') + 3)), '.', '-'), ':', '-'), '/', '-'), '_', '-'), '-')
       END,
       url, first_seen_at, last_seen_at
FROM migration_console_urls;

UPDATE ingest_runs SET console = (SELECT c.console FROM consoles AS c WHERE c.url = ingest_runs.console_url)
WHERE console_url IS NOT NULL;

UPDATE threats SET console = coalesce((
    SELECT c.console FROM raw_analyses AS r JOIN consoles AS c ON c.url = substr(r.source, 1, instr(r.source, '/web/api/') - 1)
    WHERE r.threat_id = threats.threat_id AND instr(r.source, '/web/api/') > 1), 'default')
WHERE (SELECT count(*) FROM consoles) > 0;

UPDATE agents SET console = coalesce((SELECT t.console FROM threats AS t WHERE t.threat_id = agents.last_threat_id), 'default')
WHERE (SELECT count(*) FROM consoles) > 0;

UPDATE ingest_queue SET console = coalesce((SELECT r.console FROM ingest_runs AS r WHERE r.run_id = ingest_queue.run_id), 'default')
WHERE (SELECT count(*) FROM consoles) > 0;

UPDATE sync_state SET console = coalesce((
    SELECT c.console FROM consoles AS c WHERE sync_state.sync_key = c.url OR sync_state.sync_key LIKE c.url || ' sites=%'), 'default');

-- Rows that name 'default' have a console row too (with no URL when none was ever known).
INSERT OR IGNORE INTO consoles (console, url, first_seen_at, last_seen_at)
SELECT 'default', NULL, min(first_ingested_at), max(last_ingested_at) FROM threats WHERE console = 'default' HAVING count(*) > 0;

DROP TABLE temp.migration_console_urls;

CREATE INDEX threats_console ON threats(console);
CREATE INDEX agents_console ON agents(console);
CREATE INDEX ingest_queue_console ON ingest_queue(console, state, threat_id);
CREATE INDEX ingest_runs_console ON ingest_runs(console, run_id);

-- The views carry the console.
DROP VIEW mitigation_failures;
DROP VIEW threat_overview;
DROP VIEW agent_exposure;
DROP VIEW mitre_technique_frequency;
DROP VIEW new_threats_per_day;

CREATE VIEW threat_overview AS -- One row per threat: what it is, the console it came from, the agent it ran on, its site and group, and where its mitigation stands.
-- site_* and group_* are as at detection (agentDetectionInfo), else the agent's current ones.
-- is_resolved is 1 when incident_status = 'resolved'. The last_mitigation_* columns are the
-- last element of data.mitigationStatus; the mitigation counts are over all its elements.
SELECT
    t.threat_id,
    t.console,
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
ORDER BY m.mitigation_started_at DESC, m.threat_id, m.position;

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
    coalesce(sum(t.incident_status = 'unresolved'), 0) AS unresolved_threats,
    coalesce(sum(t.incident_status IS NOT 'resolved'), 0) AS open_threats,
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
    substr(created_at, 1, 10) AS day,
    coalesce(classification, '(none)') AS classification,
    count(*) AS threat_count,
    sum(incident_status IS NOT 'resolved') AS open_threats
FROM threats
WHERE created_at IS NOT NULL
GROUP BY console, day, classification
ORDER BY day, classification, console;
