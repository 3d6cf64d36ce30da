#!/usr/bin/env bash
# Parquet export of mirror matching: write the report tables of a corridor with Caravan's
# writer (timed), read them back with pyarrow and DuckDB (checked), and time pyarrow
# writing the same tables as the peer. Usage: bench/mirror_parquet.sh [SHIPMENTS] [RUNS]
set -euo pipefail
SHIPMENTS="${1:-20000}"
RUNS="${2:-5}"
OUT="target/mirror-parquet-$SHIPMENTS"
VENV=target/mirror-parquet-venv
[ -x "$VENV/bin/python" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q pyarrow duckdb; }
cargo run --release -q -p caravan-mirror --example mirror_parquet -- "$SHIPMENTS" "$OUT" "$RUNS"
"$VENV/bin/python" bench/mirror_parquet_check.py "$OUT" "$RUNS"
