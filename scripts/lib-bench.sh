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
