#!/usr/bin/env bash
# @file install.sh
# @brief install.sh CASE BUILD_DIR BUILT_FORKGUARD
#   cmake-install  `cmake --install BUILD --prefix TMP`: files in bin/, lib/, share/man, share/doc
#   tgz            `cpack -G TGZ`, the relocatable tarball unpacked into a fresh directory
#   deb            `cpack -G DEB`, the package's control fields and contents, `dpkg-deb -x` into a
#                  fresh root, then the demo run from there
# Both then run ROOT/bin/forkguard run -- ROOT/bin/forkguard-demo and check that the installed
# library was preloaded and the demo's fork diagnosed (observe) and rescued (mitigate).
set -euo pipefail
case_name=$1 build=$2 built_fg=$3
tmp=$(mktemp -d)
trap 'rm -rf --one-file-system "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
has() { grep -qE -- "$2" "$1" || { echo "--- $1:" >&2; cat "$1" >&2; fail "$1 lacks /$2/"; }; }

# The manual page documents every FORKGUARD_* variable the library knows, and the exit statuses.
check_manpage() {
  local page=$1
  zcat "$page" >"$tmp/page"
  has "$tmp/page" '^\.TH FORKGUARD 1 '
  for section in NAME SYNOPSIS DESCRIPTION COMMANDS ENVIRONMENT RECORDS 'EXIT STATUS'; do
    has "$tmp/page" "^\\.SH \"?$section\"?$"
  done
  "$built_fg" options --markdown | grep -oE '^\| `FORKGUARD_[A-Z_]+`' | tr -d '|` ' >"$tmp/vars"
  [ -s "$tmp/vars" ] || fail "forkguard options --markdown listed no variable"
  while read -r v; do grep -q "^\.B $v\$" "$tmp/page" || fail "the manual page does not document $v"; done <"$tmp/vars"
  for key in ts pid call site stack charge_kb headroom_kb verdict action errno; do
    grep -qE "^\.BR? .*\b$key\b" "$tmp/page" || fail "the manual page does not describe the record key $key"
  done
  if command -v man >/dev/null; then
    MANWIDTH=100 man --warnings -l "$page" >"$tmp/man.txt" 2>"$tmp/man.err" || fail "man cannot format the page"
    [ ! -s "$tmp/man.err" ] || { cat "$tmp/man.err" >&2; fail "man warns about the page"; }
  fi
}

# Runs the installed demo with the installed forkguard, from a directory outside the build tree.
run_demo() {
  local bindir=$1 libdir=$2
  local fg="$bindir/forkguard" demo="$bindir/forkguard-demo"
  (cd "$tmp" && "$fg" run -- sh -c 'echo "$LD_PRELOAD"') >"$tmp/preload"
  has "$tmp/preload" "^$(readlink -f "$libdir")/libforkguard\.so$"
  set +e
  (cd "$tmp" && "$fg" run --json --log "$tmp/obs.%p.jsonl" -- "$demo") >"$tmp/demo.out" 2>&1
  rc=$?
  set -e
  cat "$tmp/demo.out"
  ! grep -qE '^forkguard: |^\{"ts":' "$tmp/demo.out" || fail "with a log file the installed library wrote to the demo's output"
  ls "$tmp"/obs.*.jsonl >/dev/null 2>&1 || fail "the installed run wrote no record"
  cat "$tmp"/obs.*.jsonl >"$tmp/obs.jsonl"
  has "$tmp/obs.jsonl" "\"exe\":\"$(readlink -f "$demo")\",\"call\":\"fork\""
  case $rc in
  1)  # the kernel refused the fork: diagnosed
    has "$tmp/obs.jsonl" '"call":"fork",.*"verdict":"refuse",.*"result":-1,"errno":"ENOMEM"'
    (cd "$tmp" && "$fg" run --mode mitigate -- "$demo") >"$tmp/mit.out" 2>&1 || { cat "$tmp/mit.out" >&2; fail "mitigate did not rescue the demo"; }
    has "$tmp/mit.out" 'action slim_fork'
    has "$tmp/mit.out" '^helper ran: pid [0-9]+'
    "$fg" report "$tmp/obs.jsonl" >"$tmp/report" 2>&1 || fail "the installed report failed"
    has "$tmp/report" '^refused +forkguard-demo\+0x'
    ;;
  0) echo "note: overcommit mode 1 here, the kernel refused nothing; the record is still checked" ;;
  2) echo "SKIP: the demo cannot set up here ($(tail -1 "$tmp/demo.out"))"; exit 77 ;;
  *) fail "the demo exited $rc" ;;
  esac
}

case $case_name in
cmake-install)
  cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" || { cat "$tmp/install.log" >&2; fail "cmake --install failed"; }
  p=$tmp/prefix
  for f in bin/forkguard bin/forkguard-demo share/man/man1/forkguard.1.gz share/doc/forkguard/README.md; do
    [ -f "$p/$f" ] || fail "not installed: $f"
  done
  lib=$(find "$p" -name libforkguard.so -type f)
  [ -n "$lib" ] || fail "libforkguard.so not installed"
  case ${lib#"$p"/} in lib/*|lib64/*) ;; *) fail "libforkguard.so is at ${lib#"$p"/}, not under lib/" ;; esac
  check_manpage "$p/share/man/man1/forkguard.1.gz"
  run_demo "$p/bin" "$(dirname "$lib")"
  ;;
deb)
  command -v cpack >/dev/null && command -v dpkg-deb >/dev/null || { echo "SKIP: needs cpack and dpkg-deb"; exit 77; }
  (cd "$build" && cpack -G DEB -B "$tmp/pkg") >"$tmp/cpack.log" 2>&1 || { cat "$tmp/cpack.log" >&2; fail "cpack failed"; }
  deb=$(ls "$tmp"/pkg/forkguard_*.deb 2>/dev/null | head -1)
  [ -n "$deb" ] || { cat "$tmp/cpack.log" >&2; fail "cpack wrote no forkguard_*.deb"; }
  echo "package: $(basename "$deb")"
  dpkg-deb -f "$deb" Package Version Architecture Depends Maintainer | tee "$tmp/control"
  has "$tmp/control" '^Package: forkguard$'
  has "$tmp/control" "^Architecture: $(dpkg --print-architecture)\$"
  has "$tmp/control" '^Depends: .*libc6'
  has "$tmp/control" '^Depends: .*libunwind8'
  has "$tmp/control" '^Maintainer: .+'
  dpkg-deb -c "$deb" >"$tmp/contents"
  for f in ./usr/bin/forkguard ./usr/bin/forkguard-demo ./usr/lib/libforkguard.so \
           ./usr/share/man/man1/forkguard.1.gz ./usr/share/doc/forkguard/README.md; do
    grep -qE " $f\$" "$tmp/contents" || { cat "$tmp/contents" >&2; fail "the package lacks $f"; }
  done
  root=$tmp/root
  mkdir "$root"
  dpkg-deb -x "$deb" "$root"
  check_manpage "$root/usr/share/man/man1/forkguard.1.gz"
  run_demo "$root/usr/bin" "$root/usr/lib"
  ;;
tgz)
  # The relocatable tarball: unpacked anywhere, its forkguard finds its own library.
  command -v cpack >/dev/null || { echo "SKIP: needs cpack"; exit 77; }
  (cd "$build" && cpack -G TGZ -B "$tmp/pkg") >"$tmp/cpack.log" 2>&1 || { cat "$tmp/cpack.log" >&2; fail "cpack -G TGZ failed"; }
  tgz=$(ls "$tmp"/pkg/forkguard-*-linux-*.tar.gz 2>/dev/null | head -1)
  [ -n "$tgz" ] || { cat "$tmp/cpack.log" >&2; fail "cpack wrote no forkguard-*-linux-*.tar.gz"; }
  echo "package: $(basename "$tgz")"
  mkdir "$tmp/somewhere"
  tar -xzf "$tgz" -C "$tmp/somewhere"
  top=$(find "$tmp/somewhere" -mindepth 1 -maxdepth 1 -type d)
  [ "$(basename "$top")" = "$(basename "$tgz" .tar.gz)" ] || fail "the tarball's top directory is $(basename "$top")"
  for f in bin/forkguard bin/forkguard-demo lib/libforkguard.so share/man/man1/forkguard.1.gz share/doc/forkguard/README.md; do
    [ -f "$top/$f" ] || { find "$top" >&2; fail "the tarball lacks $f"; }
  done
  check_manpage "$top/share/man/man1/forkguard.1.gz"
  run_demo "$top/bin" "$top/lib"
  ;;
*) fail "unknown case $case_name" ;;
esac
echo "PASS: install $case_name"
