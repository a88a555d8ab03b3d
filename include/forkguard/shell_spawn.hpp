/// @file shell_spawn.hpp
/// @brief system(), popen() and pclose() built on posix_spawn, so that running a shell command
/// never charges the caller's private footprint to the kernel's commit accounting.
///
/// The functions follow POSIX and glibc 2.36 (sysdeps/posix/system.c, libio/iopopen.c): the
/// shell is `/bin/sh` run as `sh -c COMMAND` (no `--`, as 2.36), with `environ`. The one
/// deliberate difference from glibc 2.36: when the spawn cannot *create* a child (it returns
/// ENOMEM or EAGAIN), shell_system() returns -1 with that errno as POSIX requires, where glibc 2.36
/// returns the status of `_exit(127)` (glibc 2.41 returns -1, as here). See also shell_popen().
///
/// The spawn function is a parameter so that the shim hands in the real posix_spawn (for glibc,
/// one that creates the child with clone(CLONE_VM|CLONE_VFORK)) and tests hand in failures.
/// Nothing here writes to stdio or prints a message.
#pragma once

#include <spawn.h>
#include <sys/types.h>

#include <cstdio>

namespace forkguard {

/// The real posix_spawn. The same type as SpawnFn in engine.hpp.
using SpawnFn = int (*)(pid_t*, const char*, const posix_spawn_file_actions_t*, const posix_spawnattr_t*,
                        char* const[], char* const[]);

/// system(3). `command == nullptr` asks whether a shell is available (runs `exit 0`, returns
/// nonzero when it succeeded). Otherwise returns the shell's wait status; `W_EXITCODE(127, 0)`
/// when the shell cannot be executed (spawn reported an exec error such as ENOENT or EACCES; errno
/// is then that error, as glibc 2.41); -1 with errno when no child could be created (the spawn's
/// ENOMEM/EAGAIN) or its status could not be obtained (waitpid's errno, e.g. ECHILD when the
/// program set SIGCHLD to SIG_IGN). While it waits, SIGINT and SIGQUIT are ignored in the
/// process (shared by concurrent callers, restored by the last one) and SIGCHLD is blocked in
/// the calling thread; the child gets the caller's original mask, and SIG_DFL for SIGINT/SIGQUIT
/// unless they were ignored before. A cancellation point: a thread cancelled while waiting kills
/// the child with SIGKILL, reaps it and restores the signal state (only the shell itself: a
/// grandchild the shell forked outlives it, as with glibc). When a child ran and its status is
/// returned, errno is what glibc leaves: untouched, or EINTR when a signal interrupted the wait.
/// `child_out` (may be null) gets the child's pid as soon as it exists, -1 when there is none.
int shell_system(const char* command, SpawnFn spawn, pid_t* child_out);

/// popen(3). `mode` is parsed like glibc: any sequence of 'r', 'w', 'e' with exactly one of
/// 'r'/'w' present ("r", "w", "re", "we", "er", "rr", "ree" are accepted; "", "rw", "rb", "e",
/// "x" are not); otherwise nullptr with EINVAL (also for a null mode, where glibc crashes).
/// The stream is fully buffered over a pipe whose child end is the child's stdout ('r') or stdin
/// ('w'); 'e' leaves FD_CLOEXEC on the caller's end. The child gets the caller's signal mask and
/// dispositions unchanged (glibc passes no spawn attributes either) and never inherits the
/// descriptor of another stream shell_popen() opened that is still open. On failure nullptr and
/// errno: pipe2/fdopen's error, or the spawn's error (ENOMEM, EAGAIN; ENOENT/EACCES... when the
/// shell cannot be executed). glibc 2.36 reports every spawn failure as ENOMEM; 2.41 passes the
/// spawn's error, as here. Not a cancellation point (cancellation is held off inside).
/// Limitation: a descriptor from a stream that glibc's own popen() opened before substitution
/// started is not known here, so it is closed in our child only if it is close-on-exec.
FILE* shell_popen(const char* command, const char* mode, SpawnFn spawn, pid_t* child_out);

/// pclose(3) for a stream shell_popen() opened: forgets it, fclose()s it (flushing a 'w' stream so
/// the child sees EOF), waits for the child (waitpid retried on EINTR, cancellation held off as in
/// glibc) and returns its wait status; -1 with waitpid's errno when the status cannot be obtained;
/// -1 with the flush error when the status is 0 but the final flush failed (glibc's order).
/// For any other stream: `*was_ours = false`, returns -1 with errno ECHILD and does not touch the
/// stream (the caller then puts its own errno back and passes the stream to the real pclose,
/// which may own it: glibc's pclose of a plain stream is its fclose). `child_out` (may be null)
/// gets the reaped pid, or -1. errno on success is as glibc leaves it (untouched, or EINTR when a
/// signal interrupted the wait).
int shell_pclose(FILE* stream, bool* was_ours, pid_t* child_out = nullptr);

/// True while `stream` is an open stream of shell_popen(). For an fclose() wrapper: with glibc,
/// fclose() of a popen stream waits for the child like pclose(); a stream of ours closed by a bare
/// fclose() leaves its child unreaped (a zombie) until the process exits.
bool shell_popen_owns(FILE* stream);

/// Parses a popen mode like glibc. Returns false for an invalid mode.
bool shell_popen_parse_mode(const char* mode, bool* reading, bool* cloexec);

}  // namespace forkguard
