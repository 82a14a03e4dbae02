"""Bad rows in each error mode and each container; input that is not leads at all."""

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import brim

LEADS = [
    {"company_name": "Good 0", "employee_count": 120, "industry": "SaaS", "tech_stack": [], "timezone": None},
    {"company_name": "Bad 1", "employee_count": -5},
    {"company_name": "Good 2", "tech_stack": ["Zapier"]},
    {"company_name": "", "industry": "AI"},
    {"company_name": "Good 4", "timezone": "Europe/Berlin"},
    {"company_name": "Bad 5", "timezone": "Mars/Olympus"},
]
GOOD = [0, 2, 4]
BAD = [(1, "employee_count"), (3, "company_name"), (5, "timezone")]


def kinds():
    table = pa.Table.from_pylist(LEADS)
    return {
        "list": LEADS,
        "pandas": pd.DataFrame(LEADS),
        "polars": pl.DataFrame(LEADS),
        "table": table,
        "reader": lambda: pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=2)),
    }


def names_of(result):
    if isinstance(result, list):
        return [r["company_name"] for r in result]
    if isinstance(result, pa.RecordBatchReader):
        result = result.read_all()
    if isinstance(result, pa.Table):
        return result.column("company_name").to_pylist()
    return list(result["company_name"])


@pytest.mark.parametrize("kind", ["list", "pandas", "polars", "table", "reader"])
def test_raise_names_the_first_bad_row_and_field(kind):
    data = kinds()[kind]
    with pytest.raises(brim.LeadError) as info:
        result = brim.score_many(data() if callable(data) else data)
        names_of(result)  # a reader is lazy: the error comes as it is read
    e = info.value
    assert (e.index, e.field) == (1, "employee_count")
    assert "expected a whole number >= 0, got -5" in str(e)
    assert str(e).startswith("leads[1]: " if kind == "list" else "row 1: ")


@pytest.mark.parametrize("kind", ["list", "pandas", "polars", "table", "reader"])
def test_skip_keeps_the_good_rows_in_order(kind):
    data = kinds()[kind]
    result = brim.score_many(data() if callable(data) else data, errors="skip")
    assert names_of(result) == [LEADS[i]["company_name"] for i in GOOD]


@pytest.mark.parametrize("kind", ["list", "pandas", "polars", "table", "reader"])
def test_collect_returns_the_good_rows_and_every_error(kind):
    data = kinds()[kind]
    result, errors = brim.score_many(data() if callable(data) else data, errors="collect")
    assert names_of(result) == [LEADS[i]["company_name"] for i in GOOD]
    assert [(e.index, e.field) for e in errors] == BAD
    assert all(isinstance(e, brim.LeadError) and isinstance(e, brim.BrimError) for e in errors)


def test_skipped_pandas_rows_keep_their_index_labels():
    df = pd.DataFrame(LEADS, index=[f"r{i}" for i in range(len(LEADS))])
    out = brim.score_many(df, errors="skip")
    assert list(out.index) == ["r0", "r2", "r4"]
    assert out["total_score"].tolist() == [s["total_score"] for s in brim.score_many([LEADS[i] for i in GOOD])]


def test_bad_modes_are_refused():
    with pytest.raises(ValueError, match='errors: expected "raise", "skip" or "collect"'):
        brim.score_many(LEADS, errors="ignore")
    with pytest.raises(TypeError, match="use brim.score for one lead"):
        brim.score_many(LEADS[0])
    with pytest.raises(TypeError, match="expected a list of dicts"):
        brim.score_many(42)


def test_a_frame_without_company_name_is_an_input_error():
    with pytest.raises(brim.InputError, match=r"no company_name column \(found: name, employees\)"):
        brim.score_many(pd.DataFrame({"name": ["A"], "employees": [3]}))
    with pytest.raises(brim.InputError, match="no company_name column"):
        brim.score_many(pl.DataFrame({"name": ["A"]}))


def test_duplicate_columns_are_an_input_error():
    df = pd.DataFrame([["A", "B"]], columns=["company_name", "company_name"])
    with pytest.raises(brim.InputError, match="appears twice"):
        brim.score_many(df)


def test_columns_of_unusable_types_name_the_column():
    with pytest.raises(brim.InputError, match=r'column "industry": expected text, a number or a bool, got a list'):
        brim.score_many(pa.table({"company_name": ["A"], "industry": [["SaaS"]]}))
    with pytest.raises(brim.InputError, match='column "tech_stack": expected a list of text'):
        brim.score_many(pa.table({"company_name": ["A"], "tech_stack": [[{"x": 1}]]}))
    with pytest.raises(brim.InputError, match='column "contact": expected a struct column'):
        brim.score_many(pa.table({"company_name": ["A"], "contact": ["ada@acme.io"]}))


def test_wrong_types_nulls_and_mixed_columns_row_by_row():
    df = pd.DataFrame({
        "company_name": ["A", None, "C", "D", "E", "F"],
        # an object column of mixed types: converted value by value, each bad value on its row
        "employee_count": [120, 40, "200", "lots", 1.5, None],
        "industry": ["SaaS", "AI", 7, None, True, "Retail"],
    })
    out, errors = brim.score_many(df, errors="collect")
    assert [(e.index, e.field) for e in errors] == [(1, "company_name"), (3, "employee_count"),
                                                    (4, "employee_count")]
    assert 'got "lots"' in str(errors[1]) and "1.5" in str(errors[2])
    assert out["company_name"].tolist() == ["A", "C", "F"]
    assert list(out["reasons_positive"].iloc[1]) == ["Ideal company size (200 employees)."]
    # A bool column where a number is expected is each row's error; floats that are whole are numbers.
    t = pa.table({"company_name": ["A", "B"], "employee_count": [True, False]})
    _, errors = brim.score_many(t, errors="collect")
    assert [e.field for e in errors] == ["employee_count", "employee_count"]
    t = pa.table({"company_name": ["A", "B"], "employee_count": [150.0, float("nan")]})
    assert brim.score_many(t).column("fit_score").to_pylist() == [100, 0]


def test_binary_that_is_not_utf8_is_reported_on_its_row():
    t = pa.table({"company_name": pa.array([b"Acme", b"\xff\xfe"], pa.binary()),
                  "industry": pa.array([b"SaaS", b"AI"], pa.large_binary())})
    out, errors = brim.score_many(t, errors="collect")
    assert out.column("company_name").to_pylist() == [b"Acme"]
    assert out.column("reasons_positive").to_pylist() == [["Ideal industry: SaaS."]]
    assert [(e.index, e.field) for e in errors] == [(1, "company_name")]
    assert "expected UTF-8 text" in str(errors[0])


def test_one_bad_row_in_a_large_frame_loses_nothing():
    leads = [{"company_name": f"C{i}", "employee_count": i % 700} for i in range(50_000)]
    leads[31_337]["employee_count"] = -1
    out, errors = brim.score_many(pd.DataFrame(leads), errors="collect")
    assert len(out) == 49_999 and [e.index for e in errors] == [31_337]
    assert 31_337 not in out.index and out.index[31_337] == 31_338


@pytest.mark.parametrize("kind", ["list", "pandas", "polars", "table"])
def test_the_limits_are_brim_cores_in_every_container(kind):
    """A 100,000-character name and a 101-item list are refused by field (brim-core's limits),
    the error quotes a short prefix, and the good rows are kept."""
    rows = [
        {"company_name": "Good", "tech_stack": ["Zapier"]},
        {"company_name": "A" * 100_000, "tech_stack": ["Zapier"]},
        {"company_name": "Many", "tech_stack": ["x"] * 101},
        {"company_name": "Also good", "tech_stack": []},
    ]
    data = {
        "list": lambda: rows,
        "pandas": lambda: pd.DataFrame(rows),
        "polars": lambda: pl.DataFrame(rows),
        "table": lambda: pa.Table.from_pylist(rows),
    }[kind]
    with pytest.raises(brim.LeadError) as info:
        names_of(brim.score_many(data()))
    e = info.value
    assert (e.index, e.field) == (1, "company_name")
    assert "expected at most 100 characters, got 100000" in str(e)
    assert len(str(e)) < 200, str(e)
    result, errors = brim.score_many(data(), errors="collect")
    assert names_of(result) == ["Good", "Also good"]
    assert [(err.index, err.field) for err in errors] == [(1, "company_name"), (2, "tech_stack")]
