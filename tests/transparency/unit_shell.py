"""A shell or make case: run by its interpreter in a directory of its own; it passes when its
stdout, stderr and exit status equal expected/<suite>/<case>.out."""
import os
import shutil

from unit_common import (FAULT_LINE, HERE, CASE_TIMEOUT, UnitResult, base_env, case_name, config_env, fault_text,
                         profile_path, read_records, run_process)


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
