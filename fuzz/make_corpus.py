#!/usr/bin/env python3
"""@file make_corpus.py
@brief Writes the seed corpus of every fuzz target into fuzz/corpus/ from tests/fixtures and this
machine's /proc (read only). Run by hand when a parser learns a new format; the result is committed.
Usage: fuzz/make_corpus.py [--proc-pids N]
"""
import hashlib
import os
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(TOP, "tests", "fixtures")
OUT = os.path.join(TOP, "fuzz", "corpus")
MAX = 16384  # scripts/fuzz.sh's -max_len: a longer seed would only be cut


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def put(target, data, counts):
    """Stores one seed under its content hash (libFuzzer's own naming), at most MAX bytes."""
    if data is None:
        return
    data = data[:MAX]
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)
    counts[target] = counts.get(target, 0) + 1


def fixtures(prefix):
    return [read(os.path.join(FIX, n)) for n in sorted(os.listdir(FIX)) if n.startswith(prefix)]


def pids(n):
    found = sorted((int(p) for p in os.listdir("/proc") if p.isdigit()))
    return [1, os.getpid()] + found[-n:]


def main():
    npids = int(sys.argv[sys.argv.index("--proc-pids") + 1]) if "--proc-pids" in sys.argv else 12
    c = {}
    garbage = [read(os.path.join(FIX, "garbage.bin")), read(os.path.join(FIX, "empty.txt"))]

    for t, prefix, proc in (("fuzz_status", "status_", "status"), ("fuzz_statm", "statm_", "statm")):
        for data in fixtures(prefix) + garbage:
            put(t, data, c)
        for p in pids(npids):
            put(t, read("/proc/%d/%s" % (p, proc)), c)
    for data in fixtures("meminfo_") + garbage + [read("/proc/meminfo")]:
        put("fuzz_meminfo", data, c)
    meminfo = read("/proc/meminfo") or b""
    for cut in (10, 200, 700, len(meminfo) - 3):  # cut mid-line, as a short read would
        put("fuzz_meminfo", meminfo[:cut], c)

    vm = "/proc/sys/vm"
    for data in fixtures("sysctl_") + garbage:
        put("fuzz_sysctl", data, c)
    for name in sorted(os.listdir(vm)):
        data = read(os.path.join(vm, name))
        if data is not None and len(data) < 64:
            put("fuzz_sysctl", data, c)
    for s in (b"9223372036854775807\n", b"9223372036854775808\n", b"00000000000000000000042", b"-1\n", b" 2 \n\n",
              b"1 2\n", b"0x10\n", b"\n", b"+3\n"):
        put("fuzz_sysctl", s, c)

    lines = set()
    for name in ("maps_real.txt", "maps_edge.txt", "smaps_edge.txt", "smaps_crlf.txt", "smaps_flags_real.txt"):
        for line in (read(os.path.join(FIX, name)) or b"").splitlines(keepends=True):
            if b"-" in line[:20] or line.lstrip().startswith(b"VmFlags"):
                lines.add(line)
    for line in sorted(lines)[:60]:
        put("fuzz_maps_line", line, c)
    for s in (b"ffffffffffffffff-ffffffffffffffff rwxp ffffffffffffffff ff:ff 18446744073709551615 x\n",
              b"10000000000000000-0 rw-p 0 0:0 0\n", b"2000-1000 rw-p 00000000 00:00 0\n",
              b"7f00-7f10 rw-p 0 00:00 0     /a path with spaces (deleted)\r\n", b"   VmFlags: \n"):
        put("fuzz_maps_line", s, c)

    # SmapsParser: byte 0 picks the chunking, the rest is smaps or maps text.
    for i, name in enumerate(n for n in sorted(os.listdir(FIX)) if n.startswith(("smaps_", "maps_"))):
        data = read(os.path.join(FIX, name)) or b""
        for part in range(0, len(data), 6000):
            put("fuzz_smaps", bytes([(i * 37 + part) % 256]) + data[part:part + 6000], c)
    smaps = read("/proc/self/smaps") or b""
    for j, part in enumerate(range(0, min(len(smaps), 24000), 4000)):
        put("fuzz_smaps", bytes([j * 13]) + smaps[part:part + 4000], c)
    put("fuzz_smaps", b"\x00" + (read("/proc/self/maps") or b"")[:8000], c)

    # Config: byte 0 bit 0 = secure; then values in table order, separated by NUL.
    order = ["MODE", "TRIGGER", "LOG", "FORMAT", "STACK", "VFORK_SITES", "PROFILE", "SLIM_MIN", "PRECISE_MARGIN",
             "VFORK_TIMEOUT"]
    good = {"MODE": ["observe", "mitigate", "off"], "TRIGGER": ["predicted", "always"],
            "LOG": ["stderr", "syslog", "/tmp/fg.%p.jsonl", "rel/log"], "FORMAT": ["text", "json"],
            "STACK": ["0", "16", "64"], "VFORK_SITES": ["learned", "all", "none", "app+0x1f2e, main ,libx.so+0xABC"],
            "PROFILE": ["/tmp/fg.profile"], "SLIM_MIN": ["4k", "65536", "64M", "2G", "1023"],
            "PRECISE_MARGIN": ["0", "10", "100"], "VFORK_TIMEOUT": ["1", "5", "3600"]}
    bad = ["", " 1", "1 ", "-0", "-5", "65", "9223372036854775808", "1e3", "0x10", "MITIGATE", "\x1b[31mred",
           "all,none", "a+0x", "+0x1", "x+0x11111111111111111", "3k5", "4K", "0G", "99999999999999999999G"]
    for k in range(len(order) * 3):
        vals = [good[name][(k + i) % len(good[name])] for i, name in enumerate(order)]
        put("fuzz_config", bytes([k % 2]) + b"\0".join(v.encode() for v in vals), c)
    for k, b in enumerate(bad):
        vals = ["" if i != k % len(order) else b for i in range(len(order))]
        put("fuzz_config", bytes([0]) + b"\0".join(v.encode() for v in vals[: k % len(order) + 1]), c)
    put("fuzz_config", b"\x00" + b"\0".join([b"observe", b"predicted", b"/" + b"x" * 1100]), c)
    put("fuzz_config", b"\x01" + b"\0" * 6 + b"/tmp/p", c)

    # Profile lines: "fgp1 <site> <exec|_exit|exit> <pages> <uffd-wp|exec-only>".
    prof = [b"fgp1 app+0x1a2b exec 0 uffd-wp\n", b"fgp1 app+0x1a2b exit 3 uffd-wp\n",
            b"fgp1 libx.so+0x10 _exit 0 exec-only\n", b"fgp1 main exec 12 uffd-wp\n"]
    put("fuzz_site_profile", b"".join(prof), c)
    for p in prof:
        put("fuzz_site_profile", p, c)
        put("fuzz_site_profile", p[:-1], c)  # cut last line
    for s in (b"", b"\n", b"fgp2 a exec 0 uffd-wp\n", b"fgp1  exec 0 uffd-wp\n", b"fgp1 a exec 0 uffd-wp extra\n",
              b"fgp1 a exec -1 uffd-wp\n", b"fgp1 a fork 0 uffd-wp\n", b"fgp1 a exec 0 soft-dirty\n",
              b"fgp1 a exec 99999999999999999999999 uffd-wp\n", b"fgp1 a exec 0 uffd-wp\r\n"):
        put("fuzz_site_profile", s, c)

    # Report reader: byte 0 = near-miss percent, then JSON lines.
    for name in sorted(os.listdir(os.path.join(FIX, "records"))):
        if name.endswith(".jsonl"):
            data = read(os.path.join(FIX, "records", name)) or b""
            put("fuzz_report_json", bytes([10]) + data, c)
            for j, line in enumerate(data.splitlines(keepends=True)[:24]):
                put("fuzz_report_json", bytes([j * 5]) + line, c)
    for s in (b'{"call":"fork","site":"a+0x1","pid":1e300}\n', b'{"call":"fork","site":"a+0x1","charge_kb":-9223372036854775808,"margin_kb":-9223372036854775808,"overcommit_mode":2}\n',
              b'{"call":"posix_spawn","site":"+0x","result":12}\n', b'{"call":"system","site":"s+0x2","stack":[1,{"module":"m","offset":-1},{"module":"m","offset":"0x"}]}\n',
              b'forkguard: fork pid=1\n', b'{"call":"pclose","site":"x"}\n', b'[1,2]\n', b'{"call":"fork"', b'{"ts":"2026-02-31T23:59:60.1234567Z","call":"fork","site":"a+0x1"}\n',
              # Module identities, notices, advice, faults, uncharged calls (issue #10 section 2, #11 section 3).
              b'{"call":"fork","site":"a+0x1","pid":1,"exe":"/a","stack":[{"module":"a","offset":"0x1"},{"module":"l.so","offset":"0x2"}],"modules":[{"name":"a","path":"/a","build_id":"ABcd"},{"name":"l.so","path":"/l.so","size":5,"mtime":-1},{"name":""},7]}\n'
              b'{"call":"fork","site":"a+0x1","pid":1,"exe":"/b","stack":[{"module":"a","offset":"0x1"}]}\n'
              b'{"call":"pclose","site":"a+0x9","pid":1,"exe":"/a","notice":"log reopened","modules":[{"name":"l.so","path":"/l.so","build_id":"00"}]}\n',
              b'{"call":"fault","site":"a+0x7","pid":2,"verdict":"unknown","notice":"SIGSEGV in an excluded region","stack":[{"module":"a","offset":"0x7","symbol":"w"}]}\n',
              b'{"call":"posix_spawn","site":"a+0x3","verdict":"ok","fork_verdict":"refuse","charged":false,"margin_kb":-5,"allowed_kb":10,"overcommit_mode":2,"result":0}\n'
              b'{"call":"vfork","site":"a+0x4","verdict":"refuse","margin_kb":-5,"allowed_kb":10,"overcommit_mode":2,"result":3}\n',
              b'{"call":"fork","site":"a+0x5","verdict":"refuse","fork_verdict":"refuse","charged":true,"result":-1,"errno":"ENOMEM","advice":{"shrink_kb":4,"slim_excludes_kb":9,"slim_written_kb":-2,"slim_enough":true,"mappings":[{"start":"0x1","size_kb":9,"rss_kb":0,"swap_kb":null,"path":"[anon]","slim_kb":9,"slim_written_kb":0}]}}\n'):
        put("fuzz_report_json", bytes([10]) + s, c)

    for t in sorted(c):
        print("%-20s %3d seeds" % (t, len(os.listdir(os.path.join(OUT, t)))))


if __name__ == "__main__":
    main()
