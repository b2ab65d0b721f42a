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

import copy
import copyreg
import threading

from aco.taint import values
from aco.taint.wrappers import intern

# Responses are walked further than wrap()'s default: a long chat completion
# with logprobs has many small strings, all from the one call.
RESPONSE_BUDGET = 200000

_swaps = {}
_swap_classes = set()
_swaps_lock = threading.Lock()


def wrap_response(obj, node_id):
    """obj (an SDK response) with its strings carrying node_id. Never raises:
    on an internal error obj is returned as it was given."""
    try:
        o = intern((node_id,))
        if not o:
            return obj
        kind = values._kind(type(obj))
        if kind != values._MODEL:
            return values.wrap(obj, o, RESPONSE_BUDGET, values.TEXT)
        budget = [RESPONSE_BUDGET]
        values._wrap_fields(obj, o, values.DEPTH * 2, budget, values.TEXT)
        _swap_models(obj, values.DEPTH * 2)
        return obj
    except Exception:
        from aco import _log

        _log.log("taint: wrap_response failed for %s" % type(obj).__name__, exc_info=True)
        return obj


def _swap_models(obj, depth):
    # The nested models need their properties too (a ParsedResponse's
    # output items), so every model reachable from the response is visited.
    if depth <= 0:
        return
    t = type(obj)
    k = values._kind(t)
    if k == values._MODEL:
        sub = _swap_class(t)
        if sub is not None:
            object.__setattr__(obj, "__class__", sub)
        for d in (getattr(obj, "__dict__", None), getattr(obj, "__pydantic_extra__", None)):
            if type(d) is dict:
                for x in d.values():
                    _swap_models(x, depth - 1)
    elif k in (values._LIST, values._TUPLE):
        for x in obj:
            _swap_models(x, depth - 1)
    elif k == values._DICT:
        for x in obj.values():
            _swap_models(x, depth - 1)


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
    c = copy.copy(m)
    object.__setattr__(c, "__class__", type(m).__aco_original__)
    return c
