#!/usr/bin/env python3
"""Boot a QEMU guest with its serial console in a file, then either
  --dump FORMAT=PATH ...: wait for --wait TEXT on the console, stop the guest
                          and dump it once per --dump (same stopped memory), or
  --until-exit:           wait for QEMU to exit (the guest powers off) and check
                          that --wait TEXT was printed.
Any --fail TEXT on the console ends the run early. On failure print the tail of
the console and of QEMU's stderr and exit 1. QEMU is killed whenever we exit.

usage: qemu_boot.py --console LOG --timeout S --wait TEXT [--fail TEXT]...
                    (--dump FMT=PATH... | --until-exit) -- qemu-system-x86_64 ARGS...
"""
import argparse
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmp import QMP, QMPError  # noqa: E402

PR_SET_PDEATHSIG = 1


def die_with_parent():
    # QEMU must not outlive this script (CI kills us on timeouts).
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def tail(path, n=40):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").replace("\r", "").splitlines()
    except OSError:
        return f"(no {path})"
    return "\n".join(lines[-n:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--console", required=True)
    ap.add_argument("--timeout", type=float, required=True)
    ap.add_argument("--wait", required=True)
    ap.add_argument("--fail", action="append", default=[])
    ap.add_argument("--dump", action="append", default=[])
    ap.add_argument("--until-exit", action="store_true")
    ap.add_argument("qemu", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    qemu = a.qemu[1:] if a.qemu[:1] == ["--"] else a.qemu
    if not qemu or bool(a.dump) == a.until_exit:
        ap.error("need QEMU arguments and exactly one of --dump / --until-exit")

    sockdir = tempfile.mkdtemp(prefix="kdig-qmp-")  # short path: sun_path is 108 bytes
    sock = os.path.join(sockdir, "qmp.sock")
    errlog = a.console + ".qemu-stderr"
    open(a.console, "wb").close()
    cmd = qemu + ["-qmp", f"unix:{sock},server=on,wait=off", "-serial", f"file:{a.console}",
                  "-display", "none", "-monitor", "none", "-no-reboot"]
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    with open(errlog, "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                preexec_fn=die_with_parent)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    def fail(msg):
        print(f"ERROR: {msg}", file=sys.stderr)
        print(f"----- console tail ({a.console}) -----\n{tail(a.console)}", file=sys.stderr)
        print(f"----- qemu stderr -----\n{tail(errlog, 15)}\n-----", file=sys.stderr)
        sys.exit(1)

    def console():
        with open(a.console, "rb") as f:
            return f.read().decode("utf-8", "replace")

    try:
        start = time.monotonic()
        deadline = start + a.timeout
        # Poll the console file until the marker shows up (or QEMU exits).
        while True:
            text = console()
            for bad in a.fail:
                if bad in text:
                    fail(f"console printed {bad!r}")
            if a.until_exit:
                if proc.poll() is not None:
                    if a.wait not in text:
                        fail(f"QEMU exited (rc {proc.returncode}) without {a.wait!r} on the console")
                    break
            elif a.wait in text:
                break
            elif proc.poll() is not None:
                fail(f"QEMU exited (rc {proc.returncode}) before {a.wait!r}")
            if time.monotonic() > deadline:
                fail(f"timeout after {a.timeout:.0f} s waiting for {a.wait!r}")
            time.sleep(0.5)
        print(f"guest reached {a.wait!r} after {time.monotonic() - start:.1f} s", file=sys.stderr)

        if a.dump:
            q = QMP(sock)
            q.command("stop")  # every dump below sees the same, frozen memory
            for spec in a.dump:
                fmt, path = spec.split("=", 1)
                args = {"paging": False, "protocol": "file:" + os.path.abspath(path)}
                if fmt != "elf":
                    args["format"] = fmt
                t = time.monotonic()
                q.command("dump-guest-memory", timeout=600, **args)  # synchronous (detach=false)
                print(f"dumped {fmt} -> {path} in {time.monotonic() - t:.1f} s", file=sys.stderr)
            try:
                q.command("quit")
            except QMPError:
                pass  # QEMU may close the socket before answering
            q.close()
            proc.wait(timeout=30)
    except (QMPError, OSError, subprocess.TimeoutExpired) as e:
        fail(str(e))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(sockdir, ignore_errors=True)


if __name__ == "__main__":
    main()
