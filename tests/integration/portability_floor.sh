# @file portability_floor.sh
# @brief The glibc floor of libforkguard.so (2.17), read from the built library itself:
#   versions LIB               every version the library needs (readelf -V) is GLIBC_2.17 or
#                              older, and no GCC_/GLIBCXX_/CXXABI_ version is needed at all (the
#                              C++ runtime is static);
#   symbols LIB ABILIST_DIR    DT_NEEDED is libc.so.6, libdl.so.2, libpthread.so.0 (and ld.so),
#                              every undefined symbol exists at the version it is bound to in
#                              glibc 2.17's ABI list of one of those libraries
#                              (ABILIST_DIR/<arch>/<lib>.abilist, see its README.md), and no local
#                              definition carries a glibc version (shim/glibc_floor.h's .symver
#                              renames a function the library defines itself into a self-call).
# There are no exceptions: a symbol newer than the floor is either bound to an old version
# (shim/glibc_floor.h), looked up at run time (shim/real.hpp optional()), or defined hidden.
#
# Usage: portability_floor.sh versions|symbols LIB [ABILIST_DIR]
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

mode=$1 lib=$2
shift 2
[ -f "$lib" ] || fail "no library at $lib"
floor=GLIBC_2.17

case $(readelf -h "$lib" | sed -n 's/^ *Machine: *//p') in
  *X86-64*) arch=x86_64 ;;
  *AArch64*) arch=aarch64 ;;
  *) fail "$lib: neither x86_64 nor aarch64" ;;
esac

# "sym@VERSION WEAK|GLOBAL" for every undefined dynamic symbol (unversioned: "sym WEAK").
readelf -W --dyn-syms "$lib" | awk '$7 == "UND" && NF >= 8 { print $8, $5 }' | sort -u >"$FG_TMP/und" ||
  fail "readelf --dyn-syms failed on $lib"

# ver_le A B: version A (GLIBC_x.y[.z]) is B or older.
ver_le() { [ "$(printf '%s\n%s\n' "${1#GLIBC_}" "${2#GLIBC_}" | sort -V | head -n1)" = "${1#GLIBC_}" ]; }

[ "$mode" = symbols ] && abidir=${1:?usage: portability_floor.sh symbols LIB ABILIST_DIR}

if [ "$mode" = versions ]; then
  # "FILE VERSION" for each version need.
  readelf -W -V "$lib" | awk '/^Version needs section/ { on = 1; next } /^Version (symbols|definition)/ { on = 0 }
    on && /File:/ { for (i = 1; i <= NF; ++i) if ($i == "File:") file = $(i + 1) }
    on && /Name:/ { for (i = 1; i <= NF; ++i) if ($i == "Name:") print file, $(i + 1) }' >"$FG_TMP/needs"
  [ -s "$FG_TMP/needs" ] || fail "no version needs found in $lib (readelf -V)"
  bad=0
  while read -r file ver; do
    case $ver in
      GLIBC_2.*) ;;
      *) echo "$lib needs $ver of $file: only glibc versions are allowed (C++ runtime and libgcc linked statically)" >&2
         bad=1; continue ;;
    esac
    if ver_le "$ver" "$floor"; then
      echo "ok: $file $ver"
      continue
    fi
    # Newer than the floor: name the symbols bound to it.
    while read -r sym _; do
      if [ "${sym#*@}" = "$ver" ]; then echo "$lib needs $sym from $file: newer than the floor $floor" >&2; fi
    done <"$FG_TMP/und"
    bad=1
  done <"$FG_TMP/needs"
  [ $bad -eq 0 ] || fail "$lib needs more than glibc $floor ($arch): bind the symbol to an old version in shim/glibc_floor.h, or look it up at run time (shim/real.hpp optional())"
  echo "ok: $lib ($arch) needs nothing newer than $floor"
  exit 0
fi

[ "$mode" = symbols ] || fail "usage: portability_floor.sh versions|symbols LIB ..."
[ -d "$abidir/$arch" ] || fail "no ABI lists for $arch in $abidir"

needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p' | sort | tr '\n' ' ')
echo "DT_NEEDED: $needed"
libs=()
for n in $needed; do
  case $n in
    libc.so.6) libs+=(libc) ;;
    libdl.so.2) libs+=(libdl) ;;
    libpthread.so.0) libs+=(libpthread) ;;
    ld-linux-x86-64.so.2 | ld-linux-aarch64.so.1) libs+=(ld) ;;
    *) fail "$lib needs $n: only libc.so.6, libdl.so.2, libpthread.so.0 and ld.so are allowed" ;;
  esac
done
for must in libc.so.6 libdl.so.2 libpthread.so.0; do
  [[ " $needed " == *" $must "* ]] ||
    fail "$must is not in DT_NEEDED: before glibc 2.34 the library's dl*/pthread_* functions are found only there"
done

# "sym@VERSION lib" for everything the DT_NEEDED libraries of glibc 2.17 exported, and the same
# for librt (only to name it when a symbol is found there and nowhere else).
abi() {  # $1: lib name
  awk -v lib="$1" '/^[^ ]/ { ver = $1; next } NF >= 2 && $2 != "A" { print $1 "@" ver, lib }' "$abidir/$arch/$1.abilist"
}
for l in "${libs[@]}"; do abi "$l"; done | sort -u >"$FG_TMP/have"
abi librt | sort -u >"$FG_TMP/rt"
[ -s "$FG_TMP/have" ] || fail "the ABI lists in $abidir/$arch are empty"

bad=0 checked=0
while read -r sym bind; do
  if [[ $sym != *@* ]]; then
    # Unversioned: only weak references (_ITM_*, __gmon_start__) may stay unresolved.
    [ "$bind" = WEAK ] || { echo "$lib references $sym without a version" >&2; bad=1; }
    continue
  fi
  checked=$((checked + 1))
  where=$(awk -v s="$sym" '$1 == s { print $2; exit }' "$FG_TMP/have")
  if [ -n "$where" ]; then
    continue
  fi
  if grep -q "^${sym//./\\.} " "$FG_TMP/rt"; then
    echo "$sym is in librt.so.1 in glibc 2.17, which $lib does not name in DT_NEEDED" >&2
  else
    others=$(awk -v n="${sym%@*}" '{ split($1, p, "@") } p[1] == n { printf " %s(%s)", p[2], $2 }' "$FG_TMP/have")
    echo "$sym does not exist in glibc 2.17's ${libs[*]} (versions there:${others:- none})" >&2
  fi
  bad=1
done <"$FG_TMP/und"
[ $bad -eq 0 ] || fail "$lib references symbols glibc 2.17 ($arch) does not have"

# A local definition named sym@GLIBC_x: a .symver meant for references renamed a function the
# library defines itself (a hidden forwarder then jumps to itself). Needs the symbol table.
grep -q '\.symtab' <<<"$(readelf -S "$lib")" || fail "$lib has no symbol table (stripped): check the unstripped build"
renamed=$(readelf -W --syms "$lib" |
  awk '/^Symbol table/ { on = ($0 ~ /\.symtab/) } on && $5 == "LOCAL" && $7 != "UND" && $8 ~ /@GLIBC_/ { printf " %s", $8 }')
[ -z "$renamed" ] ||
  fail "$lib defines locally, under a glibc version:$renamed. A .symver in shim/glibc_floor.h renamed a function the library defines itself: drop it from the header"
echo "ok: no definition of the library's own is renamed to a glibc version"
echo "ok: all $checked versioned undefined symbols of $lib exist in glibc 2.17's ${libs[*]} ($arch)"
