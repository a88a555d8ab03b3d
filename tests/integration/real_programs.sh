# @file real_programs.sh
# @brief Real programs under the seccomp injector + mitigate mode with a profile learned first
#   (issue 3 §4): Python subprocess with and without preexec_fn, git commit with a pre-commit
#   hook, perl system() and backticks, bash loops with a subshell and a pipeline.
#   For each program:
#     1. baseline: no injector, no shim (must succeed);
#     2. injector only: fails (every copying fork gets ENOMEM) or, when the program only
#        uses vfork/posix_spawn, behaves as the baseline;
#     3. learn: `forkguard run --learn --profile P -- PROGRAM` (no injector), output as the baseline;
#     4. injector + LD_PRELOAD + FORKGUARD_MODE=mitigate + FORKGUARD_PROFILE=P (sites=learned).
#   Step 4 must be one of two outcomes, and the script asserts WHICH one each program gives
#   today, so that a change of behaviour fails the test (see real_programs.md for the table):
#     same        stdout, stderr and exit status identical to the baseline;
#     clean-fail  a non-zero exit that is not a crash signal, within the time bound, output identical to
#                 the injector-only run, and a record saying "refused" with the reason.
#   Contrast: Python's preexec_fn child with FORKGUARD_VFORK_SITES=all (not learned) aborts the
#   parent, which is why learning must never call that site spawn-like.
#   Sub-cases whose program is missing (python3, git) print SKIP and the rest still runs.
# Skips (77) when the kernel lacks userfaultfd async write-protect + PAGEMAP_SCAN (Linux < 6.7),
# probed with a bash child that keeps its descriptors (a program's child that closes them all,
# as Python's close_fds does, is observed exec-only on any kernel: never spawn-like).
# Usage: real_programs.sh CLI SHIM INJECTOR
# shellcheck shell=bash source-path=SCRIPTDIR source=observe_lib.sh disable=SC2016  # programs in single quotes
source "$(dirname "$0")/observe_lib.sh"

cli=$1 shim=$2 inject=$3
LIMIT=30  # seconds per run; a hang fails the test (fg_run) long before the CTest TIMEOUT

# Resolve programs with the caller's PATH, then run everything with a fixed one.
PY=""
if py_found=$(command -v python3); then
  # pyenv's python3 is a bash shim that forks; run the interpreter itself.
  PY=$("$py_found" -c 'import sys; print(sys.executable)' 2>/dev/null) || PY=""
fi
GIT=$(command -v git || true)
PERL=$(command -v perl || true)
BASH_BIN=$(command -v bash)

mkdir -p "$FG_TMP/home"
# Everything a run sees besides the FORKGUARD_* settings: deterministic (git commit ids included).
E=(PATH=/usr/bin:/bin HOME="$FG_TMP/home" LC_ALL=C GIT_CONFIG_NOSYSTEM=1
  GIT_AUTHOR_NAME=fg GIT_AUTHOR_EMAIL=fg@example.invalid GIT_COMMITTER_NAME=fg GIT_COMMITTER_EMAIL=fg@example.invalid
  GIT_AUTHOR_DATE=2000-01-01T00:00:00Z GIT_COMMITTER_DATE=2000-01-01T00:00:00Z)

SUMMARY=()

# Whether this kernel lets a child be watched at all: a bash child that keeps its descriptors.
probe=$FG_TMP/probe.profile
fg_run "$FG_TMP/probe" "$LIMIT" "${E[@]}" -- "$cli" run --learn --profile "$probe" -- "$BASH_BIN" -c '/bin/true; :'
grep -q ' uffd-wp$' "$probe" 2>/dev/null || {
  echo "SKIP: this kernel offers no uffd-wp + PAGEMAP_SCAN; nothing can be learned ($(cat "$probe" 2>/dev/null))"
  exit 77
}

# case_prepare NAME DIR: per-run setup for cases that need it (git: a fresh repository in DIR/repo).
case_prepare() {
  case $1 in
    git-commit-hook)
      local repo=$2/repo
      mkdir -p "$2"
      env "${E[@]}" "$GIT" -c init.defaultBranch=main init -q "$repo" || fail "git init"
      printf '#!/bin/sh\necho hook-ran\n/bin/true\nexit 0\n' >"$repo/.git/hooks/pre-commit"
      chmod +x "$repo/.git/hooks/pre-commit"
      echo content >"$repo/f"
      env "${E[@]}" "$GIT" -C "$repo" add f || fail "git add"
      ;;
  esac
}

# show DIR: one line describing a run.
show() {
  printf 'status %s, stdout %s, stderr %s' "$(cat "$1/status")" \
    "$(head -c 60 "$1/stdout" | tr '\n' '|')" "$(head -c 100 "$1/stderr" | tr '\n' '|')"
}

# run_case NAME INJ_EXPECT PROFILE_EXPECT MIT_EXPECT -- PROGRAM ARGS...
#   INJ_EXPECT:     fail | same          (injector only, compared with the baseline)
#   PROFILE_EXPECT: written | none       (written: the profile has this program's sites, every child
#                                         seen writing memory; none: no fork() was observed)
#   MIT_EXPECT:     same | clean-fail    (injector + mitigate with the learned profile)
run_case() {
  local name=$1 inj_expect=$2 prof_expect=$3 mit_expect=$4
  shift 5
  local d=$FG_TMP/$name profile=$FG_TMP/$name/profile
  mkdir -p "$d"
  echo "=== $name: $*"

  # 1. baseline
  case_prepare "$name" "$d/base"
  fg_run "$d/base" "$LIMIT" "${E[@]}" -- "$@"
  fg_expect_status "$d/base" 0
  echo "  baseline:      $(show "$d/base")"

  # 2. injector only
  case_prepare "$name" "$d/inj"
  fg_run "$d/inj" "$LIMIT" "${E[@]}" -- "$inject" "$@"
  echo "  injector only: $(show "$d/inj")"
  case $inj_expect in
    same) fg_compare "$d/base" "$d/inj" ;;
    fail)
      [ "$(cat "$d/inj/status")" != 0 ] || fail "$name: under the injector alone it exited 0; the case expects a fork failure"
      ;;
  esac

  # 3. learn (observe mode, no injector)
  case_prepare "$name" "$d/learn"
  fg_run "$d/learn" "$LIMIT" "${E[@]}" FORKGUARD_LOG=@DIR@/rec.%p.jsonl -- "$cli" run --learn --profile "$profile" -- "$@"
  fg_expect_status "$d/learn" 0
  fg_same "$d/base" "$d/learn" stdout
  echo "  learned profile:"
  if [ -s "$profile" ]; then sed 's/^/    /' "$profile"; else echo "    (none written: no fork() observed)"; fi
  case $prof_expect in
    none) [ ! -s "$profile" ] || fail "$name: expected no fork() to be observed, the profile has lines" ;;
    written)
      [ -s "$profile" ] || fail "$name: learning wrote no profile"
      # every child was seen writing memory before exec/_exit, or closed the learning descriptor
      # (close_fds, closefrom: "exec-only", which never counts as spawn-like): nothing is spawn-like
      if grep -Ev '^fgp1 [^ ]+ ((exec|_exit|exit) [1-9][0-9]* uffd-wp|(exec|_exit|exit) [0-9]+ exec-only)$' "$profile" >&2; then
        fail "$name: the lines above are not 'a child that wrote N>0 pages' (did a site become spawn-like?)"
      fi
      grep -q ' uffd-wp$' "$profile" || echo "  (every child closed the learning descriptor: observed exec-only)"
      ;;
  esac

  # 4. injector + mitigate with the learned profile (FORKGUARD_VFORK_SITES defaults to learned)
  local -a M=(LD_PRELOAD="$shim" FORKGUARD_MODE=mitigate FORKGUARD_PROFILE="$profile" FORKGUARD_FORMAT=json
    FORKGUARD_LOG=@DIR@/rec.%p.jsonl)
  case_prepare "$name" "$d/mit"
  fg_run "$d/mit" "$LIMIT" "${E[@]}" "${M[@]}" -- "$inject" "$@"
  echo "  mitigate:      $(show "$d/mit")"
  local st
  st=$(cat "$d/mit/status")
  # timeout(1) passes a signal death on as 128+N; bash itself exits 254 when its fork fails
  case $st in 132 | 134 | 135 | 136 | 137 | 139) fail "$name: the mitigated parent died of signal $((st - 128))" ;; esac
  case $mit_expect in
    same)
      fg_compare "$d/base" "$d/mit"
      if compgen -G "$d/mit/rec.*" >/dev/null; then
        ! grep -q '"action":"refused"' "$d"/mit/rec.* || fail "$name: a call was refused although the output is the baseline's"
      fi
      ;;
    clean-fail)
      [ "$st" != 0 ] || fail "$name: expected a clean failure (non-zero exit), got status 0"
      # it fails exactly as it does under the injector without the shim
      fg_compare "$d/inj" "$d/mit"
      fg_records "$d/mit"
      grep -q '"action":"refused".*"reason":"[^"]*not spawn-like' "${FG_FILES[@]}" ||
        fail "$name: no record says the fork was refused because its site is not spawn-like"
      ! grep -Eq '"action":"(vfork|slim)"' "${FG_FILES[@]}" || fail "$name: a substitute was used at a site never learned spawn-like"
      ;;
  esac
  SUMMARY+=("$name: baseline ok; injector only $inj_expect; profile $prof_expect; mitigate(learned) $mit_expect")
}

# --- Python -------------------------------------------------------------------------------------
if [ -z "$PY" ]; then
  echo "SKIP python-preexec_fn, python-no-preexec: no python3 on PATH"
else
  echo "python: $PY ($("$PY" -c 'import sys; print(sys.version.split()[0])'))"
  # preexec_fn runs Python code in the child before exec: CPython forks (clone without CLONE_VM).
  run_case python-preexec_fn fail written clean-fail -- \
    "$PY" -c "import subprocess; subprocess.run(['/bin/echo','hi'], preexec_fn=lambda: None, check=True)"
  # Contrast: the same site with the substitute forced (FORKGUARD_VFORK_SITES=all, no profile):
  # the child's PyOS_AfterFork_Child writes are the parent's, and the parent aborts.
  fg_run "$FG_TMP/python-preexec_fn/all" "$LIMIT" "${E[@]}" LD_PRELOAD="$shim" FORKGUARD_MODE=mitigate \
    FORKGUARD_VFORK_SITES=all FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.%p.jsonl -- \
    "$inject" "$PY" -c "import subprocess; subprocess.run(['/bin/echo','hi'], preexec_fn=lambda: None, check=True)"
  echo "  contrast, FORKGUARD_VFORK_SITES=all: $(show "$FG_TMP/python-preexec_fn/all")"
  [ "$(cat "$FG_TMP/python-preexec_fn/all/status")" = 134 ] ||
    fail "python-preexec_fn with sites=all no longer aborts the parent (SIGABRT); update real_programs.md"

  # Without preexec_fn CPython >= 3.10 uses vfork(): the injector does not touch it.
  if "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
    run_case python-no-preexec same none same -- \
      "$PY" -c "import subprocess; subprocess.run(['/bin/echo','hi'], check=True)"
  else
    echo "SKIP python-no-preexec: CPython < 3.10 forks instead of using vfork"
  fi
fi

# --- git ----------------------------------------------------------------------------------------
if [ -z "$GIT" ]; then
  echo "SKIP git-commit-hook: no git on PATH"
else
  # git's run-command forks (clone without CLONE_VM) to run the hook.
  run_case git-commit-hook fail written clean-fail -- "$GIT" -C @DIR@/repo commit -m message
  # the refused commit left the repository intact: the same commit can be made afterwards
  repo=$FG_TMP/git-commit-hook/mit/repo
  [ "$(env "${E[@]}" "$GIT" -C "$repo" status --porcelain)" = "A  f" ] || fail "git: the index changed after the refused commit"
  env "${E[@]}" "$GIT" -C "$repo" commit -q -m message 2>/dev/null || fail "git: commit after the refused one failed"
  [ "$(env "${E[@]}" "$GIT" -C "$repo" rev-parse HEAD)" = "$(env "${E[@]}" "$GIT" -C "$FG_TMP/git-commit-hook/base/repo" rev-parse HEAD)" ] ||
    fail "git: the repository after the refused commit does not give the baseline's commit"
fi

# --- perl ---------------------------------------------------------------------------------------
if [ -z "$PERL" ]; then
  echo "SKIP perl: no perl on PATH"
else
  # "or die": perl's system() returns -1 on a fork failure and a bare system() would exit 0.
  run_case perl-system fail written clean-fail -- "$PERL" -e 'system("echo hi") == 0 or die "system failed: $!\n"'
  run_case perl-backticks fail written clean-fail -- "$PERL" -e 'my $x = `echo hi`; defined $x or die "qx failed: $!\n"; print $x'
  # the literal one-liner: the failure is silent (exit 0, no output) with or without the shim
  fg_run "$FG_TMP/perl-bare/inj" "$LIMIT" "${E[@]}" -- "$inject" "$PERL" -e 'system("echo hi")'
  fg_run "$FG_TMP/perl-bare/mit" "$LIMIT" "${E[@]}" LD_PRELOAD="$shim" FORKGUARD_MODE=mitigate \
    FORKGUARD_PROFILE="$FG_TMP/perl-system/profile" FORKGUARD_LOG=@DIR@/rec.%p.jsonl -- "$inject" "$PERL" -e 'system("echo hi")'
  fg_compare "$FG_TMP/perl-bare/inj" "$FG_TMP/perl-bare/mit"
  echo "  perl -e 'system(\"echo hi\")' (no check): injector only and mitigate both $(show "$FG_TMP/perl-bare/mit")"
fi

# --- bash ---------------------------------------------------------------------------------------
run_case bash-loop fail written clean-fail -- "$BASH_BIN" -c 'for i in 1 2 3; do /bin/echo $i; done'
run_case bash-subshell-pipeline fail written clean-fail -- \
  "$BASH_BIN" -c 'for i in 1 2 3; do (/bin/echo sub$i); done; /bin/echo a b | /usr/bin/tr a-z A-Z'

echo "=== outcomes"
printf '  %s\n' "${SUMMARY[@]}"
