"""Peers for the screening benchmarks (issue 6), run in the same session as the Rust bench.

1. E1 anchor: rapidfuzz WRatio / token_sort_ratio on name_pairs_dev.csv (ASCII-folded,
   lower case), best F1 over thresholds.
2. Throughput anchor: rapidfuzz process.cdist (token_sort_ratio, workers=2) of the query
   sample written by `cargo bench -p caravan-screen --bench throughput` against every list
   name of the same index (target/screen-bench/), as names per second.

Usage: python bench/screen_peers.py  (rapidfuzz from PyPI in a venv; never in the product)
"""

import csv
import statistics
import sys
import time
import unicodedata
from pathlib import Path

from rapidfuzz import fuzz, process

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "screening"
BENCH = ROOT / "target" / "screen-bench"


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def best_f1(scored):
    best = (0.0, 0.0, 0.0, 0.0)
    for threshold in sorted({s for s, _ in scored}):
        tp = sum(1 for s, m in scored if s >= threshold and m)
        fp = sum(1 for s, m in scored if s >= threshold and not m)
        fn = sum(1 for s, m in scored if s < threshold and m)
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        if f1 >= best[0]:
            best = (f1, threshold, p, r)
    return best


def main() -> None:
    rows = list(csv.DictReader(open(DATA / "name_pairs_dev.csv", encoding="utf-8")))
    for name, scorer in [("WRatio", fuzz.WRatio), ("token_sort_ratio", fuzz.token_sort_ratio)]:
        scored = [
            (scorer(fold(r["name1"]), fold(r["name2"])) / 100.0, r["is_match"] == "true")
            for r in rows
        ]
        f1, t, p, r = best_f1(scored)
        print(f"E1 rapidfuzz {name}: best F1 {f1:.3f} at {t:.2f} (P {p:.3f} R {r:.3f}), {len(rows)} pairs")

    queries_path = BENCH / "queries.txt"
    if not queries_path.exists():
        print("no target/screen-bench/queries.txt: run the Rust bench first", file=sys.stderr)
        return
    queries = [fold(q) for q in queries_path.read_text(encoding="utf-8").split("\n")][:1000]
    choices = [fold(c) for c in (BENCH / "list_names.txt").read_text(encoding="utf-8").split("\n")]
    rates = []
    for _ in range(3):
        start = time.perf_counter()
        process.cdist(queries, choices, scorer=fuzz.token_sort_ratio, workers=2, dtype="uint8")
        rates.append(len(queries) / (time.perf_counter() - start))
    print(
        f"cdist token_sort_ratio, {len(queries)} queries x {len(choices)} list names, workers=2: "
        f"median {statistics.median(rates):.0f} names/s"
    )


if __name__ == "__main__":
    main()
