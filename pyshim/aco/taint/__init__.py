"""Taint: values that remember which LLM calls (node ids, their "origins")
they derive from.

The API the rewriter and the patches use::

    wrap(value, origins)   value carrying origins (an iterable of node ids)
    get_origins(value)     frozenset of node ids, EMPTY for untainted values
    untaint(value)         the plain value; the same object if nothing is tainted
    is_tainted(value)      bool
    wrap_response(obj, node_id)  an SDK response whose strings carry node_id
    response_tainter(node_id)    wrap_response(_, node_id) as one function

What wrap() makes of each kind of value (empty origins: the value itself;
an already tainted value: the same kind of wrapper with merged origins):

- str, bytes, int, float: TaintStr, TaintBytes, TaintInt, TaintFloat,
  subclasses whose operations propagate origins (see wrappers.py).
- bool and None: themselves (bool cannot be subclassed; None must stay None).
- list and dict (and OrderedDict, defaultdict): the SAME object, its elements
  (dict values; nested containers too) replaced in place by wrapped ones.
  Copying would break programs: `d.setdefault(k, []).append(x)` must append
  to the list in d. Dict keys are left as they are (replacing a key would
  reorder the dict). Other list/dict subclasses are left alone (their item
  assignment may do anything).
  Caveat: an element another thread assigns while wrap() is at it can be
  overwritten with the old value wrapped.
- tuple, frozenset, namedtuple: a new one of the same type holding wrapped
  elements. set: left alone (re-adding elements may reorder it).
- pydantic models and dataclasses: the same object, fields wrapped in place
  (written to __dict__, as validators and frozen models would object).
- regex matches, datetimes, Decimal, Fraction, UUID, paths: an opaque proxy
  (proxy.py); its attributes and method results are tainted.
- anything else (classes, functions, modules, iterators, exceptions, files,
  sentinels, user objects): itself, untainted. A proxy is never the object,
  so where the program may compare identities it would change behaviour.

Bounds: wrap() visits at most values.WRAP_BUDGET values, get_origins and
untaint at most values.BUDGET (4096) values to a depth of values.DEPTH (12);
past them elements are treated as untainted. Plain str/bytes/int/float/bool/
None/complex cost one type look-up, and until the first tainted value
exists in the process no container is walked at all.

What exact-type code sees: `type(x) is str` is false for a TaintStr. The
rewriter untaints the arguments of calls into third-party and standard
library code, so code that checks exact types (json's C encoder fast paths,
sys.intern, C extensions) gets plain values; inside the user's own code a
TaintStr behaves as a str in everything but `type(x) is str`.

What is lost: results built by C code from tainted inputs come back plain
(re.sub, match.group, "".join with a plain separator, f-strings and
"{}".format with a plain template, json.loads); the rewriter re-taints the
results of such calls with the union of their arguments' origins.
pydantic validation copies a str subclass into a plain str, so
`Model(text=tainted).text` is plain unless the call's result is tainted
(wrap() on a model taints its fields in place).
Pickling gives the plain value (a pickle must load without aco).
"""

from aco.taint.proxy import TaintProxy
from aco.taint.response import tainter as response_tainter
from aco.taint.response import wrap_response
from aco.taint.values import get_origins, is_tainted, untaint, wrap
from aco.taint.wrappers import EMPTY, TaintBytes, TaintFloat, TaintInt, TaintStr

__all__ = [
    "EMPTY",
    "TaintBytes",
    "TaintFloat",
    "TaintInt",
    "TaintProxy",
    "TaintStr",
    "get_origins",
    "is_tainted",
    "response_tainter",
    "untaint",
    "wrap",
    "wrap_response",
]
