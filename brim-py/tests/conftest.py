"""Shared fixtures: the `brim` CLI built from this repository (the reference the package must
agree with) and generated leads (benches/baseline/make_leads.py, seeded)."""

import csv
import importlib.util
import io
import json
import os
import random
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "leads.jsonl"
PRESETS = ["balanced", "aggressive", "conservative", "intent"]


def _brim_bin() -> Path:
    if os.environ.get("BRIM_BIN"):
        return Path(os.environ["BRIM_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    for profile in ("debug", "release"):
        if (target / profile / "brim").exists():
            return target / profile / "brim"
    raise RuntimeError("the brim CLI is not built: cargo build -p brim-server (or set BRIM_BIN)")


@pytest.fixture(scope="session")
def brim_cli():
    """Runs `brim score FILE --model MODEL` and returns its JSON-lines results."""
    exe = _brim_bin()

    def run(path, model="balanced", extra=()):
        out = subprocess.run(
            [str(exe), "score", str(path), "--model", model, "--quiet", "--format", "jsonl", *extra],
            capture_output=True,
            text=True,
        )
        assert out.returncode in (0, 2), out.stderr
        return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]

    return run


def _make_leads_module():
    spec = importlib.util.spec_from_file_location("make_leads", REPO / "benches" / "baseline" / "make_leads.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generated_leads(n, seed=7):
    """n realistic leads as dicts (the value mix of the original's sample file)."""
    module = _make_leads_module()
    rng = random.Random(seed)
    return [module.lead(rng, i) for i in range(n)]


@pytest.fixture(scope="session")
def leads_2000():
    return generated_leads(2000)


@pytest.fixture(scope="session")
def example_leads():
    return [json.loads(line) for line in EXAMPLES.read_text().splitlines() if line.strip()]


def as_csv(leads):
    """The leads as CSV, the way `brim score` reads it: make_leads.py's own CSV writing (lists
    joined by "; ", the contact as contact.name/contact.email/contact.title)."""
    module = _make_leads_module()
    buf = io.StringIO()
    writer = csv.DictWriter(buf, module.CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for lead in leads:
        writer.writerow(module.csv_row(lead))
    return buf.getvalue()


SCORE_KEYS = ["company_id", "fit_score", "intent_score", "total_score", "confidence", "action"]


def frame_rows(result, n=None):
    """A frame's score columns as a list of dicts with the reasons (any frame kind)."""
    import pyarrow as pa

    if hasattr(result, "to_arrow") and not isinstance(result, pa.Table):  # polars
        table = result.to_arrow()
    elif isinstance(result, (pa.Table, pa.RecordBatch)):
        table = result
    else:  # pandas
        table = pa.Table.from_pandas(result, preserve_index=False)
    rows = []
    for r in table.to_pylist():
        rows.append({
            **{k: r[k] for k in SCORE_KEYS},
            "reasoning": {"positive": list(r["reasons_positive"]), "negative": list(r["reasons_negative"]),
                          "missing": list(r["reasons_missing"])},
        })
    return rows


def cli_rows(results):
    return [{**{k: r[k] for k in SCORE_KEYS}, "reasoning": r["reasoning"]} for r in results]
