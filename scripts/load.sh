#!/usr/bin/env bash
# The load benchmark of docs/BENCHMARKS.md ("Load"): a private PostgreSQL in a
# temporary folder (durable settings: fsync and synchronous_commit on), one
# server, cmd/loadgen playing the participants, then pgbench running the
# equivalent single-row INSERT on the same cluster, and the ratio of the two.
#
#   scripts/load.sh                      # 1,000 participants, think 400 ms
#   N=200 THINK=100ms scripts/load.sh    # anything loadgen takes, via env
#
# Environment: N, C (at once), RATE (arrivals per second, 0: all at once), THINK, TRIALS, IMAGES (true/false), POOL (the
# server's pgx pool size, default the server's 8), PGCLIENTS (pgbench clients, default 16), PGTIME (s, default 20),
# PGLOG and SERVERLOG (files to keep PostgreSQL's and the server's logs in, e.g. with
# PGOPTS="-c shared_preload_libraries=auto_explain -c auto_explain.log_min_duration=50ms"),
# PGOPTS (extra postgres -c settings, e.g. "-c synchronous_commit=off"), PGSTATS=1
# (print the statements by execution time; needs PGOPTS="-c shared_preload_libraries=pg_stat_statements"),
# CPUPROFILE (a file for the server's CPU profile of the whole run, written when it stops; the
# server binary is kept beside it as FILE.bin for go tool pprof), FLOOR=1 (instead of cubelab and
# loadgen, scripts/floor's bare server and N clients answering for FLOORTIME, default 15s, with THINK: the
# floor of an answer of this shape on this machine; FLOOR=burst: its N clients open the study at once
# and walk the pages before the first trial, each with TRIALS trial rows).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
N=${N:-1000} C=${C:-0} RATE=${RATE:-0} THINK=${THINK:-400ms} TRIALS=${TRIALS:-120} IMAGES=${IMAGES:-true}
PGCLIENTS=${PGCLIENTS:-16} PGTIME=${PGTIME:-20} PGOPTS=${PGOPTS:-}
port=${PORT:-54391} http=${HTTPPORT:-18091}
case "${FLOOR:-}" in
  "" | 1 | burst) ;;
  *) echo "load.sh: FLOOR=$FLOOR: give 1 (answers) or burst (a launch), or leave it unset" >&2; exit 2 ;;
esac

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ] && bindir=$(pg_config --bindir)
[ -x "$bindir/initdb" ] || { echo "load.sh: no initdb found" >&2; exit 1; }
as=()
[ "$(id -u)" = 0 ] && as=(runuser -u postgres --)

work=$(mktemp -d /tmp/cubelab-load.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres "$work"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  "${as[@]}" "$bindir/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true
  [ -n "${PGLOG:-}" ] && cp "$work/pg.log" "$PGLOG" 2>/dev/null || true
  [ -n "${SERVERLOG:-}" ] && cp "$work/server.log" "$SERVERLOG" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"${as[@]}" "$bindir/initdb" -D "$work/data" --auth=trust --username=postgres >"$work/initdb.log"
# shellcheck disable=SC2086
"${as[@]}" "$bindir/pg_ctl" -D "$work/data" -l "$work/pg.log" -w start \
  -o "-k $work -p $port -h 127.0.0.1 -c max_connections=200 -c shared_buffers=256MB $PGOPTS" >/dev/null
url="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
psql() { "$bindir/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres "$@"; }
echo "PostgreSQL $(psql -Atc 'show server_version'): fsync=$(psql -Atc 'show fsync')," \
  "synchronous_commit=$(psql -Atc 'show synchronous_commit'), shared_buffers=$(psql -Atc 'show shared_buffers')"

if [ -n "${PGSTATS:-}" ]; then
  psql -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
fi

cpu() { awk '{ s += $14 + $15 } END { printf "%.2f", s / '"$(getconf CLK_TCK)"' }' "$@" 2>/dev/null; }
pgcpu() {
  local pm
  pm=$(head -1 "$work/data/postmaster.pid")
  awk -v hz="$(getconf CLK_TCK)" '{ s += $14 + $15 + (FILENAME ~ /\/'"$pm"'\// ? $16 + $17 : 0) } END { printf "%.2f", s / hz }' \
    "/proc/$pm/stat" $(pgrep -P "$pm" | sed 's|.*|/proc/&/stat|') 2>/dev/null
}
pgcpu0=$(pgcpu)

if [ -n "${FLOOR:-}" ]; then
  # The floor of an answer of this shape (scripts/floor): its own server and
  # clients instead of cubelab's, on the same cluster, before the same pgbench.
  go build -o "$work/floor" ./scripts/floor
  echo "== floor ($FLOOR): $N clients"
  "$work/floor" -database-url "$url" -n "$N" -time "${FLOORTIME:-15s}" -think "$THINK" -trials "${TRIALS}" ${POOL:+-pool "$POOL"} \
    $([ "$FLOOR" = burst ] && echo -burst) | tee "$work/loadgen.out"
  pg1=$(pgcpu)
  echo "== PostgreSQL CPU seconds: $(awk -v a="$pg1" -v b="$pgcpu0" 'BEGIN { printf "%.1f", a - b }')"
else
  go build -o "$work/server" ./cmd/server
  go build -o "$work/loadgen" ./cmd/loadgen
  [ -n "${CPUPROFILE:-}" ] && cp "$work/server" "$CPUPROFILE.bin"
  serverurl=$url
  [ -n "${POOL:-}" ] && serverurl="$url&pool_max_conns=$POOL"
  profile=()
  [ -n "${CPUPROFILE:-}" ] && profile=(-cpuprofile "$(realpath -m "$CPUPROFILE")")
  DATABASE_URL="$serverurl" "$work/server" serve -addr "127.0.0.1:$http" -entry-limit 0 "${profile[@]}" >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$http/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done

  echo "== loadgen"
  /usr/bin/time -f "loadgen cpu %U+%S" -o "$work/loadgen.time" \
    "$work/loadgen" -url "http://127.0.0.1:$http" -database-url "$url" -n "$N" -c "$C" -rate "$RATE" \
    -think "$THINK" -trials "$TRIALS" -images="$IMAGES" | tee "$work/loadgen.out"
  awk -F'[ +]' '/^loadgen cpu/ { printf "loadgen cpu %.1f\n", $3 + $4 }' "$work/loadgen.time" >"$work/loadgen.err"

  # CPU seconds each side used (utime+stime from /proc), so that the cost of an
  # answer can be split between server, PostgreSQL and loadgen, and compared
  # with PostgreSQL's cost of a pgbench transaction. PostgreSQL's is the
  # postmaster's own, its exited children's, and its live children's.
  pg0=$pgcpu0
  pg1=$(pgcpu)
  echo "== CPU seconds: server $(cpu "/proc/$server_pid/stat"), PostgreSQL $(awk -v a="$pg1" -v b="$pg0" 'BEGIN { printf "%.1f", a - b }')," \
    "loadgen $(sed -n 's/^loadgen cpu //p' "$work/loadgen.err")"
fi

if [ -n "${PGSTATS:-}" ]; then
  echo "== statements by total execution time (PGSTATS=1)"
  psql -c "SELECT calls, round(total_exec_time) AS total_ms, round(mean_exec_time::numeric, 3) AS mean_ms,
    regexp_replace(left(query, 90), '\s+', ' ', 'g') AS query
    FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12"
  echo "== updates that were HOT (no index touched) and WAL written (PGSTATS=1)"
  psql -c "SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
    WHERE relname IN ('participants', 'trials') ORDER BY relname"
  psql -c "SELECT wal_records, pg_size_pretty(wal_bytes) AS wal, wal_fpi FROM pg_stat_wal"
fi

echo "== pgbench: $PGCLIENTS clients, ${PGTIME}s, one single-row INSERT per transaction"
psql -c "CREATE TABLE bench_answers (participant_id uuid NOT NULL, position integer NOT NULL,
  answer text NOT NULL, correct boolean NOT NULL, server_rt_ms integer NOT NULL,
  answered_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (participant_id, position))"
cat >"$work/insert.sql" <<'EOF'
\set pos random(1, 120)
INSERT INTO bench_answers (participant_id, position, answer, correct, server_rt_ms)
VALUES (gen_random_uuid(), :pos, 'Yes', true, 1500);
EOF
"$bindir/pgbench" -n -h 127.0.0.1 -p "$port" -U postgres -c "$PGCLIENTS" -j 2 -T "$PGTIME" \
  -f "$work/insert.sql" postgres | tee "$work/pgbench.out"
pg2=$(pgcpu)
echo "== PostgreSQL CPU seconds during pgbench: $(awk -v a="$pg2" -v b="$pg1" 'BEGIN { printf "%.1f", a - b }')"

ours=$(sed -n 's/.* \([0-9]*\) sustained.*/\1/p' "$work/loadgen.out")
[ -n "$ours" ] || ours=$(sed -n 's/^answers\/s \([0-9]*\).*/\1/p' "$work/loadgen.out")
tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/pgbench.out")
# A launch burst (FLOOR=burst) answers nothing: no ratio.
[ -z "$ours" ] || echo "== ratio: $ours answers/s / $tps pgbench tps = $(awk -v a="$ours" -v b="$tps" 'BEGIN { printf "%.2f", a / b }')"
