# Sourced by the load scripts: builds the release `brim`, starts `brim serve` on SQLite (a file
# in a temporary folder) or PostgreSQL (a schema of its own) with the worker and generation on,
# waits for it, and stops it (SIGTERM) when the script exits.
# Sets: work (the folder), port, server (its pid), db_url; `rss` prints its RSS in KiB.
# Usage: start_server sqlite|postgres SCHEMA   (BRIM_BIN=path/to/brim: run that build instead;
# BRIM_SERVE_ARGS: more flags for `brim serve`, e.g. `--synchronous full`)
start_server() {
  local db=$1 schema=$2
  command -v wrk >/dev/null || apt-get install -y wrk
  # BRIM_BIN: a `brim` built elsewhere (e.g. a baseline to compare side by side).
  local bin=${BRIM_BIN:-$PWD/target/release/brim}
  [ -n "${BRIM_BIN:-}" ] || cargo build --release -p brim-server --quiet
  work=$(mktemp -d)
  port=$((20000 + RANDOM % 20000))
  if [ "$db" = postgres ]; then
    local base=${BRIM_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
    psql "$base" -qc "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema"
    db_url="$base?options=-csearch_path%3D$schema"
  else
    db_url="sqlite://$work/brim.db"
  fi
  (cd "$work" && exec "$bin" serve --bind "127.0.0.1:$port" --database-url "$db_url" \
    --send-window always --public-rate-limit 0 ${BRIM_SERVE_ARGS:-} 2>"$work/serve.log") &
  server=$!
  trap 'kill -TERM "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$work"' EXIT
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return; sleep 0.1; done
  echo "brim serve did not start:" >&2; cat "$work/serve.log" >&2; return 1
}

rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
