# Sourced by the PostgreSQL benchmarks (bench-postgres.sh, bench-copy.sh, bench-workers.sh):
# starts a throwaway PostgreSQL cluster with the system's binaries on a free loopback port
# (initdb and pg_ctl as the postgres user when run as root), with a password (scram-sha-256
# over TCP, exported as PGPASSWORD as a user would), fsync on, and removes it when the script
# exits. Sets pgbin, cluster, port; defines psql_ (psql as the superuser "bench") and
# pg_cleanup (called on EXIT; a script that needs more on exit calls it from its own trap).
pgbin=$(pg_config --bindir 2>/dev/null || true)
if [ ! -x "$pgbin/initdb" ]; then pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1); fi
if [ ! -x "$pgbin/initdb" ]; then pgbin=$(dirname "$(command -v initdb)"); fi
cluster=$(mktemp -d /tmp/s1ingest-bench-pg.XXXXXX)
pg_password="bench-$RANDOM$RANDOM"
printf '%s\n' "$pg_password" >"$cluster/pwfile"
as_postgres=()
if [ "$(id -u)" = 0 ]; then
    chown -R postgres: "$cluster"
    as_postgres=(runuser -u postgres --)
fi
chmod 700 "$cluster"; chmod 600 "$cluster/pwfile"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as_postgres[@]}" "$pgbin/initdb" -D "$cluster/data" -U bench --pwfile="$cluster/pwfile" --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
# Durable settings as a server has them (fsync on), shared_buffers for the data set.
"${as_postgres[@]}" "$pgbin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w \
    -o "-k $cluster -p $port -h 127.0.0.1 -c shared_buffers=256MB -c max_wal_size=2GB" start >/dev/null
pg_cleanup() { "${as_postgres[@]}" "$pgbin/pg_ctl" -D "$cluster/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$cluster"; }
trap pg_cleanup EXIT
export PGPASSWORD=$pg_password
psql_() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -A -t -h "$cluster" -p "$port" -U bench "$@"; }
