#!/usr/bin/env bash
# Fuzzes S1JSON's parser with libFuzzer for SECONDS (default 60): builds the harness in
# Fuzz/FuzzJSON/ with Sources/S1JSON, both -O -sanitize=fuzzer,address, seeds the corpus with
# the JSONTestSuite cases and the test fixtures, and runs until the time is up or a crash.
# Usage: scripts/fuzz-json.sh [SECONDS] [libFuzzer options...]   e.g. nice -n 19 scripts/fuzz-json.sh 1800
#   FUZZ_DIR   where the corpus and crashes go (default Fuzz/); both are kept between runs.
# Crashes (inputs that broke an invariant or the sanitizer) land in $FUZZ_DIR/crashes/; run
# one again with: Fuzz/.build/FuzzJSON CRASH-FILE
#
# Built with swiftc, not SwiftPM: `swift build --sanitize fuzzer` (Swift 6.3.1) leaves the
# coverage instrumentation out of some builds (at random, whole builds at a time), and
# libFuzzer then fuzzes blind. swift build and swift test never see Fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
work=${FUZZ_DIR:-$PWD/Fuzz}
corpus=$work/corpus
crashes=$work/crashes
out=Fuzz/.build
mkdir -p "$corpus" "$crashes" "$out"

flags=(-O -wmo -sanitize=fuzzer,address -parse-as-library)
swiftc "${flags[@]}" -module-name S1JSON -emit-module -emit-module-path "$out/S1JSON.swiftmodule" \
    -c Sources/S1JSON/*.swift -o "$out/S1JSON.o"
# (gold warns "Cannot export local symbol '__asan_...'" for each sanitizer helper: harmless.)
swiftc "${flags[@]}" -module-name FuzzJSON -I "$out" Fuzz/FuzzJSON/*.swift "$out/S1JSON.o" \
    -o "$out/FuzzJSON" 2> >(grep -v "Cannot export local symbol" >&2)
bin=$out/FuzzJSON
# libFuzzer reports the coverage counters it found; none would mean fuzzing blind.
empty=$(mktemp -d)
counters=$(SWIFT_BACKTRACE=enable=no "$bin" -runs=0 "$empty" 2>&1 | grep -o "[0-9]* inline 8-bit counters" || true)
rmdir "$empty"
if [ -z "$counters" ]; then
    echo "error: $bin has no coverage instrumentation" >&2
    exit 2
fi

# Seeds: copied once (libFuzzer adds what it finds to the same folder).
if [ ! -e "$corpus/.seeded" ]; then
    cp Tests/S1JSONTests/JSONTestSuite/*.json "$corpus/"
    for fixture in Tests/S1IngestCoreTests/Fixtures/*.json; do cp "$fixture" "$corpus/fixture-$(basename "$fixture")"; done
    touch "$corpus/.seeded"
fi

echo "fuzzing for $seconds s ($counters): corpus $corpus ($(find "$corpus" -type f ! -name .seeded | wc -l) inputs), crashes in $crashes/"
# Swift's own backtracer would hold a crash up; libFuzzer and ASan report it instead.
status=0
SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    "$bin" -max_total_time="$seconds" -print_final_stats=1 -max_len=16384 -timeout=10 \
    -artifact_prefix="$crashes/" "$@" "$corpus" || status=$?
echo "crashes kept in $crashes/: $(find "$crashes" -type f | wc -l)"
exit "$status"
