#!/usr/bin/env bash
# Several ingest workers on one PostgreSQL queue (issue 15): release build, a mock console in
# its own process (LATENCY ms per answer, default 50), a throwaway PostgreSQL cluster this
# script starts on a free loopback port (initdb and pg_ctl as the postgres user when run as
# root) and removes after. Each round drains IDS queued IDs (default 6000) once with one
# `ingest --queue` worker and once with WORKERS of them at once (default 4), each with
# concurrency CONCURRENCY (default 8), into a new database; prints both rates and the ratio.
# The target is >= 3.6x one worker for 4 workers.
# Usage: scripts/bench-workers.sh [IDS]   (RUNS=3 rounds, median; BIN= a given binary)
set -euo pipefail
cd "$(dirname "$0")/.."
ids=${1:-6000}
workers=${WORKERS:-4}
latency=${LATENCY:-50}
concurrency=${CONCURRENCY:-8}
runs=${RUNS:-3}
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
if [ -z "${BIN:-}" ]; then
    swift build -c release --product s1ingest >/dev/null
    BIN=$(swift build -c release --show-bin-path)/s1ingest
fi
bin=$BIN

. scripts/lib-pg.sh
mock_pid=
stop() {
    [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null || true
    pg_cleanup
}
trap stop EXIT

token="bench-$RANDOM$RANDOM"
"$bin" mock-console --threats "$ids" --latency-ms "$latency" --threads 2 --token "$token" >"$work/mock.out" 2>&1 &
mock_pid=$!
for _ in $(seq 100); do [ -s "$work/mock.out" ] && break; sleep 0.1; done
url=$(head -1 "$work/mock.out" | grep -o 'http://[^ ]*')
python3 -c "import sys; [print(1311010474425970168 + i * 7919) for i in range(int(sys.argv[1]))]" "$ids" >"$work/ids.txt"
export S1_CONSOLE_URL=$url S1_API_TOKEN=$token

echo "machine: $(nproc) cores,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), Linux $(uname -r); $("$pgbin/postgres" --version)"
echo "mock: $url, $latency ms per answer; $ids IDs; concurrency $concurrency per worker; load $(cut -d' ' -f1-3 /proc/loadavg)"
# One round: N workers drain a fresh queue of every ID; prints analyses/s.
drain() {
    local n=$1 db=$2
    psql_ -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    local dburl="postgresql://bench@127.0.0.1:$port/$db?sslmode=disable"
    "$bin" migrate --db "$dburl" >/dev/null
    "$bin" enqueue --db "$dburl" --console "$url" --ids "$work/ids.txt" >/dev/null
    local start end pids=()
    start=$(date +%s.%N)
    for w in $(seq "$n"); do
        "$bin" ingest --queue --quiet --json --db "$dburl" --concurrency "$concurrency" >"$work/w$n-$w.json" 2>"$work/w$n-$w.err" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || { echo "a worker failed: see $work" >&2; exit 1; }; done
    end=$(date +%s.%N)
    local stored
    stored=$(psql_ -d "$db" -c "SELECT count(*) FROM threats")
    [ "$stored" = "$ids" ] || { echo "stored $stored of $ids" >&2; exit 1; }
    python3 -c "import sys; print(f'{int(sys.argv[3]) / (float(sys.argv[2]) - float(sys.argv[1])):.1f}')" "$start" "$end" "$ids"
}
one=() many=()
for run in $(seq "$runs"); do
    a=$(drain 1 one$run)
    b=$(drain "$workers" many$run)
    one+=("$a"); many+=("$b")
    echo "round $run: 1 worker $a analyses/s; $workers workers $b analyses/s (x$(python3 -c "print(f'{$b / $a:.2f}')"))"
done
python3 - "${one[*]}" "${many[*]}" "$workers" <<'PY'
import statistics, sys
one = [float(x) for x in sys.argv[1].split()]; many = [float(x) for x in sys.argv[2].split()]; n = int(sys.argv[3])
a, b = statistics.median(one), statistics.median(many)
target = 0.9 * n
print(f"median of {len(one)}: 1 worker {a:.0f}/s, {n} workers {b:.0f}/s: x{b / a:.2f} (target >= x{target:.1f}: {'met' if b / a >= target else 'NOT met'})")
PY
