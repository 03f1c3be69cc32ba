#!/usr/bin/env python3
"""Boot a QEMU guest that goes idle (lib/guest-idle.sh), make it panic in interrupt context
from the host, then stop it and dump it once per --dump (same stopped memory).

  1. wait for --ready TEXT on the console (the guest is idle), then --settle seconds more;
  2. --trigger sysrq-key: QMP human-monitor-command "sendkey alt-sysrq-c" (PS/2 keyboard:
     the panic runs in the i8042 interrupt handler, on the IRQ stack);
     --trigger nmi: QMP inject-nmi (every vCPU gets an NMI; with unknown_nmi_panic the
     kernel panics in the NMI handler, on the NMI IST stack);
  3. wait for --wait TEXT (end of the panic); the trigger is sent again every --retry
     seconds while the console shows no reaction at all (no "sysrq", "NMI" or "Kernel
     panic" after the ready marker: a key press lost before the keyboard was ready);
  4. QMP stop, dump-guest-memory per --dump, quit.
Any --fail TEXT on the console ends the run early. On failure print the tail of the console
and of QEMU's stderr and exit 1. QEMU is killed whenever we exit.

usage: qemu_trigger.py --console LOG --timeout S --ready TEXT --trigger sysrq-key|nmi
                       --wait TEXT [--fail TEXT]... [--settle S] [--retry S]
                       --dump FMT=PATH... -- qemu-system-x86_64 ARGS...
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qemu_boot import die_with_parent, tail  # noqa: E402
from qmp import QMP, QMPError  # noqa: E402

TRIGGERS = {
    "sysrq-key": ("human-monitor-command", {"command-line": "sendkey alt-sysrq-c"}),
    "nmi": ("inject-nmi", {}),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--console", required=True)
    ap.add_argument("--timeout", type=float, required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--trigger", required=True, choices=sorted(TRIGGERS))
    ap.add_argument("--wait", required=True)
    ap.add_argument("--fail", action="append", default=[])
    ap.add_argument("--settle", type=float, default=3.0)
    ap.add_argument("--retry", type=float, default=20.0)
    ap.add_argument("--dump", action="append", default=[])
    ap.add_argument("qemu", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    qemu = a.qemu[1:] if a.qemu[:1] == ["--"] else a.qemu
    if not qemu or not a.dump:
        ap.error("need QEMU arguments and at least one --dump")

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

    def wait_for(text, deadline, on_tick=None):
        while True:
            out = console()
            for bad in a.fail:
                if bad in out:
                    fail(f"console printed {bad!r}")
            if text in out:
                return
            if proc.poll() is not None:
                fail(f"QEMU exited (rc {proc.returncode}) before {text!r}")
            if time.monotonic() > deadline:
                fail(f"timeout after {a.timeout:.0f} s waiting for {text!r}")
            if on_tick:
                on_tick()
            time.sleep(0.5)

    q = None
    try:
        start = time.monotonic()
        deadline = start + a.timeout
        wait_for(a.ready, deadline)
        print(f"guest reached {a.ready!r} after {time.monotonic() - start:.1f} s", file=sys.stderr)
        time.sleep(a.settle)  # let init block in sleep and both CPUs halt in the idle loop
        q = QMP(sock)
        name, args = TRIGGERS[a.trigger]
        sent = []

        def send():
            q.command(name, **args)
            sent.append(time.monotonic())
            print(f"sent {a.trigger} ({name} {args or ''}) at {sent[-1] - start:.1f} s", file=sys.stderr)

        ready_at = console().index(a.ready)

        def maybe_resend():
            # only while the guest shows no reaction at all (no sysrq/NMI/panic line yet)
            after = console()[ready_at:]
            if time.monotonic() - sent[-1] > a.retry and not any(
                    s in after for s in ("sysrq", "NMI", "Kernel panic")):
                send()
        send()
        wait_for(a.wait, deadline, maybe_resend)
        print(f"guest reached {a.wait!r} after {time.monotonic() - start:.1f} s "
              f"({len(sent)} trigger(s) sent)", file=sys.stderr)

        q.command("stop")  # every dump below sees the same, frozen memory
        for spec in a.dump:
            fmt, path = spec.split("=", 1)
            dargs = {"paging": False, "protocol": "file:" + os.path.abspath(path)}
            if fmt != "elf":
                dargs["format"] = fmt
            t = time.monotonic()
            q.command("dump-guest-memory", timeout=600, **dargs)  # synchronous (detach=false)
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
