"""Reduced from test_os's SpawnTests/PidTests under the slim configuration (mitigate,
FORKGUARD_TRIGGER=always, FORKGUARD_SLIM_MIN=4M): a Python child runs Python code between fork and
exec (os.spawnv is fork + execv in Python), and Python's objects live in obmalloc arenas (1 MiB
mmaps the kernel merges into mappings of 4 MiB and more), which the slim fork excluded.

  LD_PRELOAD=build/libforkguard.so FORKGUARD_MODE=mitigate FORKGUARD_TRIGGER=always \
    FORKGUARD_SLIM_MIN=4M /usr/bin/python3.11 THIS               # status -11, one "forkguard: child ... touched" line
  ... /usr/bin/python3.11 -X faulthandler THIS                   # status -11, no forkguard line at all

Without the library both statuses are 0. With faulthandler on (regrtest turns it on) the program has
its own SIGSEGV handler, so the slim child installs none and the fault leaves no record: Python
prints "Fatal Python error: Segmentation fault" instead.
"""
import os

keep = [(i, str(i)) for i in range(300000)]  # enough small objects for several adjacent arenas
print("spawnv status:", os.spawnv(os.P_WAIT, "/bin/true", ["true"]))
pid = os.fork()
if pid == 0:
    os._exit(0 if keep[123456][1] == "123456" else 3)
print("fork child status:", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
