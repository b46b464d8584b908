#!/usr/bin/env bash
# Import benchmark: release build, N synthetic analyses (about 5 KB each, one per line,
# varied agents, interfaces, mitigations, engines, indicators), imported into a fresh
# database with raw JSON kept. Prints analyses/s and peak RSS.
# Usage: scripts/bench-import.sh [COUNT]   (default 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-20000}
work=${BENCH_DIR:-$(mktemp -d)}
swift build -c release --product s1ingest >/dev/null
bin=$(swift build -c release --show-bin-path)/s1ingest
input="$work/analyses-$count.ndjson"
[ -s "$input" ] || "$bin" generate --count "$count" --seed 42 -o "$input"
cp "$input" "$work/analyses.ndjson"
sync  # the input's write-back must not compete with the import for the disk
size=$(stat -c %s "$work/analyses.ndjson")
echo "input: $count analyses, $((size / 1024 / 1024)) MiB, $((size / count)) bytes each on average"
rm -f "$work"/bench.sqlite*
# GNU time's -v reports the peak resident set ("Maximum resident set size", KiB).
if [ -x /usr/bin/time ]; then
    /usr/bin/time -v "$bin" import --quiet --json --db "$work/bench.sqlite" "$work/analyses.ndjson" >"$work/summary.json" 2>"$work/time.txt"
    peak_kib=$(grep "Maximum resident set size" "$work/time.txt" | awk '{print $NF}')
else
    "$bin" import --quiet --json --db "$work/bench.sqlite" "$work/analyses.ndjson" >"$work/summary.json"
    peak_kib="?"
fi
python3 - "$work/summary.json" "$peak_kib" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"import: {s['stored']} stored in {s['elapsed_seconds']:.2f} s = {s['analyses_per_second']:.0f} analyses/s, peak RSS {int(sys.argv[2]) // 1024 if sys.argv[2].isdigit() else '?'} MiB")
PY
echo "database: $(du -h "$work/bench.sqlite" | cut -f1) in $work"
