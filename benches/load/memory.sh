#!/usr/bin/env bash
# Server memory under sustained load: `brim serve` (release, SQLite file, generation and worker
# on) takes wrk's score requests for DURATION seconds; its RSS is sampled every 10 s.
# Usage: benches/load/memory.sh [sqlite|postgres] [DURATION] [CONNECTIONS]
#   (prints "seconds,rss_kib" lines)
set -euo pipefail
cd "$(dirname "$0")/../.."
db=${1:-sqlite}; duration=${2:-300}; connections=${3:-64}
command -v wrk >/dev/null || apt-get install -y wrk
cargo build --release -p brim-server --quiet
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
if [ "$db" = postgres ]; then
  url=${BRIM_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
  psql "$url" -qc "DROP SCHEMA IF EXISTS brim_memory CASCADE; CREATE SCHEMA brim_memory"
  url="$url?options=-csearch_path%3Dbrim_memory"
else
  url="sqlite://$work/brim.db"
fi
(cd "$work" && exec "$OLDPWD/target/release/brim" serve --bind "127.0.0.1:$port" --database-url "$url" \
  --send-window always --public-rate-limit 0 2>"$work/serve.log") &
server=$!
trap 'kill -TERM "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
wrk -t1 -c"$connections" -d"${duration}s" --latency -s benches/load/score.lua "http://127.0.0.1:$port" > "$work/wrk.txt" &
load=$!
echo "seconds,rss_kib"
for ((t = 0; t <= duration; t += 10)); do
  echo "$t,$(rss)"
  sleep 10
done
wait "$load"
grep -E "Requests/sec|p50" "$work/wrk.txt"
[ "$db" = sqlite ] && echo "database: $(du -k "$work/brim.db" | cut -f1) KiB"
true
