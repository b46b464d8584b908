#!/usr/bin/env bash
# Before/after on one machine in one session: two release binaries, alternated run by run
# (A B A B ...), so the machine's drift hits both alike; prints each run and the medians.
#   import: COUNT generated analyses (default 20000) into a fresh database;
#   ingest: 40,000 IDs from a zero-latency mock console, C=16; and 3,000 IDs at 50 ms, C=16.
# Usage: scripts/bench-compare.sh BIN_A BIN_B [ROUNDS]   (ROUNDS default 5; WHAT=import|ingest|all)
set -euo pipefail
a=$1; b=$2; rounds=${3:-5}; what=${WHAT:-all}
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
count=${COUNT:-20000}
export S1_API_TOKEN=bench-token
echo "machine: $(nproc) cores,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), load $(cut -d' ' -f1-3 /proc/loadavg)"
input="$work/analyses-$count.ndjson"
[ -s "$input" ] || "$a" generate --count "$count" --seed 42 -o "$input"
python3 -c "import sys; [print(1311010474425970168 + i * 7919) for i in range(40000)]" >"$work/ids-40000.txt"
head -3000 "$work/ids-40000.txt" >"$work/ids-3000.txt"

import_rate() {  # $1 binary -> analyses/s
    rm -f "$work"/import.sqlite*
    "$1" import --quiet --json --db "$work/import.sqlite" "$input" | python3 -c "import json,sys; print(json.load(sys.stdin)['analyses_per_second'])"
}
ingest_rate() {  # $1 binary, $2 latency ms, $3 ids file -> IDs/s
    "$1" mock-console --threats 40000 --latency-ms "$2" --threads 1 --token "$S1_API_TOKEN" >"$work/mock.url" &
    local pid=$!
    for _ in $(seq 1 100); do [ -s "$work/mock.url" ] && break; sleep 0.05; done
    rm -f "$work"/ingest.sqlite*
    "$1" ingest --quiet --json --db "$work/ingest.sqlite" --console "$(head -1 "$work/mock.url")" --ids "$3" --concurrency 16 \
        | python3 -c "import json,sys; print(json.load(sys.stdin)['ids_per_second'])"
    kill "$pid"; wait "$pid" 2>/dev/null || true; : >"$work/mock.url"
}
: >"$work/results.txt"
for round in $(seq "$rounds"); do
    for side in A B; do
        bin=$a; [ "$side" = B ] && bin=$b
        if [ "$what" != ingest ]; then echo "import $side $(import_rate "$bin")" | tee -a "$work/results.txt"; fi
        if [ "$what" != import ]; then
            echo "ingest0 $side $(ingest_rate "$bin" 0 "$work/ids-40000.txt")" | tee -a "$work/results.txt"
            echo "ingest50 $side $(ingest_rate "$bin" 50 "$work/ids-3000.txt")" | tee -a "$work/results.txt"
        fi
    done
done
python3 - "$work/results.txt" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
for kind, label in [("import", "import, analyses/s"), ("ingest0", "ingest zero latency C=16, IDs/s"), ("ingest50", "ingest 50 ms C=16, IDs/s")]:
    a = [float(r[2]) for r in rows if r[0] == kind and r[1] == "A"]
    b = [float(r[2]) for r in rows if r[0] == kind and r[1] == "B"]
    if a and b:
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"{label}: A {sorted(a)} median {ma:.0f}; B {sorted(b)} median {mb:.0f}; B/A {mb / ma:.3f}")
PY
