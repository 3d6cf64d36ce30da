#!/bin/sh
# Screening benchmarks (issue 6): the Rust throughput bench, then rapidfuzz peers in the
# same run. Usage: bench/screen.sh   (SCREEN_BENCH_NAMES=1000000 by default)
set -eu
cd "$(dirname "$0")/.."
cargo bench -p caravan-screen --bench throughput
VENV=target/screen-venv
[ -x "$VENV/bin/python" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q rapidfuzz; }
"$VENV/bin/python" bench/screen_peers.py
