#!/usr/bin/env bash
# Pacing benchmark, release build, the mock console in a separate process on loopback,
# enforcing a token bucket (budget B req/s, burst b, 429 when empty) or answering 429 at
# random. s1ingest runs without --rate and a fresh database per row, so it starts knowing
# nothing; each row prints the accepted requests per second as a share of the budget and the
# share of requests answered 429 (targets: >= 90% and <= 3%).
#   rows: budgets 5, 25, 100, 500 req/s (burst 5, latency 50 ms unless BURST=, LATENCY=), each
#   with Retry-After: 1 and without; a second run against the same database (the remembered
#   budget); random 429s on 4% of requests with no budget, with and without Retry-After,
#   against a clean run (target >= 50% of it).
# Usage: scripts/bench-pacing.sh     DURATION=60 (seconds of budget per run), ROWS="5 25 100 500",
#                                    BURST=5, LATENCY=50 (ms), CONCURRENCY= (default 16, 64 from
#                                    200 req/s), NOISE=1 (random-429 rows), WARM=1 (remembered row),
#                                    REFERENCE=1 (the --rate row from 200 req/s), RETRY_AFTERS="1 0"
#                                    (the budget rows' Retry-After values), CAP_SHARE= (e.g. 0.95: a row
#                                    more per budget with --rate at that share of it), BIN= (a binary),
#                                    CONSOLE_CPU= (e.g. 1: the console on that CPU, kept awake),
#                                    CLIENT_CPUS= (e.g. 0: s1ingest on those CPUs; see scripts/lib-bench.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib-bench.sh
trap keep_awake_stop EXIT
console_on_cpu
duration=${DURATION:-60}
burst=${BURST:-5}
latency=${LATENCY:-50}
echo "machine: $machine; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "each run: ${duration} s of budget, latency ${latency} ms, burst ${burst}, no --rate, fresh database unless said${CONSOLE_CPU:+; the console on CPU $CONSOLE_CPU, kept awake}${CLIENT_CPUS:+; s1ingest on CPU $CLIENT_CPUS}"
export S1_API_TOKEN=bench-token

start_mock() {  # $1 threats, then mock-console options -> sets mock_pid, mock_url
    local threats=$1
    shift
    : >"$work/mock.url"
    "${console[@]}" "$bin" mock-console --threats "$threats" --latency-ms "$latency" --threads 1 --token "$S1_API_TOKEN" "$@" >"$work/mock.url" &
    mock_pid=$!
    for _ in $(seq 1 100); do [ -s "$work/mock.url" ] && break; sleep 0.05; done
    mock_url=$(head -1 "$work/mock.url")
}
stop_mock() { kill "$mock_pid" 2>/dev/null || true; wait "$mock_pid" 2>/dev/null || true; }
ids() {  # $1 count -> file of the mock's IDs (seed 2026: first ID 1311010474425970168, step 7919)
    [ -s "$work/ids-$1.txt" ] || python3 -c "import sys; [print(1311010474425970168 + i * 7919) for i in range(int(sys.argv[1]))]" "$1" >"$work/ids-$1.txt"
    echo "$work/ids-$1.txt"
}
ingest() {  # $1 database, $2 ids file, $3 concurrency, [more ingest options] -> summary JSON in $work/summary.json
    local database=$1 ids=$2 concurrency=$3
    shift 3
    "${client[@]}" "$bin" ingest --quiet --json --db "$database" --console "$mock_url" --ids "$ids" --concurrency "$concurrency" --max-attempts 20 "$@" \
        >"$work/summary.json" || true
}
report() {  # $1 label, $2 budget (or "-"), $3 summary file, [$4 IDs/s of a clean run] -> one table row
    python3 - "$1" "$2" "$3" "${4:-}" <<'PY'
import json, sys
label, budget, path, clean = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
s = json.load(open(path))
requests, limited, elapsed = s["requests"], s.get("rate_limited", 0), s["elapsed_seconds"]
accepted = (requests - limited) / elapsed
if budget != "-":
    share = f"{accepted / float(budget) * 100:.1f}%"
elif clean:
    share = f"{s['stored'] / elapsed / float(clean) * 100:.1f}% of the clean run's IDs/s"
else:
    share = "-"
pace = s.get("pace")
measured = s.get("budget")
print(f"| {label} | {accepted:.1f} | {share} | {limited} of {requests} ({limited / max(1, requests) * 100:.2f}%) | "
      f"{pace if pace is not None else '-'} | {measured if measured is not None else '-'} | {elapsed:.1f} s | {s['status']} |")
PY
}

echo
echo "| run | accepted req/s | share of budget | 429s | pace at end | budget measured | elapsed | status |"
echo "|---|---|---|---|---|---|---|---|"
for budget in ${ROWS:-5 25 100 500}; do
    concurrency=${CONCURRENCY:-$([ "$budget" -ge 200 ] && echo 64 || echo 16)}
    count=$(python3 -c "print(int($budget * $duration))")
    for retry_after in ${RETRY_AFTERS:-1 0}; do
        header=$([ "$retry_after" = 1 ] && echo "Retry-After: 1" || echo "no Retry-After")
        start_mock "$count" --rate-limit "$budget" --burst "$burst" --retry-after "$retry_after"
        rm -f "$work"/pacing.sqlite*
        ingest "$work/pacing.sqlite" "$(ids "$count")" "$concurrency"
        report "budget $budget, burst $burst, $header, C=$concurrency, ${latency} ms" "$budget" "$work/summary.json"
        if [ "${REFERENCE:-1}" = 1 ] && [ "$budget" -ge 200 ] && [ "$retry_after" = 1 ]; then
            # For reference: the same console with its budget given (--rate), i.e. what this
            # machine sustains at that rate while it is this busy.
            rm -f "$work"/pacing.sqlite*
            ingest "$work/pacing.sqlite" "$(ids "$count")" "$concurrency" --rate "$budget"
            report "budget $budget, burst $burst, $header, C=$concurrency, ${latency} ms, told --rate $budget (reference)" "$budget" "$work/summary.json"
        fi
        if [ -n "${CAP_SHARE:-}" ]; then
            # A cap under the budget (--rate R, R = CAP_SHARE of it): the share is of R (target >= 98%).
            cap=$(python3 -c "print(int($budget * $CAP_SHARE))")
            rm -f "$work"/pacing.sqlite*
            ingest "$work/pacing.sqlite" "$(ids "$count")" "$concurrency" --rate "$cap"
            report "budget $budget, burst $burst, $header, C=$concurrency, ${latency} ms, --rate $cap (share of the cap)" "$cap" "$work/summary.json"
        fi
        if [ "${WARM:-1}" = 1 ] && [ "$budget" = 100 ] && [ "$retry_after" = 1 ]; then
            # The same console again, same database: it starts from the budget it learned.
            ingest "$work/pacing.sqlite" "$(ids "$count")" "$concurrency"
            report "budget $budget, burst $burst, $header, C=$concurrency, ${latency} ms, second run (remembered)" "$budget" "$work/summary.json"
        fi
        stop_mock
    done
done

if [ "${NOISE:-1}" = 1 ]; then
    # Random 429s on 4% of requests and no budget: against a clean run of the same size.
    count=$(python3 -c "print(int(300 * $duration / 2))")
    start_mock "$count"
    rm -f "$work"/pacing.sqlite*
    ingest "$work/pacing.sqlite" "$(ids "$count")" "${CONCURRENCY:-16}"
    clean=$(python3 -c "import json; s = json.load(open('$work/summary.json')); print(s['stored'] / s['elapsed_seconds'])")
    report "no budget, no 429s (clean), C=${CONCURRENCY:-16}, ${latency} ms" - "$work/summary.json"
    stop_mock
    for retry_after in 0 1; do
        header=$([ "$retry_after" = 1 ] && echo "Retry-After: 1" || echo "no Retry-After")
        start_mock "$count" --random-429 0.04 --retry-after "$retry_after"
        rm -f "$work"/pacing.sqlite*
        ingest "$work/pacing.sqlite" "$(ids "$count")" "${CONCURRENCY:-16}"
        report "random 429s on 4%, $header, C=${CONCURRENCY:-16}, ${latency} ms" - "$work/summary.json" "$clean"
        stop_mock
    done
fi
