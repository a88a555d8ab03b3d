# @file portability_floor_selftest.sh
# @brief The floor checks can fail: three small libraries built here with the target's compiler.
# One uses dlopen with the build machine's default version (GLIBC_2.34): `versions` must fail. One
# binds timer_create to its glibc 2.17 version, which lived in librt.so.1, not named in DT_NEEDED:
# `symbols` must fail and name librt. One binds pthread_create to GLIBC_2.2.5 (x86_64) or
# GLIBC_2.17 (aarch64) and names libpthread.so.0: both must pass. One defines a hidden
# pthread_once that a .symver renames to pthread_once@<old> (what shim/glibc_floor.h did to
# src/libgcc_floor.cpp's forwarder): `symbols` must fail and name it.
#
# Usage: portability_floor_selftest.sh CC ABILIST_DIR
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

cc=$1 abidir=$2
check="$(dirname "$0")/portability_floor.sh"
old=GLIBC_2.2.5 rtver=GLIBC_2.3.3
if "$cc" -dumpmachine | grep -q '^aarch64'; then old=GLIBC_2.17 rtver=GLIBC_2.17; fi

build() {  # $1: name, $2: C source, rest: link options
  local name=$1 src=$2
  shift 2
  printf '%s\n' "$src" >"$FG_TMP/$name.c"
  "$cc" -shared -fPIC -o "$FG_TMP/lib$name.so" "$FG_TMP/$name.c" -Wl,-z,defs "$@" ||
    fail "cannot build the $name library with $cc"
}
build newdl '#include <dlfcn.h>
void* f(void) { return dlopen("x", RTLD_NOW); }' -ldl
build rt "#include <signal.h>
#include <time.h>
__asm__(\".symver timer_create,timer_create@$rtver\");
int f(timer_t* t) { return timer_create(CLOCK_MONOTONIC, 0, t); }" \
  -Wl,--push-state,--no-as-needed -l:libdl.so.2 -l:libpthread.so.0 -Wl,--pop-state
build good "#include <pthread.h>
__asm__(\".symver pthread_create,pthread_create@$old\");
int f(pthread_t* t, void* (*fn)(void*)) { return pthread_create(t, 0, fn, 0); }" \
  -Wl,--push-state,--no-as-needed -l:libdl.so.2 -l:libpthread.so.0 -Wl,--pop-state

# The shim's export map has this version node (for posix_spawn); without one ld refuses the .symver.
echo "$old { global: g; local: *; };" >"$FG_TMP/renamed.map"
build renamed "#include <pthread.h>
__asm__(\".symver pthread_once,pthread_once@$old\");
__attribute__((visibility(\"hidden\"))) int pthread_once(pthread_once_t* o, void (*f)(void)) { f(); return *o = 1; }
int g(pthread_once_t* o, void (*f)(void)) { return pthread_once(o, f); }" \
  -Wl,--version-script="$FG_TMP/renamed.map" -Wl,--push-state,--no-as-needed -l:libc.so.6 -l:libdl.so.2 -l:libpthread.so.0 -Wl,--pop-state

expect() {  # $1: 0 or 1, then the check's arguments
  local want=$1
  shift
  local rc=0
  bash "$check" "$@" >"$FG_TMP/out" 2>&1 || rc=$?
  [ "$rc" -eq "$want" ] || { cat "$FG_TMP/out" >&2; fail "portability_floor.sh $* exited $rc, expected $want"; }
  sed "s/^/  /" "$FG_TMP/out"
}
expect 1 versions "$FG_TMP/libnewdl.so"
grep -q 'dlopen@GLIBC_2.34' "$FG_TMP/out" || fail "the versions check did not name dlopen@GLIBC_2.34"
expect 1 symbols "$FG_TMP/librt.so" "$abidir"
grep -q 'librt.so.1' "$FG_TMP/out" || fail "the symbols check did not name librt.so.1"
expect 0 versions "$FG_TMP/libgood.so"
expect 0 symbols "$FG_TMP/libgood.so" "$abidir"
expect 1 symbols "$FG_TMP/librenamed.so" "$abidir"
grep -q "pthread_once@$old" "$FG_TMP/out" || fail "the symbols check did not name the renamed pthread_once@$old"
echo "ok: the floor checks fail on a too-new version, on a symbol outside DT_NEEDED, on a definition renamed to a glibc version, and pass a clean library"
