"""A small stand-in for aco.taint with its API (wrap, get_origins, untaint,
is_tainted), so the rewriter's tests do not depend on the real wrappers."""


class TStr(str):
    def __new__(cls, value, origins):
        self = str.__new__(cls, value)
        self.origins = frozenset(origins)
        return self

    def __add__(self, other):
        return TStr(str.__add__(self, untaint(other)), self.origins | get_origins(other))

    def __radd__(self, other):
        return TStr(str.__add__(untaint(other), str(self)), self.origins | get_origins(other))

    def upper(self):
        return TStr(str.upper(self), self.origins)


class TInt(int):
    def __new__(cls, value, origins):
        self = int.__new__(cls, value)
        self.origins = frozenset(origins)
        return self


class TList(list):
    def __init__(self, value, origins):
        list.__init__(self, value)
        self.origins = frozenset(origins)


class TDict(dict):
    def __init__(self, value, origins):
        dict.__init__(self, value)
        self.origins = frozenset(origins)


class TOpaque:
    def __init__(self, obj, origins):
        self.obj = obj
        self.origins = frozenset(origins)

    def __getattr__(self, name):
        attr = getattr(self.obj, name)
        if callable(attr):
            return lambda *a, **k: wrap(attr(*a, **k), self.origins)
        return wrap(attr, self.origins)


calls = {"get_origins": 0}


def wrap(value, origins):
    origins = frozenset(origins)
    if not origins or value is None:
        return value
    if isinstance(value, TOpaque):
        return TOpaque(value.obj, value.origins | origins)
    base = untaint(value)
    if isinstance(base, str):
        return TStr(base, origins | get_origins(value))
    if isinstance(base, bool):
        return base
    if isinstance(base, int):
        return TInt(base, origins)
    if isinstance(base, list):
        return TList(value, origins)
    if isinstance(base, dict):
        return TDict(value, origins)
    return TOpaque(base, origins)


def get_origins(value):
    calls["get_origins"] += 1
    o = getattr(value, "origins", None)
    if isinstance(o, frozenset):
        return o
    if type(value) in (list, tuple, set):
        out = frozenset()
        for v in value:
            out |= get_origins(v)
        return out
    if type(value) is dict:
        out = frozenset()
        for k, v in value.items():
            out |= get_origins(k) | get_origins(v)
        return out
    return frozenset()


def is_tainted(value):
    return bool(get_origins(value))


def untaint(value):
    if isinstance(value, TStr):
        return str.__str__(value)
    if isinstance(value, TInt):
        return int(value)
    if isinstance(value, TOpaque):
        return value.obj
    if isinstance(value, (TList, list)) and (isinstance(value, TList) or is_tainted(value)):
        return [untaint(v) for v in value]
    if type(value) is tuple and is_tainted(value):
        return tuple(untaint(v) for v in value)
    if isinstance(value, (TDict, dict)) and (isinstance(value, TDict) or is_tainted(value)):
        return {untaint(k): untaint(v) for k, v in value.items()}
    return value
