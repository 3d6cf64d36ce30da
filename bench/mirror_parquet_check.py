#!/usr/bin/env python3
"""Reads Caravan's mirror Parquet tables back with two independent readers and times a peer.

    python3 bench/mirror_parquet_check.py OUT_DIR [RUNS]

OUT_DIR holds the `<table>.parquet` files and `caravan_times.csv` written by
`cargo run --release -p caravan-mirror --example mirror_parquet` (or the `.parquet` files of
`caravan mirror report --format parquet`, without the timing). For every file:

- pyarrow reads it; column types are string, int64, double or bool; the row count agrees
  with the footer; for every column chunk the footer's statistics (null count, min, max)
  equal the values pyarrow computes from the data;
- DuckDB reads it (`read_parquet`) and agrees with pyarrow on the row count, the number of
  nulls and the sum (numbers) or the distinct count (strings) of every column.

Then, as the peer: pyarrow writes each table again with the same layout Caravan uses (PLAIN
encoding, no dictionary, no compression, statistics on), median of RUNS runs, and the
ratio Caravan / pyarrow is printed. Bench only: pyarrow and DuckDB come from PyPI
(`pip install pyarrow duckdb`), never from the product. Exits 1 on any disagreement.
"""

import csv
import io
import math
import statistics
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ALLOWED = {pa.string(), pa.int64(), pa.float64(), pa.bool_()}


def fail(msg):
    print(f"FAIL {msg}")
    global failures
    failures += 1


def check_stats(path, table, meta):
    for g in range(meta.num_row_groups):
        rg = meta.row_group(g)
        start = sum(meta.row_group(i).num_rows for i in range(g))
        part = table.slice(start, rg.num_rows)
        for c in range(rg.num_columns):
            col = rg.column(c)
            name = col.path_in_schema
            values = part.column(name)
            st = col.statistics
            if st is None:
                fail(f"{path.name}:{name}: no statistics")
                continue
            if st.null_count != values.null_count:
                fail(f"{path.name}:{name}: null_count {st.null_count} != {values.null_count}")
            present = pc.drop_null(values)
            if pa.types.is_floating(values.type):
                present = pc.filter(present, pc.invert(pc.is_nan(present)))
            if len(present) == 0:
                if st.has_min_max:
                    fail(f"{path.name}:{name}: bounds on an all-null column")
                continue
            if not st.has_min_max:
                fail(f"{path.name}:{name}: no min/max")
                continue
            if pa.types.is_string(values.type):
                as_bytes = sorted(v.encode() for v in present.to_pylist())
                lo, hi = as_bytes[0], as_bytes[-1]
                got = (st.min.encode() if isinstance(st.min, str) else st.min,
                       st.max.encode() if isinstance(st.max, str) else st.max)
                if got != (lo, hi):
                    fail(f"{path.name}:{name}: bounds {got} != {(lo, hi)}")
            else:
                mm = pc.min_max(present)
                lo, hi = mm["min"].as_py(), mm["max"].as_py()
                if pa.types.is_floating(values.type):
                    ok = math.isclose(st.min, lo, abs_tol=0.0) and math.isclose(st.max, hi, abs_tol=0.0)
                else:
                    ok = (st.min, st.max) == (lo, hi)
                if not ok:
                    fail(f"{path.name}:{name}: bounds {(st.min, st.max)} != {(lo, hi)}")


def check_duckdb(path, table):
    con = duckdb.connect()
    n = con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchone()[0]
    if n != table.num_rows:
        fail(f"{path.name}: DuckDB reads {n} rows, pyarrow {table.num_rows}")
    for name in table.column_names:
        col = table.column(name)
        q = f'"{name}"'
        nulls = con.execute(f"SELECT count(*) - count({q}) FROM read_parquet(?)", [str(path)]).fetchone()[0]
        if nulls != col.null_count:
            fail(f"{path.name}:{name}: DuckDB nulls {nulls} != {col.null_count}")
        if pa.types.is_string(col.type):
            d = con.execute(f"SELECT count(DISTINCT {q}) FROM read_parquet(?)", [str(path)]).fetchone()[0]
            if d != len(pc.unique(pc.drop_null(col))):
                fail(f"{path.name}:{name}: DuckDB distinct {d}")
        elif pa.types.is_boolean(col.type):
            d = con.execute(f"SELECT count(*) FILTER (WHERE {q}) FROM read_parquet(?)", [str(path)]).fetchone()[0]
            if d != pc.sum(pc.cast(col, pa.int64())).as_py() if len(col) else 0:
                fail(f"{path.name}:{name}: DuckDB true count {d}")
        else:
            s = con.execute(f"SELECT sum({q}) FILTER (WHERE NOT isnan({q}::DOUBLE)) FROM read_parquet(?)", [str(path)]).fetchone()[0]
            present = pc.drop_null(col)
            if pa.types.is_floating(col.type):
                present = pc.filter(present, pc.invert(pc.is_nan(present)))
            expected = pc.sum(present).as_py() if len(present) else None
            if (s is None) != (expected is None) or (s is not None and not math.isclose(s, expected, rel_tol=1e-9, abs_tol=1e-6)):
                fail(f"{path.name}:{name}: DuckDB sum {s} != {expected}")


def main():
    out = Path(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    times = {}
    tpath = out / "caravan_times.csv"
    if tpath.exists():
        for row in csv.DictReader(tpath.open()):
            times[row["table"]] = float(row["median_ms"])
    files = sorted(out.glob("*.parquet"))
    if not files:
        fail(f"no .parquet files in {out}")
    total_caravan = total_peer = 0.0
    print(f"pyarrow {pa.__version__}, duckdb {duckdb.__version__}")
    print(f"{'table':<22}{'rows':>9}{'cols':>5}{'caravan ms':>12}{'pyarrow ms':>12}{'ratio':>7}")
    for path in files:
        pf = pq.ParquetFile(path)
        table = pf.read()
        meta = pf.metadata
        if meta.num_rows != table.num_rows:
            fail(f"{path.name}: footer {meta.num_rows} rows, read {table.num_rows}")
        for field in table.schema:
            if field.type not in ALLOWED:
                fail(f"{path.name}:{field.name}: type {field.type}")
        check_stats(path, table, meta)
        check_duckdb(path, table)
        samples = []
        for _ in range(runs):
            sink = io.BytesIO()
            t0 = time.perf_counter()
            pq.write_table(table, sink, compression="none", use_dictionary=False,
                           write_statistics=True, row_group_size=1 << 20,
                           data_page_size=1 << 30, column_encoding=None)
            samples.append((time.perf_counter() - t0) * 1000.0)
        peer = statistics.median(samples)
        mine = times.get(path.stem)
        ratio = f"{mine / peer:.2f}" if mine is not None and peer > 0 else ""
        if mine is not None:
            total_caravan += mine
            total_peer += peer
        print(f"{path.stem:<22}{table.num_rows:>9}{table.num_columns:>5}"
              f"{(f'{mine:.3f}' if mine is not None else ''):>12}{peer:>12.3f}{ratio:>7}")
    if total_peer > 0 and times:
        print(f"{'all tables':<36}{total_caravan:>12.3f}{total_peer:>12.3f}{total_caravan / total_peer:>7.2f}")
    print("OK" if failures == 0 else f"{failures} failures")
    sys.exit(1 if failures else 0)


failures = 0
if __name__ == "__main__":
    main()
