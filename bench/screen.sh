#!/bin/sh
# Screening benchmarks (issue 6): the Rust throughput bench (index build, index file size
# and load, 1,000,000 names on 2 threads, single-call latency), then rapidfuzz peers over
# the same query sample and list names in the same run.
# Usage: bench/screen.sh   (SCREEN_BENCH_NAMES=1000000 and SCREEN_BENCH_RUNS=5 by default)
set -eu
cd "$(dirname "$0")/.."
echo "load before: $(cat /proc/loadavg)"
cargo bench -p caravan-screen --bench throughput
VENV=target/screen-venv
[ -x "$VENV/bin/python" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q rapidfuzz; }
"$VENV/bin/python" bench/screen_peers.py
echo "load after: $(cat /proc/loadavg)"
