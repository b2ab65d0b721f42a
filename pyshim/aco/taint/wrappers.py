"""The scalar taint wrappers: str, bytes, int and float subclasses that carry
the node ids (origins) they derive from, and keep them through their own
operations.

Every wrapper is a real subclass, so isinstance checks, dict keys, hashing,
comparison, the json encoder and pydantic's str validation see the plain
value; comparisons and hashing are inherited unchanged (overriding them
would slow every dict look-up with a tainted key and could change results).
Results the wrappers cannot see being made (a C function building a new str
from a tainted one) come back plain: the rewriter re-taints results of calls
into third-party code, so that is where such flows are caught.

Origins are frozensets shared between values: an operation whose inputs add
nothing new hands on the very same frozenset, and wrap() interns the sets it
is given, so a million tainted characters of one response cost one set.
"""

EMPTY = frozenset()

# Values are tainted only after a recorded LLM call; until the first wrapper
# is made in this process, container walks can stop at once.
active = False

_interned = {}
_INTERN_MAX = 4096


def intern(origins):
    """The shared frozenset equal to origins (any iterable of node ids)."""
    if type(origins) is not frozenset:
        if isinstance(origins, str):
            origins = (origins,)
        origins = frozenset(origins)
    if not origins:
        return EMPTY
    shared = _interned.get(origins)
    if shared is None:
        if len(_interned) >= _INTERN_MAX:
            # Sharing is an optimisation; forgetting old sets only costs memory.
            _interned.clear()
        _interned[origins] = shared = origins
    return shared


def merge(a, b):
    """a | b, reusing a or b when one already holds the other."""
    if b is a or not b:
        return a
    if not a:
        return b
    if b <= a:
        return a
    if a <= b:
        return b
    return intern(a | b)


def origins_of(value):
    """Origins of a scalar wrapper or proxy; EMPTY for anything else (no walk)."""
    if type(value) in TAINTED_TYPES:
        return value._aco_origins
    return EMPTY


def _args_origins(origins, args, kwargs=None):
    for a in args:
        if type(a) in TAINTED_TYPES:
            origins = merge(origins, a._aco_origins)
    if kwargs:
        for a in kwargs.values():
            if type(a) in TAINTED_TYPES:
                origins = merge(origins, a._aco_origins)
    return origins


def retaint(result, origins):
    """result with origins, for the plain results of a wrapper's operation:
    str/bytes/int/float become wrappers, lists and tuples of them (split,
    partition, divmod) hold wrappers; anything else is returned as is."""
    t = type(result)
    if t is str:
        return make_str(result, origins)
    if t is int:
        return make_int(result, origins)
    if t is float:
        return make_float(result, origins)
    if t is bytes:
        return make_bytes(result, origins)
    if t is list:
        return [retaint(x, origins) for x in result]
    if t is tuple:
        return tuple(retaint(x, origins) for x in result)
    if t in TAINTED_TYPES:
        return result._aco_with(merge(result._aco_origins, origins))
    return result


def make_str(s, origins):
    global active
    active = True
    v = str.__new__(TaintStr, s)
    v._aco_origins = origins
    return v


def make_bytes(b, origins):
    global active
    active = True
    v = bytes.__new__(TaintBytes, b)
    v._aco_origins = origins
    return v


def make_int(i, origins):
    global active
    active = True
    v = int.__new__(TaintInt, i)
    v._aco_origins = origins
    return v


def make_float(f, origins):
    global active
    active = True
    v = float.__new__(TaintFloat, f)
    v._aco_origins = origins
    return v


def _method(base, name):
    f = getattr(base, name)

    def method(self, *args, **kwargs):
        r = f(self, *args, **kwargs)
        if r is NotImplemented:
            return r
        return retaint(r, _args_origins(self._aco_origins, args, kwargs))

    method.__name__ = name
    method.__qualname__ = "%s.%s" % (base.__name__, name)
    method.__doc__ = f.__doc__
    return method


def _deep_origins(origins, args, kwargs):
    # format() and % reach into containers ("{0[name]}", "%(x)s" % mapping).
    from aco.taint.values import get_origins

    for a in args:
        origins = merge(origins, get_origins(a))
    if kwargs:
        for a in kwargs.values():
            origins = merge(origins, get_origins(a))
    return origins


def _reduce_plain(plain_type, plain):
    # Pickled as the plain value: a pickle must load where aco is absent
    # (another process, a later run) and never import aco code on load.
    def __reduce_ex__(self, protocol):
        return (plain_type, (plain(self),))

    return __reduce_ex__


def _same(self, *_):
    # Immutable: a copy may be the value itself, which keeps its origins.
    return self


class TaintStr(str):
    """A str carrying the ids of the LLM calls it derives from."""

    __slots__ = ("_aco_origins",)

    def __new__(cls, value="", origins=()):
        global active
        active = True
        v = str.__new__(cls, value)
        v._aco_origins = merge(intern(origins), origins_of(value))
        return v

    def _aco_with(self, origins):
        return make_str(str.__str__(self), origins)

    def __str__(self):
        # str(x) keeps the taint; str.__str__(x) is the plain text.
        return self

    def __repr__(self):
        return make_str(str.__repr__(self), self._aco_origins)

    def __format__(self, spec):
        return make_str(str.__format__(self, spec), self._aco_origins)

    def __iter__(self):
        o = self._aco_origins
        for ch in str.__iter__(self):
            yield make_str(ch, o)

    def join(self, iterable):
        items = iterable if type(iterable) in (list, tuple) else list(iterable)
        return make_str(str.join(self, items), _args_origins(self._aco_origins, items))

    def format(self, *args, **kwargs):
        return make_str(str.format(self, *args, **kwargs), _deep_origins(self._aco_origins, args, kwargs))

    def format_map(self, mapping):
        return make_str(str.format_map(self, mapping), _deep_origins(self._aco_origins, (mapping,), None))

    def __mod__(self, args):
        r = str.__mod__(self, args)
        if r is NotImplemented:
            return r
        return make_str(r, _deep_origins(self._aco_origins, (args,), None))

    def __rmod__(self, template):
        # "%s" % tainted: Python asks the subclass first.
        if not isinstance(template, str):
            return NotImplemented
        return make_str(str.__mod__(template, self), merge(self._aco_origins, origins_of(template)))

    def __radd__(self, other):
        # "plain" + tainted: str has no __radd__, but the subclass's is tried.
        if not isinstance(other, str):
            return NotImplemented
        return make_str(str.__add__(other, self), merge(self._aco_origins, origins_of(other)))

    def encode(self, *args, **kwargs):
        return make_bytes(str.encode(self, *args, **kwargs), self._aco_origins)

    __reduce_ex__ = _reduce_plain(str, str.__str__)
    __copy__ = _same
    __deepcopy__ = _same


for _name in (
    "__add__", "__mul__", "__rmul__", "__getitem__",
    "capitalize", "casefold", "center", "expandtabs", "ljust", "lower", "lstrip",
    "partition", "removeprefix", "removesuffix", "replace", "rjust", "rpartition",
    "rsplit", "rstrip", "split", "splitlines", "strip", "swapcase", "title",
    "translate", "upper", "zfill",
):  # fmt: skip
    if hasattr(str, _name):  # removeprefix is 3.9+
        setattr(TaintStr, _name, _method(str, _name))


class TaintBytes(bytes):
    """bytes carrying the ids of the LLM calls they derive from. (bytes
    subclasses cannot have __slots__, so the origins live in __dict__.)"""

    def __new__(cls, value=b"", origins=()):
        global active
        active = True
        v = bytes.__new__(cls, value)
        v._aco_origins = merge(intern(origins), origins_of(value))
        return v

    def _aco_with(self, origins):
        return make_bytes(bytes(self), origins)

    def __iter__(self):
        o = self._aco_origins
        for b in bytes.__iter__(self):
            yield make_int(b, o)

    def join(self, iterable):
        items = iterable if type(iterable) in (list, tuple) else list(iterable)
        return make_bytes(bytes.join(self, items), _args_origins(self._aco_origins, items))

    def __mod__(self, args):
        r = bytes.__mod__(self, args)
        if r is NotImplemented:
            return r
        return make_bytes(r, _deep_origins(self._aco_origins, (args,), None))

    def __radd__(self, other):
        if not isinstance(other, (bytes, bytearray)):
            return NotImplemented
        return make_bytes(bytes(other) + bytes(self), merge(self._aco_origins, origins_of(other)))

    def decode(self, *args, **kwargs):
        return make_str(bytes.decode(self, *args, **kwargs), self._aco_origins)

    def __repr__(self):
        return make_str(bytes.__repr__(self), self._aco_origins)

    __reduce_ex__ = _reduce_plain(bytes, bytes)
    __copy__ = _same
    __deepcopy__ = _same


for _name in (
    "__add__", "__mul__", "__rmul__", "__getitem__",
    "capitalize", "center", "expandtabs", "hex", "ljust", "lower", "lstrip",
    "partition", "removeprefix", "removesuffix", "replace", "rjust", "rpartition",
    "rsplit", "rstrip", "split", "splitlines", "strip", "swapcase", "title",
    "translate", "upper", "zfill",
):  # fmt: skip
    if hasattr(bytes, _name):
        setattr(TaintBytes, _name, _method(bytes, _name))


_NUMBER_METHODS = (
    "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
    "__truediv__", "__rtruediv__", "__floordiv__", "__rfloordiv__",
    "__mod__", "__rmod__", "__divmod__", "__rdivmod__", "__pow__", "__rpow__",
    "__neg__", "__pos__", "__abs__", "__round__", "__trunc__", "__floor__", "__ceil__",
)  # fmt: skip
_INT_ONLY = (
    "__lshift__", "__rlshift__", "__rshift__", "__rrshift__", "__and__", "__rand__",
    "__or__", "__ror__", "__xor__", "__rxor__", "__invert__",
)  # fmt: skip


def _text(base):
    def __repr__(self):
        return make_str(base.__repr__(self), self._aco_origins)

    def __format__(self, spec):
        return make_str(base.__format__(self, spec), self._aco_origins)

    return __repr__, __format__


class TaintInt(int):
    """An int carrying the ids of the LLM calls it derives from. int(x) is
    the plain value; str(x) and format(x) are tainted. (int subclasses
    cannot have __slots__, so the origins live in __dict__.)"""

    def __new__(cls, value=0, origins=()):
        global active
        active = True
        v = int.__new__(cls, value)
        v._aco_origins = merge(intern(origins), origins_of(value))
        return v

    def _aco_with(self, origins):
        return make_int(int(self), origins)

    __repr__, __format__ = _text(int)
    __str__ = __repr__
    __reduce_ex__ = _reduce_plain(int, int)
    __copy__ = _same
    __deepcopy__ = _same


class TaintFloat(float):
    """A float carrying the ids of the LLM calls it derives from. float(x) is
    the plain value; str(x) and format(x) are tainted."""

    __slots__ = ("_aco_origins",)

    def __new__(cls, value=0.0, origins=()):
        global active
        active = True
        v = float.__new__(cls, value)
        v._aco_origins = merge(intern(origins), origins_of(value))
        return v

    def _aco_with(self, origins):
        return make_float(float(self), origins)

    __repr__, __format__ = _text(float)
    __str__ = __repr__
    __reduce_ex__ = _reduce_plain(float, float)
    __copy__ = _same
    __deepcopy__ = _same


for _name in _NUMBER_METHODS + _INT_ONLY:
    if hasattr(int, _name):
        setattr(TaintInt, _name, _method(int, _name))
for _name in _NUMBER_METHODS:
    if hasattr(float, _name):
        setattr(TaintFloat, _name, _method(float, _name))

# proxy.py adds its classes: every type whose instances have _aco_origins.
TAINTED_TYPES = {TaintStr, TaintBytes, TaintInt, TaintFloat}
