#!/usr/bin/env bash
# PostgreSQL import benchmark (issue 15): release build, N synthetic analyses (as
# scripts/bench-import.sh makes them), imported in the same run into a fresh SQLite file and
# into a fresh database of a throwaway PostgreSQL cluster this script starts on a free
# loopback port (initdb and pg_ctl as the postgres user when run as root) and removes after.
# Prints both rates and their ratio; the target is >= 5,000 analyses/s into PostgreSQL and
# >= 1/3 of the SQLite rate.
# Usage: scripts/bench-postgres.sh [COUNT]   (default 20000; RUNS=3 imports each, median)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-20000}
runs=${RUNS:-3}
work=${BENCH_DIR:-$(mktemp -d)}
swift build -c release --product s1ingest >/dev/null
bin=$(swift build -c release --show-bin-path)/s1ingest
input="$work/analyses-$count.ndjson"
[ -s "$input" ] || "$bin" generate --count "$count" --seed 42 -o "$input"

pgbin=$(pg_config --bindir 2>/dev/null || true)
if [ ! -x "$pgbin/initdb" ]; then pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1); fi
if [ ! -x "$pgbin/initdb" ]; then pgbin=$(dirname "$(command -v initdb)"); fi
cluster=$(mktemp -d /tmp/s1ingest-bench-pg.XXXXXX)
password="bench-$RANDOM$RANDOM"
printf '%s\n' "$password" >"$cluster/pwfile"
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
stop() { "${as_postgres[@]}" "$pgbin/pg_ctl" -D "$cluster/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$cluster"; }
trap stop EXIT
export PGPASSWORD=$password
psql_() { psql -X -q -A -t -h "$cluster" -p "$port" -U bench "$@"; }

echo "machine: $(nproc) cores,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), Linux $(uname -r); $("$pgbin/postgres" --version)"
echo "input: $count analyses, $(( $(stat -c %s "$input") / 1024 / 1024 )) MiB"
for run in $(seq "$runs"); do
    rm -f "$work"/bench.sqlite*
    "$bin" import --quiet --json --db "$work/bench.sqlite" "$input" >"$work/sqlite-$run.json"
    psql_ -d postgres -c "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench"
    "$bin" migrate --db "postgresql://bench@127.0.0.1:$port/bench?sslmode=disable" >/dev/null
    "$bin" import --quiet --json --db "postgresql://bench@127.0.0.1:$port/bench?sslmode=disable" "$input" >"$work/pg-$run.json"
done
python3 - "$work" "$runs" <<'PY'
import json, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
lite, pg = [], []
for run in range(1, runs + 1):
    s = json.load(open(f"{work}/sqlite-{run}.json")); p = json.load(open(f"{work}/pg-{run}.json"))
    lite.append(s["analyses_per_second"]); pg.append(p["analyses_per_second"])
    print(f"run {run}: SQLite {s['stored']} stored, {s['analyses_per_second']:.0f}/s; PostgreSQL {p['stored']} stored, {p['analyses_per_second']:.0f}/s")
    assert s["stored"] == p["stored"], "the two imports stored different numbers of analyses"
l, q = statistics.median(lite), statistics.median(pg)
print(f"median of {runs}: SQLite {l:.0f} analyses/s, PostgreSQL {q:.0f} analyses/s, ratio {q / l:.2f}"
      f" (targets: >= 5000/s {'met' if q >= 5000 else 'NOT met'}, >= 1/3 of SQLite {'met' if q * 3 >= l else 'NOT met'})")
PY
