"""wrap, get_origins, untaint and is_tainted over any value.

How each kind of value is treated is decided once per type (a dict look-up
afterwards), so plain values cost a type check.
"""

import _thread
from itertools import chain, islice

from aco.taint import proxy, wrappers
from aco.taint.wrappers import EMPTY, TAINTED_TYPES, intern, merge

# Values that never carry origins and are never wrapped: get_origins and
# untaint return at once.
PLAIN = frozenset((str, bytes, int, float, bool, type(None), complex, bytearray, range))

_PLAIN_SUPERSET = PLAIN.issuperset

# How far get_origins and untaint look into containers: DEPTH levels of
# nesting and BUDGET values in all per call. Past the bound, elements count
# as untainted and are passed on as they are (still str, bytes... to any
# isinstance check). An LLM request (messages, tools) fits well within it.
DEPTH = 12
BUDGET = 4096

# How far wrap() goes into a container it taints in place.
WRAP_BUDGET = 10000

_SCALAR, _TAINTED, _LIST, _TUPLE, _NAMEDTUPLE, _DICT, _SET, _MODEL, _PROXYABLE, _OPAQUE = range(10)

_kinds = {}
_kinds_lock = _thread.allocate_lock()

# Containers wrap() may change in place: their item assignment is the
# built-in one, with no side effects a subclass could attach to it.
_MUTABLE_OK = set()


def _kind(t):
    k = _kinds.get(t)
    if k is None:
        k = _classify(t)
        with _kinds_lock:
            _kinds[t] = k
    return k


def _classify(t):
    try:
        if t in (str, bytes, int, float):
            return _SCALAR
        if t in TAINTED_TYPES:
            return _TAINTED
        if issubclass(t, type) or issubclass(t, BaseException):
            return _OPAQUE
        if issubclass(t, (list, dict)):
            if t in (list, dict) or (t.__module__, t.__name__) in (
                ("collections", "OrderedDict"),
                ("collections", "defaultdict"),
            ):
                _MUTABLE_OK.add(t)
            return _LIST if issubclass(t, list) else _DICT
        if t is tuple:
            return _TUPLE
        if issubclass(t, tuple):
            return _NAMEDTUPLE if hasattr(t, "_make") and hasattr(t, "_fields") else _OPAQUE
        if issubclass(t, (set, frozenset)):
            return _SET
        if getattr(t, "__pydantic_fields__", None) is not None and hasattr(t, "model_dump"):
            return _MODEL
        if getattr(t, "__dataclass_fields__", None) is not None:
            return _MODEL
        if proxy.proxyable(t):
            return _PROXYABLE
    except Exception:
        pass
    return _OPAQUE


# --- get_origins ----------------------------------------------------------


def get_origins(value):
    """The node ids value derives from, as a frozenset (EMPTY if none)."""
    t = type(value)
    if t in PLAIN:
        return EMPTY
    if t in TAINTED_TYPES:
        return value._aco_origins
    if not wrappers.active:
        return EMPTY
    budget = [BUDGET]
    return _origins(value, DEPTH, budget)


def is_tainted(value):
    """Whether value (or, within the bounds above, anything in it) has origins."""
    t = type(value)
    if t in PLAIN:
        return False
    if t in TAINTED_TYPES:
        return bool(value._aco_origins)
    return bool(get_origins(value))


def _children(v, k):
    # Children as one iterable made in C: no generator frame per container.
    if k == _DICT:
        return chain(v, v.values()), 2 * len(v)
    if k == _MODEL:
        d = getattr(v, "__dict__", None)
        extra = getattr(v, "__pydantic_extra__", None)
        d = d.values() if type(d) is dict else ()
        extra = extra.values() if type(extra) is dict else ()
        return chain(d, extra), len(d) + len(extra)
    return v, len(v)


def _all_plain(v, k):
    # The common case checked in C: a container of plain values only.
    if k == _DICT:
        return _PLAIN_SUPERSET(map(type, v.values())) and _PLAIN_SUPERSET(map(type, v))
    return k != _MODEL and _PLAIN_SUPERSET(map(type, v))


def _origins(v, depth, budget):
    t = type(v)
    if t in PLAIN:
        return EMPTY
    if t in TAINTED_TYPES:
        return v._aco_origins
    k = _kind(t)
    if k < _LIST or k > _MODEL or depth <= 0 or budget[0] <= 0:
        return EMPTY
    found = EMPTY
    try:
        if _all_plain(v, k):
            budget[0] -= len(v)
            return EMPTY
        items, n = _children(v, k)
        # The budget is charged a container at a time; only the last one
        # looked at is cut short.
        budget[0] -= n
        if budget[0] < 0:
            items = islice(items, n + budget[0])
        for x in items:
            tx = type(x)
            if tx in PLAIN:
                continue
            if tx is dict:
                # Inlined for the common nested case (a message dict).
                if _PLAIN_SUPERSET(map(type, x.values())) and _PLAIN_SUPERSET(map(type, x)):
                    budget[0] -= len(x)
                    continue
            o = x._aco_origins if tx in TAINTED_TYPES else _origins(x, depth - 1, budget)
            if o:
                found = merge(found, o)
    except Exception:
        # A container changed size under us (another thread): what was seen
        # is the answer; looking must never break the program.
        pass
    return found


# --- untaint ---------------------------------------------------------------


def untaint(value):
    """value without wrappers: scalars as their plain type, proxies as their
    object, containers holding wrappers as plain copies. A value with nothing
    tainted in it is returned itself, so identity checks keep working.
    pydantic models and dataclasses are returned themselves (their tainted
    fields are str subclasses, which pydantic and json accept)."""
    t = type(value)
    if t in PLAIN:
        return value
    if t in TAINTED_TYPES:
        return _plain(value, t)
    if not wrappers.active:
        return value
    return _untaint(value, DEPTH, [BUDGET])


def _plain(v, t):
    if t is wrappers.TaintStr:
        return str.__str__(v)
    if t is wrappers.TaintInt:
        return int(v)
    if t is wrappers.TaintFloat:
        return float(v)
    if t is wrappers.TaintBytes:
        return bytes.__bytes__(v) if hasattr(bytes, "__bytes__") else bytes(bytearray(v))
    return proxy.target_of(v)


def _untaint(v, depth, budget):
    t = type(v)
    if t in PLAIN:
        return v
    if t in TAINTED_TYPES:
        return _plain(v, t)
    k = _kind(t)
    if k < _LIST or k >= _MODEL or depth <= 0:
        return v
    try:
        if _all_plain(v, k):
            budget[0] -= len(v)
            return v
        if k == _DICT:
            items = list(v.items())
            out = []
            changed = False
            for key, x in items:
                budget[0] -= 2
                if budget[0] < 0:
                    out.append((key, x))
                    continue
                pk, px = _untaint(key, depth - 1, budget), _untaint(x, depth - 1, budget)
                changed = changed or pk is not key or px is not x
                out.append((pk, px))
            if not changed:
                return v
            if t is dict:
                return dict(out)
            import copy

            c = copy.copy(v)
            c.clear()
            c.update(out)
            return c
        items = list(v)
        out = []
        changed = False
        for x in items:
            budget[0] -= 1
            if budget[0] < 0:
                out.append(x)
                continue
            px = _untaint(x, depth - 1, budget)
            changed = changed or px is not x
            out.append(px)
        if not changed:
            return v
        if t in (list, tuple, set, frozenset):
            return t(out)
        if k == _NAMEDTUPLE:
            return t._make(out)
        import copy

        c = copy.copy(v)
        if k == _LIST:
            c[:] = out
        else:
            c.clear()
            c.update(out)
        return c
    except Exception:
        return v


# --- wrap ------------------------------------------------------------------


# The scalars wrap() taints: all of them, or (for SDK responses, whose
# numbers are counts and indices rather than content) the text only.
ALL_SCALARS = frozenset((str, bytes, int, float))
TEXT = frozenset((str, bytes))


def wrap(value, origins, budget=WRAP_BUDGET, scalars=ALL_SCALARS):
    """value carrying origins (an iterable of node ids); see the package doc
    for what each kind of value becomes."""
    o = intern(origins)
    if not o:
        return value
    t = type(value)
    if t in TAINTED_TYPES:
        return _rewrap(value, o)
    if t is str:
        return wrappers.make_str(value, o)
    k = _kind(t)
    if k == _OPAQUE or (k == _SCALAR and t not in scalars):
        return value
    return _wrap(value, k, o, DEPTH, [budget], scalars)


def _rewrap(v, o):
    m = merge(v._aco_origins, o)
    return v if m is v._aco_origins else v._aco_with(m)


def _wrap_item(x, o, depth, budget, scalars):
    budget[0] -= 1
    if budget[0] < 0:
        return x
    t = type(x)
    if t is str:
        return wrappers.make_str(x, o)
    if t in TAINTED_TYPES:
        return _rewrap(x, o)
    if t is bool or x is None:
        return x
    k = _kind(t)
    if k == _OPAQUE or depth <= 0 or (k == _SCALAR and t not in scalars):
        return x
    return _wrap(x, k, o, depth, budget, scalars)


def _wrap(v, k, o, depth, budget, scalars):
    if k == _SCALAR:
        t = type(v)
        if t is int:
            return wrappers.make_int(v, o)
        if t is float:
            return wrappers.make_float(v, o)
        if t is bytes:
            return wrappers.make_bytes(v, o)
        return wrappers.make_str(v, o)
    if k == _PROXYABLE:
        return proxy.make(v, o)
    d = depth - 1
    try:
        if k == _LIST:
            if type(v) in _MUTABLE_OK:
                for i, x in enumerate(list(v)):
                    if budget[0] <= 0:
                        break
                    nx = _wrap_item(x, o, d, budget, scalars)
                    if nx is not x:
                        v[i] = nx
            return v
        if k == _DICT:
            if type(v) in _MUTABLE_OK:
                changes = []
                for key, x in list(v.items()):
                    if budget[0] <= 0:
                        break
                    nx = _wrap_item(x, o, d, budget, scalars)
                    if nx is not x:
                        changes.append((key, nx))
                for key, nx in changes:
                    v[key] = nx
            return v
        if k == _TUPLE or k == _NAMEDTUPLE:
            out = [_wrap_item(x, o, d, budget, scalars) for x in v]
            return tuple(out) if k == _TUPLE else type(v)._make(out)
        if k == _SET:
            if type(v) is frozenset:
                return frozenset(_wrap_item(x, o, d, budget, scalars) for x in v)
            return v
        if k == _MODEL:
            _wrap_fields(v, o, d, budget, scalars)
            return v
    except Exception:
        from aco import _log

        _log.log("taint: wrapping a %s failed; left as it was" % type(v).__name__, exc_info=True)
    return v


def _wrap_fields(v, o, depth, budget, scalars):
    # Written into __dict__ directly: the values are equal to what is there,
    # and going through __setattr__ would run validators or hit frozen models.
    for d in (getattr(v, "__dict__", None), getattr(v, "__pydantic_extra__", None)):
        if type(d) is not dict:
            continue
        changes = []
        for key, x in list(d.items()):
            if budget[0] <= 0:
                return
            nx = _wrap_item(x, o, depth, budget, scalars)
            if nx is not x:
                changes.append((key, nx))
        for key, nx in changes:
            d[key] = nx
