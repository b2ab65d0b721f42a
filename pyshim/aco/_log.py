"""The shim's own diagnostics.

Details go to $ACO_HOME/shim.log, never to the program's streams; the user
sees at most one short ``aco: ...`` line per reason on stderr. Nothing here may
raise: a tracing tool that breaks the program it traces is worse than none.
"""

import os
import sys
import _thread
import time

_lock = _thread.allocate_lock()  # threading costs start-up time; this is its Lock
_file = None
_open_failed = False
_warned = set()


def log_path():
    home = os.environ.get("ACO_HOME")
    if not home:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        home = os.path.join(cache, "aco")
    return os.path.join(home, "shim.log")


def _open():
    # Opened on first use so that a program that never hits a problem never
    # touches the file system on our behalf.
    global _file, _open_failed
    if _file is None and not _open_failed:
        try:
            path = log_path()
            os.makedirs(os.path.dirname(path), exist_ok=True)
            _file = open(path, "a", encoding="utf-8", errors="backslashreplace")
        except Exception:
            _open_failed = True
    return _file


def log(message, exc_info=False):
    """Append one line (and the current exception's traceback if exc_info)."""
    try:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        text = "%s pid=%d %s\n" % (stamp, os.getpid(), message)
        if exc_info:
            import traceback  # here: it costs start-up time and most runs log no error

            text += traceback.format_exc()
        with _lock:
            f = _open()
            if f is not None:
                f.write(text)
                f.flush()
    except Exception:
        pass


def warn_once(line, key=None):
    """Print ``aco: line`` on the real stderr, at most once per key (default:
    the line itself), and log it. The real stderr because the program may have
    swapped sys.stderr for a buffer it inspects."""
    key = line if key is None else key
    with _lock:
        if key in _warned:
            return
        _warned.add(key)
    log("warning: " + line)
    try:
        stream = sys.__stderr__
        if stream is not None:
            stream.write("aco: %s\n" % line)
            stream.flush()
    except Exception:
        pass
