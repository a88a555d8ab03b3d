# @file mitigate_signals.sh
# @brief Signals in a vfork substitute's child (the child shares the parent's memory and TCB):
#   abort() and raise()/kill() of the child's own pid reach the child alone; the parent lives on
#   with no signal pending and no handler run on its memory; a signal raised while the substitute
#   holds every signal blocked ends the child at its _exit()/exit()/exec, by that signal, as it
#   ends a real fork's child; a signal the program itself blocks stays pending, as with fork.
#   Each case's output is compared with a run without the shim or the injector (a real fork).
# Usage: mitigate_signals.sh VALIDATOR SHIM HELPER INJECTOR
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

validator=$1 shim=$2 helper=$3 inject=$4
name=$(basename "$helper")
# The injector refuses every fork without CLONE_VM: a child that runs at all is the substitute's.
M=(LD_PRELOAD="$shim" FORKGUARD_MODE=mitigate FORKGUARD_VFORK_SITES=all FORKGUARD_FORMAT=json
  FORKGUARD_LOG=@DIR@/rec.%p.jsonl)

expect_line() { # DIR LINE
  grep -qxF "$2" "$1/stdout" || fail "$(basename "$1"): expected '$2', got: $(cat "$1/stdout")"
}

for c in abort abort-caught raise-exit raise-exec kill-exit raise-masked; do
  fg_run "$FG_TMP/$c-base" 30 -- "$helper" "$c"
  fg_run "$FG_TMP/$c-sub" 30 "${M[@]}" -- "$inject" "$helper" "$c"
  fg_records "$FG_TMP/$c-sub"
  "$validator" --only-exe "$name" --expect-call fork=1 --expect-field action=vfork --expect-failures 0 \
    "${FG_FILES[@]}" || fail "$c: the record does not say vfork"
  expect_line "$FG_TMP/$c-base" "parent: alive, handler_runs=0, SIGTERM pending=0, SIGABRT pending=0"
  case $c in
    abort*) expect_line "$FG_TMP/$c-base" "parent: child killed by signal ABRT" ;;
    raise-masked) expect_line "$FG_TMP/$c-base" "parent: child exited 3" ;;
    *) expect_line "$FG_TMP/$c-base" "parent: child killed by signal TERM" ;;
  esac
  fg_compare "$FG_TMP/$c-base" "$FG_TMP/$c-sub"
done
echo "ok: signals in a vfork substitute's child end the child alone, as with fork"
