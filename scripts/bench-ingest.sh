#!/usr/bin/env bash
# Live-ingest benchmarks, release build, the mock console in a separate process on loopback:
#   1. latency L=50 ms, concurrency C=16: IDs/s against the ideal C/L = 320/s (target >= 95%);
#   2. zero latency: IDs/s (target >= 4,000/s);
#   3. 100,000 IDs: peak RSS of s1ingest (target <= 150 MB), against 10,000 IDs to show it flat.
# Usage: scripts/bench-ingest.sh            (BENCH_QUICK=1 for smaller counts, RUNS=N zero-latency runs,
#                                           BIN=path for a binary to use instead of building one,
#                                           ROWS="latency zero memory" for rows 1, 2, 3 (default all),
#                                           INGEST_ARGS="--rate 100000" for more ingest options)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib-bench.sh
echo "machine: $machine"
quick=${BENCH_QUICK:-0}
export S1_API_TOKEN=bench-token

start_mock() {  # $1 threats, $2 latency ms -> sets mock_pid, mock_url
    "$bin" mock-console --threats "$1" --latency-ms "$2" --threads 1 --token "$S1_API_TOKEN" >"$work/mock.url" &
    mock_pid=$!
    for _ in $(seq 1 100); do [ -s "$work/mock.url" ] && break; sleep 0.05; done
    mock_url=$(head -1 "$work/mock.url")
}
stop_mock() { kill "$mock_pid" 2>/dev/null || true; wait "$mock_pid" 2>/dev/null || true; : >"$work/mock.url"; }
ids() {  # $1 count -> file of the mock's IDs (seed 2026: first ID 1311010474425970168, step 7919)
    python3 -c "import sys; [print(1311010474425970168 + i * 7919) for i in range(int(sys.argv[1]))]" "$1" >"$work/ids-$1.txt"
    echo "$work/ids-$1.txt"
}
run() {  # $1 label, $2 ids file, $3 concurrency -> prints IDs/s and peak RSS
    rm -f "$work"/bench.sqlite*
    /usr/bin/time -f "%M %U %S" -o "$work/rss.txt" "$bin" ingest --quiet --json --db "$work/bench.sqlite" --console "$mock_url" \
        --ids "$2" --concurrency "$3" ${INGEST_ARGS:-} >"$work/summary.json"
    python3 - "$1" "$work/summary.json" $(tail -1 "$work/rss.txt") <<'PY'
import json, sys
s = json.load(open(sys.argv[2]))
rss, cpu = int(sys.argv[3]), float(sys.argv[4]) + float(sys.argv[5])
print(f"{sys.argv[1]}: {s['stored']} stored in {s['elapsed_seconds']:.2f} s = {s['ids_per_second']:.0f} IDs/s, peak RSS {rss // 1024} MiB, "
      f"s1ingest CPU {cpu:.2f} s ({cpu / max(1, s['stored']) * 1e6:.0f} us per ID), status {s['status']}")
PY
}
trap stop_mock EXIT
: >"$work/zero.txt"

rows=" ${ROWS:-latency zero memory} "
if [[ $rows == *" latency "* ]]; then
    n1=$([ "$quick" = 1 ] && echo 1000 || echo 3000)
    start_mock "$n1" 50; run "C=16 L=50ms (ideal 320/s)" "$(ids "$n1")" 16; stop_mock
fi

if [[ $rows == *" zero "* ]]; then
n2=$([ "$quick" = 1 ] && echo 10000 || echo 40000)
# This machine's speed drifts from minute to minute, so the zero-latency run is repeated
# RUNS times (default 3), each against a fresh mock console (whose per-agent cache starts
# cold every time); quote the median.
for run_number in $(seq "${RUNS:-3}"); do
    start_mock "$n2" 0
    run "C=16 zero latency, run $run_number" "$(ids "$n2")" 16 | tee -a "$work/zero.txt"
    stop_mock
done
python3 - "$work/zero.txt" <<'PY'
import re, statistics, sys
rates = [int(m) for m in re.findall(r"= (\d+) IDs/s", open(sys.argv[1]).read())]
print(f"zero latency: median of {len(rates)} runs {statistics.median(rates):.0f} IDs/s")
PY
fi

if [[ $rows == *" memory "* ]]; then
    n3=$([ "$quick" = 1 ] && echo 20000 || echo 100000)
    start_mock "$n3" 0
    run "10,000 IDs, C=16" "$(ids 10000)" 16
    run "$n3 IDs, C=16" "$(ids "$n3")" 16
    stop_mock
fi
