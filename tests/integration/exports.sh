# @file exports.sh
# @brief The shim exports its wrappers and nothing else (an allow-list compared with
# `nm -D --defined-only`), and needs no shared library but libc (and ld.so, and libdl.so.2 and
# libpthread.so.0, which held dlopen and pthread_* before glibc 2.34): libstdc++ and
# libgcc_s are linked in statically, libunwind is dlopen'ed on first use. On aarch64 glibc has one
# version of posix_spawn[p] (GLIBC_2.17): the wrappers are unversioned there.
#
# Usage: exports.sh LIBFORKGUARD
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

lib=$1
[ -f "$lib" ] || fail "no library at $lib"

# "TYPE NAME" for every defined dynamic symbol; the version nodes are absolute (A), the
# wrappers are functions (T, or W if ever made weak).
# Lower-case types are local symbols (aarch64's ld leaves _end in .dynsym as LOCAL): not exported.
nm -D --defined-only "$lib" | awk 'NF == 3 { print $2, $3 } NF == 2 { print $1, $2 }' | grep -v '^[a-z] ' | sort -k2 >"$FG_TMP/got" ||
  fail "nm -D failed on $lib"
sort -k2 >"$FG_TMP/want" <<'LIST'
A GLIBC_2.15
A GLIBC_2.2.5
T _Fork
T daemon
T execl
T execle
T execlp
T execv
T execve
T execvp
T execvpe
T _exit
T exit
T fexecve
T fork
T pclose
T popen
T posix_spawn@@GLIBC_2.15
T posix_spawn@GLIBC_2.2.5
T posix_spawnp@@GLIBC_2.15
T posix_spawnp@GLIBC_2.2.5
T system
T vfork
LIST
if readelf -h "$lib" | grep -q 'Machine:.*AArch64'; then
  sed -i -e '/^A GLIBC_/d' -e '/posix_spawnp\{0,1\}@GLIBC_2.2.5$/d' -e 's/@@GLIBC_2.15$//' "$FG_TMP/want"
fi
sed 's/^W /T /' "$FG_TMP/got" >"$FG_TMP/got.norm"
if ! cmp -s "$FG_TMP/want" "$FG_TMP/got.norm"; then
  echo "--- allowed / +++ exported by $lib:" >&2
  diff -u "$FG_TMP/want" "$FG_TMP/got.norm" >&2 || true
  fail "the exported symbols of $lib are not exactly the allow-list"
fi
echo "exports: $(wc -l <"$FG_TMP/got") symbols, exactly the allow-list"

readelf -d "$lib" >"$FG_TMP/dyn" || fail "readelf -d failed on $lib"
needed=$(sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p' "$FG_TMP/dyn" | sort | tr '\n' ' ')
echo "needed: $needed"
grep -q 'Shared library: \[libc\.so\.6\]' "$FG_TMP/dyn" || fail "libc.so.6 is not NEEDED: $needed"
for n in $needed; do
  case $n in
    libc.so.6 | ld-linux-x86-64.so.2 | ld-linux-aarch64.so.1 | libdl.so.2 | libpthread.so.0) ;;
    *) fail "$lib needs $n; only libc.so.6, ld.so, libdl.so.2 and libpthread.so.0 are allowed: C++ runtime static, libunwind dlopen'ed" ;;
  esac
done
echo "ok: exports are exactly the wrappers, and only libc is needed"
