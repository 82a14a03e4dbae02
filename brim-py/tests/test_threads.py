"""Threads and processes: the GIL released, several Python threads at once, a forked pool,
the thread count switch, and an import that changes nothing process-wide."""

import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest

import brim
from conftest import generated_leads


@pytest.fixture(scope="module")
def frame():
    return pd.DataFrame(generated_leads(20_000, seed=3))


def test_eight_python_threads_at_once_get_the_same_results(frame):
    want = brim.score_many(frame)["total_score"].tolist()
    results, failures = {}, []

    def work(i):
        try:
            model = ["balanced", brim.Model.preset("balanced")][i % 2]
            results[i] = brim.score_many(frame, model)["total_score"].tolist()
        except Exception as e:  # noqa: BLE001 - reported below
            failures.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert all(results[i] == want for i in range(8))


def test_the_gil_is_released_while_scoring():
    table = __import__("pyarrow").Table.from_pylist(generated_leads(2_000, seed=4))
    big = __import__("pyarrow").concat_tables([table] * 100)  # 200,000 rows
    ticks = []
    done = threading.Event()

    def ticker():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=ticker)
    brim.set_threads(1)
    try:
        t.start()
        time.sleep(0.02)
        start = time.perf_counter()
        brim.score_many(big)
        end = time.perf_counter()
    finally:
        done.set()
        t.join()
        brim.set_threads(None)
    during = [x for x in ticks if start <= x <= end]
    # With the GIL held the ticker could not run at all while scoring.
    assert end - start > 0.05
    assert len(during) >= 5, (len(during), end - start)


def test_thread_count_switch():
    assert brim.get_threads() >= 1
    brim.set_threads(3)
    try:
        assert brim.get_threads() == 3
        assert brim.score_many([{"company_name": "A"}])[0]["total_score"] == 0
    finally:
        brim.set_threads(None)
    with pytest.raises(ValueError, match="threads"):
        brim.set_threads(0)
    env = dict(os.environ, BRIM_THREADS="5")
    out = subprocess.run([sys.executable, "-c", "import brim; print(brim.get_threads())"],
                         capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "5"


def _score_in_child(names):
    return [r["total_score"] for r in brim.score_many([{"company_name": n, "employee_count": 100} for n in names])]


def test_a_forked_pool_scores(frame):
    # The parent has a live pool (it scored above); each forked child builds its own.
    brim.score_many(frame.head(5000))
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        results = pool.map(_score_in_child, [["A", "B"], ["C"], ["D", "E", "F"]])
    assert results == [[60, 60], [60], [60, 60, 60]]


def test_importing_brim_changes_nothing_process_wide():
    probe = r"""
import json, os, signal, sys, threading, warnings
def state():
    return {
        "threads": threading.active_count(),
        "os_threads": len(os.listdir("/proc/self/task")),
        "env": dict(os.environ),
        "signals": {s.name: repr(signal.getsignal(s)) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD)},
        "recursion": sys.getrecursionlimit(),
        "switch": sys.getswitchinterval(),
        "warnings": len(warnings.filters),
        "excepthook": repr(sys.excepthook),
        "modules": sorted(m for m in sys.modules if not m.startswith(("brim", "_brim"))),
    }
before = state()
import brim
after = state()
print(json.dumps({"before": before, "after": after}))
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    doc = json.loads(out.stdout)
    before, after = doc["before"], doc["after"]
    new_modules = set(after.pop("modules")) - set(before.pop("modules"))
    assert after == before
    # Only the standard library comes along: no pandas, pyarrow or numpy at import.
    assert not {m for m in new_modules if m.split(".")[0] in {"pandas", "pyarrow", "numpy", "polars"}}


@pytest.mark.parametrize("threads", [1, 3])
def test_scoring_runs_on_brims_own_threads_only(threads):
    # rayon's global pool, started by parallel code run outside a pool of our own, would add
    # unnamed threads to the embedder's process.
    probe = f"""
import os, brim
brim.set_threads({threads})
brim.score_many([{{"company_name": f"C{{i}}", "employee_count": i}} for i in range(20000)])
names = sorted(open(f"/proc/self/task/{{t}}/comm").read().strip() for t in os.listdir("/proc/self/task"))
print(" ".join(names))
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    names = out.stdout.split()
    assert sorted(n for n in names if n.startswith("brim-")) == [f"brim-{i}" for i in range(threads)]
    assert len(names) == threads + 1, names
