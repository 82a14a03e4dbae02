"""brim.train and brim.LearnedModel: the same learner as `brim train`, on the shared data sets
and on every kind of table."""

import json
import os
import subprocess
import warnings
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import brim

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
LEADS = DATA / "x-education" / "Leads.csv"
# X Education's ids and the columns filled in after a sales contact (its README).
LEAKY = [
    "Prospect ID", "Lead Number", "Tags", "Lead Quality", "Lead Profile",
    "Asymmetrique Activity Index", "Asymmetrique Profile Index", "Asymmetrique Activity Score",
    "Asymmetrique Profile Score", "Last Notable Activity",
]


def x_education() -> pd.DataFrame:
    if not LEADS.exists():
        if os.environ.get("CI") == "true":
            raise AssertionError(f"{LEADS} is required under CI")
        pytest.skip(f"no {LEADS} (the shared data sets)")
    return pd.read_csv(LEADS)


def synthetic(n: int = 600) -> list:
    rows = []
    for i in range(n):
        size = (i % 50) * 10
        source = ["referral", "ads", "event"][i % 3]
        converted = int(((i % 50 > 30) == (i % 3 == 0)) or i % 7 == 0)
        rows.append({"employees": size, "source": source, "converted": converted})
    return rows


def test_x_education_matches_the_cli_and_beats_the_baselines():
    df = x_education()
    brim_bin = os.environ["BRIM_BIN"]  # scripts/test-py sets it
    model = brim.train(df, label="Converted", drop=LEAKY)
    m = model.metrics
    assert m["roc_auc"] > 0.903, m
    assert len(m["fold_roc_auc"]) == 5
    assert model.summary["n_rows"] == 9240
    # The same numbers as `brim train` on the same file: one learner, two doors.
    out = subprocess.run(
        [str(brim_bin), "train", str(LEADS), "--label", "Converted", "--drop", ",".join(LEAKY), "--json"],
        capture_output=True, text=True, check=True,
    )
    cli = json.loads(out.stdout)
    assert abs(cli["roc_auc"] - m["roc_auc"]) < 1e-9, (cli["roc_auc"], m["roc_auc"])
    p = model.predict(df)
    assert isinstance(p, pd.Series) and list(p.index) == list(df.index)
    assert p.between(0, 1).all()
    assert any(f == "Total Time Spent on Website" for f, _ in model.top_features)


def test_every_kind_of_table_predicts_alike_and_a_saved_model_reads_back(tmp_path):
    rows = synthetic()
    model = brim.train(rows, label="converted", min_class=10)
    expected = model.predict(rows)
    assert isinstance(expected, list) and len(expected) == len(rows)
    frames = [pd.DataFrame(rows), pl.DataFrame(rows), pa.Table.from_pylist(rows)]
    for frame in frames:
        got = list(model.predict(frame))
        assert got == pytest.approx(expected, abs=1e-12), type(frame)
    assert isinstance(model.predict(pl.DataFrame(rows)), pl.Series)
    path = tmp_path / "model.json"
    model.save(path)
    again = brim.LearnedModel.load(path)
    assert again.predict(rows) == pytest.approx(expected, abs=1e-12)
    assert again.metrics["roc_auc"] == pytest.approx(model.metrics["roc_auc"], abs=1e-12)
    why = model.explain(rows, row=0, n=3)
    assert 1 <= len(why) <= 3 and all(isinstance(f, str) and isinstance(c, float) for f, c in why)
    assert repr(model).startswith('LearnedModel(name="learned", version="'), repr(model)
    # A frame without some of the model's columns still scores (missing values).
    assert len(model.predict([{"employees": 120}])) == 1


def test_refusals_warnings_and_bad_arguments():
    rows = synthetic(200)
    with pytest.raises(brim.InputError, match=r"^too little data: \d+ positive and \d+ negative rows; at least 120 of each"):
        brim.train(rows, label="converted")
    with pytest.raises(brim.InputError, match=r'^no label column "outcome"'):
        brim.train(rows, label="outcome", min_class=10)
    leaky = [dict(r, stage="won" if r["converted"] else "lost") for r in rows]
    with pytest.warns(UserWarning, match=r"column 'stage' alone ranks the outcomes with ROC-AUC 1.000"):
        brim.train(leaky, label="converted", min_class=10, cv=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        brim.train(leaky, label="converted", drop=["stage"], min_class=10, cv=0)
    with pytest.raises(ValueError, match='learner: expected "ensemble", "logistic" or "boosted"'):
        brim.train(rows, label="converted", learner="forest", min_class=10)
    with pytest.raises(brim.ModelError):
        brim.LearnedModel.from_json('{"format": "something else"}')
    open_deals = [dict(r, converted="Engaging") if i % 10 == 0 else r for i, r in enumerate(rows)]
    with pytest.raises(brim.InputError, match="--skip-unknown"):
        brim.train(open_deals, label="converted", min_class=10)
    assert brim.train(open_deals, label="converted", min_class=10, skip_unknown=True, cv=0).summary["n_rows"] == 180
