"""``brim.train`` and ``brim.LearnedModel``: a scoring model learned from outcomes (brim-core's
``learn``), for pandas, polars, pyarrow and lists of dicts."""

from __future__ import annotations

import math
import os
import time
import warnings
from typing import Any, Dict, List, Sequence, Tuple, Union

from . import _brim
from ._frames import kind_of


def _columns(data: Any) -> Tuple[List[str], List[List[Any]]]:
    """Column names and values (lists of None, numbers, bools or text) of ``data``."""
    kind = kind_of(data)
    if kind == "pandas":
        names = [str(c) for c in data.columns]
        if len(set(names)) != len(names):
            raise _brim.InputError("data: a column name appears twice")
        columns: List[List[Any]] = []
        for c in data.columns:
            values = data[c].tolist()
            columns.append([None if _missing(v) else v for v in values])
        return names, columns
    if kind == "polars":
        d = data.to_dict(as_series=False)
        return [str(k) for k in d], [list(v) for v in d.values()]
    if kind in ("table", "batch"):
        d = data.to_pydict()
        return [str(k) for k in d], [list(v) for v in d.values()]
    if kind is not None:
        raise TypeError(f"data: read the {kind} into a pyarrow Table first (pyarrow.Table.from_batches)")
    if isinstance(data, (dict, str, bytes)):
        raise TypeError(f"data: expected rows (a list of dicts) or a frame, got a {type(data).__name__}")
    rows = list(data)
    names = []
    seen = set()
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise TypeError(f"data[{i}]: expected a dict, got {type(row).__name__}")
        for k in row:
            if k not in seen:
                seen.add(k)
                names.append(k)
    return [str(n) for n in names], [[row.get(n) for row in rows] for n in names]


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        import pandas as pd

        return bool(value is pd.NA or value is pd.NaT)
    except ImportError:  # pragma: no cover - pandas is optional
        return False


class LearnedModel:
    """A scoring model learned from outcomes: ``predict``, ``explain``, ``metrics``, ``save``."""

    def __init__(self, inner: _brim.LearnedModel) -> None:
        self._inner = inner

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"]) -> "LearnedModel":
        """Reads a model saved by ``save`` or ``brim train --output``."""
        with open(path, encoding="utf-8") as f:
            return cls(_brim.LearnedModel.from_json(f.read()))

    @classmethod
    def from_json(cls, text: str) -> "LearnedModel":
        """Reads a model from its JSON text."""
        return cls(_brim.LearnedModel.from_json(text))

    def to_json(self) -> str:
        """The model as JSON (what ``brim train --output`` writes; the npm package reads it too)."""
        return self._inner.to_json()

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes the model as JSON to ``path``."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json())

    def predict(self, data: Any) -> Any:
        """The probability of converting for each row of ``data`` (a frame or a list of dicts):
        a pandas Series (with the frame's index) for pandas, a polars Series for polars, else a
        list of floats. Columns the model was trained on and ``data`` lacks are missing values."""
        names, columns = _columns(data)
        p = self._inner.predict_columns(names, columns)
        kind = kind_of(data)
        if kind == "pandas":
            import pandas as pd

            return pd.Series(p, index=data.index, name="probability")
        if kind == "polars":
            import polars as pl

            return pl.Series("probability", p)
        return p

    def explain(self, data: Any, row: int = 0, n: int = 5) -> List[Tuple[str, float]]:
        """The ``n`` features that moved row ``row`` of ``data`` most: ``(feature, contribution
        to the log-odds)``, strongest first."""
        names, columns = _columns(data)
        return self._inner.explain_columns(names, columns, row, n)

    @property
    def metrics(self) -> Dict[str, Any]:
        """The cross-validated evaluation (``roc_auc``, ``roc_auc_sd``, ``log_loss``,
        ``fold_roc_auc``, ``calibration``, ``top_decile_lift``), or an empty dict if training
        ran without one (``cv=0``)."""
        evaluation = self._inner.summary.get("evaluation")
        return dict(evaluation) if evaluation else {}

    @property
    def summary(self) -> Dict[str, Any]:
        """Name, version, when, label, learner, row counts, evaluation, strongest features and
        leak warnings."""
        return dict(self._inner.summary)

    @property
    def top_features(self) -> List[Tuple[str, float]]:
        """The strongest features: (feature, log-odds per standard deviation), most positive first."""
        return [(f["feature"], f["weight"]) for f in self._inner.summary["top_features"]]

    def __repr__(self) -> str:
        return repr(self._inner)


def train(
    data: Any,
    label: str,
    *,
    drop: Sequence[str] = (),
    cv: int = 5,
    learner: str = "ensemble",
    seed: int = 0,
    min_class: int = 120,
    skip_unknown: bool = False,
    name: str = "learned",
) -> LearnedModel:
    """Learns which rows convert from ``data`` (a pandas or polars DataFrame, a pyarrow Table or
    a list of dicts) with a ``label`` column (1/0, True/False, yes/no or won/lost).

    ``drop`` lists columns not to learn from (ids, and anything filled in after the outcome).
    With ``cv`` folds (the default 5; 0 for none) it is first cross-validated; its ``metrics``
    then hold the held-out ROC-AUC, log-loss and calibration. ``learner`` is ``"ensemble"``
    (logistic regression and boosted trees averaged), ``"logistic"`` or ``"boosted"``. Raises
    ``InputError`` with fewer than ``min_class`` rows of either class, and warns
    (``UserWarning``) about columns that look like they leak the outcome.
    """
    if isinstance(drop, str):
        drop = [drop]
    names, columns = _columns(data)
    inner = _brim.train_columns(
        names,
        columns,
        label,
        [str(d) for d in drop],
        learner,
        seed,
        min_class,
        cv,
        skip_unknown,
        int(time.time() * 1000),
        name,
    )
    model = LearnedModel(inner)
    for leak in model.summary.get("leak_warnings", []):
        warnings.warn(
            f"column {leak['column']!r} alone ranks the outcomes with ROC-AUC {leak['roc_auc']:.3f}: "
            "it may be filled in after the outcome was known; if so, drop it",
            UserWarning,
            stacklevel=2,
        )
    return model

