"""aco: record a program's LLM calls while it runs as under plain python.

``aco-launch agent.py`` runs the program through ``aco.runner``; the program
itself only needs this module for named subruns and log entries::

    import aco
    with aco.launch("sample 3"):
        ...
    aco.log("answer was right", success=True)

Importing aco does no work: the functions load what they need when called,
and each is a cheap no-op when nothing is recorded (ACO_DISABLE=1, no server,
or plain python).
"""

__all__ = ["launch", "log", "taint_wrap", "get_taint_origins", "untaint_if_needed"]


def launch(name):
    """A context manager (``with`` or ``async with``) recording its block as a
    subrun named `name` of the current run; ``as`` gives the subrun id or None."""
    from aco.context import launch as _launch

    return _launch(name)


def log(entry, success=None):
    """Add `entry` (and, if given, whether it counts as a success) to the
    current run's log. Never raises."""
    try:
        from aco import client, context

        c = client.get()
        if c is None:
            return
        msg = {"type": "log", "run_id": context.current_run_id(), "entry": str(entry)}
        if success is not None:
            msg["success"] = bool(success)
        c.send(msg)
    except Exception:
        from aco import _log

        _log.log("aco.log failed", exc_info=True)


# Taint tracking (which LLM outputs flowed into a value): see aco.taint,
# imported on first use so that `import aco` stays cheap.


def taint_wrap(obj, taint_origin=None, **_):
    """obj marked as derived from the LLM call id(s) taint_origin (one id or
    an iterable of ids); obj itself when there are none. Never raises."""
    if taint_origin is None:
        return obj
    if isinstance(taint_origin, int):
        taint_origin = str(taint_origin)
    try:
        from aco import taint

        return taint.wrap(obj, taint_origin)
    except Exception:
        from aco import _log

        _log.log("aco.taint_wrap failed", exc_info=True)
        return obj


def get_taint_origins(obj):
    """The LLM call ids obj derives from, as a sorted list."""
    try:
        from aco import taint

        return sorted(taint.get_origins(obj))
    except Exception:
        from aco import _log

        _log.log("aco.get_taint_origins failed", exc_info=True)
        return []


def untaint_if_needed(obj, **_):
    """obj without taint wrappers (obj itself when nothing in it is tainted)."""
    try:
        from aco import taint

        return taint.untaint(obj)
    except Exception:
        from aco import _log

        _log.log("aco.untaint_if_needed failed", exc_info=True)
        return obj
