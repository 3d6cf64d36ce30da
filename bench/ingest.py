"""Ingest benchmark: `caravan ingest` of Caravan CSV into SQLite with full validation,
against a raw SQLite insert of the same rows (no validation) and DuckDB loading the same
file, all in the same run. Prints medians and ratios; BENCHMARKS.md records the results.

Usage: python3 bench/ingest.py [--items N] [--runs R] [--postgres URL]
Needs: a release build (`cargo build --release -p caravan --examples -p caravan-store-sqlite`),
the duckdb package (`pip install duckdb`), GNU time at /usr/bin/time.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench-out")
CARAVAN = os.path.join(ROOT, "target/release/caravan")
RAW = os.path.join(ROOT, "target/release/examples/raw_csv_load")


def timed(cmd, env=None):
    """Runs cmd under GNU time; returns (seconds, peak RSS in MB, stdout)."""
    full = ["/usr/bin/time", "-f", "%e %M"] + cmd
    started = time.perf_counter()
    proc = subprocess.run(full, capture_output=True, text=True, env=env)
    secs = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    last = proc.stderr.strip().splitlines()[-1].split()
    return secs, int(last[1]) / 1024, proc.stdout


def clean(*paths):
    for p in paths:
        for suffix in ("", "-wal", "-shm", ".wal"):
            if os.path.exists(p + suffix):
                os.remove(p + suffix)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--postgres", default=os.environ.get("CARAVAN_BENCH_PG_URL"))
    args = ap.parse_args()

    corridor = os.path.join(OUT, f"corridor-{args.items}")
    csv_path = os.path.join(corridor, "us", "declarations.csv")
    if not os.path.exists(csv_path):
        # About 1.56 goods items per shipment land on the US side; generate enough, then
        # cut the file at a declaration boundary once it holds the wanted item count.
        shipments = int(args.items / 1.5) + 1000
        subprocess.run([CARAVAN, "generate", "--out", corridor, "--seed", "1",
                        "--shipments", str(shipments), "--formats", "csv"], check=True,
                       stdout=subprocess.DEVNULL)
        trim(csv_path, args.items)
    rows = sum(1 for _ in open(csv_path, encoding="utf-8")) - 1
    size_mb = os.path.getsize(csv_path) / 1e6
    print(f"file: {csv_path}: {rows} goods-item rows, {size_mb:.0f} MB")

    db = os.path.join(OUT, "caravan.sqlite")
    raw_db = os.path.join(OUT, "raw.sqlite")
    duck_db = os.path.join(OUT, "peer.duckdb")
    results = {"caravan": [], "raw": [], "duckdb": [], "rss": [], "pg": []}
    env = dict(os.environ, CARAVAN__NODE__COUNTRY="US", CARAVAN__STORE__URL=f"sqlite://{db}")
    for run in range(args.runs):
        clean(db)
        secs, rss, out = timed([CARAVAN, "ingest", "--quiet", csv_path], env)
        assert "stored" in out, out
        results["caravan"].append(secs)
        results["rss"].append(rss)
        clean(raw_db)
        secs, _, _ = timed([RAW, csv_path, raw_db])
        results["raw"].append(secs)
        clean(duck_db)
        secs, _, _ = timed([sys.executable, os.path.join(ROOT, "bench/duckdb_load.py"), csv_path, duck_db])
        results["duckdb"].append(secs)
        if args.postgres:
            pg_env = dict(env, CARAVAN__STORE__URL=args.postgres)
            reset_pg(args.postgres)
            secs, _, _ = timed([CARAVAN, "ingest", "--quiet", csv_path], pg_env)
            results["pg"].append(secs)
        print(f"run {run + 1}: caravan {results['caravan'][-1]:.2f} s, raw sqlite {results['raw'][-1]:.2f} s, "
              f"duckdb {results['duckdb'][-1]:.2f} s" + (f", caravan→postgres {results['pg'][-1]:.2f} s" if args.postgres else ""))

    med = {k: statistics.median(v) for k, v in results.items() if v}
    print()
    print(f"median over {args.runs} runs, {rows} goods items:")
    print(f"  caravan ingest → SQLite, full validation: {med['caravan']:.2f} s = {rows / med['caravan']:,.0f} items/s, peak RSS {max(results['rss']):.0f} MB")
    print(f"  raw SQLite insert, no validation:         {med['raw']:.2f} s = {rows / med['raw']:,.0f} rows/s  (caravan/raw time ratio {med['caravan'] / med['raw']:.2f})")
    print(f"  DuckDB read_csv into a table:             {med['duckdb']:.2f} s = {rows / med['duckdb']:,.0f} rows/s  (caravan/duckdb time ratio {med['caravan'] / med['duckdb']:.2f})")
    if "pg" in med:
        print(f"  caravan ingest → PostgreSQL (COPY):       {med['pg']:.2f} s = {rows / med['pg']:,.0f} items/s")


def trim(csv_path, items):
    """Keeps the header and the first declarations holding at least `items` rows."""
    tmp = csv_path + ".tmp"
    with open(csv_path, encoding="utf-8", newline="") as src, open(tmp, "w", encoding="utf-8", newline="") as dst:
        header = src.readline()
        dst.write(header)
        lrn_col = header.rstrip("\r\n").split(",").index("lrn")
        import csv as csvmod
        reader = csvmod.reader(src)
        writer = csvmod.writer(dst, lineterminator="\n")
        count, last = 0, None
        for row in reader:
            if count >= items and row[lrn_col] != last:
                break
            writer.writerow(row)
            count += 1
            last = row[lrn_col]
    shutil.move(tmp, csv_path)


def reset_pg(url):
    subprocess.run(["psql", url, "-q", "-c", "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"],
                   check=True, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
