"""The opaque taint wrapper: a proxy for objects that are neither scalars
nor containers, made only for an allow-list of value-like types.

A proxy cannot be the object: `p is obj` is false and C code that checks
exact types rejects it. Where a program compares identities (sentinels,
singletons, registries keyed by id) a proxy would change what it does, so
wrap() proxies only types compared by value and never used as sentinels:
regex matches, datetimes, Decimal, Fraction, UUID and paths. Everything else
is returned unchanged.

Each proxied type gets its own proxy class holding exactly the special
methods the type has, so `hasattr(p, "__iter__")` and the like answer as for
the object; `p.__class__` is the object's class, so isinstance holds.
Attribute reads and method results carry the proxy's origins (`m.group(1)`
of a proxied match is a TaintStr); comparisons, hashing, truth and
conversions (len, int, float, index, fspath) give plain results.
"""

import _thread

from aco.taint import wrappers

# (module prefix, class name) of types whose instances may be proxied; the
# module is matched by prefix because pathlib moved PurePath between
# versions and datetime lives in _datetime on some builds.
_ALLOWED = {
    ("re", "Match"),
    ("datetime", "date"),
    ("datetime", "time"),
    ("datetime", "timedelta"),
    ("_datetime", "date"),
    ("_datetime", "time"),
    ("_datetime", "timedelta"),
    ("decimal", "Decimal"),
    ("_decimal", "Decimal"),
    ("_pydecimal", "Decimal"),
    ("fractions", "Fraction"),
    ("uuid", "UUID"),
    ("pathlib", "PurePath"),
    ("pathlib._local", "PurePath"),
}


def proxyable(cls):
    """Whether instances of cls may be proxied (see the module doc)."""
    try:
        return any((getattr(c, "__module__", None), c.__name__) in _ALLOWED for c in cls.__mro__)
    except Exception:
        return False


class TaintProxy:
    """Base of the per-type proxy classes; never instantiated itself."""

    __slots__ = ("_aco_target", "_aco_origins")

    def __getattribute__(self, name):
        if name in _OWN:
            return object.__getattribute__(self, name)
        target = object.__getattribute__(self, "_aco_target")
        if name == "__class__":
            return target.__class__
        value = getattr(target, name)
        return _result(value, object.__getattribute__(self, "_aco_origins"), target, self)

    def __setattr__(self, name, value):
        if name in _OWN:
            object.__setattr__(self, name, value)
        else:
            setattr(object.__getattribute__(self, "_aco_target"), name, value)

    def __delattr__(self, name):
        delattr(object.__getattribute__(self, "_aco_target"), name)

    def __dir__(self):
        return dir(object.__getattribute__(self, "_aco_target"))

    def _aco_with(self, origins):
        return make(object.__getattribute__(self, "_aco_target"), origins)

    def __reduce_ex__(self, protocol):
        # Pickled as the object itself: loading must not need aco.
        return object.__getattribute__(self, "_aco_target").__reduce_ex__(protocol)

    def __copy__(self):
        import copy

        return make(copy.copy(self._aco_target), self._aco_origins)

    def __deepcopy__(self, memo):
        import copy

        return make(copy.deepcopy(self._aco_target, memo), self._aco_origins)


_OWN = frozenset(("_aco_target", "_aco_origins", "_aco_with", "__reduce_ex__", "__copy__", "__deepcopy__"))


class BoundCall:
    """A proxied object's method: calls it and taints the result with the
    object's origins and those of the arguments."""

    __slots__ = ("_aco_fn", "_aco_origins")

    def __init__(self, fn, origins):
        self._aco_fn = fn
        self._aco_origins = origins

    def __call__(self, *args, **kwargs):
        from aco.taint.values import get_origins, untaint, wrap

        origins = self._aco_origins
        for a in args:
            origins = wrappers.merge(origins, get_origins(a))
        for a in kwargs.values():
            origins = wrappers.merge(origins, get_origins(a))
        args = tuple(untaint(a) for a in args)
        kwargs = {k: untaint(v) for k, v in kwargs.items()}
        return wrap(self._aco_fn(*args, **kwargs), origins)

    def __getattr__(self, name):
        return getattr(self._aco_fn, name)

    def __repr__(self):
        return repr(self._aco_fn)


def _result(value, origins, target, proxy):
    if value is target:
        return proxy
    if callable(value) and getattr(value, "__self__", None) is target:
        return BoundCall(value, origins)
    from aco.taint.values import wrap

    return wrap(value, origins)


# Special methods whose results the interpreter checks for exact types or
# uses as answers about the object, not as data derived from it.
_PLAIN_RESULT = frozenset((
    "__bool__", "__len__", "__hash__", "__index__", "__int__", "__float__", "__complex__",
    "__fspath__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__contains__",
    "__exit__", "__aexit__", "__length_hint__", "__sizeof__",
))  # fmt: skip

# Special methods a proxy class takes over when its type has them.
_SPECIAL = _PLAIN_RESULT | frozenset((
    "__str__", "__repr__", "__format__", "__bytes__", "__iter__", "__next__", "__reversed__",
    "__getitem__", "__setitem__", "__delitem__", "__call__", "__enter__", "__aenter__",
    "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
    "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__divmod__",
    "__rdivmod__", "__pow__", "__rpow__", "__neg__", "__pos__", "__abs__", "__round__",
    "__trunc__", "__floor__", "__ceil__", "__matmul__", "__rmatmul__",
))  # fmt: skip

# What every object has from object itself, delegated so that the proxy
# prints, formats, compares and hashes as its object.
_ALWAYS = frozenset(("__str__", "__repr__", "__format__", "__eq__", "__ne__", "__hash__"))

_classes = {}
_classes_lock = _thread.allocate_lock()


def _special(name):
    plain = name in _PLAIN_RESULT

    def method(self, *args):
        from aco.taint.values import get_origins, untaint, wrap

        target = object.__getattribute__(self, "_aco_target")
        origins = object.__getattribute__(self, "_aco_origins")
        fn = getattr(type(target), name)
        if plain:
            return fn(target, *(untaint(a) for a in args))
        for a in args:
            origins = wrappers.merge(origins, get_origins(a))
        r = fn(target, *(untaint(a) for a in args))
        if r is NotImplemented or r is target:
            return self if r is target else r
        return wrap(r, origins)

    method.__name__ = name
    return method


def _proxy_class(cls):
    pc = _classes.get(cls)
    if pc is None:
        ns = {"__slots__": ()}
        for name in _SPECIAL:
            impl = getattr(cls, name, None)
            if impl is None or (impl is getattr(object, name, None) and name not in _ALWAYS):
                continue
            ns[name] = _special(name)
        if getattr(cls, "__hash__", None) is None:
            ns["__hash__"] = None
        with _classes_lock:
            pc = _classes.get(cls)
            if pc is None:
                pc = _classes[cls] = type("TaintProxy[%s]" % cls.__name__, (TaintProxy,), ns)
                wrappers.TAINTED_TYPES.add(pc)
    return pc


def make(target, origins):
    """A proxy of target (not itself a proxy) carrying origins."""
    p = object.__new__(_proxy_class(type(target)))
    object.__setattr__(p, "_aco_target", target)
    object.__setattr__(p, "_aco_origins", origins)
    wrappers.active = True
    return p


def target_of(proxy):
    return object.__getattribute__(proxy, "_aco_target")
