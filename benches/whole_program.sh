#!/usr/bin/env bash
# Whole-program speed of `brim score` against the Python baseline, side by side in one run.
# Usage: benches/whole_program.sh [WORKDIR]   (needs hyperfine: apt-get install -y hyperfine)
# Generates 100,000 and 1,000,000 synthetic leads (seeded), then times:
#   * brim score on 1 and 2 threads, JSON lines in → JSON lines out (to a file);
#   * the Python implementation of the original rules on the same file (JSON text → JSON text).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/brim-bench}
mkdir -p "$work"
cargo build --release -p brim-server --locked
brim=target/release/brim
for n in 100000 1000000; do
  [ -s "$work/$n.jsonl" ] || python3 benches/baseline/make_leads.py "$n" > "$work/$n.jsonl"
done
echo "== 100,000 leads"
hyperfine --warmup 1 --runs 10 --export-markdown "$work/100k.md" \
  -n "brim score -j 1" "$brim score $work/100000.jsonl -j 1 -o $work/out.jsonl" \
  -n "brim score -j 2" "$brim score $work/100000.jsonl -j 2 -o $work/out.jsonl" \
  -n "python baseline" "python3 benches/baseline/original_scoring.py $work/100000.jsonl > $work/py.jsonl"
echo "== 1,000,000 leads"
hyperfine --warmup 1 --runs 5 --export-markdown "$work/1m.md" \
  -n "brim score -j 1" "$brim score $work/1000000.jsonl -j 1 -o $work/out.jsonl" \
  -n "brim score -j 2" "$brim score $work/1000000.jsonl -j 2 -o $work/out.jsonl"
echo "== peak memory (KB), 1,000,000 leads"
/usr/bin/time -f "brim -j 2: %M KB" "$brim" score "$work/1000000.jsonl" -j 2 -o "$work/out.jsonl"
echo "== python pure function (one core)"
python3 benches/baseline/original_scoring.py --bench 100000 "$work/100000.jsonl"
