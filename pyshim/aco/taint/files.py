"""Taint through files: text an LLM call produced, written into a file by
the program, carries that call's taint when it is read back, by this run
or a later one.

The rewritten code reports both ends (aco.rewrite.helpers):

- writes of tainted text through ``f.write``, ``f.writelines``,
  ``Path.write_text``/``write_bytes`` and ``json.dump``: note_write() keeps
  the file's path and origins. Only when the process is done with the file
  (it reads it back, or exits) are the file's bytes hashed and the server
  told ``file_taint{path, sha256, origins}``, so a file written in many
  pieces is hashed once, whole.
- whole-file reads (``f.read()``/``f.readlines()`` from the start,
  ``Path.read_text()``/``read_bytes()``, ``json.load(f)``): origins_for()
  hashes the file and asks the server for the origins recorded for those
  bytes at that path (``file_taint_get``); the result of the read is
  tainted with them.

Cheap by construction: nothing happens unless the program is recorded and
rewritten, only files under the project roots count, a write is only
noted when its text is tainted, and a file is hashed again only when its
size or modification time changed. Reads of part of a file (``readline``,
iteration) are not tainted: a part's bytes match no record.
"""

import atexit
import os
import _thread

from aco import _log, context
from aco.taint.wrappers import EMPTY, intern

# Whether recording is on; decided on first use (None until then).
_enabled = None
_lock = _thread.allocate_lock()
_pending = {}  # real path -> origins written since the last settle
_written = {}  # (real path, sha256) -> origins this process wrote
_known = {}  # real path -> ((mtime_ns, size), origins) of the last look-up
_exit_hooked = False
_KNOWN_MAX = 1024


def _client():
    from aco import client

    return client.get()


def enabled():
    global _enabled
    if _enabled is None:
        try:
            _enabled = _client() is not None
        except Exception:
            _enabled = False
    return _enabled


def _project_file(path):
    """path's real path when it names a file under a project root, else None."""
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str):
        path = os.fspath(path) if hasattr(path, "__fspath__") else None
        if not isinstance(path, str):
            return None
    from aco.rewrite import helpers

    real = os.path.realpath(path)
    for root in helpers._project_roots():
        if real.startswith(root):
            return real
    return None


def _hash(real):
    import hashlib  # here: most programs never write a tainted file

    h = hashlib.sha256()
    with open(real, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    st = os.stat(real)
    return h.hexdigest(), (st.st_mtime_ns, st.st_size)


def _run_id():
    return context.current_run_id()


def note_write(path, origins):
    """The program is writing text derived from origins into path."""
    global _exit_hooked
    if not origins or not enabled():
        return
    try:
        real = _project_file(path)
        if real is None:
            return
        with _lock:
            _pending[real] = intern(_pending.get(real, EMPTY) | frozenset(origins))
            hook = not _exit_hooked
            _exit_hooked = True
        if hook:
            # Registered after the runner's own exit handler, so it runs
            # first: the records reach the server before the deregister.
            atexit.register(settle)
    except Exception:
        _log.log("aco.taint.files: noting a write failed", exc_info=True)


def settle(only=None):
    """Hash the files written with taint (or just the file only) and tell
    the server what they hold."""
    with _lock:
        if only is None:
            todo = list(_pending.items())
            _pending.clear()
        elif only in _pending:
            todo = [(only, _pending.pop(only))]
        else:
            return
    c = _client()
    for real, origins in todo:
        try:
            sha, stamp = _hash(real)
        except OSError:
            continue  # removed or unreadable since: nothing to read back
        with _lock:
            _written[(real, sha)] = origins
            _known[real] = (stamp, origins)
        if c is not None:
            c.send(
                {"type": "file_taint", "run_id": _run_id(), "path": real, "sha256": sha, "origins": sorted(origins)}
            )


def origins_for(path):
    """The origins of the whole file at path as it is now: EMPTY unless
    tainted text was written into these very bytes."""
    if not enabled():
        return EMPTY
    try:
        real = _project_file(path)
        if real is None:
            return EMPTY
        if real in _pending:
            settle(real)
        st = os.stat(real)
        stamp = (st.st_mtime_ns, st.st_size)
        known = _known.get(real)
        if known is not None and known[0] == stamp:
            return known[1]
        sha, stamp = _hash(real)
        origins = _written.get((real, sha))
        if origins is None:
            origins = _ask(real, sha)
        with _lock:
            if len(_known) >= _KNOWN_MAX:
                _known.clear()
            _known[real] = (stamp, origins)
        return origins
    except OSError:
        return EMPTY
    except Exception:
        _log.log("aco.taint.files: looking up a file's taint failed", exc_info=True)
        return EMPTY


def _ask(real, sha):
    c = _client()
    if c is None:
        return EMPTY
    from aco import client

    try:
        ans = c.request({"type": "file_taint_get", "run_id": _run_id(), "path": real, "sha256": sha})
    except client.ClientError as e:
        _log.log("aco.taint.files: file_taint_get failed: %s" % e)
        return EMPTY
    return intern(ans.get("origins") or ())
