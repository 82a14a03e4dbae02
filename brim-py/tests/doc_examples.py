"""Runs the Python examples of Markdown files, as a reader would paste them.

Usage: doc_examples.py [--spark] FILE.md ...

Every ```python block of a file runs, in order, in one namespace per file, from the repository
root. A block fenced ```python spark is PySpark's: it runs only with --spark. A file must have
at least one block (a docs page whose examples vanished is an error). Exits non-zero on the
first failure, naming the file and the block's line.
"""

import os
import re
import sys
import traceback

FENCE = re.compile(r"^```python( spark)?\s*\n(.*?)^```\s*$", re.M | re.S)


def main(argv):
    spark = "--spark" in argv
    files = [a for a in argv if a != "--spark"]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.chdir(root)
    ran = 0
    for path in files:
        text = open(path, encoding="utf-8").read()
        blocks = list(FENCE.finditer(text))
        if not blocks:
            print(f"{path}: no ```python example found", file=sys.stderr)
            return 1
        namespace = {"__name__": "__doc_example__"}
        for m in blocks:
            if m.group(1) and not spark:
                continue
            line = text.count("\n", 0, m.start()) + 1
            try:
                exec(compile(m.group(2), f"{path}:{line}", "exec"), namespace)
            except Exception:
                traceback.print_exc()
                print(f"FAILED: the example at {path} line {line}", file=sys.stderr)
                return 1
            ran += 1
    print(f"{ran} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
