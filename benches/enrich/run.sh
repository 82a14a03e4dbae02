#!/usr/bin/env bash
# Enriching 10,000 leads against a local provider that answers in 100 ms, limited to 50
# requests/s: the first run takes what the limit allows (10,000 / 50 = 200 s), the second the
# same day comes from the cache. Prints both wall times and the peak memory of each run.
#   Usage: benches/enrich/run.sh [LEADS] [BRIM]   (default 10000, target/release/brim)
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-10000}
brim=$(realpath "${2:-target/release/brim}")
work=$(mktemp -d)
trap 'kill $provider 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 benches/enrich/provider.py "$port" 100 &
provider=$!
python3 - "$n" > "$work/leads.csv" <<'PY'
import sys
print("company_name,domain")
for i in range(int(sys.argv[1])):
    print(f"Company {i},company{i}.example")
PY
sed -e "s|https://api.apollo.io|http://127.0.0.1:$port|" -e "s|requests_per_second = 5|requests_per_second = 50|" \
  -e 's|env = "APOLLO_API_KEY"|env = "BENCH_KEY"|' brim-core/src/enrich/providers/apollo.toml > "$work/provider.toml"
sleep 0.5
for run in first second; do
  start=$(date +%s.%N)
  BENCH_KEY=k /usr/bin/time -f "$run run: peak memory %M KB" "$brim" enrich "$work/leads.csv" \
    --provider "$work/provider.toml" --database-url "sqlite://$work/brim.db" -o "$work/out.jsonl" --quiet
  end=$(date +%s.%N)
  printf '%s run: %d leads in %.1f s (%s lines out)\n' "$run" "$n" "$(echo "$end - $start" | bc)" "$(wc -l < "$work/out.jsonl")"
done
