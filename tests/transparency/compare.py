"""The comparison with plain, the checks, and the printed report."""
import collections
import os
import subprocess

LABELS = {
    "plain": "plain",
    "plain2": "plain, again",
    "observe": "observe",
    "learn": "observe + learning",
    "slim": "mitigate: slim fork (4M)",
    "vfork": "mitigate: vfork at learned sites",
}


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
                cell += f"; {d} differ{'s' if d == 1 else ''}" + (f" ({d - u} expected)" if d - u else "")
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
