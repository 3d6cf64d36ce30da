#!/bin/sh
# The mirror-matching benchmark and its DuckDB peer in one run (see BENCHMARKS.md).
# Usage: bench/mirror.sh [SHIPMENTS] [DIR]; 430000 shipments give about 1,000,000 export
# and 1,000,000 import goods items.
set -eu
n="${1:-430000}"
dir="${2:-target/mirror-bench}"
cargo build --release -p caravan-mirror --example mirror_bench
/usr/bin/time -v target/release/examples/mirror_bench "$n" "$dir" 2>&1 | grep -E "corridor|run|median|breakdown|Maximum resident"
python3 bench/mirror_duckdb.py "$dir"
