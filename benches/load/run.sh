#!/usr/bin/env bash
# Load benchmark of `brim serve`: wrk (a second process, on the same 2 cores) POSTs
# /api/score-company for DURATION seconds over CONNECTIONS connections; then the stored
# score_calculated events are counted and compared with the 2xx responses.
# Usage: benches/load/run.sh [sqlite|postgres] [DURATION] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
db=${1:-sqlite}; duration=${2:-30}; connections=${3:-64}
source benches/load/server.sh
start_server "$db" brim_load
echo "server RSS before: $(rss) KiB"
wrk -t1 -c"$connections" -d"${duration}s" --latency -s benches/load/score.lua "http://127.0.0.1:$port" | tee "$work/wrk.txt"
echo "server RSS after: $(rss) KiB"
kill -TERM "$server"; wait "$server" || true
if [ "$db" = postgres ]; then
  events=$(psql "${BRIM_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}" -tAc "SELECT count(*) FROM brim_load.events WHERE event_type = 'score_calculated'")
  emails=$(psql "${BRIM_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}" -tAc "SELECT count(*) FROM brim_load.email_queue")
else
  events=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT count(*) FROM events WHERE event_type = 'score_calculated'\").fetchone()[0])" "$work/brim.db")
  emails=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM email_queue').fetchone()[0])" "$work/brim.db")
fi
echo "score_calculated events stored: $events"
echo "e-mails queued by the time the server stopped: $emails (the rest are written by the next start's sweep)"
