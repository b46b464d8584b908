#!/bin/sh
# Cron wrapper for `s1ingest sync`: loads the environment file (token), appends the JSON
# summary and JSON events to a log, and exits with s1ingest's exit code so cron's MAILTO
# (or your monitoring) sees failures. Exit 4 means another run still holds the database.
set -u
ENV_FILE=${S1INGEST_ENV:-/etc/s1ingest/s1ingest.env}
LOG_DIR=${S1INGEST_LOG_DIR:-/var/log/s1ingest}
umask 077
set -a
. "$ENV_FILE"
set +a
mkdir -p "$LOG_DIR"
day=$(date -u +%Y-%m-%d)
/usr/local/bin/s1ingest sync --json --log-format json >>"$LOG_DIR/sync-$day.summary.json" 2>>"$LOG_DIR/sync-$day.log"
status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
    echo "s1ingest sync failed with exit code $status; see $LOG_DIR/sync-$day.log and \`s1ingest runs\`" >&2
fi
exit "$status"
