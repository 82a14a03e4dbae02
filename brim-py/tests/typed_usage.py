"""Typical use, type-checked with mypy --strict against the package's stubs (scripts/test-py)."""

from typing import Any, Dict, List

import brim


def best(leads: List[Dict[str, Any]]) -> List[brim.Score]:
    scores = brim.score_many(leads, brim.Model.preset("balanced"))
    ranked: List[brim.Score] = sorted(scores, key=lambda s: -int(s["total_score"]))
    return ranked


def check(text: str) -> str:
    try:
        return brim.Model.from_toml(text).name
    except brim.ModelError as e:
        return "; ".join(f"{path}: {message}" for path, message in e.problems)


def first_error(data: Any) -> str:
    _, errors = brim.score_many(data, errors="collect")
    for e in errors:
        assert isinstance(e, brim.LeadError)
        return f"{e.index} {e.field} {e.message}"
    return ""


brim.set_threads(2)
threads: int = brim.get_threads()
one: brim.Score = brim.score({"company_name": "Acme"}, "balanced")
