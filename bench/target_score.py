#!/usr/bin/env python3
"""Scoring throughput of the LightGBM and XGBoost peers on a feature matrix written by
`caravan target eval --features-out` (library defaults, 100 trees, all cores), for the
"Targeting on KCS" section of BENCHMARKS.md: the model is trained once, then the test matrix
tiled to at least 1,000,000 rows is scored five times; medians of rows/s (wall) and rows per
CPU second are printed. Caravan's own figures come from `examples/kcs_bench` run just before
on the same matrix. Peers from PyPI (`pip install lightgbm xgboost pandas`), bench only.

    target/target-venv/bin/python bench/target_score.py target/bench-target/controlled
"""
import os, statistics, sys, time
import numpy as np, pandas as pd
import lightgbm as lgb, xgboost as xgb
d = sys.argv[1]
tr = pd.read_csv(f"{d}/train.csv", dtype={"id": str}); te = pd.read_csv(f"{d}/test.csv", dtype={"id": str})
xtr, ytr = tr.drop(columns=["id", "fraud"]).to_numpy(np.float32), tr["fraud"].to_numpy()
xte = te.drop(columns=["id", "fraud"]).to_numpy(np.float32)
big = np.tile(xte, (int(np.ceil(1_000_000 / len(xte))), 1))
th = os.cpu_count()
def cpu():
    t = os.times(); return t.user + t.system
for name, m in (("lightgbm", lgb.LGBMClassifier(n_jobs=th, verbose=-1)), ("xgboost", xgb.XGBClassifier(n_jobs=th, tree_method="hist"))):
    m.fit(xtr, ytr)
    w, c = [], []
    for _ in range(5):
        c0, t0 = cpu(), time.perf_counter(); m.predict_proba(big); t1 = time.perf_counter() - t0; c1 = cpu() - c0
        w.append(len(big) / t1); c.append(len(big) / max(c1, 0.01))
    print(name, lgb.__version__ if name == "lightgbm" else xgb.__version__, "rows/s median", round(statistics.median(w)), "rows per CPU s median", round(statistics.median(c)), flush=True)
