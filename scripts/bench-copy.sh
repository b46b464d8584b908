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
mkdir -p "$work"
swift build -c release --product s1ingest >/dev/null
bin=$(swift build -c release --show-bin-path)/s1ingest
input="$work/analyses-$count.ndjson"
[ -s "$input" ] || "$bin" generate --count "$count" --seed 42 -o "$input"
source_db="$work/copy-source-$count.sqlite"
[ -s "$source_db" ] || "$bin" import --quiet --db "$source_db" "$input" >/dev/null

. scripts/lib-pg.sh
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
