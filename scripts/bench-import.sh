#!/usr/bin/env bash
# Import benchmark: release build, N synthetic analyses (about 5 KB each, one per line,
# varied agents, interfaces, mitigations, engines, indicators), imported into a fresh
# database with raw JSON kept. Prints analyses/s and peak RSS.
# Usage: scripts/bench-import.sh [COUNT]   (default 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-20000}
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
swift build -c release --product s1ingest >/dev/null
bin=$(swift build -c release --show-bin-path)/s1ingest
input="$work/analyses-$count.ndjson"
[ -s "$input" ] || "$bin" generate --count "$count" --seed 42 -o "$input"
cp "$input" "$work/analyses.ndjson"
sync  # the input's write-back must not compete with the import for the disk
size=$(stat -c %s "$work/analyses.ndjson")
echo "machine: $(nproc) cores,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), Linux $(uname -r)"
echo "input: $count analyses, $((size / 1024 / 1024)) MiB, $((size / count)) bytes each on average"
# This machine's speed varies from run to run (a shared VM), so the import runs RUNS times
# (default 3), each into a fresh database, and the median is the figure to quote.
runs=${RUNS:-3}
for run in $(seq "$runs"); do
    rm -f "$work"/bench.sqlite*
    sync
    # GNU time's -v reports the peak resident set ("Maximum resident set size", KiB) and
    # the wall time of the whole process (start, migration, final checkpoint included).
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -v "$bin" import --quiet --json --db "$work/bench.sqlite" "$work/analyses.ndjson" >"$work/summary-$run.json" 2>"$work/time-$run.txt"
    else
        "$bin" import --quiet --json --db "$work/bench.sqlite" "$work/analyses.ndjson" >"$work/summary-$run.json"
        : >"$work/time-$run.txt"
    fi
done
python3 - "$work" "$runs" <<'PY'
import json, re, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
rates, walls = [], []
for run in range(1, runs + 1):
    s = json.load(open(f"{work}/summary-{run}.json"))
    t = open(f"{work}/time-{run}.txt").read()
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", t)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", t)
    cpu = sum(float(m) for m in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", t))
    wall_s = (int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))) if wall else None
    rates.append(s["analyses_per_second"])
    if wall_s: walls.append(s["stored"] / wall_s)
    print(f"run {run}: {s['stored']} stored in {s['elapsed_seconds']:.2f} s = {s['analyses_per_second']:.0f} analyses/s"
          + (f"; whole process {wall_s:.2f} s = {s['stored'] / wall_s:.0f}/s" if wall_s else "")
          + (f", peak RSS {int(peak.group(1)) // 1024} MiB" if peak else "")
          + (f", CPU {cpu:.2f} s (user+sys)" if cpu else ""))
print(f"median of {runs}: {statistics.median(rates):.0f} analyses/s in the import"
      + (f", {statistics.median(walls):.0f}/s for the whole process" if walls else ""))
PY
echo "database: $(du -h "$work/bench.sqlite" | cut -f1) in $work"
