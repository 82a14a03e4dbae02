"""Property tests: any lead gives the same scores in every container; any value is a lead or a
clear LeadError (never another exception, never a crash)."""

import pandas as pd
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import brim

TEXT = st.text(max_size=30)
TOOLS = st.sampled_from(["Zapier", "make", "HubSpot", "AWS", "Slack", "ünï", " ", ""])
lead_strategy = st.fixed_dictionaries(
    {"company_name": st.text(min_size=1, max_size=20).filter(lambda s: s.strip() != "")},
    optional={
        "employee_count": st.integers(min_value=0, max_value=10**6),
        "industry": st.sampled_from(["SaaS", "fintech", "AI", "Retail", "e-commerce", "Biotech"]) | TEXT,
        "funding_stage": st.sampled_from(["Seed", "Series A", "Series B", "IPO"]),
        "tech_stack": st.lists(TOOLS, max_size=4),
        "recent_job_posts": st.lists(st.sampled_from(["Head of Operations", "Ops lead", "Engineer",
                                                      "Automation Engineer", "DevOps"]), max_size=3),
        "news_mentions": st.lists(st.sampled_from(["raises $5M in Series A", "appoints new CTO",
                                                   "launches a product"]), max_size=2),
    },
)
FIELDS = ["company_name", "employee_count", "industry", "funding_stage", "tech_stack", "recent_job_posts",
          "news_mentions"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(lead_strategy, min_size=1, max_size=25), st.sampled_from(["balanced", "intent", "aggressive"]))
def test_every_container_gives_the_same_scores(leads, model):
    want = [(s["total_score"], s["fit_score"], s["intent_score"], s["confidence"], s["action"])
            for s in brim.score_many(leads, model)]
    schema = pa.schema([("company_name", pa.string()), ("employee_count", pa.int64()),
                        ("industry", pa.string()), ("funding_stage", pa.string()),
                        ("tech_stack", pa.list_(pa.string())), ("recent_job_posts", pa.list_(pa.string())),
                        ("news_mentions", pa.list_(pa.string()))])
    table = pa.Table.from_pylist([{f: lead.get(f) for f in FIELDS} for lead in leads], schema=schema)
    for data in (table, table.to_pandas(), table.to_pandas(types_mapper=pd.ArrowDtype)):
        out = brim.score_many(data, model)
        t = out if isinstance(out, pa.Table) else pa.Table.from_pandas(out, preserve_index=False)
        got = list(zip(*(t.column(c).to_pylist() for c in
                         ["total_score", "fit_score", "intent_score", "confidence", "action"])))
        assert got == want


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELDS + ["contact", "attributes", "id", "timezone", "x"]), json_values,
                       max_size=6))
def test_any_dict_is_a_lead_or_a_clear_error(doc):
    try:
        s = brim.score(doc)
    except brim.LeadError as e:
        assert e.field and e.message and str(e).startswith(e.field)
    else:
        assert 0 <= s["total_score"] <= 100


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-5, 10**4), st.floats(allow_nan=True), st.text(max_size=6),
                          st.booleans()), min_size=1, max_size=12))
def test_any_mixed_pandas_column_is_read_row_by_row(values):
    df = pd.DataFrame({"company_name": [f"C{i}" for i in range(len(values))],
                       "employee_count": pd.Series(values, dtype=object)})
    out, errors = brim.score_many(df, errors="collect")
    assert len(out) + len(errors) == len(values)
    assert all(e.field == "employee_count" for e in errors)
