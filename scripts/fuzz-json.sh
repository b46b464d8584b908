#!/usr/bin/env bash
# Fuzzes S1JSON's parser with libFuzzer (Fuzz/, a package of its own) for SECONDS (default 60).
# Builds Fuzz/ in release with -sanitize=fuzzer,address (SwiftPM's --sanitize, which also
# compiles the harness with -parse-as-library so libFuzzer's main is the one; without dead
# stripping, as --gc-sections drops the coverage counters' registration), seeds the corpus with the
# JSONTestSuite cases and the test fixtures, and runs until the time is up or a crash.
# Usage: scripts/fuzz-json.sh [SECONDS] [libFuzzer options...]   e.g. nice -n 19 scripts/fuzz-json.sh 1800
#   FUZZ_DIR   where the corpus and crashes go (default Fuzz/); both are kept between runs.
# Crashes (inputs that broke an invariant or the sanitizer) land in $FUZZ_DIR/crashes/; run
# one again with: Fuzz/.build/release/FuzzJSON CRASH-FILE
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
work=${FUZZ_DIR:-$PWD/Fuzz}
corpus=$work/corpus
crashes=$work/crashes
mkdir -p "$corpus" "$crashes"

flags=(-c release --sanitize fuzzer --sanitize address --disable-dead-strip)
(cd Fuzz && swift build "${flags[@]}" --product FuzzJSON)
bin=$(cd Fuzz && swift build "${flags[@]}" --show-bin-path)/FuzzJSON

# Seeds: copied once (libFuzzer adds what it finds to the same folder).
seeds=$corpus/.seeded
if [ ! -e "$seeds" ]; then
    cp Tests/S1JSONTests/JSONTestSuite/*.json "$corpus/"
    for fixture in Tests/S1IngestCoreTests/Fixtures/*.json; do cp "$fixture" "$corpus/fixture-$(basename "$fixture")"; done
    touch "$seeds"
fi

echo "fuzzing for $seconds s: corpus $corpus ($(find "$corpus" -type f -name '*' ! -name .seeded | wc -l) inputs), crashes in $crashes/"
# Swift's own backtracer would wait on a crash; libFuzzer and ASan report it instead.
status=0
SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    "$bin" -max_total_time="$seconds" -print_final_stats=1 -max_len=16384 -timeout=10 \
    -artifact_prefix="$crashes/" "$@" "$corpus" || status=$?
found=$(find "$crashes" -type f | wc -l)
echo "crashes kept in $crashes/: $found"
exit "$status"
