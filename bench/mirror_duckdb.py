"""Peer for the mirror-matching benchmark: DuckDB doing, in SQL, the part of linkage it
can express on the same legs — exact-key joins (UCR, transport documents, containers),
the date window, and the discrepancy arithmetic (CIF/FOB adjustment with declared
freight, g = ln(FOB_M) - ln(X_FOB), the GFI quantity-weighted gap).

Usage: python3 bench/mirror_duckdb.py DIR   (DIR holds exports.csv and imports.csv written
by `cargo run --release -p caravan-mirror --example mirror_bench -- N DIR`)

Loading the CSVs is not timed (Caravan's timing also starts from legs in memory); the
query runs three times on 2 threads and the medians of wall time and of this process's
CPU time (user + system, every thread: resource.getrusage(RUSAGE_SELF) deltas around
the query) are printed; the last line (`RESULT ...`) is read by bench/mirror.sh.
"""
import os
import resource
import statistics
import sys
import time

import duckdb

directory = sys.argv[1]
con = duckdb.connect()
con.execute("SET threads = 2")
for side in ("exports", "imports"):
    con.execute(
        f"CREATE TABLE {side} AS SELECT * FROM read_csv(?, header = true, "
        "columns = {'id': 'BIGINT', 'direction': 'VARCHAR', 'date': 'DATE', 'keys': 'VARCHAR', "
        "'value': 'DOUBLE', 'freight': 'DOUBLE', 'net': 'DOUBLE'})",
        [f"{directory}/{side}.csv"],
    )
n_x = con.execute("SELECT count(*) FROM exports").fetchone()[0]
n_m = con.execute("SELECT count(*) FROM imports").fetchone()[0]

QUERY = """
WITH xk AS (
    SELECT id, direction, unnest(string_split(keys, ';')) AS k FROM exports WHERE keys <> ''
), mk AS (
    SELECT id, direction, unnest(string_split(keys, ';')) AS k FROM imports WHERE keys <> ''
), pairs AS (
    SELECT DISTINCT xk.id AS xid, mk.id AS mid
    FROM xk JOIN mk ON xk.k = mk.k AND xk.direction = mk.direction
), windowed AS (
    SELECT p.xid, p.mid, x.value AS x_value, x.net AS x_net,
           m.value AS m_value, m.freight AS m_freight, m.net AS m_net
    FROM pairs p
    JOIN exports x ON x.id = p.xid
    JOIN imports m ON m.id = p.mid
    WHERE date_diff('day', x.date, m.date) BETWEEN -5 AND 120
), groups AS (
    SELECT xid, any_value(x_value) AS x_fob, any_value(x_net) AS x_net,
           sum(m_value + coalesce(m_freight, 0)) AS m_cif,
           sum(m_value) AS m_basis, sum(m_net) AS m_net
    FROM windowed GROUP BY xid
), gaps AS (
    SELECT xid, m_cif / (m_cif / m_basis) AS m_fob, x_fob,
           ln(m_cif / (m_cif / m_basis)) - ln(x_fob) AS g,
           1 - abs(m_net - x_net) / greatest(m_net, x_net) AS a
    FROM groups WHERE x_fob > 0 AND m_basis > 0
)
SELECT count(*), sum(g), sum((m_fob - x_fob) * a) FROM gaps
"""

def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


times, cpus = [], []
for _ in range(3):
    started, cpu = time.perf_counter(), cpu_seconds()
    links, sum_g, sum_gap_w = con.execute(QUERY).fetchone()
    times.append(time.perf_counter() - started)
    cpus.append(cpu_seconds() - cpu)
wall, cpu = statistics.median(times), statistics.median(cpus)
print(
    f"duckdb {duckdb.__version__}: {n_x} export legs, {n_m} import legs; {links} exact-key links, "
    f"sum g {sum_g:.1f}; median of 3: {wall:.3f} s wall (runs {', '.join(f'{t:.3f}' for t in times)}), "
    f"{cpu:.3f} s CPU (runs {', '.join(f'{t:.3f}' for t in cpus)}); "
    f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
)
print(f"RESULT duckdb_wall={wall:.3f} duckdb_cpu={cpu:.3f}")
