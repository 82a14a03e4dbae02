"""Brim: lead scoring for notebooks and data pipelines.

Scores companies for fit to your ideal customer profile and for buying intent, and says why,
with Brim's Rust engine (the same results as ``brim score`` and Brim's HTTP API)::

    import brim
    brim.score({"company_name": "Acme", "employee_count": 120, "industry": "SaaS"})
    brim.score_many(df)                  # pandas, polars, pyarrow, or a list of dicts

Frames cross into the engine as Arrow (no Python object per row); scoring releases the GIL and
runs on ``brim.set_threads(n)`` threads (default: ``BRIM_THREADS``, else every core).
See docs/python.md for the whole guide.
"""

from __future__ import annotations

import html
import os
from typing import Any, Dict, List, Tuple, Union

from . import _brim
from ._learn import LearnedModel, train
from ._brim import (
    BrimError,
    InputError,
    LeadError,
    Model,
    ModelError,
    __version__,
    get_threads,
    set_threads,
)

__all__ = [
    "BrimError",
    "InputError",
    "LearnedModel",
    "LeadError",
    "Model",
    "ModelError",
    "Score",
    "SCORE_COLUMNS",
    "SUMMARY_COLUMNS",
    "__version__",
    "get_threads",
    "score",
    "score_many",
    "set_threads",
    "train",
]

#: The columns ``score_many`` appends to a frame with ``detail="full"``.
SCORE_COLUMNS: Tuple[str, ...] = tuple(_brim.score_columns("full"))
#: The columns ``score_many`` appends to a frame with ``detail="summary"``.
SUMMARY_COLUMNS: Tuple[str, ...] = tuple(_brim.score_columns("summary"))

_ACTIONS = ["high_priority_outreach", "medium_priority_outreach", "low_priority_monitoring"]
_presets: Dict[str, Model] = {}

ModelLike = Union[str, "os.PathLike[str]", Model]


def _model(model: Any) -> Model:
    """A ``Model`` from a ``Model``, a preset name or a model file's path."""
    if isinstance(model, Model):
        return model
    if isinstance(model, os.PathLike):
        return Model.from_file(os.fspath(model))
    if isinstance(model, str):
        found = _presets.get(model)
        if found is None:
            if model not in Model.presets() and os.path.exists(model):
                return Model.from_file(model)
            found = _presets[model] = Model.preset(model)
        return found
    raise TypeError(
        f"model: expected a preset name, a model file's path or a brim.Model, got {type(model).__name__}"
    )


class Score(Dict[str, Any]):
    """One lead's score: a dict in the HTTP API's shape (``company_id``, ``fit_score``,
    ``intent_score``, ``total_score``, ``confidence``, ``action``, ``reasoning``,
    ``contributions``, ...), shown in Jupyter as a small card with its explanation."""

    def _repr_html_(self) -> str:
        e = html.escape
        reasoning = self.get("reasoning") or {}

        def items(key: str, mark: str, colour: str) -> str:
            return "".join(
                f'<li style="list-style:none"><span style="color:{colour}">{mark}</span> {e(str(r))}</li>'
                for r in reasoning.get(key) or []
            )

        rows = "".join(
            f"<tr><td>{e(str(c.get('rule')))}</td><td>{e(str(c.get('category')))}</td>"
            f"<td>{e(str(c.get('outcome')))}</td><td style='text-align:right'>{e(str(c.get('points')))}</td></tr>"
            for c in self.get("contributions") or []
        )
        action = str(self.get("action", ""))
        colour = {"high_priority_outreach": "#137333", "medium_priority_outreach": "#b06000"}.get(
            action, "#5f6368"
        )
        return (
            '<div class="brim-score" style="font-family:sans-serif;border:1px solid #ddd;'
            'border-radius:8px;padding:10px 14px;max-width:36em">'
            f"<div style='font-size:1.1em'><b>{e(str(self.get('company_name', '')))}</b> "
            f"<span style='color:#666'>({e(str(self.get('company_id', '')))})</span></div>"
            f"<div style='font-size:2em;font-weight:bold'>{e(str(self.get('total_score', '')))}"
            f"<span style='font-size:0.45em;font-weight:normal'> / 100 · fit {e(str(self.get('fit_score', '')))}"
            f" · intent {e(str(self.get('intent_score', '')))} · confidence {e(str(self.get('confidence', '')))}</span></div>"
            f"<div style='color:{colour};font-weight:bold'>{e(action.replace('_', ' '))}</div>"
            f"<ul style='padding-left:0'>{items('positive', '+', '#137333')}{items('negative', '−', '#c5221f')}"
            f"{items('missing', '?', '#5f6368')}</ul>"
            + (
                "<details><summary>contributions</summary><table><tr><th>rule</th><th>category</th>"
                f"<th>outcome</th><th>points</th></tr>{rows}</table></details>"
                if rows
                else ""
            )
            + f"<div style='color:#999;font-size:0.8em'>model {e(str(self.get('model', '')))} "
            f"{e(str(self.get('model_version', '')))}</div></div>"
        )


def score(lead: Union[Dict[str, Any], str], model: ModelLike = "balanced") -> Score:
    """Scores one lead (a dict, or its JSON text) and explains the score.

    Raises ``LeadError`` naming the field when the lead is not valid.
    """
    return Score(_brim.score(lead, _model(model)))


def _check_modes(detail: str, errors: str) -> None:
    if detail not in ("full", "summary"):
        raise ValueError(f'detail: expected "full" or "summary", got {detail!r}')
    if errors not in ("raise", "skip", "collect"):
        raise ValueError(f'errors: expected "raise", "skip" or "collect", got {errors!r}')


def score_many(
    data: Any,
    model: ModelLike = "balanced",
    *,
    detail: str = "full",
    errors: str = "raise",
) -> Any:
    """Scores many leads, in order.

    ``data`` is a list (or any iterable) of dicts, a pandas or polars DataFrame, a pyarrow
    Table, RecordBatch or RecordBatchReader, or any object with the Arrow PyCapsule stream
    interface (``__arrow_c_stream__``).

    - A list gives a list of ``Score`` dicts.
    - A frame gives the same kind of frame: its rows in order, its columns kept, and the score
      columns appended (``SCORE_COLUMNS``, or with ``detail="summary"`` only the five numbers
      and the action, ``SUMMARY_COLUMNS``). Columns named as lead fields are read as
      ``brim score`` reads a CSV header; other columns are carried along untouched. A
      RecordBatchReader gives a lazy RecordBatchReader.

    ``errors`` says what happens to a bad row: ``"raise"`` (the default) raises ``LeadError``
    for the first one, naming its row and field; ``"skip"`` leaves bad rows out; ``"collect"``
    leaves them out and returns ``(result, [LeadError, ...])``, each error with ``.index`` (the
    row's position in ``data``), ``.field`` and ``.message``.
    """
    _check_modes(detail, errors)
    m = _model(model)
    from . import _frames

    kind = _frames.kind_of(data)
    if kind is None:
        if isinstance(data, (dict, str, bytes)):
            raise TypeError(
                "data: expected many leads (a list of dicts or a frame), got a single "
                f"{type(data).__name__}: use brim.score for one lead"
            )
        try:
            leads = iter(data)
        except TypeError:
            raise TypeError(
                "data: expected a list of dicts, a pandas or polars DataFrame, or Arrow data, "
                f"got {type(data).__name__}"
            ) from None
        if detail != "full":
            raise ValueError('detail="summary" applies to frames; a list gives full scores')
        results, bad = _brim.score_list(leads, m, errors)
        scored: List[Score] = [Score(r) for r in results]
        return (scored, list(bad)) if errors == "collect" else scored
    result, bad = _frames.score_frame(kind, data, m, detail, errors)
    return (result, bad) if errors == "collect" else result

