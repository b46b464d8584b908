#!/usr/bin/env bash
# PostgreSQL import benchmark (issue 15): release build, N synthetic analyses (as
# scripts/bench-import.sh makes them), imported in the same run into a fresh SQLite file and
# into a fresh database of a throwaway PostgreSQL cluster this script starts on a free
# loopback port (initdb and pg_ctl as the postgres user when run as root) and removes after.
# Prints both rates and their ratio; the target is >= 5,000 analyses/s into PostgreSQL and
# >= 1/3 of the SQLite rate.
# Also prints the CPU seconds of each PostgreSQL import: the client's (user+sys) and the
# server's (every process of the cluster, backends included).
# Usage: scripts/bench-postgres.sh [COUNT]   (default 20000; RUNS=3 imports each, median)
#   BIN=PATH: that s1ingest binary instead of building one.
#   BINS="A B": several binaries, alternated run by run (A B A B ...) on the one cluster, so the
#   machine's drift hits them alike; a median per binary.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-20000}
runs=${RUNS:-3}
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
if [ -n "${BINS:-}" ]; then
    read -r -a bins <<<"$BINS"
elif [ -n "${BIN:-}" ]; then
    bins=("$BIN")
else
    swift build -c release --product s1ingest >/dev/null
    bins=("$(swift build -c release --show-bin-path)/s1ingest")
fi
bin=${bins[0]}
input="$work/analyses-$count.ndjson"
[ -s "$input" ] || "$bin" generate --count "$count" --seed 42 -o "$input"

. scripts/lib-pg.sh

# The cluster's CPU seconds so far: its live processes' own, plus what exited backends left
# in the postmaster's children's times.
server_cpu() {
    python3 - "$(head -1 "$cluster/data/postmaster.pid")" <<'PY'
import os, sys
main = sys.argv[1]; ticks = 0
for pid in os.listdir("/proc"):
    if not pid.isdigit(): continue
    try: fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError: continue
    if pid == main: ticks += sum(int(f) for f in fields[11:15])
    elif fields[1] == main: ticks += int(fields[11]) + int(fields[12])
print(ticks / os.sysconf("SC_CLK_TCK"))
PY
}

echo "machine: $(nproc) cores,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), Linux $(uname -r); $("$pgbin/postgres" --version)"
echo "input: $count analyses, $(( $(stat -c %s "$input") / 1024 / 1024 )) MiB; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
url="postgresql://bench@127.0.0.1:$port/bench?sslmode=disable"
for run in $(seq "$runs"); do
    for b in "${!bins[@]}"; do
        rm -f "$work"/bench.sqlite*
        "${bins[$b]}" import --quiet --json --db "$work/bench.sqlite" "$input" >"$work/sqlite-$b-$run.json"
        psql_ -d postgres -c "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench"
        "${bins[$b]}" migrate --db "$url" >/dev/null
        before=$(server_cpu)
        /usr/bin/time -f '%U %S' -o "$work/pg-$b-$run.time" "${bins[$b]}" import --quiet --json --db "$url" "$input" >"$work/pg-$b-$run.json"
        sleep 0.5  # the backends' exit reaches the postmaster's children's times
        echo "$(server_cpu) $before" >"$work/pg-$b-$run.server"
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work" "$runs" "${bins[@]}" <<'PY'
import json, statistics, sys
work, runs, bins = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
for b, name in enumerate(bins):
    lite, pg = [], []
    if len(bins) > 1: print(f"{name}:")
    for run in range(1, runs + 1):
        s = json.load(open(f"{work}/sqlite-{b}-{run}.json")); p = json.load(open(f"{work}/pg-{b}-{run}.json"))
        user, system = map(float, open(f"{work}/pg-{b}-{run}.time").read().split()[-2:])
        after, before = map(float, open(f"{work}/pg-{b}-{run}.server").read().split())
        lite.append(s["analyses_per_second"]); pg.append(p["analyses_per_second"])
        print(f"run {run}: SQLite {s['stored']} stored, {s['analyses_per_second']:.0f}/s; PostgreSQL {p['stored']} stored,"
              f" {p['analyses_per_second']:.0f}/s, CPU s1ingest {user + system:.2f} s, server {after - before:.2f} s")
        assert s["stored"] == p["stored"], "the two imports stored different numbers of analyses"
    l, q = statistics.median(lite), statistics.median(pg)
    print(f"median of {runs}: SQLite {l:.0f} analyses/s, PostgreSQL {q:.0f} analyses/s, ratio {q / l:.2f}"
          f" (targets: >= 5000/s {'met' if q >= 5000 else 'NOT met'}, >= 1/3 of SQLite {'met' if q * 3 >= l else 'NOT met'})")
PY
