"""Runs CPython's regression tests exactly as `python3.11 -m test` does, and also appends one line
per test start and stop to the file named by TR_MARKS ("S|E <epoch seconds> <pid> <test id>"), so
that the records forkguard writes during a test can be attributed to it by time.

The marks are written with open/write/close at startTest and stopTest, outside the test's own
setUp..tearDown, so no descriptor of ours is open while a test runs. Every configuration (the
plain runs included) goes through this file, so it cannot make one differ from another.
"""
import os
import time
import unittest

_MARKS = os.environ.get("TR_MARKS")


def _mark(kind, test):
    if not _MARKS:
        return
    try:
        test_id = test.id()
    except Exception:  # a test object without id(): name it as unittest would print it
        test_id = str(test)
    line = f"{kind} {time.time():.6f} {os.getpid()} {test_id}\n".encode()
    fd = os.open(_MARKS, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


_start_test = unittest.TestResult.startTest
_stop_test = unittest.TestResult.stopTest


def _start(self, test):
    _mark("S", test)
    _start_test(self, test)


def _stop(self, test):
    _stop_test(self, test)
    _mark("E", test)


unittest.TestResult.startTest = _start
unittest.TestResult.stopTest = _stop

if __name__ == "__main__":
    from test.libregrtest import main  # what `python3.11 -m test` runs (test/__main__.py)

    main()
