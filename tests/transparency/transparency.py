#!/usr/bin/python3.11
"""The transparency suite: real programs' own tests run without forkguard and under it, compared
case by case.

Suites: dash and bash run the shell cases (shell/posix/*.sh with both, shell/bash/*.sh with bash),
make runs the make cases (make/*.sh, a tree each generates, make -j4), python runs CPython's own
regression tests (Debian's libpython3.11-testsuite, /usr/bin/python3.11, per test case from
regrtest's JUnit XML). A shell or make case passes when its stdout, stderr and exit status equal
expected/<suite>/<case>.out (--bless rewrites those from a plain run).

Configurations: plain twice (a case that differs between the two is flaky and left out), observe
(JSON records to per-process files, stack on), learn (observe with FORKGUARD_PROFILE), slim
(mitigate, TRIGGER=always, SLIM_MIN=4M) and vfork (mitigate, TRIGGER=always, the profile the learn
run wrote). Observe and learn must match plain in every case; vfork too (it only substitutes at
sites whose every observed child just exec'd or exited); slim may differ only in a case where a
slim fork's child touched an excluded region, shown by its fault record.
"""
import argparse
import os
import shutil
import signal
import sys
import threading

from compare import compare, print_report
from unit_common import HERE, UnitResult, case_name, now, profile_path
from unit_python import run_python_module
from unit_shell import run_shell_case

PY_CI = ["test_subprocess", "test_os", "test_posix", "test_fork1", "test_wait4"]
# The long form, longest first so that the configurations' runs pack well.
PY_LONG = ["test_multiprocessing_fork", "test_subprocess", "test_signal", "test_threading", "test_os", "test_posix",
           "test_fork1", "test_wait3", "test_wait4", "test_popen", "test_pty"]

CONFIGS = ["plain", "plain2", "observe", "learn", "slim", "vfork"]


class Suite:
    """A named list of units; a unit is one process tree run per configuration (a shell or make
    case, or one regrtest module)."""

    def __init__(self, name, kind, units, interpreter=None, case_dir=None):
        self.name, self.kind, self.units, self.interpreter, self.case_dir = name, kind, units, interpreter, case_dir


def shell_cases(*dirs):
    cases = []
    for d in dirs:
        for f in sorted(os.listdir(os.path.join(HERE, d))):
            if f.endswith(".sh") and f != "tree.sh":
                cases.append(os.path.join(d, f))
    return cases


def make_suites(long_form, only):
    suites = [
        Suite("dash", "shell", shell_cases("shell/posix"), ["dash"]),
        Suite("bash", "shell", shell_cases("shell/posix", "shell/bash"), ["bash"]),
        Suite("make", "shell", shell_cases("make"), ["dash"], case_dir="make"),
        Suite("python", "python", PY_LONG if long_form else PY_CI),
    ]
    return [s for s in suites if not only or s.name in only]


def run_all(suites, args, root):
    """Runs every (unit, configuration) on args.jobs workers. A worker takes the first job in the
    queue that may run: a vfork job only once its suite's learn jobs are all done (it reads their
    profile). The queue holds the longest units first, and each unit's configurations side by side,
    learn first, so that every configuration runs under the same load as plain."""
    results = {}   # (config, suite name, unit) -> UnitResult
    cond = threading.Condition()
    learn_left = {s.name: (len(s.units) if "learn" in args.configs else 0) for s in suites}
    for c in args.configs:
        os.makedirs(os.path.join(root, c), exist_ok=True)
    units = [(s, u) for s in suites for u in s.units]  # python first: its modules are the longest
    units.sort(key=lambda su: 0 if su[0].kind == "python" else 1)
    rank = {c: i for i, c in enumerate(["learn"] + [c for c in CONFIGS if c != "learn"])}
    queue = [(s, u, c) for s, u in units for c in sorted(args.configs, key=rank.get)]

    def runnable(job):
        s, _, c = job
        return c != "vfork" or learn_left[s.name] == 0

    def run_one(suite, unit, config):
        if config == "vfork":
            src, dst = profile_path(root, suite, "learn"), profile_path(root, suite, "vfork")
            with cond:
                if not os.path.exists(dst):
                    shutil.copyfile(src, dst) if os.path.exists(src) else open(dst, "w").close()
        runner = run_python_module if suite.kind == "python" else run_shell_case
        try:
            return runner(suite, unit, config, args, root)
        except Exception as e:  # the suite's own failure: say so as a failed case, never hide it
            r = UnitResult()
            r.cases[f"{unit} (runner)"] = "error"
            r.detail[f"{unit} (runner)"] = repr(e)
            return r

    def worker():
        while True:
            with cond:
                while True:
                    if not queue:
                        return
                    job = next((j for j in queue if runnable(j)), None)
                    if job:
                        queue.remove(job)
                        break
                    cond.wait()
            suite, unit, config = job
            r = run_one(suite, unit, config)
            with cond:
                results[(config, suite.name, unit)] = r
                if config == "learn":
                    learn_left[suite.name] -= 1
                cond.notify_all()
                if not args.quiet:
                    bad = sum(1 for o in r.cases.values() if o not in ("pass", "skip", "exit 0"))
                    print(f"transparency: {config:7} {suite.name:6} {case_name(unit):28} {r.seconds:6.1f} s"
                          f"{'' if not bad else f'  {bad} not passed'}", file=sys.stderr, flush=True)

    threads = [threading.Thread(target=worker) for _ in range(args.jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", required=True, help="libforkguard.so")
    ap.add_argument("--out", required=True, help="directory for every run's output, records and profiles")
    ap.add_argument("--long", action="store_true", help="the long form: more CPython test modules")
    ap.add_argument("--jobs", type=int, default=6, help="units run at once (default 6: most of their time is spent waiting)")
    ap.add_argument("--suite", action="append", default=[], help="only this suite (dash, bash, make, python)")
    ap.add_argument("--config", action="append", default=[], help="only this configuration (plain always runs)")
    ap.add_argument("--module", action="append", default=[], help="only these CPython test modules")
    ap.add_argument("--validator", help="tests/helpers' fg_test_validate_records: every record is checked")
    ap.add_argument("--bless", action="store_true", help="write expected/ from the plain run")
    ap.add_argument("-q", "--quiet", action="store_true", help="no line per unit as it ends")
    args = ap.parse_args()
    args.lib = os.path.abspath(args.lib)
    if not os.path.exists(args.lib):
        sys.exit(f"transparency: no library at {args.lib}")
    args.configs = [c for c in CONFIGS if not args.config or c in args.config or c == "plain"]
    if "vfork" in args.configs and "learn" not in args.configs:
        args.configs.insert(args.configs.index("vfork"), "learn")
    root = os.path.abspath(args.out)
    marker = os.path.join(root, ".transparency-output")
    if os.path.isdir(root) and os.listdir(root):
        if not os.path.exists(marker):  # never empty a directory this script did not make
            sys.exit(f"transparency: {root} exists and is not an earlier output of this script")
        shutil.rmtree(root)
    os.makedirs(root, exist_ok=True)
    open(marker, "w").close()
    suites = make_suites(args.long, set(args.suite))
    for s in suites:
        if s.kind == "python" and args.module:
            s.units = [m for m in s.units if m in args.module] or args.module
    # Every run starts with SIGINT and SIGQUIT at their defaults, however this script was started
    # (a shell's background job has them ignored, and test_signal and test_threading notice).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)
    t0 = now()
    results = run_all(suites, args, root)
    seconds = now() - t0
    report = compare(suites, results, args.configs, args.validator, root)
    print_report(suites, args.configs, report, seconds, sys.stdout)
    with open(os.path.join(root, "report.txt"), "w") as f:
        print_report(suites, args.configs, report, seconds, f)
    passed = sum(1 for _, ok in report["checks"] if ok)
    failed = len(report["checks"]) - passed
    print(f"transparency: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
