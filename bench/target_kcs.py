#!/usr/bin/env python3
"""Targeting on KCS: Caravan's GBDT against LightGBM and XGBoost on the same features.

For each protocol (paper, controlled) this script
  1. runs `caravan target eval` (train on train, score valid), which prints Caravan's own
     end-to-end figures with the leak sentinels and writes the feature matrices;
  2. trains Caravan's GBDT (examples/kcs_bench), LightGBM and XGBoost with library defaults
     on exactly those matrices, `--repeats` times each, timing training;
  3. reports P@1/2/5/10 % and AUC on all validation rows and on the rows whose exact item
     price never occurs in training, training time medians, and scoring throughput on
     1,000,000+ rows with the model loaded.

Peers come from PyPI (`pip install lightgbm xgboost scikit-learn pandas`); they are used
only here, never by the product. Run from the repository root:

    cargo build --release -p caravan && cargo build --release -p caravan-target --examples
    python3 bench/target_kcs.py --data ../shared/data/kcs --repeats 5
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import pandas as pd


def top_k(n, rate):
    """Rows in "top rate %": those strictly above the (100 - rate)th percentile for
    distinct scores (the rule Caravan's metrics module uses; ties broken by row order)."""
    pos = (n - 1) * (100.0 - rate) / 100.0
    return n - 1 - int(np.floor(pos))


def precision_at(scores, y, rate):
    order = np.lexsort((np.arange(len(scores)), -scores))
    k = top_k(len(scores), rate)
    return float(y[order[:k]].mean()) if k else 0.0


def auc(scores, y):
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, scores))


def metrics(scores, y, mask):
    out = {}
    for name, m in (("all", np.ones(len(y), bool)), ("unseen", mask)):
        s, t = scores[m], y[m]
        out[name] = {f"p{r}": precision_at(s, t, r) for r in (1, 2, 5, 10)}
        out[name]["auc"] = auc(s, t)
    return out


def cpu():
    t = os.times()
    return t.user + t.system


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/kcs")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--caravan", default="target/release/caravan")
    ap.add_argument("--bench", default="target/release/examples/kcs_bench")
    ap.add_argument("--out", default="target/bench-target")
    args = ap.parse_args()

    import lightgbm as lgb
    import xgboost as xgb

    train_raw = pd.read_csv(f"{args.data}/df_syn_train_eng.csv", dtype={"Declaration ID": str})
    valid_raw = pd.read_csv(f"{args.data}/df_syn_valid_eng.csv", dtype={"Declaration ID": str})
    seen = set(train_raw["Item Price"].tolist())
    unseen_ids = set(valid_raw.loc[~valid_raw["Item Price"].isin(seen), "Declaration ID"])
    threads = os.cpu_count() or 1
    results = {"threads": threads, "lightgbm": lgb.__version__, "xgboost": xgb.__version__}

    for protocol in ("paper", "controlled"):
        out = f"{args.out}/{protocol}"
        cmd = [args.caravan, "target", "eval", "--train", f"{args.data}/df_syn_train_eng.csv",
               "--test", f"{args.data}/df_syn_valid_eng.csv", "--protocol", protocol,
               "--features-out", out]
        print("$", " ".join(cmd), flush=True)
        eval_out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        print(eval_out, flush=True)
        tr = pd.read_csv(f"{out}/train.csv", dtype={"id": str})
        te = pd.read_csv(f"{out}/test.csv", dtype={"id": str})
        xtr, ytr = tr.drop(columns=["id", "fraud"]).to_numpy(np.float32), tr["fraud"].to_numpy()
        xte, yte = te.drop(columns=["id", "fraud"]).to_numpy(np.float32), te["fraud"].to_numpy()
        mask = te["id"].isin(unseen_ids).to_numpy()
        big = np.tile(xte, (int(np.ceil(1_000_000 / len(xte))), 1))
        res = {"unseen_rows": int(mask.sum()), "features": xtr.shape[1]}

        # Caravan's GBDT with LightGBM's defaults, and with the setting chosen on an inner
        # temporal split of the training year (Jan-Sep -> Oct-Dec; the validation split was
        # not used to choose it): 300 trees, learning rate 0.05, 31 leaves.
        for name, params in (("caravan", ["100", "0.1", "31"]), ("caravan_300", ["300", "0.05", "31"])):
            res[name] = json.loads(subprocess.run(
                [args.bench, f"{out}/train.csv", f"{out}/test.csv", str(args.repeats), *params],
                check=True, capture_output=True, text=True).stdout)

        def peer(name, make):
            times, cpus, model = [], [], None
            for _ in range(args.repeats):
                c, t = cpu(), time.perf_counter()
                model = make().fit(xtr, ytr)
                times.append(time.perf_counter() - t)
                cpus.append(cpu() - c)
            s = model.predict_proba(xte)[:, 1]
            rates = []
            for _ in range(5):
                t = time.perf_counter()
                model.predict_proba(big)
                rates.append(len(big) / (time.perf_counter() - t))
            res[name] = {"train_seconds_median": statistics.median(times),
                         "train_cpu_seconds_median": statistics.median(cpus),
                         "score_rows_per_second_median": statistics.median(rates),
                         **metrics(s, yte, mask)}

        peer("lightgbm", lambda: lgb.LGBMClassifier(n_jobs=threads, verbose=-1))
        peer("lightgbm_300", lambda: lgb.LGBMClassifier(n_estimators=300, learning_rate=0.05,
                                                        n_jobs=threads, verbose=-1))
        peer("xgboost", lambda: xgb.XGBClassifier(n_jobs=threads, tree_method="hist"))
        # kcs_bench prints all-row figures; Caravan's unseen-price figures are in the
        # `caravan target eval` output above.
        results[protocol] = res
        print(json.dumps(res, indent=1), flush=True)

    with open(f"{args.out}/results.json", "w") as f:
        json.dump(results, f, indent=1)
    print(f"wrote {args.out}/results.json")


if __name__ == "__main__":
    sys.exit(main())
