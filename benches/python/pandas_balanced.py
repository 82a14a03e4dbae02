"""The original system's `balanced` scoring, vectorised with pandas and numpy (no per-row loop).

The rules are those of ../baseline/original_scoring.py (`calculate_scores`):

  fit signals     employee_count 30–300 → 100, 15–29 or 301–500 → 50, other → 0 (absent: none);
                  industry (case-insensitive) in IDEAL → 100, in GOOD → 60, else no signal
  intent signals  tech_stack has an automation tool → 100, else 20 (empty: none);
                  a recent_job_posts entry contains an ops keyword (substring,
                  case-insensitive) → 100, else no signal (empty: none)
  fit, intent     int(mean of the signals), 0 without signals
  total           int(fit * 0.6 + intent * 0.4), computed in float64 like the original
  action          total > 80 high, > 60 medium, else low
  confidence      round(fields present / 7, 2) over the original's 7 fields

It computes the numbers and the action only (no reason sentences, no company_id): the same
columns as `brim.score_many(df, detail="summary")`.

Works on plain pandas frames (object columns holding str / list / NaN, a float64
employee_count with NaN) and on Arrow-backed frames (`pd.ArrowDtype` strings, lists, int64)
with the same code: list columns go through `Series.explode`, strings through `.str`.
"""
from typing import Any

import numpy as np
import pandas as pd

IDEAL_INDUSTRIES = ["saas", "fintech", "ai", "technology"]
GOOD_INDUSTRIES = ["e-commerce", "biotech", "education"]
AUTOMATION_TOOLS = ["zapier", "make", "workato", "hubspot"]
# Literal keywords, so the alternation is "contains any of them as a substring".
OPS_PATTERN = "operations|ops|automation engineer"
ACTIONS = ["high_priority_outreach", "medium_priority_outreach", "low_priority_monitoring"]
N_FIELDS = 7
# round(k / 7, 2) exactly as Python computes it, looked up by k (no float-rounding doubts).
CONFIDENCE = np.array([round(k / N_FIELDS, 2) for k in range(N_FIELDS + 1)])


def _bool(values: Any) -> np.ndarray:
    """A numpy bool array from a boolean Series / array, missing values as False."""
    if isinstance(values, np.ndarray) and values.dtype == bool:
        return values
    return np.asarray(pd.Series(values).to_numpy(dtype=bool, na_value=False))


def _text_present(s: pd.Series) -> np.ndarray:
    """Not missing and not "" (the original's `not in (None, "")` / `not value`)."""
    return _bool(s.notna()) & _bool(s != "")


def _exploded(s: pd.Series, n: int):
    """(row positions, items, row has an item) of a list column; lists may be empty / missing."""
    ex = s.reset_index(drop=True).explode()
    pos = ex.index.to_numpy()
    item = _bool(ex.notna())
    nonempty = np.zeros(n, dtype=bool)
    nonempty[pos[item]] = True
    return pos, ex, nonempty


def _any_per_row(pos: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    out[pos[mask]] = True
    return out


def _missing_column(n: int) -> pd.Series:
    return pd.Series([None] * n, dtype=object)


def score_balanced(df: pd.DataFrame) -> pd.DataFrame:
    """`df` with fit_score, intent_score, total_score, confidence and action appended."""
    n = len(df)

    def col(name: str) -> pd.Series:
        return df[name] if name in df.columns else _missing_column(n)

    # Fit: company size.
    employees = col("employee_count").to_numpy(dtype="float64", na_value=np.nan)
    has_size = ~np.isnan(employees)
    size_points = np.select(
        [(employees >= 30) & (employees <= 300),
         ((employees >= 15) & (employees <= 29)) | ((employees >= 301) & (employees <= 500))],
        [100, 50],
        0,
    )
    # Fit: industry (an industry in neither set gives no signal).
    industry = col("industry")
    has_industry = _text_present(industry)
    lowered = industry.str.lower()
    ideal = _bool(lowered.isin(IDEAL_INDUSTRIES)) & has_industry
    good = _bool(lowered.isin(GOOD_INDUSTRIES)) & has_industry & ~ideal

    fit_sum = np.where(has_size, size_points, 0) + 100 * ideal + 60 * good
    fit_n = has_size.astype(np.int64) + ideal + good
    fit = np.where(fit_n > 0, fit_sum // np.maximum(fit_n, 1), 0)

    # Intent: automation tools in the stack.
    pos, tools, has_stack = _exploded(col("tech_stack"), n)
    has_tool = _any_per_row(pos, _bool(tools.str.lower().isin(AUTOMATION_TOOLS)), n)
    # Intent: hiring for operations (substring match, like `k in job.lower()`).
    pos, jobs, has_jobs = _exploded(col("recent_job_posts"), n)
    hiring_ops = _any_per_row(pos, _bool(jobs.str.lower().str.contains(OPS_PATTERN, regex=True)), n)

    intent_sum = np.where(has_stack, np.where(has_tool, 100, 20), 0) + 100 * hiring_ops
    intent_n = has_stack.astype(np.int64) + hiring_ops
    intent = np.where(intent_n > 0, intent_sum // np.maximum(intent_n, 1), 0)

    total = (fit.astype(np.float64) * 0.6 + intent.astype(np.float64) * 0.4).astype(np.int64)
    action = np.select([total > 80, total > 60], [0, 1], 2).astype(np.int8)

    _, _, has_news = _exploded(col("news_mentions"), n)
    present = (_text_present(col("company_name")).astype(np.int64) + has_size + has_industry
               + _text_present(col("funding_stage")) + has_stack + has_jobs + has_news)

    out = df.copy(deep=False)
    out["fit_score"] = pd.Series(fit.astype(np.uint8), index=df.index)
    out["intent_score"] = pd.Series(intent.astype(np.uint8), index=df.index)
    out["total_score"] = pd.Series(total.astype(np.uint8), index=df.index)
    out["confidence"] = pd.Series(CONFIDENCE[present], index=df.index)
    out["action"] = pd.Series(pd.Categorical.from_codes(action, categories=ACTIONS), index=df.index)
    return out
