#!/usr/bin/env python3
"""`brim.score_many` on pandas frames, side by side with the Python ways of doing the same.

Usage (in the virtualenv where the `brim` package is installed):

    python benches/python/score_many.py [N] [REPEATS]        # defaults: 1000000 5

Generates N leads once, with `lead(rng, i)` of ../baseline/make_leads.py (seed 0: the value mix
of the original's sample file), and builds two frames of the same data (generation is not
timed):

  plain   `pd.DataFrame(leads)`: object columns of str / Python lists / dicts with NaN for
          absent values, employee_count float64 with NaN;
  arrow   the same columns as `pd.ArrowDtype` (string, int64, list<string>, struct), i.e. a
          pyarrow Table's `.to_pandas(types_mapper=pd.ArrowDtype)`.

Contenders, each timed REPEATS times in this one process (median reported):

  brim full      `brim.score_many(df)`: scores, reason lists and company_id appended;
  brim summary   `brim.score_many(df, detail="summary")`: numbers and action only;
  pandas vect.   pandas_balanced.score_balanced(df): the `balanced` rules as pandas/numpy
                 column operations (numbers and action only, no reason sentences);
  original (a)   `calculate_scores` of ../baseline/original_scoring.py on every row of the
                 plain frame, conversion included: `df.to_dict("records")`, NaN entries dropped
                 from each record (the original reads an absent field as missing), then the
                 function row by row;
  original pure  the same function over the generated dicts (no frame at all), for reference.

Plus the parts of brim's time: `pa.Table.from_pandas(df[lead columns])` alone, and the engine
alone on that Arrow table (`brim._brim.score_arrow`, a private function).

Checks (exit status 1 when one fails): pandas vect. (on both frames), brim on the Arrow-backed
frame, brim summary and the original function all give the same fit_score, intent_score,
total_score and action as `brim.score_many(plain)` on 100 % of rows (confidence is compared
and reported too).

Peak memory: each measured call runs in a fresh subprocess that loads the frame (pickled to a
temporary directory, never into the repository), resets the kernel's peak-RSS mark
(`/proc/self/clear_refs` ← 5), and reports VmHWM − VmRSS-before: the peak extra resident memory
of the call, native allocations included, result included. It is compared to the input frame's
`df.memory_usage(deep=True).sum()` (for the plain frame this counts each list object's
`sys.getsizeof`, not the strings inside the lists, so the frame's real footprint is larger).

The issue's targets, checked at the end: a 1,000,000-row frame scored in <= 0.5 s on this
2-core machine; peak memory <= 2 x the input frame's size.
"""
import gc
import importlib.util
import json
import os
import pickle
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

import brim

HERE = Path(__file__).resolve().parent
BASELINE = HERE.parent / "baseline"
sys.path.insert(0, str(HERE))
import pandas_balanced  # noqa: E402

COLUMNS = ["company_name", "employee_count", "industry", "funding_stage", "tech_stack",
           "recent_job_posts", "news_mentions", "contact", "timezone"]
CHECKED = ["fit_score", "intent_score", "total_score", "action"]
TIME_TARGET_S = 0.5      # for 1,000,000 rows
MEMORY_TARGET = 2.0      # x the input frame's size


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, str(path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generate(n, seed=0):
    make_leads = load_module("make_leads", BASELINE / "make_leads.py")
    rng = random.Random(seed)
    return [make_leads.lead(rng, i) for i in range(n)]


def build_frames(leads):
    plain = pd.DataFrame(leads, columns=COLUMNS)
    # Column by column, so that every row's keys count (from_pylist infers from the first row).
    table = pa.table({c: pa.array([d.get(c) for d in leads]) for c in COLUMNS})
    arrow = table.to_pandas(types_mapper=pd.ArrowDtype)
    return plain, arrow


# --- the contenders -------------------------------------------------------------------------

def original_over_frame(df, calculate_scores):
    """The original function on every row of a plain frame (conversion included)."""
    return [calculate_scores({k: v for k, v in rec.items() if v is not None and v == v})
            for rec in df.to_dict("records")]


def original_pure(leads, calculate_scores):
    return [calculate_scores(lead) for lead in leads]


def brim_full(df):
    return brim.score_many(df)


def brim_summary(df):
    return brim.score_many(df, detail="summary")


def pandas_vectorised(df):
    return pandas_balanced.score_balanced(df)


def timed(fn, arg, repeats):
    times = []
    result = None
    for _ in range(repeats):
        result = None
        gc.collect()
        start = time.perf_counter()
        result = fn(arg)
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, result


# --- agreement ------------------------------------------------------------------------------

def columns_of(result):
    """fit/intent/total/confidence/action of a result (a frame, or a list of dicts) as numpy."""
    if isinstance(result, list):
        return {c: np.array([r[c] for r in result]) for c in CHECKED + ["confidence"]}
    return {
        "fit_score": np.asarray(result["fit_score"], dtype=np.int64),
        "intent_score": np.asarray(result["intent_score"], dtype=np.int64),
        "total_score": np.asarray(result["total_score"], dtype=np.int64),
        "confidence": np.asarray(result["confidence"], dtype=np.float64),
        "action": np.asarray(result["action"].astype(str), dtype=object),
    }


def agreement(reference, other):
    """{column: fraction of rows equal}, and the rows where a checked column differs."""
    shares, bad = {}, np.zeros(len(reference["fit_score"]), dtype=bool)
    for c in CHECKED + ["confidence"]:
        same = reference[c] == other[c]
        shares[c] = float(np.mean(same)) if len(same) else 1.0
        if c in CHECKED:
            bad |= ~same
    return shares, np.flatnonzero(bad)


def show_disagreement(name, rows, plain, reference, other, calculate_scores):
    print(f"\n  {name}: {len(rows)} rows disagree; the first few:")
    for i in rows[:5]:
        rec = {k: v for k, v in plain.iloc[int(i)].to_dict().items() if v is not None and v == v}
        orig = calculate_scores(rec)
        print(f"    row {i}: {rec}")
        for label, cols in (("brim", reference), (name, other)):
            print(f"      {label:>18}: " + ", ".join(f"{c}={cols[c][i]}" for c in CHECKED + ["confidence"]))
        print(f"      {'original function':>18}: "
              + ", ".join(f"{c}={orig[c]}" for c in CHECKED + ["confidence"]))


# --- peak memory, one subprocess per measurement --------------------------------------------

def _status_kb(field):
    with open("/proc/self/status") as f:
        match = re.search(field + r":\s+(\d+) kB", f.read())
    return int(match.group(1)) * 1024 if match else None


def memory_child(contender, frame_path):
    """Runs in a fresh process: load the frame, reset the peak, run once, print JSON."""
    import resource

    with open(frame_path, "rb") as f:
        df = pickle.load(f)
    fn = CONTENDERS_BY_NAME[contender]
    calculate_scores = None
    if contender == "original (a)":
        calculate_scores = load_module("original_scoring", BASELINE / "original_scoring.py").calculate_scores
    gc.collect()
    reset = True
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
    except OSError:
        reset = False
    before = _status_kb("VmRSS")
    ru_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if calculate_scores is not None:
        result = original_over_frame(df, calculate_scores)
    else:
        result = fn(df)
    peak = _status_kb("VmHWM")
    ru_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    del result
    extra = (peak - before) if reset else (ru_after - ru_before)
    print(json.dumps({"extra": extra, "reset": reset, "rss_before": before, "peak": peak,
                      "frame_bytes": int(df.memory_usage(deep=True).sum())}))


def measure_memory(contender, frame_path):
    out = subprocess.run([sys.executable, __file__, "--memory-child", contender, frame_path],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


CONTENDERS_BY_NAME = {
    "brim full": brim_full,
    "brim summary": brim_summary,
    "pandas vect.": pandas_vectorised,
    "original (a)": None,  # needs calculate_scores; see memory_child / main
}


# --- the run --------------------------------------------------------------------------------

def mb(n_bytes):
    return n_bytes / 1e6


def main(argv):
    n = int(argv[0]) if len(argv) > 0 else 1_000_000
    repeats = int(argv[1]) if len(argv) > 1 else 5
    calculate_scores = load_module("original_scoring", BASELINE / "original_scoring.py").calculate_scores

    cores = os.cpu_count()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = cores
    print(f"# brim.score_many on pandas: {n:,} rows, median of {repeats} runs\n")
    print(f"- machine: {cores} cores ({usable} usable), Python {sys.version.split()[0]}, "
          f"pandas {pd.__version__}, pyarrow {pa.__version__}, numpy {np.__version__}, "
          f"brim {brim.__version__}, brim.get_threads() = {brim.get_threads()}")

    start = time.perf_counter()
    leads = generate(n)
    plain, arrow = build_frames(leads)
    gc.collect()
    gc.freeze()  # the generated objects are never collected: keep GC passes out of the timings
    sizes = {"plain": int(plain.memory_usage(deep=True).sum()),
             "arrow": int(arrow.memory_usage(deep=True).sum())}
    print(f"- data: generated and framed in {time.perf_counter() - start:.1f} s (not timed); "
          f"input frame size (memory_usage(deep=True)): plain {mb(sizes['plain']):,.1f} MB, "
          f"Arrow-backed {mb(sizes['arrow']):,.1f} MB\n")
    frames = {"plain": plain, "arrow": arrow}

    rows = []      # (contender, frame, median, all times)
    results = {}   # (contender, frame) -> result, for the checks
    for frame_name, df in frames.items():
        for name, fn in (("brim full", brim_full), ("brim summary", brim_summary),
                         ("pandas vect.", pandas_vectorised)):
            median, times, result = timed(fn, df, repeats)
            rows.append((name, frame_name, median, times))
            results[(name, frame_name)] = columns_of(result)
            del result
    median, times, result = timed(lambda d: original_over_frame(d, calculate_scores), plain, repeats)
    rows.append(("original (a)", "plain", median, times))
    results[("original (a)", "plain")] = columns_of(result)
    del result
    median, times, result = timed(lambda l: original_pure(l, calculate_scores), leads, repeats)
    rows.append(("original pure", "list of dicts", median, times))
    del result

    # Where brim's time goes: pandas -> Arrow conversion, then the engine alone.
    parts = []
    model = brim._model("balanced")
    lead_cols = list(brim._brim.lead_columns([str(c) for c in plain.columns]))
    for frame_name, df in frames.items():
        conv, _, table = timed(lambda d: pa.Table.from_pandas(d[lead_cols], preserve_index=False),
                               df, repeats)
        parts.append((f"`pa.Table.from_pandas(df[lead_cols])` alone", frame_name, conv))
        for detail in ("full", "summary"):
            try:
                eng, _, _ = timed(lambda t: brim._brim.score_arrow(t, model, detail, "raise"),
                                  table, repeats)
                parts.append((f"engine alone on that table (`score_arrow`, {detail})", frame_name, eng))
            except Exception as e:  # a private function: it may change
                print(f"(engine-only timing skipped: {e})")
        del table

    # --- timings table
    reference = {r[1]: r[2] for r in rows if r[0] == "brim full"}["arrow"]
    print("## Time\n")
    print("| contender | frame | median s | rows/s | time / brim full (Arrow-backed) | all runs, s |")
    print("|---|---|---|---|---|---|")
    for name, frame_name, median, times in rows:
        print(f"| {name} | {frame_name} | {median:.3f} | {n / median:,.0f} | {median / reference:.2f}× "
              f"| {' '.join(f'{t:.3f}' for t in times)} |")
    print("\nNotes: pandas vect. computes the numbers and the action only (like brim summary; no "
          "reason sentences, no company_id). original (a) includes `df.to_dict(\"records\")` and "
          "dropping NaN entries from each record; original pure is the function alone over the "
          "generated dicts. Timings are wall-clock, GC left on (generated data frozen out of it).")
    print("\nParts of brim's time (medians; the engine part includes building the Arrow output):\n")
    print("| part | frame | median s |")
    print("|---|---|---|")
    for what, frame_name, median in parts:
        print(f"| {what} | {frame_name} | {median:.3f} |")
    medians = {(r[0], r[1]): r[2] for r in rows}
    print("\nSpeed-ups (median times):")
    for frame_name in frames:
        for brim_name in ("brim full", "brim summary"):
            b = medians[(brim_name, frame_name)]
            print(f"- {brim_name} on {frame_name}: the vectorised pandas code on the same frame takes "
                  f"{medians[('pandas vect.', frame_name)] / b:.2f}× its time, the original function "
                  f"over the plain frame {medians[('original (a)', 'plain')] / b:.1f}×")

    # --- agreement
    print("\n## Agreement with `brim.score_many(plain)` (share of rows equal)\n")
    ref = results[("brim full", "plain")]
    print("| result | " + " | ".join(CHECKED + ["confidence"]) + " |")
    print("|---|" + "---|" * (len(CHECKED) + 1))
    failed = []
    for key, cols in results.items():
        if key == ("brim full", "plain"):
            continue
        shares, bad_rows = agreement(ref, cols)
        label = f"{key[0]} on {key[1]}"
        print(f"| {label} | " + " | ".join(f"{100 * shares[c]:.3f} %" for c in CHECKED + ["confidence"]) + " |")
        if len(bad_rows):
            failed.append((label, bad_rows, cols))
    for label, bad_rows, cols in failed:
        show_disagreement(label, bad_rows, plain, ref, cols, calculate_scores)
    print(f"\nAgreement check: {'PASSED (100 % of rows)' if not failed else 'FAILED'}")

    # --- peak memory, in fresh subprocesses
    print("\n## Peak extra memory (fresh process per call; VmHWM − RSS before the call)\n")
    del results
    memory = []
    with tempfile.TemporaryDirectory(prefix="brim-bench-") as tmp:
        for frame_name, df in frames.items():
            path = os.path.join(tmp, f"{frame_name}.pickle")
            with open(path, "wb") as f:
                pickle.dump(df, f, protocol=pickle.HIGHEST_PROTOCOL)
            names = ["brim full", "brim summary", "pandas vect."]
            if frame_name == "plain":
                names.append("original (a)")
            for name in names:
                memory.append((name, frame_name, measure_memory(name, path)))
            os.remove(path)
    print("| contender | frame | input frame MB | peak extra MB | × input frame |")
    print("|---|---|---|---|---|")
    for name, frame_name, m in memory:
        note = "" if m["reset"] else " (ru_maxrss growth: a lower bound)"
        print(f"| {name} | {frame_name} | {mb(sizes[frame_name]):,.1f} | {mb(m['extra']):,.1f}{note} "
              f"| {m['extra'] / sizes[frame_name]:.2f}× |")

    # --- the targets
    print("\n## The issue's targets\n")
    scale = 1_000_000 / n
    for name, frame_name, median, _ in rows:
        if not name.startswith("brim"):
            continue
        per_million = median * scale
        ok = per_million <= TIME_TARGET_S
        extrapolated = "" if n == 1_000_000 else f" (scaled from {n:,} rows)"
        print(f"- time, {name} on {frame_name}: {per_million:.3f} s per 1,000,000 rows{extrapolated} "
              f"-> {'met' if ok else 'NOT met'} (target <= {TIME_TARGET_S} s)")
    for name, frame_name, m in memory:
        if not name.startswith("brim"):
            continue
        ratio = m["extra"] / sizes[frame_name]
        print(f"- memory, {name} on {frame_name}: {ratio:.2f}× the input frame "
              f"-> {'met' if ratio <= MEMORY_TARGET else 'NOT met'} (target <= {MEMORY_TARGET}×)")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--memory-child":
        memory_child(sys.argv[2], sys.argv[3])
        sys.exit(0)
    sys.exit(main(sys.argv[1:]))
