#!/usr/bin/env bash
# What a one-token bucket (burst 1) would make of this machine's pacing: the ceiling of
# issue 12's "share of the budget" against such a console, for any controller.
# s1ingest runs at a fixed --rate against the mock console (no budget), which records when
# each request reached its rate limit (--record-arrivals: after the client's HTTP stack, the
# kernel and the console's event loop). Those arrivals are then replayed against one-token
# buckets whose budget is the pace divided by 0.86 ... 0.99: two requests closer than
# 1 / budget get a 429. Printed: the 429 share each would answer and what it would accept,
# as a share of its budget; the highest share with <= 3% 429s is the most any pacing can
# reach on this machine (before a run's start-up and its last Retry-After; the last line adds
# the Retry-After to a run of bench-pacing.sh's length).
# Usage: scripts/bench-jitter.sh     RATE=470 (req/s), DURATION=30 (s), LATENCY=50 (ms),
#                                    CONCURRENCY=64, WARMUP=2 (s left out at the start), BIN=,
#                                    CONSOLE_CPU= (the console on that CPU, kept awake), CLIENT_CPUS=
#                                    (s1ingest on those CPUs): lib-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib-bench.sh
rate=${RATE:-470}
duration=${DURATION:-30}
latency=${LATENCY:-50}
concurrency=${CONCURRENCY:-64}
warmup=${WARMUP:-2}
count=$(python3 -c "print(int($rate * $duration))")
echo "machine: $machine; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "s1ingest --rate $rate, C=$concurrency, ${count} requests; mock console: latency ${latency} ms, no budget, arrivals recorded${CONSOLE_CPU:+, on CPU $CONSOLE_CPU kept awake}${CLIENT_CPUS:+; s1ingest on CPU $CLIENT_CPUS}"
export S1_API_TOKEN=bench-token
python3 -c "import sys; [print(1311010474425970168 + i * 7919) for i in range(int(sys.argv[1]))]" "$count" >"$work/ids.txt"
: >"$work/mock.url"
console_on_cpu
"${console[@]}" "$bin" mock-console --threats "$count" --latency-ms "$latency" --threads 1 --token "$S1_API_TOKEN" \
    --record-arrivals "$work/arrivals.txt" >"$work/mock.url" &
mock_pid=$!
trap 'kill "$mock_pid" 2>/dev/null || true; keep_awake_stop' EXIT
for _ in $(seq 1 100); do [ -s "$work/mock.url" ] && break; sleep 0.05; done
rm -f "$work/jitter.sqlite"*
"${client[@]}" "$bin" ingest --quiet --json --db "$work/jitter.sqlite" --console "$(head -1 "$work/mock.url")" --ids "$work/ids.txt" \
    --concurrency "$concurrency" --rate "$rate" >"$work/summary.json"
kill "$mock_pid" 2>/dev/null || true
wait "$mock_pid" 2>/dev/null || true
python3 - "$work/arrivals.txt" "$warmup" <<'PY'
import sys
times = sorted(int(line) / 1e9 for line in open(sys.argv[1]) if line.strip())
warmup = float(sys.argv[2])
times = [t for t in times if times[0] + warmup <= t <= times[-1] - 1]  # steady part: no start, no tail
span = times[-1] - times[0]
rate = (len(times) - 1) / span
gaps = sorted((b - a) * rate for a, b in zip(times, times[1:]))  # in units of 1 / pace
def q(p): return gaps[min(len(gaps) - 1, int(p * len(gaps)))]
print(f"steady: {len(times)} arrivals over {span:.1f} s, {rate:.1f} req/s; gaps between arrivals as a share of 1/pace: "
      f"p1 {q(0.01):.3f}, p5 {q(0.05):.3f}, p50 {q(0.5):.3f}, p95 {q(0.95):.3f}, p99 {q(0.99):.3f}")
print()
print("| pace / budget | budget (req/s) | 429s a one-token bucket answers | accepted, share of budget |")
print("|---|---|---|---|")
best = None
for share in (0.86, 0.88, 0.90, 0.92, 0.94, 0.96, 0.98, 0.99):
    budget = rate / share
    tokens, last, refused = 1.0, None, 0
    for t in times:
        if last is not None:
            tokens = min(1.0, tokens + (t - last) * budget)
        last = t
        if tokens >= 1:
            tokens -= 1
        else:
            refused += 1
    accepted = (len(times) - refused) / span / budget
    if refused / len(times) <= 0.03:
        best = accepted
        best_refused_per_second = refused / span
    print(f"| {share:.2f} | {budget:.0f} | {refused / len(times) * 100:.2f}% | {accepted * 100:.1f}% |")
print()
print(f"ceiling with <= 3% 429s: {best * 100:.1f}% of the budget" if best else "no share reaches <= 3% 429s")
if best:
    # A whole run (scripts/bench-pacing.sh: 60 s of the budget in IDs) also waits for its last
    # 429's Retry-After (1 s) after the steady part ends, less the usual time from the last
    # 429 to that end; a start-up can only add to it.
    seconds = 60 / best + max(0.0, 1 - 1 / max(best_refused_per_second, 1e-9))
    print(f"over a run of 60 s of the budget with Retry-After: 1, at best {60 / seconds * 100:.1f}% of the budget")
PY
