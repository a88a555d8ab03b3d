"""A CPython regression test module run by Debian's python3.11 through regrtest_marks.py: each
test case's outcome from the JUnit XML (fixtures' errors from the verbose output), the module's exit
status as a case of its own, and the library's records attributed to test cases by time."""
import os
import re
import shutil
import xml.etree.ElementTree as ET

from unit_common import (FAULT_LINE, HERE, MODULE_TIMEOUT, TEST_TIMEOUT, UnitResult, base_env, config_env,
                         fault_text, profile_path, read_records, record_time, run_process)

PYTHON = "/usr/bin/python3.11"  # Debian's, whose tests libpython3.11-testsuite holds (not a pyenv one)
VERBOSE_START = re.compile(rb"^(\w+) \(([\w.]+)\)")  # "test_x (test.test_os.Class.test_x) ... ok"


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
