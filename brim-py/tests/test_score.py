"""brim.score, lists of dicts, models: the same results as `brim score` and the spec."""

import hashlib
import json
import pickle

import pytest

import brim
from conftest import EXAMPLES, PRESETS


def test_spec_worked_examples():
    ideal = brim.score({"company_name": "Ideal", "employee_count": 150, "industry": "SaaS",
                        "tech_stack": ["Zapier", "Salesforce"], "recent_job_posts": ["Head of Operations"]})
    assert (ideal["fit_score"], ideal["intent_score"], ideal["total_score"]) == (100, 100, 100)
    assert ideal["action"] == "high_priority_outreach"
    assert ideal["reasoning"]["positive"] == [
        "Ideal company size (150 employees).", "Ideal industry: SaaS.",
        "Uses automation tools: zapier.", "Hiring for operations or automation roles."]
    assert ideal["confidence"] == 0.71

    gov = brim.score({"company_name": "Gov", "employee_count": 1000, "industry": "Government"})
    assert (gov["fit_score"], gov["intent_score"], gov["total_score"]) == (0, 0, 0)
    assert gov["reasoning"]["negative"] == ["Company size is outside target range."]

    nameless = brim.score({"company_name": "Nameless"})
    assert nameless["total_score"] == 0 and nameless["confidence"] == 0.14
    assert nameless["reasoning"]["missing"] == ["employee_count", "industry", "tech_stack", "recent_job_posts"]
    assert nameless["company_id"] == hashlib.sha1(b"Nameless").hexdigest()[:15]


@pytest.mark.parametrize("model", PRESETS)
def test_lists_equal_brim_score_on_the_examples(brim_cli, example_leads, model):
    expected = brim_cli(EXAMPLES, model)
    got = brim.score_many(example_leads, model)
    assert got == expected
    assert [brim.score(lead, model) for lead in example_leads] == expected
    # JSON text is a lead too.
    assert brim.score(json.dumps(example_leads[0]), model) == expected[0]


def test_generated_leads_equal_brim_score(brim_cli, leads_2000, tmp_path):
    path = tmp_path / "leads.jsonl"
    path.write_text("".join(json.dumps(lead) + "\n" for lead in leads_2000))
    assert brim.score_many(leads_2000) == brim_cli(path)


def test_a_score_is_a_dict_in_the_api_shape():
    s = brim.score({"company_name": "Acme", "employee_count": 120})
    assert isinstance(s, dict) and isinstance(s, brim.Score)
    assert set(s) >= {"company_id", "company_name", "model", "model_version", "fit_score", "intent_score",
                      "total_score", "confidence", "action", "reasoning", "contributions"}
    assert s["contributions"][0]["rule"] == "company_size"
    assert json.loads(json.dumps(s)) == s


def test_html_card_escapes_hostile_text():
    s = brim.score({"company_name": "<script>alert(1)</script>", "industry": "<b>SaaS</b>",
                    "employee_count": 40})
    card = s._repr_html_()
    assert "<script>" not in card and "<b>SaaS" not in card
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in card
    # Reason sentences quote lead text (custom models' reasons may too): escaped as well.
    forged = brim.Score(s, reasoning={"positive": ["<img src=x onerror=alert(1)>"], "negative": [], "missing": []})
    assert "<img" not in forged._repr_html_() and "&lt;img src=x onerror=alert(1)&gt;" in forged._repr_html_()
    assert "Ideal company size (40 employees)." in card
    assert "[object" not in card and "None" not in card


def test_models():
    assert brim.Model.presets() == PRESETS
    m = brim.Model.preset("conservative")
    assert (m.name, m.version) == ("conservative", "1")
    assert brim.Model.from_toml(m.to_toml()) == m
    assert brim.Model.from_json(m.to_json()) == m
    assert brim.Model.from_text(m.to_json()) == m
    assert pickle.loads(pickle.dumps(m)) == m
    assert hash(pickle.loads(pickle.dumps(m))) == hash(m)
    assert m != brim.Model.preset("balanced")
    assert "conservative" in repr(m)


def test_model_files(tmp_path, example_leads, brim_cli):
    toml = brim.Model.preset("aggressive").to_toml().replace('name = "aggressive"', 'name = "mine"')
    path = tmp_path / "mine.toml"
    path.write_text(toml)
    m = brim.Model.from_file(path)
    assert m.name == "mine"
    assert brim.Model.from_file(str(path)) == m
    # A path works wherever a model does, as in `brim score --model PATH`.
    assert brim.score_many(example_leads, str(path)) == brim_cli(EXAMPLES, str(path))
    assert brim.score_many(example_leads, path) == brim.score_many(example_leads, m)
    with pytest.raises(OSError, match="could not read the model file"):
        brim.Model.from_file(tmp_path / "nope.toml")


def test_an_invalid_model_lists_every_problem():
    text = brim.Model.preset("balanced").to_json()
    doc = json.loads(text)
    doc["blend"] = {"fit": 2, "intent": -1}
    doc["thresholds"] = {"high": 10, "medium": 50}
    with pytest.raises(brim.ModelError) as info:
        brim.Model.from_json(json.dumps(doc))
    problems = info.value.problems
    assert len(problems) >= 2, problems
    assert all(isinstance(p, tuple) and len(p) == 2 for p in problems)
    assert str(len(problems)) in str(info.value)
    assert isinstance(info.value, brim.BrimError)
    with pytest.raises(brim.ModelError, match="unknown model preset"):
        brim.Model.preset("nope")
    with pytest.raises(brim.ModelError, match="unknown model preset"):
        brim.score({"company_name": "A"}, "nope")
    with pytest.raises(TypeError, match="model: expected"):
        brim.score({"company_name": "A"}, 3)


def test_a_bad_lead_names_its_field():
    with pytest.raises(brim.LeadError) as info:
        brim.score({"company_name": "A", "employee_count": "abc"})
    e = info.value
    assert (e.field, e.index) == ("employee_count", None)
    assert str(e) == 'employee_count: expected a whole number >= 0, got "abc"'
    for lead, field in [({"employee_count": 3}, "company_name"),
                        ({"company_name": ""}, "company_name"),
                        ({"company_name": "A", "tech_stack": "Zapier"}, "tech_stack"),
                        ({"company_name": "A", "tech_stack": ["Zapier", 3]}, "tech_stack[1]"),
                        ({"company_name": "A", "contact": {"email": "nope"}}, "contact.email"),
                        ({"company_name": "A", "timezone": "Berlin time"}, "timezone"),
                        ({"company_name": "A", "attributes": {"k": [1]}}, "attributes.k"),
                        ("{not json", "(json)"),
                        (42, "(lead)"),
                        (["company_name"], "(lead)")]:
        with pytest.raises(brim.LeadError) as info:
            brim.score(lead)
        assert info.value.field == field, (lead, str(info.value))



def test_nan_is_missing_as_in_pandas_records():
    import pandas as pd

    records = pd.DataFrame([{"company_name": "A", "employee_count": 120},
                            {"company_name": "B", "industry": "SaaS"}]).to_dict("records")
    assert records[0]["industry"] != records[0]["industry"]  # NaN
    assert brim.score_many(records) == brim.score_many([{"company_name": "A", "employee_count": 120},
                                                        {"company_name": "B", "industry": "SaaS"}])
    assert brim.score({"company_name": "A", "employee_count": float("nan")})["reasoning"]["missing"][0] == \
        "employee_count"
