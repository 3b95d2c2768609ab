#!/usr/bin/env bash
# Installs, as root with apt-get, the programs that the tests need and a fresh
# Debian machine lacks: Chromium (browser tests) and PostgreSQL (its programs, for
# scripts/db.sh and the fault tests).
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing+=(chromium)
# initdb even when a PostgreSQL answers: the fault tests (internal/faulttest)
# start and kill a private cluster of their own.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
  && ! { command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; }; then
  missing+=(postgresql)
fi
[ ${#missing[@]} = 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "scripts/need.sh: please install: ${missing[*]}" >&2
  exit 1
fi
echo "installing ${missing[*]} ..." >&2
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
