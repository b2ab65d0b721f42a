"""What rewritten modules call at run time (as ``_@aco.prep`` and friends).

Each helper has a fast path for values that cannot be tainted (exact builtin
scalars, flat lists and tuples of them) that asks nothing of aco.taint, and
only then a slow path that does. aco.taint is imported on first need; without
it (or if it fails) values pass through untouched, which is plain python.

Nothing here may change what the program sees: exceptions raised by the
program's own callees propagate as they are, and an internal error is logged
once and the operation done plainly.
"""

import io
import os
import sys
import _thread

# functools.partial itself (functools imports it from here). What this
# module needs of functools, types and re comes without importing them:
# every rewritten program loads this module, and those three (with
# collections and enum behind them) would cost it milliseconds of start-up.
from _functools import partial as _partial


class _Bound:
    def method(self):
        pass


# A bound method is a cheaper partial for one argument: calling it calls
# func(a) with no frame between, and it costs half a partial to make.
# It refuses a None "self" and a func that is not callable (TypeError).
_method = type(_Bound().method)  # types.MethodType

# Types whose instances never carry taint: the wrappers are subclasses.
_PLAIN = frozenset({str, int, float, bool, type(None), bytes, complex})

# Results wrapped when arguments were tainted: the exact types aco.taint has
# transparent wrappers for (and str/bytes subclasses, which may already be
# wrappers), and regex matches, whose groups are the commonest way text out
# of an LLM is picked apart. Everything else (iterators, coroutines, exceptions, classes,
# arbitrary objects) is returned as it is: a proxy there could change what
# the program does, and never changing that matters more than an edge.
_WRAPPABLE = frozenset({str, bytes, int, float, list, dict, tuple})


def _match_type():
    # re.Match, once the program has loaded re: before, no match exists.
    re = sys.modules.get("re")
    return getattr(re, "Match", None) if re is not None else None


def _generator():
    yield


async def _coroutine():
    pass


async def _async_generator():
    yield


def _never_inspect():
    # types.GeneratorType, CoroutineType and AsyncGeneratorType.
    coroutine = _coroutine()
    coroutine.close()  # never awaited, and no warning says so
    return (type(_generator()), type(coroutine), type(_async_generator()))


# Arguments get_origins must not be handed: looking inside would consume them.
_NEVER_INSPECT = _never_inspect()

_taint = None
_taint_lock = _thread.allocate_lock()
_roots = None
_user_code = {}
_user_code_lock = _thread.allocate_lock()


def _taint_module():
    """aco.taint, or False when it is not available."""
    global _taint
    t = _taint
    if t is None:
        with _taint_lock:
            if _taint is None:
                try:
                    import aco.taint as t

                    _taint = t
                except Exception:
                    from aco import _log

                    _log.log("aco.rewrite: aco.taint unavailable; rewritten code runs untracked", exc_info=True)
                    _taint = False
            t = _taint
    return t


def _disable(what):
    """An internal failure: log it once and stop tracking, never raise."""
    global _taint
    _taint = False
    try:
        from aco import _log

        _log.log("aco.rewrite: %s failed; taint tracking off for this process" % what, exc_info=True)
    except Exception:
        pass


def set_project_roots(roots):
    """The directories whose code is the user's (calls into it keep their
    arguments as they are). Defaults to $ACO_PROJECT_ROOTS (os.pathsep-separated)."""
    global _roots
    with _user_code_lock:
        from aco.rewrite import paths

        _roots = paths.normalize_roots(roots)
        _user_code.clear()


def _project_roots():
    if _roots is None:
        env = os.environ.get("ACO_PROJECT_ROOTS", "")
        set_project_roots(env.split(os.pathsep) if env else [])
    return _roots


def is_user_file(filename):
    """Whether filename is under a project root and not in an excluded place."""
    from aco.rewrite import paths

    return paths.is_user_file(filename, _project_roots())


def _is_user_callable(func):
    """Whether func's code is the user's own, judged by the file its code
    object comes from; cached per file name."""
    f = func
    for _ in range(3):
        inner = getattr(f, "__func__", None)  # bound methods, classmethods
        if inner is None:
            break
        f = inner
    code = getattr(f, "__code__", None)
    if code is not None:
        filename = code.co_filename
    else:
        # A class or another callable object: where its class was defined.
        cls = f if isinstance(f, type) else type(f)
        mod = sys.modules.get(getattr(cls, "__module__", None) or "")
        filename = getattr(mod, "__file__", None)
        if not filename:
            return False
    known = _user_code.get(filename)
    if known is None:
        # aco's own API (aco.get_taint_origins, aco.log …) must see the
        # program's values as they are, taint included, like user code.
        known = is_user_file(filename) or os.path.realpath(filename).startswith(_aco_dir())
        _user_code[filename] = known
    return known


_aco_dir_cache = None


def _aco_dir():
    global _aco_dir_cache
    if _aco_dir_cache is None:
        import aco

        _aco_dir_cache = os.path.join(os.path.realpath(os.path.dirname(aco.__file__)), "")
    return _aco_dir_cache


def _stores(func):
    """Whether func is a method of a container or queue, which keeps its
    arguments: they go in as they are, so that what the program later takes
    out (``results.append(answer)``, ``q.put(answer)``) still carries its
    origins."""
    owner = getattr(func, "__self__", None)
    if owner is None or isinstance(owner, type):
        return False
    global _STORES
    if _STORES is None:
        import asyncio
        import collections.abc
        import queue

        _STORES = (
            list,
            dict,
            set,
            collections.deque,
            collections.abc.MutableSequence,
            collections.abc.MutableMapping,
            collections.abc.MutableSet,
            queue.Queue,
            queue.SimpleQueue,
            asyncio.Queue,
        )
    return isinstance(owner, _STORES)


_STORES = None


def _flat_plain(a):
    t = type(a)
    if t in _PLAIN:
        return True
    if t is list or t is tuple:
        return _PLAIN.issuperset(map(type, a))
    if t is dict:
        return _PLAIN.issuperset(map(type, a.values())) and _PLAIN.issuperset(map(type, a))
    return False


def _origins_of(taint, values):
    origins = set()
    for v in values:
        if _flat_plain(v) or isinstance(v, _NEVER_INSPECT):
            continue
        o = taint.get_origins(v)
        if o:
            origins.update(o)
    return origins


def _untaint_arg(taint, a):
    u = taint.untaint(a)
    # A mutable container goes in as itself: the callee may change it in
    # place (list.append, random.shuffle, dict.update) and the caller must
    # see the change on its own object, not on a plain copy.
    if u is not a and isinstance(a, (list, dict, set, bytearray)):
        return a
    return u


def _taint_result(taint, result, origins):
    t = type(result)
    if t not in _WRAPPABLE and not isinstance(result, (str, bytes)) and t is not _match_type():
        return result
    have = taint.get_origins(result)
    if have and origins.issubset(have):
        return result
    return taint.wrap(result, frozenset(origins).union(have or ()))


def _call_tainting(func, origins, args, kwargs):
    result = func(*args, **kwargs)
    try:
        taint = _taint
        return _taint_result(taint, result, origins) if taint else result
    except Exception:
        _disable("tainting a call's result")
        return result


def prep(func, /, *args, **kwargs):
    """``f(a, k=b)`` is rewritten to ``prep(f, a, k=b)()``: the caller's
    frame makes the call, so no helper frame sits between it and f. Returns
    f bound to its arguments, untainted ones and a tainting call when any is
    tainted and f is not the user's own code."""
    for a in args:
        t = type(a)
        if t in _PLAIN or ((t is list or t is tuple) and _PLAIN.issuperset(map(type, a))):
            continue
        break
    else:
        if not kwargs or _PLAIN.issuperset(map(type, kwargs.values())):
            # Inline rather than through _bind: this is the path nearly every
            # call takes, and a Python call costs as much as the rest of it.
            try:
                return _partial(func, *args, **kwargs)
            except TypeError:
                if not callable(func):
                    return func
                raise
    taint = _taint if _taint is not None else _taint_module()
    if not taint:
        return _bind(func, args, kwargs)
    try:
        origins = _origins_of(taint, args)
        if kwargs:
            origins.update(_origins_of(taint, kwargs.values()))
        if not origins and args and _is_json_load(func):
            origins = _files_origins(args[0])
        if not origins or _is_user_callable(func) or _stores(func):
            return _bind(func, args, kwargs)
        _note_file_write(func, args, kwargs, origins)
        uargs = tuple(_untaint_arg(taint, a) for a in args)
        ukwargs = {k: _untaint_arg(taint, v) for k, v in kwargs.items()}
    except Exception:
        _disable("preparing a call")
        return _bind(func, args, kwargs)
    if not callable(func):
        return func
    return _partial(_call_tainting, func, origins, uargs, ukwargs)


# Positional calls of one to three arguments (most calls) get helpers of
# their own arity: no tuple packing, no loop, half the cost of prep's fast
# path. Anything unusual goes on to prep.


def prep1(func, a, /):
    if type(a) in _PLAIN:
        try:
            return _method(func, a)
        except TypeError:
            pass
    return prep(func, a)


def prep2(func, a, b, /):
    if type(a) in _PLAIN and type(b) in _PLAIN:
        try:
            return _partial(func, a, b)
        except TypeError:
            pass
    return prep(func, a, b)


def prep3(func, a, b, c, /):
    if type(a) in _PLAIN and type(b) in _PLAIN and type(c) in _PLAIN:
        try:
            return _partial(func, a, b, c)
        except TypeError:
            pass
    return prep(func, a, b, c)


def _bind(func, args, kwargs):
    try:
        return _partial(func, *args, **kwargs)
    except TypeError:
        if not callable(func):
            # Called with no arguments, it raises what f(...) would have:
            # "'X' object is not callable".
            return func
        raise


def fstring(fmt, *values):
    """An f-string, as the equivalent str.format template and its values."""
    for v in values:
        if type(v) not in _PLAIN:
            break
    else:
        return fmt.format(*values)
    taint = _taint if _taint is not None else _taint_module()
    if not taint:
        return fmt.format(*values)
    try:
        origins = _origins_of(taint, values)
        if origins:
            values = [taint.untaint(v) for v in values]
    except Exception:
        _disable("an f-string")
        return fmt.format(*values)
    result = fmt.format(*values)
    if not origins:
        return result
    try:
        return taint.wrap(result, frozenset(origins))
    except Exception:
        _disable("tainting an f-string")
        return result


# f-strings of one to three fields (most of them), as prep1-3 are to prep.


def fstring1(fmt, a, /):
    if type(a) in _PLAIN:
        return fmt.format(a)
    return fstring(fmt, a)


def fstring2(fmt, a, b, /):
    if type(a) in _PLAIN and type(b) in _PLAIN:
        return fmt.format(a, b)
    return fstring(fmt, a, b)


def fstring3(fmt, a, b, c, /):
    if type(a) in _PLAIN and type(b) in _PLAIN and type(c) in _PLAIN:
        return fmt.format(a, b, c)
    return fstring(fmt, a, b, c)


def modargs(args):
    """The right operand of ``"literal" % args``: args itself unless tainted,
    else a str-subclass marker whose ``__rmod__`` python calls first (a
    subclass's reflected method wins) to format and taint."""
    t = type(args)
    if t is tuple:
        for a in args:
            if type(a) not in _PLAIN:
                return _modargs_slow(args, t)
        return args
    if t in _PLAIN:
        return args
    return _modargs_slow(args, t)


def _modargs_slow(args, t):
    taint = _taint if _taint is not None else _taint_module()
    if not taint:
        return args
    try:
        if t is dict:
            origins = _origins_of(taint, args.values())
        elif t is tuple:
            origins = _origins_of(taint, args)
        else:
            origins = _origins_of(taint, (args,))
    except Exception:
        _disable("a % format")
        return args
    if not origins:
        return args
    return _TaintedModArgs(args, origins)


class _TaintedModArgs(str):
    """Empty text carrying the real operand; lives only until the % that
    consumes it."""

    def __new__(cls, args, origins):
        self = str.__new__(cls)
        self.args = args
        self.origins = origins
        return self

    def __rmod__(self, fmt):
        args, origins = self.args, self.origins
        taint = _taint
        try:
            if type(args) is tuple:
                plain = tuple(taint.untaint(a) for a in args)
            else:
                plain = taint.untaint(args)
        except Exception:
            _disable("untainting % arguments")
            return fmt % args
        result = fmt % plain
        try:
            return taint.wrap(result, frozenset(origins))
        except Exception:
            _disable("tainting a % format")
            return result


# Origins of what callees drew from generator arguments, per thread, for
# ``after(mark(), f(seen(e) for x in xs))``. mark() notes where a call's
# records start; seen() appends the origins of each tainted element as the
# callee draws it; after() takes the records from its mark on. Nested calls
# in an element take their own records off the end before the outer seen()
# adds the element's, so each call sees exactly what it drew. A call that
# raises leaves its records for the enclosing after() (over-tainting only),
# and the list is capped so a generator drained outside any call cannot
# grow it without bound.
_drawn = _thread._local()
_DRAWN_MAX = 4096


def mark():
    d = getattr(_drawn, "records", None)
    return len(d) if d else 0


def seen(value):
    """value, unchanged; its origins noted for the call drawing it."""
    if type(value) in _PLAIN:
        return value
    taint = _taint if _taint is not None else _taint_module()
    if not taint:
        return value
    try:
        if _flat_plain(value) or isinstance(value, _NEVER_INSPECT):
            return value
        o = taint.get_origins(value)
        if o:
            d = getattr(_drawn, "records", None)
            if d is None:
                d = _drawn.records = []
            elif len(d) >= _DRAWN_MAX:
                d.clear()
            d.append(o)
    except Exception:
        _disable("noting a generator's element")
    return value


def after(token, result):
    """result, tainted with the origins of the elements drawn since token."""
    d = getattr(_drawn, "records", None)
    if not d or len(d) <= token:
        return result
    try:
        origins = set().union(*d[token:])
        del d[token:]
        taint = _taint
        return _taint_result(taint, result, origins) if taint else result
    except Exception:
        _disable("tainting a result drawn from a generator")
        return result


# --- taint through files (aco.taint.files) ----------------------------------

_files = None


def _files_module():
    """aco.taint.files when the program is recorded, else False."""
    global _files
    if _files is None:
        try:
            from aco.taint import files

            _files = files if files.enabled() else False
        except Exception:
            _files = False
            from aco import _log

            _log.log("aco.rewrite: taint through files unavailable", exc_info=True)
    return _files


def _path_of(owner):
    """The path a file object or pathlib path names, else None."""
    if isinstance(owner, io.IOBase):
        name = getattr(owner, "name", None)
        return name if isinstance(name, str) else None
    pathlib = sys.modules.get("pathlib")
    if pathlib is not None and isinstance(owner, pathlib.PurePath):
        return owner
    return None


def _is_json_load(func):
    return getattr(func, "__name__", None) == "load" and getattr(func, "__module__", None) == "json"


def _files_origins(fp):
    files = _files if _files is not None else _files_module()
    if not files:
        return ()
    path = _path_of(fp)
    try:
        if path is None or (isinstance(fp, io.IOBase) and fp.tell() != 0):
            return ()
    except (OSError, ValueError):
        return ()
    return set(files.origins_for(path))


def _note_file_write(func, args, kwargs, origins):
    """Tainted text going into a file: tell aco.taint.files which."""
    name = getattr(func, "__name__", None)
    if name in ("write", "writelines", "write_text", "write_bytes"):
        path = _path_of(getattr(func, "__self__", None))
    elif name == "dump" and getattr(func, "__module__", None) == "json":
        fp = args[1] if len(args) > 1 else kwargs.get("fp")
        path = _path_of(fp)
    else:
        return
    if path is None:
        return
    files = _files if _files is not None else _files_module()
    if files:
        files.note_write(path, origins)


def reading(method):
    """``x.read()`` (and readlines, read_text, read_bytes) is rewritten to
    ``reading(x.read)()``: the method itself, for the caller's frame to
    call, unless it reads a whole file under the project roots that tainted
    text was written into; then a call whose result carries that taint."""
    files = _files if _files is not None else _files_module()
    if not files:
        return method
    try:
        origins = _files_origins(getattr(method, "__self__", None))
        if not origins:
            return method
        if not (_taint if _taint is not None else _taint_module()):
            return method
    except Exception:
        _disable("looking up a file's taint")
        return method
    return _partial(_call_tainting, method, origins, (), {})


# What the slow paths above need is loaded with this module, before the
# program's code runs, not at the first value that might be tainted: an
# import in the middle of the program adds to sys.modules, and a program
# holding an iterator over sys.modules (a generator expression's is made
# before the call it is passed to) would fail with "dictionary changed size
# during iteration", which it never does under python.
_taint_module()
_files_module()

