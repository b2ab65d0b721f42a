"""Messages between the runner and the aco server: one JSON object per line.

This is the twin of core/protocol/messages.go. The field tables and error
wording below mirror it line for line, and both test suites read
core/protocol/testdata/vectors.json, so a line means the same on both sides.
Framing (reading lines off the socket) is the caller's; nothing here touches
a socket. Standard library only: this runs inside the user's environment.

JSON goes through _json, the C half of the json package, directly: the
runner needs this module before the program starts, and ``import json``
loads re and enum, which cost a program that uses neither several
milliseconds of start-up. The output is json.dumps's own (json.dumps uses
the same C encoder); json is loaded only to word a decoding error, or when
_json is missing.
"""

import math

PROTOCOL_VERSION = 1

HELLO = "hello"
SESSION = "session"
SUBRUN_START = "subrun_start"
SUBRUN = "subrun"
SUBRUN_END = "subrun_end"
CACHE_GET = "cache_get"
CACHE_RESULT = "cache_result"
ADD_NODE = "add_node"
LOG = "log"
DEREGISTER = "deregister"
RESTART = "restart"
SHUTDOWN = "shutdown"
ERROR = "error"
FILE_TAINT = "file_taint"
FILE_TAINT_GET = "file_taint_get"
FILE_TAINT_RESULT = "file_taint_result"

# Field kinds, named by the words both twins put in error messages.
_STR = "a string"
_INT = "an integer"
_NUM = "a number"
_BOOL = "a boolean"
_STR_LIST = "a list of strings"
_STR_MAP = "an object of strings"
_RAW = None  # any JSON: SDK requests and responses pass through untouched

# The JSON fields of each message type besides "type" (the Go structs).
_FIELDS = {
    HELLO: {
        "protocol": _INT,
        "run_id": _STR,
        "name": _STR,
        "cwd": _STR,
        "argv": _STR_LIST,
        "interpreter": _STR,
        "env": _STR_MAP,
        "project_root": _STR,
        "pid": _INT,
    },
    SESSION: {"run_id": _STR, "execution": _INT},
    SUBRUN_START: {"id": _INT, "parent": _STR, "name": _STR},
    SUBRUN: {"id": _INT, "run_id": _STR, "execution": _INT},
    SUBRUN_END: {"run_id": _STR, "status": _STR},
    CACHE_GET: {"id": _INT, "run_id": _STR, "api": _STR, "input_hash": _STR},
    CACHE_RESULT: {
        "id": _INT,
        "node_id": _STR,
        "hit": _BOOL,
        "output": _RAW,
        "input_overwrite": _RAW,
    },
    ADD_NODE: {
        "run_id": _STR,
        "node_id": _STR,
        "api": _STR,
        "kind": _STR,
        "model": _STR,
        "input": _RAW,
        "input_hash": _STR,
        "output": _RAW,
        "input_text": _STR,
        "output_text": _STR,
        "location": _STR,
        "started_at": _NUM,
        "duration_ms": _NUM,
        "stream": _BOOL,
        "cached": _BOOL,
        "edited": _BOOL,
        "origins": _STR_LIST,
    },
    LOG: {"run_id": _STR, "entry": _STR, "success": _BOOL},
    DEREGISTER: {"run_id": _STR, "status": _STR, "exit_code": _INT},
    RESTART: {},
    SHUTDOWN: {"reason": _STR},
    ERROR: {"id": _INT, "code": _STR, "message": _STR},
    FILE_TAINT: {"run_id": _STR, "path": _STR, "sha256": _STR, "origins": _STR_LIST},
    FILE_TAINT_GET: {"id": _INT, "run_id": _STR, "path": _STR, "sha256": _STR},
    FILE_TAINT_RESULT: {"id": _INT, "origins": _STR_LIST},
}

# Required fields, in the order missingFields in messages.go names them. A
# field is missing when absent, null, "" or 0, as Go's zero values are.
_REQUIRED = {
    HELLO: ("protocol",),
    SESSION: ("run_id",),
    SUBRUN_START: ("id", "parent", "name"),
    SUBRUN: ("run_id",),
    SUBRUN_END: ("run_id", "status"),
    CACHE_GET: ("id", "run_id", "api", "input_hash"),
    CACHE_RESULT: ("node_id",),
    ADD_NODE: ("run_id", "node_id", "api"),
    LOG: ("run_id",),
    DEREGISTER: ("run_id", "status"),
    RESTART: (),
    SHUTDOWN: (),
    ERROR: ("code",),
    FILE_TAINT: ("run_id", "path", "sha256"),
    FILE_TAINT_GET: ("id", "run_id", "path", "sha256"),
    FILE_TAINT_RESULT: (),
}

MESSAGE_TYPES = frozenset(_FIELDS)

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


class ProtocolError(ValueError):
    """A line that is not a valid message. id is the request id the line
    carried (0 when none), so an error answer can echo it."""

    def __init__(self, message, id=0):
        super().__init__(message)
        self.message = message
        self.id = id


def _is_int(v):
    # bool is an int in Python but not in JSON.
    return type(v) is int and _INT64_MIN <= v <= _INT64_MAX


def _is_num(v):
    if type(v) is float:
        return math.isfinite(v)
    if type(v) is int:
        try:
            return math.isfinite(float(v))
        except OverflowError:
            return False
    return False


def _is_str_list(v):
    return type(v) is list and all(x is None or type(x) is str for x in v)


def _is_str_map(v):
    return type(v) is dict and all(x is None or type(x) is str for x in v.values())


_CHECKS = {
    _STR: lambda v: type(v) is str,
    _INT: _is_int,
    _NUM: _is_num,
    _BOOL: lambda v: type(v) is bool,
    _STR_LIST: _is_str_list,
    _STR_MAP: _is_str_map,
}


def _not_json(name):
    # json accepts NaN and Infinity; JSON (and the Go side) does not.
    raise ValueError("%s is not valid JSON" % name)


class RawJSON:
    """A field of a message whose value is JSON text written already (a
    stream's chunks, written one by one as they came): encode() puts the
    text in the line as it is. Only a field of the message itself may hold
    one."""

    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text


class _Raw(TypeError):
    """The encoder met a RawJSON: encode() takes the message's own apart;
    one anywhere else is refused with this."""


def _type_error(o):
    if type(o) is RawJSON:
        raise _Raw("a RawJSON may only be the value of a field of the message itself")
    raise TypeError("Object of type %s is not JSON serializable" % type(o).__name__)


class _Context:
    """What _json's scanner reads off a json.JSONDecoder."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_not_json)


def _c_dumps(ascii_only):
    # The arguments json.JSONEncoder.iterencode passes, for
    # separators=(",", ":"), check_circular and allow_nan=False.
    quote = _json.encode_basestring_ascii if ascii_only else _json.encode_basestring
    encoder = _json.make_encoder
    return lambda obj: "".join(encoder({}, _type_error, quote, None, ":", ",", False, False, False)(obj, 0))


try:
    import _json

    _dumps_utf8 = _c_dumps(False)
    _dumps_ascii = _c_dumps(True)
    _scan = _json.make_scanner(_Context())
    _dumps_utf8({"": [1, 1.5, None, True]})  # the signatures are what we expect
except Exception:  # a Python without the accelerator, or one that changed it
    _json = None


def _py_dumps(ascii_only):
    import json

    return lambda obj: json.dumps(obj, ensure_ascii=ascii_only, separators=(",", ":"), allow_nan=False, default=_type_error)


if _json is None:
    _dumps_utf8 = _py_dumps(False)
    _dumps_ascii = _py_dumps(True)

_WHITESPACE = " \t\n\r"


def loads(text):
    """The JSON value text holds, as json.loads gives it but refusing NaN and
    Infinity. Raises ValueError (json.JSONDecodeError) when it holds none."""
    if _json is None:
        import json

        return json.loads(text, parse_constant=_not_json)
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        obj, end = _scan(text, start)
    except StopIteration as e:
        raise _decode_error("Expecting value", text, e.value) from None
    if end != len(text) and text[end:].strip(_WHITESPACE):
        raise _decode_error("Extra data", text, end + len(text[end:]) - len(text[end:].lstrip(_WHITESPACE)))
    return obj


def _decode_error(msg, text, pos):
    from json import JSONDecodeError

    return JSONDecodeError(msg, text, pos)


def dumps(value):
    """value as the compact JSON text encode() writes for it."""
    return _dumps_utf8(value)


def encode(msg):
    """One message as a line: compact UTF-8 JSON and a newline.

    Raises ValueError for a message without a type or with a NaN or infinite
    number, TypeError for values JSON cannot hold."""
    t = msg.get("type") if isinstance(msg, dict) else None
    if type(t) is not str or not t:
        raise ValueError('protocol: a message needs a "type" string, got %r' % (msg,))
    raw = [(k, v.text) for k, v in msg.items() if type(v) is RawJSON] or None
    try:
        return (_dumps_utf8(msg) + "\n" if raw is None else _with_raw(msg, raw, False)).encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (from surrogateescape'd bytes, say) has no UTF-8
        # form; as a \u escape it is still valid JSON.
        return (_dumps_ascii(msg) + "\n" if raw is None else _with_raw(msg, raw, True)).encode("ascii")


def _with_raw(msg, raw, ascii_only):
    # The message's line (its newline too), not yet encoded: the message without
    # its RawJSON fields (raw: their names and text), then each of them
    # after the others, as a JSON object's fields have no order. The encoder
    # is met again for what the rest holds; ascii_only rewrites the raw
    # text's escapes. One join makes it: a stream's raw output is most of
    # the line, and each copy of it counts.
    dumps = _dumps_ascii if ascii_only else _dumps_utf8
    text = dumps({k: v for k, v in msg.items() if type(v) is not RawJSON})
    parts = [text[:-1]]
    for k, v in raw:
        if ascii_only:
            v = dumps(loads(v))
        parts += (",", dumps(k if isinstance(k, str) else str(k)), ":", v)
    parts.append("}\n")
    return "".join(parts)


def decode(line):
    """The message dict a line holds (bytes or str; a trailing newline is
    fine). Raises ProtocolError when the line is not a valid message."""
    if isinstance(line, (bytes, bytearray, memoryview)):
        # Invalid UTF-8 becomes U+FFFD, as Go's decoder does.
        line = bytes(line).decode("utf-8", "replace")
    try:
        obj = loads(line)
    except (ValueError, RecursionError) as e:
        raise ProtocolError("not a JSON object: %s" % e) from None
    if type(obj) is not dict:
        raise ProtocolError("not a JSON object")
    rid = obj.get("id")
    if not _is_int(rid):
        rid = 0
    t = obj.get("type")
    if t is None:
        raise ProtocolError('missing field "type"', rid)
    if type(t) is not str:
        raise ProtocolError('field "type" must be a string', rid)
    fields = _FIELDS.get(t)
    if fields is None:
        raise ProtocolError("unknown message type %s" % dumps(t), rid)
    # The first field of the wrong kind in line order, as Go reports it.
    for name, value in obj.items():
        kind = fields.get(name)
        if kind is None or value is None:
            continue
        if not _CHECKS[kind](value):
            raise ProtocolError('%s: field "%s" must be %s' % (t, name, kind), rid)
    missing = [n for n in _REQUIRED[t] if not obj.get(n)]
    if missing:
        raise ProtocolError("%s: missing field %s" % (t, ", ".join('"%s"' % n for n in missing)), rid)
    return obj
