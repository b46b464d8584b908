#!/usr/bin/env bash
# `s1ingest copy` benchmark (issue 15): release build, N synthetic analyses imported into a
# SQLite file, then copied into a fresh database of a throwaway PostgreSQL cluster this script
# starts on a free loopback port (initdb and pg_ctl as the postgres user when run as root) and
# removes after. Times the copy, then a second copy (nothing to change), and checks that both
# sides hold the same number of threats.
# Usage: scripts/bench-copy.sh [COUNT]   (default 20000; RUNS=3 copies into fresh databases, median)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-20000}
runs=${RUNS:-3}
work=${BENCH_DIR:-$(mktemp -d)}
swift build -c release --product s1ingest >/dev/null
bin=$(swift build -c release --show-bin-path)/s1ingest
input="$work/analyses-$count.ndjson"
[ -s "$input" ] || "$bin" generate --count "$count" --seed 42 -o "$input"
source_db="$work/copy-source-$count.sqlite"
[ -s "$source_db" ] || "$bin" import --quiet --db "$source_db" "$input" >/dev/null

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
"${as_postgres[@]}" "$pgbin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w \
    -o "-k $cluster -p $port -h 127.0.0.1 -c shared_buffers=256MB -c max_wal_size=2GB" start >/dev/null
stop() { "${as_postgres[@]}" "$pgbin/pg_ctl" -D "$cluster/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$cluster"; }
trap stop EXIT
export PGPASSWORD=$password
psql_() { psql -X -q -A -t -h "$cluster" -p "$port" -U bench "$@"; }
url="postgresql://bench@127.0.0.1:$port/bench?sslmode=disable"

echo "machine: $(nproc) cores,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), Linux $(uname -r); $("$pgbin/postgres" --version)"
echo "source: $count analyses, $(( $(stat -c %s "$source_db") / 1024 / 1024 )) MiB SQLite"
for run in $(seq "$runs"); do
    psql_ -d postgres -c "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench"
    "$bin" copy --quiet --json --from "$source_db" --to "$url" >"$work/copy-$run.json"
    "$bin" copy --quiet --json --from "$source_db" --to "$url" >"$work/again-$run.json"
    threats=$(psql_ -d bench -c "SELECT count(*) FROM threats")
    echo "run $run: $threats threats in PostgreSQL"
done
python3 - "$work" "$runs" "$count" <<'PY'
import json, statistics, sys
work, runs, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
first, again = [], []
for run in range(1, runs + 1):
    c = json.load(open(f"{work}/copy-{run}.json")); a = json.load(open(f"{work}/again-{run}.json"))
    assert c["threat_rows"]["copied"] == c["threats"], c
    assert a["unchanged"], a
    first.append(c["elapsed_seconds"]); again.append(a["elapsed_seconds"])
    print(f"run {run}: copy {c['threat_rows']['copied']} threats in {c['elapsed_seconds']:.2f} s "
          f"({c['threats'] / c['elapsed_seconds']:.0f}/s); copy again (unchanged) {a['elapsed_seconds']:.2f} s")
f, g = statistics.median(first), statistics.median(again)
print(f"median of {runs}: copy {f:.2f} s ({count / f:.0f} analyses/s), copy again {g:.2f} s")
PY
