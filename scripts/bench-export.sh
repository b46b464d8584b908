#!/usr/bin/env bash
# Export benchmark: builds s1ingest in release mode, makes a database with >= 1,000,000 rows in
# one table (synthetic analyses imported, then rows multiplied with INSERT ... SELECT through
# the sqlite3 CLI, or python3's sqlite3 module when the CLI is missing), exports it with
# `s1ingest export`, and prints rows/s and peak RSS (from /usr/bin/time -v).
#
# Usage: scripts/bench-export.sh [ROWS] [WORKDIR]
#   ROWS     minimum rows per benchmarked table (default 1000000)
#   WORKDIR  where the database and exports go (default /tmp/s1ingest-bench-export)
# Environment: FORMATS="csv jsonl" (default "csv tsv jsonl"), TABLES="mitigations threats".
set -euo pipefail

ROWS=${1:-1000000}
WORK=${2:-/tmp/s1ingest-bench-export}
FORMATS=${FORMATS:-"csv tsv jsonl"}
TABLES=${TABLES:-"mitigations threats"}
SEED_ANALYSES=20000
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/time ]; then
    echo "installing GNU time (for peak RSS)" >&2
    apt-get install -y time >/dev/null 2>&1 || { echo "need /usr/bin/time: apt-get install time" >&2; exit 2; }
fi

echo "== building release"
mkdir -p "$WORK"
if ! swift build -c release --product s1ingest > "$WORK/build.log" 2>&1; then
    tail -30 "$WORK/build.log" >&2
    exit 2
fi
tail -1 "$WORK/build.log"
BIN=$(swift build -c release --show-bin-path)/s1ingest

mkdir -p "$WORK"
DB="$WORK/bench.sqlite"

# Runs SQL on the bench database with whichever SQLite client exists.
run_sql() {
    if command -v sqlite3 >/dev/null; then
        sqlite3 "$DB" "$1"
    else
        python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()' "$DB" "$1"
    fi
}
count_rows() {
    if command -v sqlite3 >/dev/null; then
        sqlite3 "$DB" "SELECT count(*) FROM $1"
    else
        python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM " + sys.argv[2]).fetchone()[0])' "$DB" "$1"
    fi
}

if [ ! -f "$DB" ] || [ "$(count_rows mitigations)" -lt "$ROWS" ] || [ "$(count_rows threats)" -lt "$ROWS" ]; then
    echo "== making $DB"
    rm -f "$DB" "$DB-wal" "$DB-shm"
    "$BIN" generate --count "$SEED_ANALYSES" -o "$WORK/seed.ndjson"
    "$BIN" import --quiet --db "$DB" "$WORK/seed.ndjson" | head -1
    run_sql "PRAGMA journal_mode=DELETE;" >/dev/null
    # mitigations: copy every row with its position shifted by 10, 20, ... (positions are < 10).
    base=$(count_rows mitigations)
    copies=$(( (ROWS + base - 1) / base - 1 ))
    run_sql "WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < $copies)
             INSERT INTO mitigations SELECT m.threat_id, m.position + 10 * k.n, m.action, m.status, m.agent_supports_report,
                    m.group_not_found, m.last_update, m.latest_report, m.mitigation_ended_at, m.mitigation_started_at, m.report_id,
                    m.actions_failed, m.actions_not_found, m.actions_pending_reboot, m.actions_success, m.actions_total
             FROM mitigations AS m, k;"
    # threats (about 100 columns): copies with a suffixed threat_id.
    base=$(count_rows threats)
    copies=$(( (ROWS + base - 1) / base - 1 ))
    cols=$(if command -v sqlite3 >/dev/null; then sqlite3 "$DB" "SELECT group_concat(name, ',') FROM pragma_table_info('threats') WHERE name <> 'threat_id'"; \
           else python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT group_concat(name, \",\") FROM pragma_table_info(\"threats\") WHERE name <> \"threat_id\"").fetchone()[0])' "$DB"; fi)
    run_sql "WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < $copies)
             INSERT INTO threats (threat_id, $cols) SELECT t.threat_id || '-' || k.n, $cols FROM threats AS t, k WHERE instr(t.threat_id, '-') = 0;"
fi

echo "== $(basename "$DB"): $(du -h "$DB" | cut -f1), mitigations $(count_rows mitigations) rows, threats $(count_rows threats) rows"
echo "   s1ingest $("$BIN" --version), $(nproc) cores, $(uname -sr)"
printf "%-12s %-6s %10s %9s %12s %10s %12s\n" table format rows seconds rows/s "peak RSS" output
for table in $TABLES; do
    rows=$(count_rows "$table")
    for format in $FORMATS; do
        out="$WORK/$table.$format"
        cat "$DB" > /dev/null  # warm the page cache: measure the exporter, not the disk
        start=$(date +%s%N)
        /usr/bin/time -v -o "$WORK/time.txt" "$BIN" export --db "$DB" --table "$table" --format "$format" --output "$out"
        end=$(date +%s%N)
        seconds=$(awk -v ns=$((end - start)) 'BEGIN { printf "%.2f", ns / 1e9 }')
        rate=$(awk -v r="$rows" -v ns=$((end - start)) 'BEGIN { printf "%d", r / (ns / 1e9) }')
        rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f MB", $2 / 1024 }' "$WORK/time.txt")
        printf "%-12s %-6s %10d %9s %12s %10s %12s\n" "$table" "$format" "$rows" "$seconds" "$rate" "$rss" "$(du -h "$out" | cut -f1)"
        rm -f "$out"
    done
done
