"""Frames: pandas, polars and pyarrow in, the same kind of frame out, equal to `brim score`."""

import io
import json

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import brim
from conftest import as_csv, cli_rows, frame_rows


@pytest.fixture(scope="module")
def expected(brim_cli, leads_2000, tmp_path_factory):
    path = tmp_path_factory.mktemp("leads") / "leads.jsonl"
    path.write_text("".join(json.dumps(lead) + "\n" for lead in leads_2000))
    return cli_rows(brim_cli(path))


class ArrowStream:
    """Any object with the Arrow PyCapsule stream interface (as duckdb, arro3, ... give)."""

    def __init__(self, table):
        self.table = table

    def __arrow_c_stream__(self, requested_schema=None):
        return self.table.__arrow_c_stream__(requested_schema)


def containers(leads):
    table = pa.Table.from_pylist(leads)
    return {
        "pandas": pd.DataFrame(leads),
        "pandas-arrow": table.to_pandas(types_mapper=pd.ArrowDtype),
        "polars": pl.DataFrame(leads),
        "table": table,
        "batch": table.combine_chunks().to_batches()[0],
        "chunked table": pa.Table.from_batches(table.to_batches(max_chunksize=333)),
        "reader": pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=500)),
        "stream": ArrowStream(table),
    }


def read_back(result):
    if isinstance(result, pa.RecordBatchReader):
        return result.read_all()
    return result


@pytest.mark.parametrize("kind", ["pandas", "pandas-arrow", "polars", "table", "batch", "chunked table",
                                  "reader", "stream"])
def test_every_container_equals_brim_score(kind, leads_2000, expected):
    data = containers(leads_2000)[kind]
    result = read_back(brim.score_many(data))
    assert frame_rows(result) == expected


def test_csv_read_by_pandas_equals_brim_score_on_the_csv(brim_cli, leads_2000, tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text(as_csv(leads_2000))
    expected = cli_rows(brim_cli(path))
    assert len(expected) == len(leads_2000)
    # pandas' own type guesses (employee_count becomes float with NaN; text stays text) ...
    assert frame_rows(brim.score_many(pd.read_csv(path))) == expected
    # ... every column as text, exactly as the CSV reader sees it ...
    assert frame_rows(brim.score_many(pd.read_csv(path, dtype=str, keep_default_na=False))) == expected
    # ... and polars' and pyarrow's CSV readers.
    assert frame_rows(brim.score_many(pl.read_csv(path))) == expected
    import pyarrow.csv as pacsv
    assert frame_rows(brim.score_many(pacsv.read_csv(path))) == expected


def test_the_same_kind_of_frame_comes_back_with_its_columns_and_rows():
    df = pd.DataFrame({
        "crm_id": [11, 12, 13],
        "company_name": ["Acme", "Beta", "Gamma"],
        "employee_count": [120, 5000, None],
        "industry": ["SaaS", "Retail", None],
        "note": ["a", "b", "c"],
    }, index=pd.Index(["x", "y", "z"], name="key"))
    out = brim.score_many(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.index) == ["x", "y", "z"] and out.index.name == "key"
    assert list(out.columns) == list(df.columns) + list(brim.SCORE_COLUMNS)
    assert out["note"].tolist() == ["a", "b", "c"] and out["crm_id"].tolist() == [11, 12, 13]
    assert out["total_score"].dtype == np.uint8
    assert isinstance(out["action"].dtype, pd.CategoricalDtype)
    assert list(out["action"].cat.categories) == ["high_priority_outreach", "medium_priority_outreach",
                                                  "low_priority_monitoring"]
    assert list(out["reasons_missing"].iloc[2]) == ["employee_count", "industry", "tech_stack", "recent_job_posts"]
    # The input frame is untouched.
    assert list(df.columns) == ["crm_id", "company_name", "employee_count", "industry", "note"]
    # Scoring again replaces the score columns.
    again = brim.score_many(out, "conservative")
    assert list(again.columns) == list(out.columns)
    assert again["total_score"].tolist() == [s["total_score"] for s in brim.score_many(
        [{"company_name": "Acme", "employee_count": 120, "industry": "SaaS"},
         {"company_name": "Beta", "employee_count": 5000, "industry": "Retail"},
         {"company_name": "Gamma"}], "conservative")]

    pl_out = brim.score_many(pl.from_pandas(df.reset_index()))
    assert isinstance(pl_out, pl.DataFrame)
    assert pl_out.columns == ["key"] + list(df.columns) + list(brim.SCORE_COLUMNS)
    assert pl_out["total_score"].dtype == pl.UInt8

    table = pa.Table.from_pandas(df)
    t_out = brim.score_many(table)
    assert isinstance(t_out, pa.Table)
    assert t_out.column_names == table.column_names + list(brim.SCORE_COLUMNS)
    batch_out = brim.score_many(table.to_batches()[0])
    assert isinstance(batch_out, pa.RecordBatch) and batch_out.num_rows == 3


def test_summary_detail_appends_only_the_numbers(leads_2000, expected):
    df = pd.DataFrame(leads_2000)
    out = brim.score_many(df, detail="summary")
    assert list(out.columns) == list(df.columns) + list(brim.SUMMARY_COLUMNS)
    assert out["total_score"].tolist() == [e["total_score"] for e in expected]
    assert out["action"].astype(str).tolist() == [e["action"] for e in expected]
    assert out["confidence"].tolist() == [e["confidence"] for e in expected]
    with pytest.raises(ValueError, match="detail"):
        brim.score_many(df, detail="everything")


def test_list_columns_as_arrow_lists_or_separated_text():
    lists = pa.table({"company_name": ["A", "B"], "tech_stack": [["Zapier", None, "AWS"], None],
                      "recent_job_posts": [["Head of Operations"], []]})
    text = pa.table({"company_name": ["A", "B"], "tech_stack": ["Zapier; AWS", None],
                     "recent_job_posts": ["Head of Operations", ""]})
    large = lists.cast(pa.schema([("company_name", pa.large_string()),
                                  ("tech_stack", pa.large_list(pa.large_string())),
                                  ("recent_job_posts", pa.list_(pa.string_view()))]))
    want = [s["total_score"] for s in brim.score_many([
        {"company_name": "A", "tech_stack": ["Zapier", "AWS"], "recent_job_posts": ["Head of Operations"]},
        {"company_name": "B"}])]
    for t in (lists, text, large):
        assert brim.score_many(t).column("total_score").to_pylist() == want


def test_contact_and_attributes_as_struct_or_flat_columns():
    model = brim.Model.from_toml(brim.Model.preset("balanced").to_toml())
    flat = pd.DataFrame({"company_name": ["A", "B"], "contact.email": ["a@a.io", None],
                         "email": [None, "b@b.io"]})
    struct = pa.table({"company_name": ["A", "B"],
                       "contact": [{"email": "a@a.io", "name": "Ada"}, {"email": "b@b.io", "name": None}]})
    assert brim.score_many(flat, model)["total_score"].tolist() == [0, 0]
    assert brim.score_many(struct, model).num_rows == 2
    # A contact column with no contact at all (pandas: None in every row) is no contact.
    nobody = pd.DataFrame({"company_name": ["A", "B"], "contact": [None, None], "attributes": [None, None]})
    assert brim.score_many(nobody)["total_score"].tolist() == [0, 0]
    bad = pa.table({"company_name": ["A"], "contact": [{"email": "not-an-address"}]})
    with pytest.raises(brim.LeadError) as info:
        brim.score_many(bad)
    assert info.value.field == "contact.email" and info.value.index == 0


def test_categorical_unicode_and_odd_columns():
    df = pd.DataFrame({
        "company_name": pd.Categorical(["Ünïcødé GmbH", "日本株式会社", "Acme"]),
        "industry": pd.Categorical(["SaaS", "fintech", None]),
        "employee_count": pd.array([40, None, 7], dtype="Int64"),
        "funding_stage": ["Series A", None, float("nan")],
        12: ["a non-text column label", "is", "carried along"],
    })
    out = brim.score_many(df)
    assert out["company_id"].tolist() == [s["company_id"] for s in brim.score_many(
        [{"company_name": "Ünïcødé GmbH"}, {"company_name": "日本株式会社"}, {"company_name": "Acme"}])]
    assert list(out["reasons_positive"].iloc[0]) == ["Ideal company size (40 employees).", "Ideal industry: SaaS."]
    assert out[12].tolist() == df[12].tolist()


def test_empty_frames():
    empty = pd.DataFrame({"company_name": pd.Series([], dtype=object)})
    out = brim.score_many(empty)
    assert len(out) == 0 and list(out.columns) == ["company_name"] + list(brim.SCORE_COLUMNS)
    assert brim.score_many(pa.table({"company_name": pa.array([], pa.string())})).num_rows == 0
    assert brim.score_many([]) == []
