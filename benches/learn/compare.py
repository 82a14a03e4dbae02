"""brim train against scikit-learn, side by side in one run: the same file, the same columns,
5-fold stratified cross-validation, one thread.

    python benches/learn/compare.py ../shared/data/x-education/Leads.csv --label Converted \
        --drop "Prospect ID,Lead Number,Tags,Lead Quality,Lead Profile,Asymmetrique Activity Index,Asymmetrique Profile Index,Asymmetrique Activity Score,Asymmetrique Profile Score,Last Notable Activity"

Needs scikit-learn and pandas, and the `brim` binary (BRIM_BIN, default target/release/brim).
Prints ROC-AUC (mean ± sd over the folds), log-loss, 5-fold wall time and the time to train on
every row, for LogisticRegression, HistGradientBoostingClassifier and `brim train`.
"""

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import log_loss, roc_auc_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler  # noqa: E402


def sklearn_models(frame):
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    categorical = [c for c in frame.columns if c not in numeric]
    lr = make_pipeline(
        ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="(missing)"),
                                  OneHotEncoder(handle_unknown="ignore")), categorical),
        ]),
        LogisticRegression(max_iter=2000),
    )
    hgb = make_pipeline(
        ColumnTransformer([
            ("num", "passthrough", numeric),
            ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="(missing)"),
                                  OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                                 encoded_missing_value=-1)), categorical),
        ]),
        HistGradientBoostingClassifier(categorical_features=list(range(len(numeric), len(numeric) + len(categorical))),
                                       random_state=0),
    )
    return {"LogisticRegression": lr, "HistGradientBoostingClassifier": hgb}


def evaluate(model, x, y, folds):
    aucs, losses = [], []
    start = time.perf_counter()
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(x, y):
        model.fit(x.iloc[train], y[train])
        p = model.predict_proba(x.iloc[test])[:, 1]
        aucs.append(roc_auc_score(y[test], p))
        losses.append(log_loss(y[test], p))
    cv_seconds = time.perf_counter() - start
    start = time.perf_counter()
    model.fit(x, y)
    return np.mean(aucs), np.std(aucs), np.mean(losses), cv_seconds, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--label", required=True)
    parser.add_argument("--drop", default="")
    parser.add_argument("--cv", type=int, default=5)
    args = parser.parse_args()
    drop = [c for c in args.drop.split(",") if c]
    frame = pd.read_csv(args.data)
    y = frame[args.label].to_numpy()
    x = frame.drop(columns=[args.label, *drop])
    rows = []
    for name, model in sklearn_models(x).items():
        rows.append((f"scikit-learn {name}", *evaluate(model, x, y, args.cv)))
    brim = os.environ.get("BRIM_BIN", "target/release/brim")
    command = [brim, "train", args.data, "--label", args.label, "--cv", str(args.cv), "--json"]
    if drop:
        command += ["--drop", ",".join(drop)]
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"brim train failed: {out.stderr}")
    report = json.loads(out.stdout)
    cv = report["cv"]
    rows.append(("brim train", cv["roc_auc"], cv["roc_auc_sd"], cv["log_loss"], cv["seconds"], report["train_seconds"]))
    print(f"{'model':<45} {'ROC-AUC':>15} {'log-loss':>9} {'CV time':>8} {'fit all':>8}")
    for name, auc, sd, loss, cv_s, fit_s in rows:
        print(f"{name:<45} {auc:>8.4f} ± {sd:.3f} {loss:>9.3f} {cv_s:>7.2f}s {fit_s:>7.3f}s")


if __name__ == "__main__":
    main()
