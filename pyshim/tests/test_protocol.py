"""The Python twin of core/protocol, checked against the vectors the Go suite
reads too."""

import json
import os

import pytest

from aco import protocol

VECTORS_PATH = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "core", "protocol", "testdata", "vectors.json"
)

with open(VECTORS_PATH, encoding="utf-8") as f:
    VECTORS = json.load(f)


def _ids(vs):
    return [v["name"] for v in vs]


VALID = [v for v in VECTORS if v["valid"]]
INVALID = [v for v in VECTORS if not v["valid"]]


@pytest.mark.parametrize("v", VALID, ids=_ids(VALID))
def test_valid_vector_decodes(v):
    for line in (v["line"], v["line"].encode("utf-8"), v["line"].encode("utf-8") + b"\n"):
        msg = protocol.decode(line)
        assert msg["type"] == v["type"]


@pytest.mark.parametrize("v", INVALID, ids=_ids(INVALID))
def test_invalid_vector_is_refused(v):
    with pytest.raises(protocol.ProtocolError) as info:
        protocol.decode(v["line"].encode("utf-8"))
    assert v["error"] in info.value.message
    assert str(info.value) == info.value.message
    assert info.value.id == v.get("id", 0)


@pytest.mark.parametrize("v", VALID, ids=_ids(VALID))
def test_encode_round_trip(v):
    msg = protocol.decode(v["line"])
    data = protocol.encode(msg)
    assert data.endswith(b"\n")
    assert b"\n" not in data[:-1]
    assert protocol.decode(data) == msg


def test_constants_match_vector_types():
    # Every message type has vectors, and every vector type is a constant.
    assert protocol.MESSAGE_TYPES == {v["type"] for v in VALID}
    for t in protocol.MESSAGE_TYPES:
        assert getattr(protocol, t.upper()) == t
    assert protocol.PROTOCOL_VERSION == 1


def test_vectors_are_complete_for_python_tables():
    # The Go suite checks the vectors against the Go structs; this checks them
    # against the tables here, so a field added on one side only shows up.
    names = {v["name"] for v in VECTORS}
    for t, fields in protocol._FIELDS.items():
        assert "%s full" % t in names
        for f, kind in fields.items():
            if kind is not None:
                assert "%s %s wrong type" % (t, f) in names
        for f in protocol._REQUIRED[t]:
            assert "%s missing %s" % (t, f) in names


@pytest.mark.parametrize(
    "msg, want",
    [
        ({"type": "hello", "protocol": 1}, b'{"type":"hello","protocol":1}\n'),
        ({"type": "log", "run_id": "r", "entry": "Zoë 😀 <&>"}, '{"type":"log","run_id":"r","entry":"Zoë 😀 <&>"}\n'.encode("utf-8")),
        ({"type": "log", "run_id": "r", "entry": "a\nb"}, b'{"type":"log","run_id":"r","entry":"a\\nb"}\n'),
        ({"type": "log", "run_id": "r", "entry": "x\ud800y"}, b'{"type":"log","run_id":"r","entry":"x\\ud800y"}\n'),
    ],
    ids=["compact", "utf-8 unescaped", "newline escaped", "lone surrogate escaped"],
)
def test_encode_bytes(msg, want):
    assert protocol.encode(msg) == want


@pytest.mark.parametrize(
    "msg, exc",
    [
        ({"run_id": "r"}, ValueError),
        ({"type": ""}, ValueError),
        ({"type": 5}, ValueError),
        (["hello"], ValueError),
        ({"type": "add_node", "started_at": float("nan")}, ValueError),
        ({"type": "log", "entry": object()}, TypeError),
    ],
    ids=["no type", "empty type", "number type", "not a dict", "nan", "unserialisable"],
)
def test_encode_refuses(msg, exc):
    with pytest.raises(exc):
        protocol.encode(msg)


def test_decode_replaces_invalid_utf8_like_go():
    msg = protocol.decode(b'{"type":"log","run_id":"r","entry":"a\xffb"}')
    assert msg["entry"] == "a\ufffdb"


def test_decode_survives_deep_nesting():
    # Refused (Python's recursion limit) or accepted, but never an exception
    # other than ProtocolError: the shim must not crash on a server's line.
    line = '{"type":"cache_result","node_id":"n","output":' + "[" * 100000 + "]" * 100000 + "}"
    try:
        protocol.decode(line)
    except protocol.ProtocolError as e:
        assert "not a JSON object" in e.message


def test_protocol_error_is_a_value_error():
    # Callers that guard with `except ValueError` keep working.
    assert issubclass(protocol.ProtocolError, ValueError)
    e = protocol.ProtocolError("boom", 7)
    assert (e.message, e.id, str(e)) == ("boom", 7, "boom")


# protocol speaks JSON through _json directly (import json costs start-up);
# what it writes and reads must be what the json package would.
JSON_SAMPLES = [
    {"type": "add_node", "input": {"messages": [{"role": "user", "content": "héllo \u2028 \"q\" \\ \x01"}]}},
    {"type": "log", "n": [0, -1, 1 << 70, 1.5, 1e300, -0.0, 2.5e-8], "t": True, "f": False, "z": None},
    {"type": "hello", "nested": {"a": {"b": {"c": []}}}, "empty": {}, "tuple": (1, "x")},
    {"type": "x", "\u00e9": "\U0001f600", 1: "int key", 2.5: "float key", True: "bool key", None: "none key"},
]


@pytest.mark.parametrize("msg", JSON_SAMPLES)
def test_encode_writes_what_json_dumps_writes(msg):
    want = json.dumps(msg, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8") + b"\n"
    assert protocol.encode(msg) == want


def test_encode_refuses_what_json_dumps_refuses():
    class Loop(dict):
        pass

    loop = Loop(type="log")
    loop["self"] = loop
    with pytest.raises(ValueError, match="Circular reference"):
        protocol.encode(loop)
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        protocol.encode({"type": "log", "s": {1}})
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        protocol.encode({"type": "log", "n": float("inf")})
    # The encoder is made per call: a failure leaves nothing behind.
    assert protocol.encode({"type": "log", "again": [loop is not None]}) == b'{"type":"log","again":[true]}\n'


@pytest.mark.parametrize(
    "text",
    ['{"a": [1, 2.5, -3e4, "\\u00e9\\ud83d\\ude00", null, true, false, {}]}', "  [1]\n", "\t7 ", '"s"', "0", "[]"],
)
def test_loads_reads_what_json_loads_reads(text):
    got = protocol.loads(text)
    assert got == json.loads(text)
    assert type(got) is type(json.loads(text))


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "Expecting value: line 1 column 1 (char 0)"),
        ("   ", "Expecting value: line 1 column 4 (char 3)"),
        ('{"a": 1} x', "Extra data: line 1 column 10 (char 9)"),
        ('{"a": 1', "Expecting ',' delimiter: line 1 column 8 (char 7)"),
        ('["\x01"]', "Invalid control character at: line 1 column 3 (char 2)"),
        ("[NaN]", "NaN is not valid JSON"),
        ("-Infinity", "-Infinity is not valid JSON"),
    ],
)
def test_loads_refuses_like_json(text, message):
    with pytest.raises(ValueError) as info:
        protocol.loads(text)
    assert str(info.value) == message


def test_without_the_accelerator_the_json_package_does_the_work():
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['_json'] = None\n"
        "from aco import protocol\n"
        "assert protocol._json is None\n"
        "sys.stdout.buffer.write(protocol.encode({'type': 'log', 'x': ['\\u00e9', 1.5, None]}))\n"
        "sys.stdout.buffer.write(protocol.encode({'type': 'log', 'raw': protocol.RawJSON('[1,{}]')}))\n"
        "print(protocol.loads(' [1, {\"a\": 2}] '))\n"
        "try:\n    protocol.loads('[NaN]')\nexcept ValueError as e:\n    print(e)\n"
    )
    shim = os.path.dirname(os.path.dirname(os.path.abspath(protocol.__file__)))
    p = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=shim), capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout == '{"type":"log","x":["\u00e9",1.5,null]}\n{"type":"log","raw":[1,{}]}\n[1, {\'a\': 2}]\nNaN is not valid JSON\n'


def test_a_raw_json_field_goes_into_the_line_as_written():
    chunks = '{"type":"s","chunks":[{"data":{"text":"Zoë 😀","n":1.5}},{"data":null}]}'
    line = protocol.encode({"type": "add_node", "run_id": "r", "output": protocol.RawJSON(chunks), "model": "m"})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert ',"output":%s}' % chunks in line.decode("utf-8")
    assert protocol.loads(line.decode("utf-8")) == {"type": "add_node", "run_id": "r", "model": "m", "output": json.loads(chunks)}
    # A lone surrogate anywhere sends the whole line as ASCII escapes, the
    # raw text's included, and it still reads back the same.
    line = protocol.encode({"type": "add_node", "run_id": "r\udc80", "output": protocol.RawJSON(chunks)})
    assert line.isascii()
    assert json.loads(line) == {"type": "add_node", "run_id": "r\udc80", "output": json.loads(chunks)}
    line = protocol.encode({"type": "add_node", "output": protocol.RawJSON('["x\udc80"]')})
    assert line.isascii() and json.loads(line)["output"] == ["x\udc80"]


def test_a_raw_json_value_below_the_message_is_refused():
    with pytest.raises(TypeError, match="RawJSON may only be the value of a field of the message itself"):
        protocol.encode({"type": "add_node", "output": {"chunks": protocol.RawJSON("[]")}})
