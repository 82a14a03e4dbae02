#!/usr/bin/env bash
# Server memory under sustained load: `brim serve` (release, SQLite file, generation and worker
# on) takes wrk's score requests for DURATION seconds; its RSS is sampled every 10 s.
# Usage: benches/load/memory.sh [sqlite|postgres] [DURATION] [CONNECTIONS]
#   (prints "seconds,rss_kib" lines)
set -euo pipefail
cd "$(dirname "$0")/../.."
db=${1:-sqlite}; duration=${2:-300}; connections=${3:-64}
source benches/load/server.sh
start_server "$db" brim_memory
wrk -t1 -c"$connections" -d"${duration}s" --latency -s benches/load/score.lua "http://127.0.0.1:$port" > "$work/wrk.txt" &
load=$!
echo "seconds,rss_kib"
for ((t = 0; t <= duration; t += 10)); do
  echo "$t,$(rss)"
  sleep 10
done
wait "$load"
grep -E "Requests/sec|p50|Socket errors|Non-2xx" "$work/wrk.txt"
echo "server warnings and errors: $(grep -cE "WARN|ERROR" "$work/serve.log" || true)"; grep -E "WARN|ERROR" "$work/serve.log" | head -5 || true
[ "$db" = sqlite ] && echo "database: $(du -k "$work/brim.db" | cut -f1) KiB"
true
