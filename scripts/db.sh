#!/usr/bin/env bash
# Prints the DATABASE_URL that `make run` and `make test` use, starting a
# private PostgreSQL under .pgdata/ when none is given and none answers.
#
# 1. DATABASE_URL, when set, is used as it is.
# 2. Otherwise a PostgreSQL answering on 127.0.0.1:5432 (user postgres, trust).
# 3. Otherwise a private cluster in .pgdata/ on port 54329, made with the
#    installed PostgreSQL binaries (as the postgres user when run as root).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

if [ -n "${DATABASE_URL:-}" ]; then
  echo "$DATABASE_URL"
  exit 0
fi
if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  echo "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
  exit 0
fi

port=${CUBELAB_PGPORT:-54329}
url="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
  echo "$url"
  exit 0
fi

bindir=""
if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
  bindir=$(pg_config --bindir)
else
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "scripts/db.sh: no PostgreSQL answers on 127.0.0.1:5432 and no initdb is installed;" >&2
  echo "  install one (Debian: apt-get install -y postgresql) or set DATABASE_URL" >&2
  exit 1
fi

dir="$root/.pgdata"
as=()
if [ "$(id -u)" = 0 ]; then
  # PostgreSQL refuses to run as root.
  as=(runuser -u postgres --)
fi
mkdir -p "$dir"
[ "$(id -u)" = 0 ] && chown postgres "$dir"
if [ ! -f "$dir/data/PG_VERSION" ]; then
  "${as[@]}" "$bindir/initdb" -D "$dir/data" --auth=trust --username=postgres >"$dir/initdb.log" 2>&1 || {
    echo "scripts/db.sh: initdb failed, see $dir/initdb.log" >&2
    exit 1
  }
fi
"${as[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
  -o "-k $dir -p $port -h 127.0.0.1 -c max_connections=300" -w start >/dev/null || {
  echo "scripts/db.sh: PostgreSQL did not start, see $dir/server.log" >&2
  exit 1
}
echo "$url"
