#!/usr/bin/env bash
# @brief Regenerates (or with --check, verifies) README.md's settings table from `forkguard options --markdown`,
# so the table, --help and the parser share one source (src/config.cpp kOptions).
set -euo pipefail
mode=write
[ "${1:-}" = "--check" ] && { mode=check; shift; }
cli=${1:?usage: readme-options.sh [--check] PATH/TO/forkguard [README.md]}
readme=${2:-$(cd "$(dirname "$0")/.." && pwd)/README.md}
table=$("$cli" options --markdown)
current=$(sed -n '/<!-- options:begin -->/,/<!-- options:end -->/p' "$readme" | sed '1d;$d')
if [ "$mode" = check ]; then
  if [ "$current" != "$table" ]; then
    echo "forkguard: README.md's settings table differs from 'forkguard options --markdown'; run scripts/readme-options.sh build/forkguard" >&2
    diff <(echo "$current") <(echo "$table") >&2 || true
    exit 1
  fi
  echo "README settings table matches the option table"
  exit 0
fi
tmp=$(mktemp)
awk -v table="$table" '
  /<!-- options:begin -->/ { print; print table; skip = 1; next }
  /<!-- options:end -->/ { skip = 0 }
  !skip { print }' "$readme" > "$tmp"
mv "$tmp" "$readme"
