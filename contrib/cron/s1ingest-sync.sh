#!/bin/sh
# Cron wrapper for `s1ingest sync`: loads the environment file (token), appends the JSON
# summary and JSON events to a log, and exits with s1ingest's exit code so cron's MAILTO
# (or your monitoring) sees failures. Exit 4 means another run still holds the database.
# Set-up: README.md, section "Run it nightly" ("Set-up with cron").
# Settings (environment): S1INGEST_ENV (default /etc/s1ingest/s1ingest.env), S1INGEST_LOG_DIR
# (/var/log/s1ingest), S1INGEST_BIN (/usr/local/bin/s1ingest). Relative paths are taken
# from the directory the wrapper was started in.
set -u
ENV_FILE=${S1INGEST_ENV:-/etc/s1ingest/s1ingest.env}
LOG_DIR=${S1INGEST_LOG_DIR:-/var/log/s1ingest}
S1INGEST=${S1INGEST_BIN:-/usr/local/bin/s1ingest}
# `.` looks a name without a slash up in PATH, not here: make the paths absolute first.
start_dir=$(pwd)
case $ENV_FILE in /*) ;; *) ENV_FILE=$start_dir/$ENV_FILE ;; esac
case $LOG_DIR in /*) ;; *) LOG_DIR=$start_dir/$LOG_DIR ;; esac
case $S1INGEST in /*) ;; */*) S1INGEST=$start_dir/$S1INGEST ;; esac
umask 077
if [ ! -r "$ENV_FILE" ]; then
    echo "s1ingest-sync: cannot read $ENV_FILE as $(id -un): it must exist, and it and its directory must be readable by this user" >&2
    exit 2
fi
set -a
. "$ENV_FILE"
set +a
if ! mkdir -p "$LOG_DIR" 2>/dev/null || [ ! -w "$LOG_DIR" ]; then
    echo "s1ingest-sync: cannot write to $LOG_DIR as $(id -un); create it: sudo install -d -m 0750 -o $(id -un) -g $(id -gn) $LOG_DIR" >&2
    exit 2
fi
# Fixed names, appended to each night; contrib/logrotate/s1ingest rotates them.
"$S1INGEST" sync --json --log-format json >>"$LOG_DIR/sync.summary.json" 2>>"$LOG_DIR/sync.log"
status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
    echo "s1ingest sync failed with exit code $status; see $LOG_DIR/sync.log and \`s1ingest runs\`" >&2
fi
exit "$status"
