"""Peer for the ingest benchmark: DuckDB loading the same CSV into a table.

Usage: python3 bench/duckdb_load.py FILE.csv DB.duckdb
All columns are read as text, the fairest peer for a loader that keeps declared values
verbatim; DuckDB still parses, types nothing, and writes its own columnar file.
"""
import sys
import time

import duckdb

csv_path, db_path = sys.argv[1], sys.argv[2]
started = time.perf_counter()
con = duckdb.connect(db_path)
con.execute(
    "CREATE TABLE declarations AS SELECT * FROM read_csv(?, header = true, all_varchar = true)",
    [csv_path],
)
rows = con.execute("SELECT count(*) FROM declarations").fetchone()[0]
con.close()
secs = time.perf_counter() - started
print(f"{rows} rows in {secs:.3f} s: {rows / secs:.0f} rows/s")
