"""Peer for the mirror-matching benchmark: DuckDB doing, in SQL, the part of linkage it
can express on the same legs — exact-key joins (UCR, transport documents, containers),
the date window, and the discrepancy arithmetic (CIF/FOB adjustment with declared
freight, g = ln(FOB_M) - ln(X_FOB), the GFI quantity-weighted gap).

Usage: python3 bench/mirror_duckdb.py DIR   (DIR holds exports.csv and imports.csv written
by `cargo run --release -p caravan-mirror --example mirror_bench -- N DIR`)

Both halves are timed, as on Caravan's side: the load (the CSVs read into DuckDB
tables, its columnar store: the peer of Caravan building its columns from the legs) and
the query over the loaded tables (the peer of Caravan's exact stage over its columns).
Each runs three times on 2 threads (the load as CREATE OR REPLACE TABLE); the medians
of wall time and of this process's CPU time (user + system, every thread:
resource.getrusage(RUSAGE_SELF) deltas) are printed, with the process's peak RSS
(ru_maxrss) and DuckDB's own memory accounting (duckdb_memory()) after the load. The
last line (`RESULT ...`) is read by bench/mirror.sh.
"""
import os
import resource
import statistics
import sys
import time

import duckdb

def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed_runs(run, runs=3):
    """Medians of wall and CPU seconds of `run()` over `runs` calls, the runs, and the
    last call's result."""
    times, cpus, result = [], [], None
    for _ in range(runs):
        started, cpu = time.perf_counter(), cpu_seconds()
        result = run()
        times.append(time.perf_counter() - started)
        cpus.append(cpu_seconds() - cpu)
    return statistics.median(times), statistics.median(cpus), times, cpus, result


def runs_text(values):
    return ", ".join(f"{t:.3f}" for t in values)


directory = sys.argv[1]
con = duckdb.connect()
con.execute("SET threads = 2")


def load():
    for side in ("exports", "imports"):
        con.execute(
            f"CREATE OR REPLACE TABLE {side} AS SELECT * FROM read_csv(?, header = true, "
            "columns = {'id': 'BIGINT', 'direction': 'VARCHAR', 'date': 'DATE', 'keys': 'VARCHAR', "
            "'value': 'DOUBLE', 'freight': 'DOUBLE', 'net': 'DOUBLE'})",
            [f"{directory}/{side}.csv"],
        )


load_wall, load_cpu, load_times, load_cpus, _ = timed_runs(load)
tables_mib = con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()[0] / 2**20
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

wall, cpu, times, cpus, (links, sum_g, sum_gap_w) = timed_runs(
    lambda: con.execute(QUERY).fetchone()
)
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(
    f"duckdb {duckdb.__version__}: load (CSV -> tables) of {n_x} export legs and {n_m} import legs, "
    f"median of 3: {load_wall:.3f} s wall (runs {runs_text(load_times)}), {load_cpu:.3f} s CPU "
    f"(runs {runs_text(load_cpus)}); tables and buffers {tables_mib:.0f} MiB (duckdb_memory)"
)
print(
    f"duckdb {duckdb.__version__}: query, {links} exact-key links, sum g {sum_g:.1f}; median of 3: "
    f"{wall:.3f} s wall (runs {runs_text(times)}), {cpu:.3f} s CPU (runs {runs_text(cpus)}); "
    f"peak RSS of the process {peak_mib:.0f} MiB; "
    f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
)
print(
    f"RESULT duckdb_load_wall={load_wall:.3f} duckdb_load_cpu={load_cpu:.3f} "
    f"duckdb_wall={wall:.3f} duckdb_cpu={cpu:.3f} duckdb_tables_mib={tables_mib:.0f} "
    f"duckdb_peak_rss_mib={peak_mib:.0f}"
)
