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
import collections
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3.11"  # Debian's, whose tests libpython3.11-testsuite holds (not a pyenv one)

PY_CI = ["test_subprocess", "test_os", "test_posix", "test_fork1", "test_wait4"]
# The long form, longest first so that the configurations' runs pack well.
PY_LONG = ["test_multiprocessing_fork", "test_subprocess", "test_signal", "test_threading", "test_os", "test_posix",
           "test_fork1", "test_wait3", "test_wait4", "test_popen", "test_pty"]

CONFIGS = ["plain", "plain2", "observe", "learn", "slim", "vfork"]
LABELS = {
    "plain": "plain",
    "plain2": "plain, again",
    "observe": "observe",
    "learn": "observe + learning",
    "slim": "mitigate: slim fork (4M)",
    "vfork": "mitigate: vfork at learned sites",
}
CASE_TIMEOUT = 180       # one shell or make case
MODULE_TIMEOUT = 1500    # one regrtest module, its own --timeout per test case is below this
TEST_TIMEOUT = 600

FAULT_LINE = re.compile(rb"forkguard: child \d+ of the slim fork at \S+ touched 0x[0-9a-f]+[^\n]*")
VERBOSE_START = re.compile(rb"^(\w+) \(([\w.]+)\)")  # "test_x (test.test_os.Class.test_x) ... ok"


def now():
    return time.monotonic()


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


def case_name(unit):
    return os.path.splitext(os.path.basename(unit))[0]


def config_env(config, lib, logdir, profile):
    """The environment a configuration adds; FORKGUARD_* from the caller's environment never leak in."""
    if config in ("plain", "plain2"):
        return {}
    env = {"LD_PRELOAD": lib, "FORKGUARD_FORMAT": "json", "FORKGUARD_LOG": os.path.join(logdir, "fg.%p.jsonl"),
           "FORKGUARD_STACK": "16"}
    if config == "observe":
        env["FORKGUARD_MODE"] = "observe"
    elif config == "learn":
        env.update(FORKGUARD_MODE="observe", FORKGUARD_PROFILE=profile)
    elif config == "slim":
        env.update(FORKGUARD_MODE="mitigate", FORKGUARD_TRIGGER="always", FORKGUARD_SLIM_MIN="4M")
    elif config == "vfork":
        env.update(FORKGUARD_MODE="mitigate", FORKGUARD_TRIGGER="always", FORKGUARD_PROFILE=profile,
                   FORKGUARD_VFORK_SITES="learned")
    return env


def base_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORKGUARD_") and k not in ("LD_PRELOAD",)}
    env.update(LC_ALL="C", LANG="C", TZ="UTC")
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONHOME", None)
    # The pyenv shims on PATH are not Debian's python: children that run "python3" get /usr/bin's.
    env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    return env


def run_process(argv, cwd, env, out_path, err_path, timeout):
    """Runs argv in its own session; on timeout kills the whole group. Returns (status text, seconds)."""
    t0 = now()
    with open(out_path, "wb") as out, open(err_path, "wb") if err_path else open(os.devnull, "wb") as err:
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=err if err_path else subprocess.STDOUT, start_new_session=True, close_fds=True)
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            return "timeout", now() - t0
    try:  # a background child the case left behind must not outlive it
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    status = f"exit {rc}" if rc >= 0 else f"signal {signal.Signals(-rc).name}"
    return status, now() - t0


# ---------- one unit in one configuration ----------

class UnitResult:
    def __init__(self):
        self.cases = {}        # case id -> outcome ("pass", "fail", "error", "skip", or a run status)
        self.detail = {}       # case id -> short text shown with a difference
        self.faults = collections.defaultdict(list)   # case id -> fault evidence lines
        self.context = collections.defaultdict(list)  # case id -> other signs, shown but proving nothing
        self.records = []      # (case id, record) for every record this unit's processes wrote
        self.bad_lines = 0     # log lines that were not one JSON record
        self.seconds = 0.0


def read_records(logdir):
    records, bad = [], 0
    if not os.path.isdir(logdir):
        return records, bad
    for f in sorted(os.listdir(logdir)):
        with open(os.path.join(logdir, f), "rb") as fh:
            for line in fh:
                try:
                    records.append(json.loads(line))
                except ValueError:
                    bad += 1
    return records, bad


def record_time(rec):
    try:
        return datetime.datetime.strptime(rec["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except (KeyError, ValueError, TypeError):
        return None


def fault_text(rec):
    return "fault record: " + json.dumps({k: rec.get(k) for k in ("pid", "site", "notice", "stack") if k in rec})


def run_shell_case(suite, unit, config, args, root):
    name = case_name(unit)
    work = os.path.join(root, config, suite.name, name)
    shutil.rmtree(work, ignore_errors=True)
    logdir = os.path.join(work, "fg")
    os.makedirs(os.path.join(work, "run", "tmp"))
    os.makedirs(logdir)
    env = base_env()
    env.update(TMPDIR=os.path.join(work, "run", "tmp"), TR_SUITE_DIR=os.path.join(HERE, suite.case_dir or ""))
    env.update(config_env(config, args.lib, logdir, profile_path(root, suite, config)))
    out, err = os.path.join(work, "stdout"), os.path.join(work, "stderr")
    status, secs = run_process(suite.interpreter + [os.path.join(HERE, unit)], os.path.join(work, "run"), env, out,
                               err, CASE_TIMEOUT)
    with open(out, "rb") as f:
        stdout = f.read()
    with open(err, "rb") as f:
        stderr = f.read()
    transcript = stdout + b"--- stderr\n" + stderr + b"--- " + status.encode() + b"\n"
    with open(os.path.join(work, "transcript"), "wb") as f:
        f.write(transcript)
    r = UnitResult()
    r.seconds = secs
    cid = name
    expected_path = os.path.join(HERE, "expected", suite.name, name + ".out")
    if args.bless and config == "plain":
        os.makedirs(os.path.dirname(expected_path), exist_ok=True)
        with open(expected_path, "wb") as f:
            f.write(transcript)
    try:
        with open(expected_path, "rb") as f:
            expected = f.read()
    except FileNotFoundError:
        expected = None
    if transcript == expected:
        r.cases[cid] = "pass"
    else:
        r.cases[cid] = "fail"
        r.detail[cid] = first_difference(expected, transcript, status)
    for m in FAULT_LINE.finditer(stderr):
        r.faults[cid].append("stderr: " + m.group(0).decode(errors="replace"))
    records, r.bad_lines = read_records(logdir)
    for rec in records:
        r.records.append((cid, rec))
        if rec.get("call") == "fault":
            r.faults[cid].append(fault_text(rec))
    return r


def first_difference(expected, got, status):
    if expected is None:
        return "no expected output (run with --bless)"
    el, gl = expected.decode(errors="replace").splitlines(), got.decode(errors="replace").splitlines()
    for i in range(max(len(el), len(gl))):
        e = el[i] if i < len(el) else "<end>"
        g = gl[i] if i < len(gl) else "<end>"
        if e != g:
            return f"line {i + 1}: expected {e[:100]!r}, got {g[:100]!r} ({status})"
    return status


def parse_junit(path):
    """Test case id -> outcome (pass, fail, error, skip) and the failure text, from regrtest's XML."""
    cases, texts = {}, {}
    root = ET.parse(path).getroot()
    for tc in root.iter("testcase"):
        name = tc.get("name")
        outcome, text = "pass", ""
        for child in tc:
            if child.tag in ("failure", "error"):
                outcome, text = ("fail" if child.tag == "failure" else "error"), (child.text or "") + (
                    child.get("message") or "")
                break
            if child.tag == "skipped" and outcome == "pass":
                outcome = "skip"
        # The same id twice (subtests): the worst outcome counts.
        prev = cases.get(name)
        order = {"pass": 0, "skip": 1, "fail": 2, "error": 3}
        if prev is None or order[outcome] > order[prev]:
            cases[name] = outcome
            texts[name] = text
    return cases, texts


def verbose_id(name, where):
    """unittest's verbose "test_x (test.mod.Class.test_x)" names test.mod.Class.test_x; a class or
    module fixture's "setUpClass (test.mod.Class)" keeps both parts."""
    return where if where.endswith("." + name) else f"{name} ({where})"


def parse_verbose(output):
    """The outcomes the verbose output shows: for a module whose run ended before its XML was
    written, and for fixtures (setUpClass...) whose errors the XML leaves out."""
    cases = {}
    for line in output.splitlines():
        m = re.match(rb"^(\w+) \(([\w.]+)\)(?: \.\.\. |.*\.\.\. )(ok|FAIL|ERROR|skipped|expected failure)", line)
        if m:
            word = m.group(3).decode()
            cases[verbose_id(m.group(1).decode(), m.group(2).decode())] = {
                "ok": "pass", "FAIL": "fail", "ERROR": "error", "skipped": "skip", "expected failure": "pass"}[word]
    return cases


def run_python_module(suite, module, config, args, root):
    work = os.path.join(root, config, suite.name, module)
    shutil.rmtree(work, ignore_errors=True)
    logdir = os.path.join(work, "fg")
    os.makedirs(os.path.join(work, "run", "tmp"))
    os.makedirs(logdir)
    env = base_env()
    marks = os.path.join(work, "marks")
    env.update(TMPDIR=os.path.join(work, "run", "tmp"), TR_MARKS=marks)
    env.update(config_env(config, args.lib, logdir, profile_path(root, suite, config)))
    xml = os.path.join(work, "junit.xml")
    out = os.path.join(work, "output")
    argv = [PYTHON, os.path.join(HERE, "python", "regrtest_marks.py"), "-v", "--fail-env-changed", "--timeout",
            str(TEST_TIMEOUT), "--junit-xml", xml, module]
    status, secs = run_process(argv, os.path.join(work, "run"), env, out, None, MODULE_TIMEOUT)
    with open(out, "rb") as f:
        output = f.read()
    r = UnitResult()
    r.seconds = secs
    run_id = f"{module} (module run)"
    cases, texts = parse_junit(xml) if os.path.exists(xml) else ({}, {})
    for cid, outcome in parse_verbose(output).items():
        cases.setdefault(cid, outcome)
    for cid, outcome in cases.items():
        r.cases[cid] = outcome
        if outcome in ("fail", "error"):
            r.detail[cid] = texts.get(cid, "").strip().splitlines()[-1][:200] if texts.get(cid) else outcome
        for m in FAULT_LINE.finditer(texts.get(cid, "").encode()):
            r.faults[cid].append("in the test's failure text: " + m.group(0).decode(errors="replace"))
    # The module as a whole: regrtest's status (2 failures, 3 environment changed) or a crash/timeout.
    r.cases[run_id] = status
    if status != "exit 0":
        tail = [l for l in output.decode(errors="replace").splitlines() if l.strip()][-3:]
        r.detail[run_id] = status + ": " + " | ".join(tail)[:300]
    # A fault line in the output belongs to the test whose verbose line came last before it.
    current = run_id
    for line in output.splitlines():
        m = VERBOSE_START.match(line)
        if m:
            current = verbose_id(m.group(1).decode(), m.group(2).decode())
        for f in FAULT_LINE.finditer(line):
            r.faults[current].append("output: " + f.group(0).decode(errors="replace"))
        if b"Fatal Python error: Segmentation fault" in line:  # a child's faulthandler: no region named
            r.context[current].append("a process died of SIGSEGV in Python's own handler (faulthandler)")
    # Records belong to the test during which they were written (marks give start and end times).
    windows = read_marks(marks)
    records, r.bad_lines = read_records(logdir)
    for rec in records:
        cid = attribute(windows, record_time(rec)) or run_id
        r.records.append((cid, rec))
        if rec.get("call") == "fault":
            r.faults[cid].append(fault_text(rec))
    return r


def read_marks(path):
    windows, open_at = [], {}
    try:
        with open(path) as f:
            for line in f:
                kind, t, _pid, tid = line.rstrip("\n").split(" ", 3)
                if kind == "S":
                    open_at[tid] = float(t)
                elif tid in open_at:
                    windows.append((open_at.pop(tid), float(t), tid))
    except FileNotFoundError:
        pass
    windows.extend((t, float("inf"), tid) for tid, t in open_at.items())  # a test the run never finished
    windows.sort()
    return windows


def attribute(windows, t):
    if t is None:
        return None
    best = None
    for start, end, tid in windows:
        if start <= t <= end:
            best = tid  # nested windows do not occur: the innermost last started one wins
        elif start > t:
            break
    return best


def profile_path(root, suite, config):
    if config == "learn":
        return os.path.join(root, "learn", suite.name + ".profile")
    if config == "vfork":
        return os.path.join(root, "vfork", suite.name + ".profile")
    return None


# ---------- scheduling ----------

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


# ---------- comparison and report ----------

def validate(validator, root, suite, config):
    """The project's record validator (DESIGN.md's contract) over every log this suite's runs
    wrote in this configuration: None when all hold, else its first complaints."""
    files = []
    for dirpath, _, names in os.walk(os.path.join(root, config, suite.name)):
        files += [os.path.join(dirpath, n) for n in names if n.startswith("fg.") and n.endswith(".jsonl")]
    complaints = []
    for i in range(0, len(files), 400):
        p = subprocess.run([validator] + sorted(files)[i:i + 400], capture_output=True, text=True)
        if p.returncode != 0:
            complaints += [l for l in (p.stdout + p.stderr).splitlines() if "ok:" not in l][:5]
    return complaints or None


def compare(suites, results, configs, validator=None, root=None):
    """Per suite and configuration: counts, differences from plain, and the check's verdict."""
    report = {"flaky": [], "rows": {}, "differences": [], "actions": {}, "checks": [], "invalid": []}
    for s in suites:
        merged = {c: {} for c in configs}
        faults = {c: collections.defaultdict(list) for c in configs}
        context = {c: collections.defaultdict(list) for c in configs}
        detail = {c: {} for c in configs}
        recs = {c: collections.defaultdict(list) for c in configs}
        bad_lines = collections.Counter()
        seconds = collections.Counter()
        for c in configs:
            for u in s.units:
                r = results.get((c, s.name, u))
                if r is None:
                    continue
                bad_lines[c] += r.bad_lines
                seconds[c] += r.seconds
                merged[c].update(r.cases)
                detail[c].update(r.detail)
                for cid, lines in r.faults.items():
                    faults[c][cid].extend(lines)
                for cid, lines in r.context.items():
                    context[c][cid].extend(lines)
                for cid, rec in r.records:
                    recs[c][cid].append(rec)
        base = merged.get("plain", {})
        flaky = set()
        if "plain2" in configs:
            for cid in set(base) | set(merged["plain2"]):
                if base.get(cid) != merged["plain2"].get(cid):
                    flaky.add(cid)
                    report["flaky"].append((s.name, cid, base.get(cid, "missing"), merged["plain2"].get(cid, "missing")))
        for c in configs:
            got = merged[c]
            passed = sum(1 for o in got.values() if o in ("pass", "exit 0"))
            skipped = sum(1 for o in got.values() if o == "skip")
            failed = len(got) - passed - skipped
            diffs = []
            if c not in ("plain", "plain2"):
                for cid in sorted(set(base) | set(got)):
                    if cid in flaky or base.get(cid) == got.get(cid):
                        continue
                    evidence = faults[c].get(cid, [])
                    expected = c == "slim" and bool(evidence)
                    subs = [r for r in recs[c].get(cid, []) if r.get("action") not in (None, "passthrough")]
                    diffs.append({"suite": s.name, "config": c, "case": cid, "plain": base.get(cid, "missing"),
                                  "got": got.get(cid, "missing"), "expected": expected,
                                  "detail": detail[c].get(cid, ""), "evidence": evidence,
                                  "context": sorted(set(context[c].get(cid, []))),
                                  "substitutions": [f"{r.get('call')} {r.get('action')} at {r.get('site')}"
                                                    for r in subs][:5]})
            report["rows"][(s.name, c)] = (passed, failed, skipped, len(diffs),
                                           sum(1 for d in diffs if not d["expected"]))
            report["differences"].extend(diffs)
            acts = collections.Counter()
            nrec = 0
            for cid, rl in recs[c].items():
                for rec in rl:
                    nrec += 1
                    acts[rec.get("action") or rec.get("call")] += 1
            report["actions"][(s.name, c)] = (nrec, acts, bad_lines[c], seconds[c])
            if c == "plain" and s.kind == "shell":  # a stale expected file would hide a difference
                report["checks"].append((f"{s.name} plain: every case gives its expected output", failed == 0))
            if c not in ("plain", "plain2"):
                bad = [d for d in diffs if not d["expected"]]
                report["checks"].append((f"{s.name} under {c}: no unexpected difference from plain", not bad))
                if nrec == 0 and s.units:
                    report["checks"][-1] = (f"{s.name} under {c}: no record written (was the library loaded?)", False)
                if bad_lines[c]:
                    report["checks"][-1] = (f"{s.name} under {c}: {bad_lines[c]} log lines are not one JSON record",
                                            False)
                invalid = validate(validator, root, s, c) if validator else None
                if invalid:
                    report["checks"][-1] = (f"{s.name} under {c}: records break the contract (validator)", False)
                    report["invalid"] += [f"{s.name} {c}: {l}" for l in invalid]
    for c in ("slim", "vfork"):
        if c in configs:
            want = "slim_fork" if c == "slim" else "vfork"
            total = sum(report["actions"][(s.name, c)][1].get(want, 0) for s in suites)
            report["checks"].append((f"{c}: substitutions really happened ({want} actions: {total})", total > 0))
    return report


def print_report(suites, configs, report, seconds, out):
    w = out.write
    w("\n== transparency: outcomes per suite and configuration (passed / failed / skipped; differing from plain)\n\n")
    head = "| suite | " + " | ".join(LABELS[c] for c in configs) + " |\n"
    w(head)
    w("|---|" + "---|" * len(configs) + "\n")
    for s in suites:
        cells = []
        for c in configs:
            p, f, k, d, u = report["rows"][(s.name, c)]
            cell = f"{p} / {f} / {k}"
            if c not in ("plain", "plain2"):
                cell += f"; {d} differ" + (f" ({d - u} expected)" if d - u else "")
            cells.append(cell)
        w(f"| {s.name} | " + " | ".join(cells) + " |\n")
    w("\n== per suite and configuration: seconds (its units' sum), records and their actions\n")
    for s in suites:
        for c in configs:
            nrec, acts, bad, secs = report["actions"][(s.name, c)]
            w(f"  {s.name:6} {c:7} {secs:6.0f} s {nrec:6} records: "
              + ", ".join(f"{k} {v}" for k, v in acts.most_common()) + (f"; {bad} lines not JSON" if bad else "")
              + "\n")
    for c, want in (("slim", "slim_fork"), ("vfork", "vfork")):
        if c in configs:
            per = [(s.name, report["actions"][(s.name, c)][1].get(want, 0)) for s in suites]
            w(f"  substitutions under {c}: {sum(n for _, n in per)} {want} ("
              + ", ".join(f"{name} {n}" for name, n in per) + ")\n")
    w(f"\n== flaky (differ between the two plain runs, left out of the comparison): {len(report['flaky'])}\n")
    for s, cid, a, b in report["flaky"]:
        w(f"  {s}: {cid}: {a} / {b}\n")
    w(f"\n== differences from plain: {len(report['differences'])}\n")
    for d in report["differences"]:
        kind = "expected (a slim-fork child touched an excluded region)" if d["expected"] else "UNEXPECTED"
        w(f"  [{d['config']}] {d['suite']}: {d['case']}: plain {d['plain']}, here {d['got']} -- {kind}\n")
        if d["detail"]:
            w(f"      {d['detail']}\n")
        for e in d["evidence"][:3]:
            w(f"      evidence: {e}\n")
        for e in d["context"]:
            w(f"      context: {e}\n")
        for sub in d["substitutions"]:
            w(f"      substituted: {sub}\n")
    if report["invalid"]:
        w("\n== records the validator rejects (first lines)\n")
        for l in report["invalid"]:
            w(f"  {l}\n")
    w("\n== checks\n")
    for text, ok in report["checks"]:
        w(f"  {'ok    ' if ok else 'FAILED'} {text}\n")
    w(f"\ntransparency: took {seconds:.0f} s\n")


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
