#!/usr/bin/env bash
# Fails when `templ generate` would change the committed *_templ.go files.
set -euo pipefail
cd "$(dirname "$0")/.."
sum() { find . -name '*_templ.go' -not -path './.pgdata/*' -print0 | sort -z | xargs -0 -r sha256sum; }
before=$(sum)
go tool templ generate -log-level error
after=$(sum)
if [ "$before" != "$after" ]; then
  echo "generated templ files were out of date; regenerated files differ:" >&2
  diff <(echo "$before") <(echo "$after") >&2 || true
  echo "run 'go tool templ generate' and commit the result" >&2
  exit 1
fi
