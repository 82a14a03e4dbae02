"""Frames in and out: pandas, polars and pyarrow data cross into the engine as Arrow.

Only the columns named as lead fields are converted (``_brim.lead_columns``); the scores come
back as Arrow columns and are appended to the caller's own frame, whose other columns are
never copied or converted.
"""

from __future__ import annotations

import sys
from typing import Any, List, Optional, Tuple

from . import _brim


def kind_of(data: Any) -> Optional[str]:
    """``pandas``, ``polars``, ``table``, ``batch``, ``reader``, ``stream`` or None (not a frame)."""
    module = type(data).__module__ or ""
    if module.startswith("pandas") and "pandas" in sys.modules:
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            return "pandas"
        if isinstance(data, pd.Series):
            raise TypeError("data: expected a DataFrame, got a pandas Series")
    if module.startswith("polars") and "polars" in sys.modules:
        import polars as pl

        if isinstance(data, pl.DataFrame):
            return "polars"
        if isinstance(data, pl.LazyFrame):
            raise TypeError(
                "data: a polars LazyFrame is not scored lazily here: call .collect() first, "
                "or score it batch by batch with .collect_batches()"
            )
    if module.startswith("pyarrow") and "pyarrow" in sys.modules:
        import pyarrow as pa

        if isinstance(data, pa.Table):
            return "table"
        if isinstance(data, pa.RecordBatch):
            return "batch"
        if isinstance(data, pa.RecordBatchReader):
            return "reader"
    if hasattr(data, "__arrow_c_stream__"):
        return "stream"
    return None


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "scoring a frame needs pyarrow: pip install 'brim[pandas]' (or brim[polars], brim[arrow])"
        ) from None
    return pa


def score_frame(kind: str, data: Any, model: Any, detail: str, errors: str) -> Tuple[Any, List[Any]]:
    pa = _pyarrow()
    if kind == "pandas":
        return _score_pandas(pa, data, model, detail, errors)
    if kind == "polars":
        return _score_polars(pa, data, model, detail, errors)
    if kind == "reader":
        return _score_reader(pa, data, model, detail, errors)
    if kind == "batch":
        table, bad = _score_table(pa, pa.Table.from_batches([data]), model, detail, errors)
        table = table.combine_chunks()
        batches = table.to_batches()
        if batches:
            return batches[0], bad
        return pa.RecordBatch.from_pylist([], schema=table.schema), bad
    if kind == "stream":
        data = pa.table(data)
    return _score_table(pa, data, model, detail, errors)


def _drop_scores(names: List[str]) -> List[str]:
    """The score columns already in a frame (scoring again replaces them)."""
    ours = set(_brim.score_columns("full"))
    return [n for n in names if n in ours]


def _score_table(pa: Any, table: Any, model: Any, detail: str, errors: str, offset: int = 0) -> Tuple[Any, List[Any]]:
    names = list(table.column_names)
    lead_cols = _brim.lead_columns(names)
    scores, kept, bad = _brim.score_arrow(table.select(lead_cols), model, detail, errors, offset)
    out = table if kept is None else table.take(kept.column(0))
    for name in _drop_scores(names):
        out = out.drop_columns([name])
    for name in scores.column_names:
        out = out.append_column(scores.schema.field(name), scores.column(name))
    return out, list(bad)


def _score_reader(pa: Any, reader: Any, model: Any, detail: str, errors: str) -> Tuple[Any, List[Any]]:
    schema = reader.schema
    empty = pa.Table.from_batches([], schema=schema)
    out_schema = _score_table(pa, empty, model, detail, "raise")[0].schema
    bad: List[Any] = []

    def batches() -> Any:
        offset = 0
        for batch in reader:
            table, errs = _score_table(pa, pa.Table.from_batches([batch], schema=schema), model, detail, errors, offset)
            offset += batch.num_rows
            bad.extend(errs)
            yield from table.to_batches()

    return pa.RecordBatchReader.from_batches(out_schema, batches()), bad


def _pandas_to_arrow(pa: Any, frame: Any) -> Any:
    """The lead columns of a pandas frame as an Arrow table. A column pyarrow cannot convert
    as a whole (mixed types in an object column) is converted value by value to text, so
    that each bad value is reported on its own row."""
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        pass
    arrays = []
    for name in frame.columns:
        series = frame[name]
        try:
            arrays.append(pa.array(series, from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
            arrays.append(pa.array([_as_text(v) for v in series], type=pa.string()))
    return pa.table(arrays, names=[str(n) for n in frame.columns])


def _as_text(value: Any) -> Optional[str]:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, (list, tuple)) or type(value).__name__ == "ndarray":
        return ";".join(str(v) for v in value if v is not None)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _score_pandas(pa: Any, df: Any, model: Any, detail: str, errors: str) -> Tuple[Any, List[Any]]:
    import pandas as pd

    names = [str(c) for c in df.columns]
    lead_cols = _brim.lead_columns(names)
    positions = [names.index(c) for c in lead_cols]
    sub = df.iloc[:, positions]
    sub.columns = lead_cols
    scores, kept, bad = _brim.score_arrow(_pandas_to_arrow(pa, sub), model, detail, errors)
    out = df if kept is None else df.iloc[kept.column(0).to_numpy()]
    replaced = set(_drop_scores(names))
    existing = [c for c in df.columns if str(c) in replaced]
    out = out.drop(columns=existing) if existing else out.copy(deep=False)
    for name in scores.column_names:
        column = scores.column(name)
        if name == "action":
            codes = column.combine_chunks().indices.to_numpy(zero_copy_only=False)
            values = pd.Categorical.from_codes(codes, categories=_actions(column))
        elif pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
            values = column.to_numpy()
        else:
            values = column.to_pandas(types_mapper=pd.ArrowDtype).array
        out[name] = pd.Series(values, index=out.index, name=name)
    return out, list(bad)


def _actions(column: Any) -> List[str]:
    chunks = column.chunks
    if chunks:
        names: List[str] = chunks[0].dictionary.to_pylist()
        return names
    return ["high_priority_outreach", "medium_priority_outreach", "low_priority_monitoring"]


def _score_polars(pa: Any, df: Any, model: Any, detail: str, errors: str) -> Tuple[Any, List[Any]]:
    import polars as pl

    names = list(df.columns)
    lead_cols = _brim.lead_columns(names)
    scores, kept, bad = _brim.score_arrow(df.select(lead_cols).to_arrow(), model, detail, errors)
    out = df if kept is None else df[kept.column(0).to_numpy()]
    existing = _drop_scores(names)
    if existing:
        out = out.drop(existing)
    added = pl.from_arrow(scores)
    assert isinstance(added, pl.DataFrame)
    return out.hstack(added), list(bad)
