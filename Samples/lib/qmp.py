"""Minimal QMP (QEMU Machine Protocol) client: JSON lines over a unix socket."""
import json
import os
import socket
import time


class QMPError(Exception):
    pass


class QMP:
    def __init__(self, path, timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:  # QEMU creates the socket a moment after it starts
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.sock.close()
                if time.monotonic() > deadline:
                    raise QMPError(f"cannot connect to QMP socket {path}")
                time.sleep(0.1)
        self.sock.settimeout(timeout)
        self.rfile = self.sock.makefile("rb")
        greeting = self._read()
        if "QMP" not in greeting:
            raise QMPError(f"unexpected QMP greeting {greeting!r}")
        self.command("qmp_capabilities")

    def _read(self):
        line = self.rfile.readline()
        if not line:
            raise QMPError("QMP connection closed")
        return json.loads(line)

    def command(self, name, timeout=None, **arguments):
        """Run one command and return its 'return' value; events are skipped."""
        if timeout is not None:
            self.sock.settimeout(timeout)
        msg = {"execute": name}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise QMPError(f"{name}: {reply['error'].get('desc', reply['error'])}")

    def close(self):
        try:
            self.rfile.close()
            self.sock.close()
        except OSError:
            pass
