# @file hardening_security.sh
# @brief Security (issue 6, item 4).
#   setuid   a setuid-root program linked directly against the library (DT_NEEDED, RUNPATH to a
#            copy in a world-readable temp dir), run by an ordinary user created here: the
#            FORKGUARD_LOG and FORKGUARD_PROFILE paths it was given are not written (nothing
#            appears in a root-only directory or in /etc), FORKGUARD_VFORK_SITES=all is not
#            honoured, one exact warning each; the records go to stderr, so the library did act.
#   symlink  a symlink planted at the log path or the profile path is not followed, dangling or
#            not: the target is neither created nor written; one warning (ELOOP) for the log.
#   modes    with umask 000 the log and the profile are created 0600; the log descriptor is
#            O_APPEND and O_CLOEXEC (fdinfo), and an exec'd child does not hold it.
# Usage: hardening_security.sh CASE VALIDATOR SHIM HELPER_DIR CC HELPER_SRC_DIR
# Exit 77 = skipped, with the reason printed.
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

case_name=$1 validator=$2 shim=$3 helpers=$4 cc=$5 src=$6

case $case_name in
setuid)
  [ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to install a setuid-root program and add a user"; exit 77; }
  command -v useradd >/dev/null && command -v setpriv >/dev/null || { echo "SKIP: needs useradd and setpriv"; exit 77; }
  ! findmnt -no OPTIONS -T "$FG_TMP" | grep -qw nosuid || { echo "SKIP: $FG_TMP is on a nosuid mount"; exit 77; }
  user="fgsec$$r$RANDOM"
  useradd --no-create-home --no-user-group --gid nogroup --shell /usr/sbin/nologin "$user" || fail "useradd $user"
  evil_etc="/etc/forkguard-evil-$user"
  trap 'userdel "$user" 2>/dev/null; rm -f "$evil_etc" "$evil_etc".profile; rm -rf "$FG_TMP"' EXIT
  uid=$(id -u "$user") gid=$(id -g "$user")
  # The build tree may not be traversable by the user: the library and the program live in a
  # temp dir readable by all, the program's RUNPATH absolute (ld.so ignores $ORIGIN there).
  chmod 755 "$FG_TMP"
  mkdir -m 755 "$FG_TMP/lib" "$FG_TMP/bin"
  mkdir -m 700 "$FG_TMP/rootonly"
  install -m 755 "$shim" "$FG_TMP/lib/libforkguard.so"
  "$cc" -O1 -o "$FG_TMP/bin/fg_setuid" "$src/hardening_setuid_fork.c" -L"$FG_TMP/lib" -lforkguard \
    -Wl,-rpath,"$FG_TMP/lib" -Wl,--no-as-needed || fail "compiling the setuid helper"
  grep -q 'NEEDED.*\[libforkguard.so\]' <<<"$(readelf -d "$FG_TMP/bin/fg_setuid")" || fail "no DT_NEEDED on libforkguard.so"
  chown root:root "$FG_TMP/bin/fg_setuid" && chmod 4755 "$FG_TMP/bin/fg_setuid"
  run_as_user() {  # run_as_user DIR SETTINGS...: the program as the user, with the given environment
    local dir=$1
    shift
    mkdir -p "$dir"
    local status=0
    "${FG_CLEAN_ENV[@]}" timeout 60 setpriv --reuid="$uid" --regid="$gid" --clear-groups -- \
      env "$@" "$FG_TMP/bin/fg_setuid" >"$dir/stdout" 2>"$dir/stderr" </dev/null || status=$?
    echo "$status" >"$dir/status"
  }
  run_as_user "$FG_TMP/plain"
  fg_expect_status "$FG_TMP/plain" 0
  grep -qx "setuid: ruid $uid euid 0 secure 1" "$FG_TMP/plain/stdout" ||
    fail "the program did not run setuid root in secure mode: $(cat "$FG_TMP/plain/stdout")"
  for target in "$FG_TMP/rootonly/evil" "$evil_etc"; do
    run_as_user "$FG_TMP/run" FORKGUARD_FORMAT=json FORKGUARD_LOG="$target.%p.jsonl" FORKGUARD_PROFILE="$target.profile" \
      FORKGUARD_VFORK_SITES=all
    fg_expect_status "$FG_TMP/run" 0
    fg_same "$FG_TMP/plain" "$FG_TMP/run" stdout
    [ -z "$(ls -A "$FG_TMP/rootonly")" ] || fail "files appeared in a root-only directory: $(ls -A "$FG_TMP/rootonly")"
    ls /etc/forkguard-evil-* >/dev/null 2>&1 && fail "files appeared in /etc: $(ls /etc/forkguard-evil-*)"
    grep '^forkguard: ' "$FG_TMP/run/stderr" >"$FG_TMP/said" || true
    printf '%s\n' \
      "forkguard: FORKGUARD_LOG names a file, which a setuid/setgid (secure-execution) program ignores; using stderr" \
      "forkguard: FORKGUARD_VFORK_SITES is ignored in a setuid/setgid (secure-execution) program; using learned" \
      "forkguard: FORKGUARD_PROFILE is ignored in a setuid/setgid (secure-execution) program" |
      cmp -s - "$FG_TMP/said" || { cat "$FG_TMP/run/stderr" >&2; fail "want one warning per ignored setting"; }
    grep -v '^forkguard: ' "$FG_TMP/run/stderr" >"$FG_TMP/records.jsonl" || true
    "$validator" --expect-count 2 --expect-call fork=2 "$FG_TMP/records.jsonl" ||
      fail "the library did not record the forks on stderr"
  done
  # syslog is a fixed socket, not a path the caller chose: it stays allowed (no warning).
  run_as_user "$FG_TMP/sys" FORKGUARD_LOG=stderr FORKGUARD_FORMAT=json
  ! grep -q '^forkguard: ' "$FG_TMP/sys/stderr" || fail "a warning for FORKGUARD_LOG=stderr"
  echo "ok: setuid root program run by $user: no file written where the user could not write"
  ;;
symlink)
  d=$FG_TMP/sym
  mkdir -p "$d"
  echo "keep" >"$d/existing"
  ln -s "$d/existing" "$d/log-to-existing"
  ln -s "$d/created-through-link" "$d/log-dangling"
  ln -s "$d/profile-through-link" "$d/profile-dangling"
  for link in log-to-existing log-dangling; do
    fg_run "$FG_TMP/$link" 60 LD_PRELOAD="$shim" FORKGUARD_FORMAT=json FORKGUARD_LOG="$d/$link" \
      FORKGUARD_PROFILE="$d/profile-dangling" -- "$helpers/fg_helper_fork"
    fg_expect_status "$FG_TMP/$link" 0
    # Records on stderr, the first saying why; no line of the library's own.
    [ "$(grep -c '^forkguard: ' "$FG_TMP/$link/stderr")" -eq 0 ] &&
      [ "$(grep -cF "\"notice\":\"cannot log to $d/$link (ELOOP); records go to stderr from now on\"" "$FG_TMP/$link/stderr")" -eq 1 ] ||
      { cat "$FG_TMP/$link/stderr" >&2; fail "want one record saying ELOOP for $link"; }
  done
  [ "$(cat "$d/existing")" = keep ] || fail "a record was written through a symlink into an existing file"
  [ ! -e "$d/created-through-link" ] || fail "the log was created through a dangling symlink"
  [ ! -e "$d/profile-through-link" ] || fail "the profile was created through a dangling symlink"
  # The profile really is written when it is not a link (so the check above could fail).
  fg_run "$FG_TMP/plainprofile" 60 LD_PRELOAD="$shim" FORKGUARD_LOG=@DIR@/rec.jsonl FORKGUARD_PROFILE="$d/profile" \
    -- "$helpers/fg_helper_fork"
  [ -s "$d/profile" ] || fail "no profile was written to a plain path, so the symlink check proves nothing"
  echo "ok: symlinks at the log and profile paths are not followed"
  ;;
modes)
  umask 000
  fg_run "$FG_TMP/m" 60 LD_PRELOAD="$shim" FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.jsonl \
    FORKGUARD_PROFILE=@DIR@/learn.profile -- "$helpers/fg_hardening_io_fdflags" "$FG_TMP/m/rec.jsonl" @DIR@/flags
  fg_expect_status "$FG_TMP/m" 0
  [ "$(stat -c %a "$FG_TMP/m/rec.jsonl")" = 600 ] || fail "log created $(stat -c %a "$FG_TMP/m/rec.jsonl"), want 600"
  [ -s "$FG_TMP/m/learn.profile" ] || fail "no profile written"
  [ "$(stat -c %a "$FG_TMP/m/learn.profile")" = 600 ] || fail "profile created $(stat -c %a "$FG_TMP/m/learn.profile"), want 600"
  grep -qx 'log fd found yes append 1 cloexec 1' "$FG_TMP/m/flags" || fail "log descriptor flags: $(cat "$FG_TMP/m/flags")"
  [ -s "$FG_TMP/m/flags.child" ] || fail "the exec'd child listed nothing"
  ! grep -q "rec.jsonl" "$FG_TMP/m/flags.child" || fail "an exec'd child inherited the log: $(cat "$FG_TMP/m/flags.child")"
  echo "ok: log and profile 0600 under umask 000; log O_APPEND|O_CLOEXEC, not inherited across exec"
  ;;
*) fail "unknown case $case_name" ;;
esac
