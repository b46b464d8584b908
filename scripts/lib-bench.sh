# Sourced by the benchmarks that run s1ingest (bench-consoles.sh, bench-ingest.sh,
# bench-jitter.sh, bench-pacing.sh), from the checkout's top: sets bin (the release build,
# built first, or $BIN: e.g. a copy of an earlier build, to compare two in one session),
# work ($BENCH_DIR, created when missing, or a new temporary directory) and machine (cores,
# CPU and kernel, for the first line a benchmark prints).
if [ -z "${BIN:-}" ]; then
    swift build -c release --product s1ingest >/dev/null
    bin=$(swift build -c release --show-bin-path)/s1ingest
else
    bin=$BIN
fi
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
machine="$(nproc) cores,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), Linux $(uname -r)"
# CONSOLE_CPU=n (bench-pacing.sh, bench-jitter.sh): the mock console runs on CPU n only, kept from
# idling by a busy loop of the lowest priority (it yields to anything else there). An idle vCPU
# wakes a few hundred microseconds late and by a varying amount, and the console's event loop then
# stamps each request's arrival at its token bucket that much later: at 500 req/s (2 ms apart) that
# alone moves 1 in 100 arrivals 12% closer to the one before (scripts/bench-jitter.sh, 2026-12-06).
# A console on its own machine does not add that; the client's own starts are as precise either
# way. CLIENT_CPUS=list (e.g. 0): s1ingest runs on those CPUs only. The client's threads on the
# console's CPU delay its event loop too (against a one-token bucket of 500 some runs met 1-3% of
# 429s at 0.91 of the budget where others, and all with CLIENT_CPUS=0, held 0.94-0.95 at 0.3%).
# On one vCPU the client stalls now and then (18 ms every 4 s at 500 req/s), which once sent the
# requests due meanwhile together into the bucket (mended: docs/pacing-rounds.md, eleventh round).
# console_on_cpu sets $console and $client, the command prefixes for the console and for
# s1ingest, and starts the loop; keep_awake_stop (the caller's EXIT trap) ends it.
console=()
client=()
keep_awake_pid=
console_on_cpu() {
    [ -z "${CLIENT_CPUS:-}" ] || client=(taskset -c "$CLIENT_CPUS")
    [ -n "${CONSOLE_CPU:-}" ] || return 0
    console=(taskset -c "$CONSOLE_CPU")
    taskset -c "$CONSOLE_CPU" nice -n 19 sh -c 'while :; do :; done' &
    keep_awake_pid=$!
}
keep_awake_stop() { [ -z "$keep_awake_pid" ] || kill "$keep_awake_pid" 2>/dev/null || true; }
