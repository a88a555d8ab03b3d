"""One unit (a shell or make case, or one regrtest module) in one configuration: the
environment each configuration adds, running a process tree with a deadline, what the library
wrote (records, fault records), and the result a runner hands back."""
import collections
import datetime
import json
import os
import re
import signal
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CASE_TIMEOUT = 180       # one shell or make case
MODULE_TIMEOUT = 1500    # one regrtest module, its own --timeout per test case is below this
TEST_TIMEOUT = 600

FAULT_LINE = re.compile(rb"forkguard: child \d+ of the slim fork at \S+ touched 0x[0-9a-f]+[^\n]*")


def now():
    return time.monotonic()


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
    # Every signal at its default, as from a terminal: a suite started under nohup or as a
    # background job inherits SIGHUP or SIGINT ignored, and a shell cannot trap what it was
    # started ignoring (the traps cases then differ from their expected output in every run).
    argv = ["env", "--default-signal"] + list(argv)
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


def profile_path(root, suite, config):
    if config == "learn":
        return os.path.join(root, "learn", suite.name + ".profile")
    if config == "vfork":
        return os.path.join(root, "vfork", suite.name + ".profile")
    return None
