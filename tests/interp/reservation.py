# @file reservation.py
# @brief A Python 3.11 program shaped like the ones the slim fork is for (issue #11): one large
# untouched private reservation (a cache, a heap arena set aside), larger than RAM + swap so that
# overcommit mode 0 refuses its fork, and 200 MiB of written data. It spawns every way Python
# does (subprocess with preexec_fn, os.fork + execv, os.system, subprocess without preexec_fn)
# and forks workers that read the data, read zeros from never-written memory and write there.
# Each step prints one line; the output is the same with and without the reservation.
#
# Usage: python3.11 reservation.py [--no-reserve]
#   --no-reserve: a small untouched region instead of the reservation (the reference run).
# Exit status 0 when every step worked, 1 when one failed (its line says which), 77 when the
# reservation cannot be made here (not overcommit mode 0).
import ctypes
import hashlib
import os
import subprocess
import sys

MAP_FAILED = ctypes.c_void_p(-1).value
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.mremap.restype = ctypes.c_void_p
libc.mremap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int]
PROT_RW, MAP_PRIVATE_ANON, MREMAP_MAYMOVE = 3, 0x22, 1


def meminfo_kb(key):
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise SystemExit("reservation.py: /proc/meminfo has no " + key)


def reserve(total, step):
    """One untouched private writable mapping of `total` bytes, grown in place in `step`s:
    overcommit mode 0 checks each mmap/mremap request on its own."""
    size = step
    addr = libc.mmap(None, size, PROT_RW, MAP_PRIVATE_ANON, -1, 0)
    if addr in (None, MAP_FAILED):
        raise OSError(ctypes.get_errno(), "mmap")
    while size < total:
        addr = libc.mremap(addr, size, size + step, MREMAP_MAYMOVE)
        if addr in (None, MAP_FAILED):
            raise OSError(ctypes.get_errno(), "mremap")
        size += step
    return addr, size


def step(name, ok):
    print(f"{name}: {'ok' if ok else 'FAILED'}", flush=True)
    return ok


def main():
    no_reserve = "--no-reserve" in sys.argv[1:]
    if no_reserve:
        addr, size = reserve(256 << 20, 256 << 20)
    else:
        with open("/proc/sys/vm/overcommit_memory") as f:
            if f.read().strip() != "0":
                print("reservation.py: the reservation needs overcommit mode 0 (mode 2 refuses it, mode 1 forks it)",
                      file=sys.stderr)
                return 77
        limit = (meminfo_kb("MemTotal") + meminfo_kb("SwapTotal")) * 1024
        addr, size = reserve(limit + (1 << 30), limit // 2)
    # 200 MiB of written data, a pattern the workers check.
    data = bytearray(bytes(range(256)) * (200 * 4096))
    digest = hashlib.sha256(data).hexdigest()
    good = True

    out = subprocess.run(["/bin/echo", "its child ran"], preexec_fn=lambda: None,
                         capture_output=True, text=True)
    good &= step(f"subprocess with preexec_fn ({out.stdout.strip()})", out.returncode == 0)

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(w, 1)
        os.execv("/bin/echo", ["echo", "its child ran"])
    os.close(w)
    text = os.read(r, 100).decode().strip()
    os.close(r)
    _, status = os.waitpid(pid, 0)
    good &= step(f"os.fork + execv ({text})", status == 0)

    good &= step("os.system", os.system("exit 0") == 0)

    out = subprocess.run(["/bin/echo", "its child ran"], capture_output=True, text=True)
    good &= step(f"subprocess ({out.stdout.strip()})", out.returncode == 0)

    # A worker that reads the written data.
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(w, hashlib.sha256(data).hexdigest().encode())
        os._exit(0)
    os.close(w)
    seen = os.read(r, 100).decode()
    os.close(r)
    _, status = os.waitpid(pid, 0)
    good &= step("forked worker reads the written data", status == 0 and seen == digest)

    # A worker that reads never-written memory (zeros), and one that writes there.
    offsets = [0, size // 3, size // 2, size - 4096]
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        zeros = all(ctypes.string_at(addr + off, 64) == bytes(64) for off in offsets)
        os.write(w, b"1" if zeros else b"0")
        os._exit(0)
    os.close(w)
    seen = os.read(r, 10)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    good &= step("forked worker reads zeros from never-written memory", status == 0 and seen == b"1")

    pid = os.fork()
    if pid == 0:
        ctypes.memset(addr + 4096, 0x5A, 4096)
        os._exit(0 if ctypes.string_at(addr + 4096, 4) == b"ZZZZ" else 3)
    _, status = os.waitpid(pid, 0)
    good &= step("forked worker writes never-written memory", status == 0)
    good &= step("the parent still reads zeros there", ctypes.string_at(addr + 4096, 64) == bytes(64))
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
