"""Scoring a PySpark DataFrame on every executor: ``brim.spark.score(df, model)``.

The model travels to the executors as its JSON text (``Model.to_json``); each executor scores
its partitions' Arrow batches with ``DataFrame.mapInArrow`` (Spark >= 3.3), as
``brim.score_many`` scores a pyarrow Table: the rows in order, the input columns kept, the
score columns appended. Spark has no unsigned bytes and no dictionary type, so the scores
come back as ``int`` and the action as ``string``.

The executors need ``brim`` and ``pyarrow`` installed in the Python they run
(``PYSPARK_PYTHON``). Each Python worker scores on ``threads`` threads (default 1: Spark
already runs one task per core).
"""

from __future__ import annotations

from typing import Any, Iterator

from . import _brim, _model
from . import _frames


def _spark_fields(detail: str) -> Any:
    from pyspark.sql import types as T

    ints = {"fit_score", "intent_score", "total_score"}
    lists = {"reasons_positive", "reasons_negative", "reasons_missing"}
    fields = []
    for name in _brim.score_columns(detail):
        if name in ints:
            spark_type: Any = T.IntegerType()
        elif name in lists:
            spark_type = T.ArrayType(T.StringType(), containsNull=True)
        elif name == "confidence":
            spark_type = T.DoubleType()
        else:
            spark_type = T.StringType()
        fields.append(T.StructField(name, spark_type, nullable=False))
    return fields


def score(
    df: Any,
    model: Any = "balanced",
    *,
    detail: str = "full",
    errors: str = "raise",
    threads: int = 1,
) -> Any:
    """Scores every row of the PySpark DataFrame ``df`` with ``model`` (a preset name, a model
    file's path or a ``brim.Model``); lazy, like any Spark transformation.

    ``detail``: ``"full"`` or ``"summary"``, as in ``brim.score_many``. ``errors``: ``"raise"``
    (the task fails with the ``LeadError`` of the first bad row; its row number counts within
    the partition) or ``"skip"`` (bad rows are left out). ``threads``: threads per Python
    worker.
    """
    from pyspark.sql import types as T

    if detail not in ("full", "summary"):
        raise ValueError(f'detail: expected "full" or "summary", got {detail!r}')
    if errors not in ("raise", "skip"):
        raise ValueError(
            f'errors: expected "raise" or "skip" on Spark, got {errors!r} (to see the bad rows, '
            'score a sample with brim.score_many(..., errors="collect"))'
        )
    if threads < 1:
        raise ValueError(f"threads: expected a whole number >= 1, got {threads}")
    text = _model(model).to_json()
    ours = set(_brim.score_columns("full"))
    kept = [f for f in df.schema.fields if f.name not in ours]
    schema = T.StructType(kept + _spark_fields(detail))
    names = [f.name for f in schema.fields]

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        import brim

        brim.set_threads(threads)
        scorer = brim.Model.from_json(text)
        for batch in batches:
            table, _ = _frames._score_table(pa, pa.Table.from_batches([batch]), scorer, detail, errors)
            columns = []
            for name in names:
                column = table.column(name)
                if name in ("fit_score", "intent_score", "total_score"):
                    column = column.cast(pa.int32())
                elif name == "action":
                    column = column.cast(pa.string())
                columns.append(column)
            yield from pa.Table.from_arrays(columns, names=names).to_batches()

    return df.mapInArrow(run, schema)
