#!/usr/bin/env bash
# @brief The main job on a fresh machine: install what is missing, build, then show the bundled
# legacy demo failing to fork, forkguard's diagnosis of why, and forkguard rescuing it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh" --build
"$top/scripts/build.sh" forkguard_cli forkguard_shim forkguard-demo >/dev/null
fg="$top/build/forkguard"
demo="$top/build/forkguard-demo"

echo "== 1. the legacy program alone: the kernel refuses its fork()"
"$demo" || true
echo
echo "== 2. under forkguard (observe): the same failure, with the diagnosis"
"$fg" run -- "$demo" || true
echo
echo "== 3. under forkguard --mode mitigate: the fork succeeds (slim fork), the program is unchanged"
"$fg" run --mode mitigate -- "$demo"
