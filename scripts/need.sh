#!/usr/bin/env bash
# Installs, as root with apt-get, the programs that the tests need and a fresh
# Debian machine lacks: Chromium (browser tests) and PostgreSQL (when none answers).
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing+=(chromium)
if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null && [ -z "${DATABASE_URL:-}" ] \
  && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
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
