#!/bin/sh
# The mirror-matching benchmark and its DuckDB peer in one run (see BENCHMARKS.md).
# Usage: bench/mirror.sh [SHIPMENTS] [DIR] [RUNS]; 430000 shipments give about 1,000,000
# export and 1,000,000 import goods items. Prints, per stage, the medians of wall time and
# of process CPU time for Caravan and for DuckDB, and the ratios Caravan / DuckDB on both
# (the CPU ratio stays meaningful on a machine shared with other work).
set -eu
n="${1:-430000}"
dir="${2:-target/mirror-bench}"
runs="${3:-3}"
cargo build --release -p caravan-mirror --example mirror_bench
mkdir -p "$dir"
/usr/bin/time -v target/release/examples/mirror_bench "$n" "$dir" "$runs" >"$dir/caravan.log" 2>&1
grep -E "load average|corridor|run|median|breakdown|Maximum resident|RESULT" "$dir/caravan.log"
python3 bench/mirror_duckdb.py "$dir" | tee "$dir/duckdb.log"
python3 - "$dir/caravan.log" "$dir/duckdb.log" <<'PY'
import re
import sys

values = {}
for path in sys.argv[1:]:
    for line in open(path):
        if line.startswith("RESULT "):
            values.update((k, float(v)) for k, v in re.findall(r"(\w+)=([\d.]+)", line))
wall = values["caravan_exact_wall"] / values["duckdb_wall"]
cpu = values["caravan_exact_cpu"] / values["duckdb_cpu"]
print(
    f"exact keys + date window + value arithmetic, Caravan / DuckDB: wall {wall:.2f}x, CPU {cpu:.2f}x "
    f"({'no slower' if max(wall, cpu) <= 1.0 else 'slower'}); whole linkage {values['caravan_whole_wall']:.2f} s wall, "
    f"{values['caravan_whole_cpu']:.2f} s CPU (target < 30 s wall)"
)
PY
