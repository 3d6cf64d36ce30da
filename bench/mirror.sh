#!/bin/sh
# The mirror-matching benchmark and its DuckDB peer in one run (see BENCHMARKS.md).
# Usage: bench/mirror.sh [SHIPMENTS] [DIR] [RUNS]; 430000 shipments give about 1,000,000
# export and 1,000,000 import goods items. Prints, per stage, the medians of wall time and
# of process CPU time for Caravan and for DuckDB, and the ratios Caravan / DuckDB on both
# (the CPU ratio stays meaningful on a machine shared with other work): the load (Caravan
# building its columns from the legs, DuckDB reading the CSVs into its tables), the exact
# stage over the loaded data, and load + exact stage together; then Caravan's whole
# linkage (legs to links, columns built inside) and both sides' peak memory.
set -eu
n="${1:-430000}"
dir="${2:-target/mirror-bench}"
runs="${3:-3}"
cargo build --release -p caravan-mirror --example mirror_bench
mkdir -p "$dir"
/usr/bin/time -v target/release/examples/mirror_bench "$n" "$dir" "$runs" >"$dir/caravan.log" 2>&1
grep -E "load average|corridor|legs in memory|run|median|breakdown|Maximum resident|RESULT" "$dir/caravan.log"
python3 bench/mirror_duckdb.py "$dir" | tee "$dir/duckdb.log"
python3 - "$dir/caravan.log" "$dir/duckdb.log" <<'PY'
import re
import sys

values = {}
for path in sys.argv[1:]:
    for line in open(path):
        if line.startswith("RESULT "):
            values.update((k, float(v)) for k, v in re.findall(r"(\w+)=([\d.]+)", line))


def ratio(ours, theirs):
    wall = values[f"caravan_{ours}_wall"] / values[f"duckdb_{theirs}wall"]
    cpu = values[f"caravan_{ours}_cpu"] / values[f"duckdb_{theirs}cpu"]
    return wall, cpu


def verdict(wall, cpu):
    return "no slower" if max(wall, cpu) <= 1.0 else "slower"


values["caravan_both_wall"] = values["caravan_load_wall"] + values["caravan_exact_wall"]
values["caravan_both_cpu"] = values["caravan_load_cpu"] + values["caravan_exact_cpu"]
values["duckdb_both_wall"] = values["duckdb_load_wall"] + values["duckdb_wall"]
values["duckdb_both_cpu"] = values["duckdb_load_cpu"] + values["duckdb_cpu"]
rows = [
    ("exact keys + date window + value arithmetic over loaded data", ratio("exact", "")),
    ("load (Caravan: legs -> columns; DuckDB: CSV -> tables)", ratio("load", "load_")),
    ("load + exact stage (sums of the medians)", ratio("both", "both_")),
]
print("Caravan / DuckDB, medians, same run:")
for label, (wall, cpu) in rows:
    print(f"  {label}: wall {wall:.2f}x, CPU {cpu:.2f}x ({verdict(wall, cpu)})")
print(
    f"  whole linkage (legs to links, columns built inside, exact + fuzzy + discrepancies): "
    f"{values['caravan_whole_wall']:.2f} s wall, {values['caravan_whole_cpu']:.2f} s CPU (target < 30 s wall)"
)
print(
    f"  memory: Caravan columns {values['caravan_columns_mib']:.0f} MiB, peak RSS of its timed stages "
    f"{values['caravan_peak_rss_mib']:.0f} MiB (legs included); DuckDB tables "
    f"{values['duckdb_tables_mib']:.0f} MiB, peak RSS of its process {values['duckdb_peak_rss_mib']:.0f} MiB"
)
PY
