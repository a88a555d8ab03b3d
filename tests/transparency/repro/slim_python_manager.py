"""Reduced from test_multiprocessing_fork's manager tests under the slim configuration (mitigate,
FORKGUARD_TRIGGER=always, FORKGUARD_SLIM_MIN=4M): the manager's server process is a slim-fork
child that runs Python, and Python's objects sit in obmalloc arenas merged into an excluded mapping.

  LD_PRELOAD=build/libforkguard.so FORKGUARD_MODE=mitigate FORKGUARD_TRIGGER=always \
    FORKGUARD_SLIM_MIN=4M /usr/bin/python3.11 THIS

Without the library: "map: [1, 2, 3]". With it (2 of 2 runs here): one "forkguard: child ... touched
... in a region the fork excluded" line and EOFError (the server died). Under regrtest the line is
missing: faulthandler is the program's SIGSEGV handler, so the slim child installs none. The same
happens to test_threading's test_reinit_tls_after_fork (16 threads fork, each child _exits at once:
PyOS_AfterFork_Child runs threading._after_fork, Python code, before fork() returns).
"""
import multiprocessing as mp

keep = [(i, str(i)) for i in range(300000)]  # a parent the size of a test run: arenas of 4 MiB and more

if __name__ == "__main__":
    mp.set_start_method("fork")
    with mp.Manager() as m:
        pool = m.Pool(4)
        print("map:", pool.map(abs, [-1, -2, -3]))
