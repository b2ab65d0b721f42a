"""Which run the code executing right now belongs to.

The run is kept in a context variable, so each asyncio task (which copies the
context it was created in) and each thread has its own. Outside any
aco.launch() block the answer is the process's top-level run.

Threads do not inherit context variables, so a thread started inside a subrun
would fall back to the top-level run. The first time a subrun starts we hook
the two places threads pick up work, and carry only this one variable over
(copying the whole context would change what the program's own context
variables look like in its threads):

- threading.Thread.start: a thread started while a subrun is current runs its
  run method (wrapped on the instance) in a fresh context holding the run.
  Threads started outside subruns are left as they are.
- concurrent.futures.ThreadPoolExecutor.submit: pool threads are reused across
  subruns, so the run is carried per task, not per thread; a task submitted
  inside a subrun runs in a fresh context holding the run, so context
  variables it sets do not leak into the worker's later tasks. This also
  covers loop.run_in_executor; asyncio.to_thread already copies the context.

Both hooks run the work through Context.run, which is C code, so aco adds no
frames to the program's tracebacks.
"""

import contextvars
from _functools import partial  # functools' own; functools would load collections
import _thread
import sys

from aco import _log, client

_run_id = contextvars.ContextVar("aco_run_id", default=None)

_hooks_lock = _thread.allocate_lock()
_hooked = False


def current_run_id():
    """The run the calling code belongs to, or None when nothing is recorded."""
    rid = _run_id.get()
    if rid is not None:
        return rid
    c = client.get()
    return c.run_id if c is not None else None


class launch:
    """``with aco.launch(name):`` (or ``async with``) records the block as a
    subrun of the current run. The block runs unchanged whatever happens to
    recording, and exceptions leave it untouched. ``as`` gives the subrun's id,
    or None when nothing is recorded. Use one instance per block."""

    def __init__(self, name):
        self.name = str(name)
        self.run_id = None
        self._token = None

    def __enter__(self):
        try:
            self._start()
        except Exception:
            _log.log("subrun %r not recorded" % self.name, exc_info=True)
        return self.run_id

    def __exit__(self, exc_type, exc, tb):
        if self._token is None:
            return False
        try:
            _run_id.reset(self._token)
        except ValueError:
            # Exited in another context than entered (e.g. a generator
            # resumed elsewhere): nothing to restore there.
            pass
        self._token = None
        c = client.get()
        if c is not None:
            c.send({
                "type": "subrun_end",
                "run_id": self.run_id,
                "status": "finished" if exc_type is None else "crashed",
            })
        return False

    async def __aenter__(self):
        return self.__enter__()

    async def __aexit__(self, exc_type, exc, tb):
        return self.__exit__(exc_type, exc, tb)

    def _start(self):
        c = client.get()
        if c is None:
            return
        parent = current_run_id()
        try:
            answer = c.request({"type": "subrun_start", "parent": parent, "name": self.name})
        except client.ClientError as e:
            _log.log("subrun %r not recorded: %s" % (self.name, e))
            return
        _install_thread_hooks()
        self.run_id = answer["run_id"]
        c.note_run(self.run_id, answer.get("execution"))
        self._token = _run_id.set(self.run_id)


def _install_thread_hooks():
    global _hooked
    with _hooks_lock:
        if _hooked:
            return
        _hooked = True
    try:
        _hook_thread_start()
    except Exception:
        _log.log("threads started in subruns will count for the top-level run", exc_info=True)
    try:
        _hook_thread_pool()
    except Exception:
        _log.log("thread pool tasks in subruns will count for the top-level run", exc_info=True)


def _context_for(rid):
    # A fresh context holding only the run: what a new thread would start
    # with, plus the run. Running through Context.run (C code) also keeps
    # aco out of the tracebacks of whatever fails inside.
    ctx = contextvars.Context()
    ctx.run(_run_id.set, rid)
    return ctx


def _hook_thread_start():
    import threading  # here: a program without subruns need not load it

    original = threading.Thread.start

    def start(self):
        rid = _run_id.get()
        if rid is not None and not _is_pool_worker(self):
            try:
                self.run = partial(_context_for(rid).run, self.run)
            except Exception:
                _log.log("cannot carry the subrun into thread %r" % self.name)
        return original(self)

    start.__wrapped__ = original
    start.__doc__ = original.__doc__
    threading.Thread.start = start


def _is_pool_worker(thread):
    # Pool workers are reused across subruns; their tasks carry the run.
    cf_thread = sys.modules.get("concurrent.futures.thread")
    return cf_thread is not None and getattr(thread, "_target", None) is getattr(cf_thread, "_worker", False)


def _hook_thread_pool():
    # Imported here, not at module level: only programs that use subruns pay
    # for it, and concurrent.futures is stdlib so it is always there.
    from concurrent.futures import thread as cf_thread

    original = cf_thread.ThreadPoolExecutor.submit

    def submit(self, fn, /, *args, **kwargs):
        rid = _run_id.get()
        if rid is None:
            return original(self, fn, *args, **kwargs)
        return original(self, _context_for(rid).run, fn, *args, **kwargs)

    submit.__wrapped__ = original
    submit.__doc__ = original.__doc__
    cf_thread.ThreadPoolExecutor.submit = submit
