#!/usr/bin/env bash
# @brief Installs forkguard's build and test dependencies from Debian bookworm, only what is missing.
set -euo pipefail
packages=(build-essential cmake g++ binutils libunwind-dev libspdlog-dev libfmt-dev catch2
          libcli11-dev nlohmann-json3-dev strace chromium libxml2-utils file "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "forkguard: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
