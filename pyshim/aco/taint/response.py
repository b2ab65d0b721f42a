"""Tainting an SDK's response object with the node id of its call.

The response keeps its identity and class: its string fields (numbers are
counts and indices, not content, and stay plain) (recursively,
through nested models, lists and dicts, and pydantic extras) are replaced in
place by TaintStr of the same text. pydantic serializes str subclasses as
plain strings, so model_dump_json() is byte-for-byte what it was, and
model_dump() gives equal values (its strings are the tainted ones, which is
what keeps `resp.model_dump()["output"]...` tainted).

Properties computed from the fields (openai's Response.output_text joins the
text parts with a plain "".join, which returns a plain str) cannot be reached
that way. For a model class that defines such properties, the response's
class is swapped for a subclass made once per class, with the same name,
module and fields, whose properties return their value tainted with the
origins of the model's fields; isinstance holds, pickling and == treat it
as the original class. `type(resp) is Response` becomes false for those
classes only (the openai ones: Response, ParsedResponse).
"""

import _thread

from aco.taint import values, wrappers
from aco.taint.wrappers import intern

# Responses are walked further than wrap()'s default: a long chat completion
# with logprobs has many small strings, all from the one call.
RESPONSE_BUDGET = 200000

_swaps = {}  # class -> its swap class, or None: also the swap classes themselves
_UNKNOWN = object()
_swap_classes = set()
_swaps_lock = _thread.allocate_lock()


def wrap_response(obj, node_id):
    """obj (an SDK response) with its strings carrying node_id. Never raises:
    on an internal error obj is returned as it was given."""
    return _wrap(obj, intern((node_id,)))


def tainter(node_id):
    """wrap_response(_, node_id) for the many chunks of one stream: the
    origins are made once, and each chunk is one call away. They are not
    interned: a new node's origins are not in the table yet, and making
    its entry is work before the first chunk; equal sets merge alike."""
    o = frozenset((node_id,))

    def taint(obj):
        # _wrap(obj, o) with a model class met before (every chunk of a
        # stream but the first few) taken straight to the walk: this runs
        # before the program gets each chunk.
        if type(obj) not in _swaps:
            return _wrap(obj, o)
        try:
            wrappers.active = True
            _model(obj, o, _DEPTH, [RESPONSE_BUDGET])
        except Exception:
            from aco import _log

            _log.log("taint: wrap_response failed for %s" % type(obj).__name__, exc_info=True)
        return obj

    return taint


def _wrap(obj, o):
    try:
        if not o:
            return obj
        if values._kind(type(obj)) != values._MODEL:
            return values.wrap(obj, o, RESPONSE_BUDGET, values.TEXT)
        wrappers.active = True
        _model(obj, o, _DEPTH, [RESPONSE_BUDGET])
        return obj
    except Exception:
        from aco import _log

        _log.log("taint: wrap_response failed for %s" % type(obj).__name__, exc_info=True)
        return obj


# The walk below runs on every streamed chunk, before the program sees it,
# so it is values.wrap specialised for SDK models: one pass that taints the
# strings and swaps the classes, the common types tested inline, the lists
# and dicts changed in place, and anything unusual left to values. Its cost
# is mostly Python calls, so a model of a class met before (any class in
# _swaps) and a list are walked from the loop that finds them, without
# going through _item.

_DEPTH = values.DEPTH * 2


# Types the walk leaves as they are: numbers (never tainted) and the types
# values finds opaque (enum members, say), added as they are met.
_LEAVES = {type(None), bool, int, float, complex}
_new_str = str.__new__
_new_bytes = bytes.__new__
_TaintStr = wrappers.TaintStr
_TaintBytes = wrappers.TaintBytes


def _model(m, o, depth, budget):
    sub = _swaps.get(type(m), _UNKNOWN)
    if sub is not None:  # most classes: known, and nothing to swap
        if sub is _UNKNOWN:
            sub = _swap_class(type(m))
        if sub is not None:
            object.__setattr__(m, "__class__", sub)
    try:
        d = m.__dict__
    except AttributeError:  # a dataclass with slots
        pass
    else:
        _dict(d, o, depth, budget)
    d = getattr(m, "__pydantic_extra__", None)
    if d and type(d) is dict:
        _dict(d, o, depth, budget)


def _dict(d, o, depth, budget):
    # Values of existing keys are replaced while iterating: the dict's size
    # never changes, which is all its iterator checks.
    budget[0] -= len(d)
    if budget[0] < 0:
        return
    for k, x in d.items():
        if x is None:  # most fields of an SDK model, in most responses
            continue
        t = type(x)
        if t is str:
            v = _new_str(_TaintStr, x)
            v._aco_origins = o
            d[k] = v
        elif t in _LEAVES:
            continue
        elif t in _swaps:
            if depth > 0:
                _model(x, o, depth - 1, budget)
        elif t is list:
            if depth > 0:
                _list(x, o, depth - 1, budget)
        else:
            nx = _item(x, t, o, depth, budget)
            if nx is not x:
                d[k] = nx


def _list(v, o, depth, budget):
    budget[0] -= len(v)
    if budget[0] < 0:
        return
    for i, x in enumerate(v):
        t = type(x)
        if t is str:
            s = _new_str(_TaintStr, x)
            s._aco_origins = o
            v[i] = s
        elif t in _LEAVES:
            continue
        elif t in _swaps:
            if depth > 0:
                _model(x, o, depth - 1, budget)
        else:
            nx = _item(x, t, o, depth, budget)
            if nx is not x:
                v[i] = nx


def _item(x, t, o, depth, budget):
    """x (of type t, not a str or a leaf) tainted: x itself changed in place,
    or a new value."""
    if depth <= 0:
        return x
    if t is list:
        _list(x, o, depth - 1, budget)
        return x
    if t is dict:
        _dict(x, o, depth - 1, budget)
        return x
    if t is bytes:
        b = _new_bytes(_TaintBytes, x)
        b._aco_origins = o
        return b
    k = values._kind(t)
    if k == values._MODEL:
        _model(x, o, depth - 1, budget)
        return x
    if k == values._OPAQUE:
        _LEAVES.add(t)
        return x
    if k == values._TUPLE:
        budget[0] -= len(x)
        out = tuple(_any(i, o, depth - 1, budget) for i in x)
        return x if all(a is b for a, b in zip(out, x)) else out
    # Wrappers, subclasses of list and dict, named tuples, sets, proxyable
    # objects: rare in a response, and values knows them all.
    budget[0] += 1  # values counts x again
    return values._wrap_item(x, o, depth, budget, values.TEXT)


def _any(x, o, depth, budget):
    t = type(x)
    if t is str:
        s = _new_str(_TaintStr, x)
        s._aco_origins = o
        return s
    if t in _LEAVES:
        return x
    return _item(x, t, o, depth, budget)


def _swap_class(cls):
    if cls in _swap_classes:
        return None
    try:
        return _swaps[cls]
    except KeyError:
        pass
    sub = None
    try:
        sub = _make_swap_class(cls)
    except Exception:
        from aco import _log

        _log.log("taint: cannot taint the properties of %s" % cls.__qualname__, exc_info=True)
    with _swaps_lock:
        _swaps.setdefault(cls, sub)
        if sub is not None:
            _swap_classes.add(sub)
            _swaps.setdefault(sub, None)
        return _swaps[cls]


def _computed_properties(cls):
    fields = getattr(cls, "__pydantic_fields__", None) or getattr(cls, "__dataclass_fields__", None) or {}
    seen = set()
    props = {}
    for klass in cls.__mro__:
        if klass is object or (getattr(klass, "__module__", "") or "").startswith("pydantic"):
            continue
        for name, attr in vars(klass).items():
            if name in seen:
                continue
            seen.add(name)
            if isinstance(attr, property) and attr.fget is not None and name not in fields:
                props[name] = attr
    return props


def _tainting_property(prop):
    def fget(self):
        value = prop.fget(self)
        return values.wrap(value, values.get_origins(self))

    return property(fget, prop.fset, prop.fdel, prop.__doc__)


def _make_swap_class(cls):
    props = _computed_properties(cls)
    if not props:
        return None

    def __eq__(self, other):
        if type(other) in _swap_classes:
            other = _as_original(other)
        return cls.__eq__(_as_original(self), other)

    def __reduce_ex__(self, protocol):
        # Pickled as the original class, which pickle finds by module and
        # qualname; copyreg rebuilds it where aco is absent. (__newobj__
        # would be refused: it must name the pickled object's own class.)
        import copyreg

        return (copyreg._reconstructor, (cls, object, None), _as_original(self).__getstate__())

    ns = {name: _tainting_property(p) for name, p in props.items()}
    ns.update(
        __module__=cls.__module__,
        __qualname__=cls.__qualname__,
        __doc__=cls.__doc__,
        __eq__=__eq__,
        __hash__=cls.__hash__,
        __reduce_ex__=__reduce_ex__,
        # A dunder name: pydantic takes _names for private attributes.
        __aco_original__=cls,
    )
    return type(cls)(cls.__name__, (cls,), ns)


def _as_original(m):
    # A shallow copy of m with the original class, for what must not see
    # the subclass.
    import copy  # here: loaded only for programs whose SDK responses need it

    c = copy.copy(m)
    object.__setattr__(c, "__class__", type(m).__aco_original__)
    return c
