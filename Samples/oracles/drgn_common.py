"""What every drgn oracle script shares: hex of an optional value, an exception's text,
attempt(), which records a failure (with the oracle script's line) instead of stopping, and
opening a dump with its vmlinux."""
import os
import traceback

_HERE = os.path.dirname(os.path.abspath(__file__))


def hx(v):
    return None if v is None else hex(v)


def err_text(e):
    return f"{type(e).__name__}: {e}"


def part_error(e):
    """Error text of a failure: exception and the oracle script's line where it happened."""
    tb = [f for f in traceback.extract_tb(e.__traceback__)
          if os.path.dirname(os.path.abspath(f.filename)) == _HERE and not f.filename.endswith("drgn_common.py")]
    return f"{err_text(e)} (line {tb[-1].lineno})" if tb else err_text(e)


def attempt(fn, errors, key):
    """fn(), or None with errors[key] saying why."""
    try:
        return fn()
    except Exception as e:
        errors[key] = part_error(e)
        return None


def open_program(dump, vmlinux, res):
    """drgn's Program on the dump with the vmlinux's debug info, or None; res gets open_error
    (None when opened) and missing_debug_info when drgn lacked some."""
    import drgn
    prog = drgn.Program()
    try:
        prog.set_core_dump(dump)
    except Exception as e:
        res["open_error"] = err_text(e)
        return None
    try:
        prog.load_debug_info([vmlinux])
    except drgn.MissingDebugInfoError as e:
        res["missing_debug_info"] = str(e)
    res["open_error"] = None
    return prog
