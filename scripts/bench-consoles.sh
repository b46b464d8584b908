#!/usr/bin/env bash
# Several consoles in one run (issue 14): N mock consoles (default 4) of THREATS threats each
# (default 5,000) at LATENCY ms (default 20), each in its own process on loopback with its own
# token and ID range; `sync --consoles` of all of them into one new database, against `sync`
# of each console alone into a new database. Target: all together <= 1.3 x the slowest alone.
# Runs RUNS rounds (default 3), alternating, and prints medians.
# Usage: scripts/bench-consoles.sh   (BIN=path to use a built binary; CONSOLES=4 THREATS=5000
#                                    LATENCY=20 CONCURRENCY=8 RUNS=3 BENCH_DIR=dir)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib-bench.sh
consoles=${CONSOLES:-4}
threats=${THREATS:-5000}
latency=${LATENCY:-20}
concurrency=${CONCURRENCY:-8}
echo "machine: $machine, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$consoles consoles x $threats threats, latency $latency ms, concurrency $concurrency each"

pids=()
stop_all() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap stop_all EXIT
: >"$work/consoles.toml"
for i in $(seq 1 "$consoles"); do
    token="bench-token-$i"
    printf '%s\n' "$token" >"$work/c$i.token"
    chmod 600 "$work/c$i.token"
    "$bin" mock-console --threats "$threats" --latency-ms "$latency" --threads 1 --token "$token" \
        --id-base $((i * 1000000)) --seed $((2026 + i)) >"$work/c$i.url" &
    pids+=($!)
    for _ in $(seq 1 100); do [ -s "$work/c$i.url" ] && break; sleep 0.05; done
    printf '[consoles.c%s]\nurl = "%s"\ntoken_file = "c%s.token"\nconcurrency = %s\n\n' \
        "$i" "$(head -1 "$work/c$i.url")" "$i" "$concurrency" >>"$work/consoles.toml"
done

seconds() {  # $1 label, then the command -> prints seconds, records them in $work/$1.times
    local start end
    start=$(date +%s.%N)
    "${@:2}" >"$work/$1.json" 2>>"$work/$1.err" || { echo "$1: exit $? ($(tail -1 "$work/$1.err"))" >&2; }
    end=$(date +%s.%N)
    python3 -c "print(f'{$end - $start:.2f}')" | tee -a "$work/$1.times"
}
for round in $(seq 1 "${RUNS:-3}"); do
    rm -f "$work"/all.sqlite*
    t_all=$(seconds all "$bin" sync --consoles "$work/consoles.toml" --db "$work/all.sqlite" --since 31d --json --quiet)
    stored=$(python3 -c "import json; print(json.load(open('$work/all.json'))['total']['stored'])")
    alone=""
    for i in $(seq 1 "$consoles"); do
        rm -f "$work"/one.sqlite*
        t=$(S1_API_TOKEN="bench-token-$i" seconds "alone-c$i" "$bin" sync --console "$(head -1 "$work/c$i.url")" \
            --db "$work/one.sqlite" --since 31d --concurrency "$concurrency" --json --quiet)
        alone="$alone $t"
    done
    slowest=$(python3 -c "print(max(float(x) for x in '$alone'.split()))")
    echo "round $round: all $consoles together $t_all s ($stored stored); alone:$alone s; slowest alone $slowest s; ratio $(python3 -c "print(f'{$t_all / $slowest:.2f}')")" \
        | tee -a "$work/rounds.txt"
done
python3 - "$work/rounds.txt" <<'PY'
import re, statistics, sys
rounds = [re.search(r"together ([\d.]+) s .* slowest alone ([\d.]+) s; ratio ([\d.]+)", line).groups() for line in open(sys.argv[1])]
together, slowest, ratio = (statistics.median(float(r[i]) for r in rounds) for i in range(3))
print(f"median: together {together:.2f} s, slowest alone {slowest:.2f} s, ratio {ratio:.2f} (target <= 1.30)")
PY
