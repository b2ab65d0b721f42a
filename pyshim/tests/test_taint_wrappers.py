"""The scalar wrappers: every operation gives the plain value's result, and
the ones that derive a value carry the origins of their inputs."""

import copy
import json
import pickle
import random
import re
import subprocess
import sys

import pytest

from aco.taint import TaintBytes, TaintFloat, TaintInt, TaintStr, get_origins, untaint, wrap

A = frozenset({"A"})
B = frozenset({"B"})
AB = A | B


def s(text="Hello, World", origins=A):
    return wrap(text, origins)


# (name, operation on a TaintStr tainted A, origins the result must carry).
# The same operation on the plain text must give an equal value.
STR_OPS = [
    ("upper", lambda x: x.upper(), A),
    ("lower", lambda x: x.lower(), A),
    ("strip", lambda x: x.strip("H"), A),
    ("lstrip", lambda x: x.lstrip(), A),
    ("rstrip", lambda x: x.rstrip("d"), A),
    ("capitalize", lambda x: x.capitalize(), A),
    ("casefold", lambda x: x.casefold(), A),
    ("title", lambda x: x.title(), A),
    ("swapcase", lambda x: x.swapcase(), A),
    ("center", lambda x: x.center(30, "*"), A),
    ("ljust", lambda x: x.ljust(30), A),
    ("rjust", lambda x: x.rjust(30), A),
    ("zfill", lambda x: x.zfill(30), A),
    ("expandtabs", lambda x: x.expandtabs(4), A),
    ("replace", lambda x: x.replace("o", "0"), A),
    ("replace tainted new", lambda x: x.replace("o", wrap("0", B)), AB),
    ("removeprefix", lambda x: x.removeprefix("Hel"), A),
    ("removesuffix", lambda x: x.removesuffix("ld"), A),
    ("translate", lambda x: x.translate({ord("o"): "0"}), A),
    ("slice", lambda x: x[2:7], A),
    ("slice step", lambda x: x[::-1], A),
    ("index", lambda x: x[0], A),
    ("negative index", lambda x: x[-1], A),
    ("add plain", lambda x: x + "!", A),
    ("radd plain", lambda x: ">" + x, A),
    ("add tainted", lambda x: x + wrap("!", B), AB),
    ("radd tainted", lambda x: wrap(">", B) + x, AB),
    ("mul", lambda x: x * 3, A),
    ("rmul", lambda x: 3 * x, A),
    ("mul tainted count", lambda x: x * wrap(2, B), AB),
    ("mod template tainted", lambda x: wrap("<%s>", B) % x, AB),
    ("mod value tainted", lambda x: "<%s>" % x, A),
    ("mod tuple in tainted template", lambda x: x.replace("World", "%s") % ("you",), A),
    ("mod mapping", lambda x: wrap("%(k)s", B) % {"k": x}, AB),
    ("format template", lambda x: (x + " {0} {k}").format(1, k=2), A),
    ("format args", lambda x: wrap("[{}|{k}]", B).format(x, k="v"), AB),
    ("format index into list", lambda x: wrap("{0[1]}", B).format(["a", x]), AB),
    ("format_map", lambda x: wrap("{k}", B).format_map({"k": x}), AB),
    ("format()", lambda x: format(x, ">20"), A),
    ("f-string spec", lambda x: f"{x:>20}", A),
    ("str()", lambda x: str(x), A),
    ("repr()", lambda x: repr(x), A),
    ("join tainted sep", lambda x: x.join(["a", "b"]), A),
    ("join tainted items", lambda x: wrap(", ", B).join([x, "c"]), AB),
    ("join generator", lambda x: wrap("-", B).join(c for c in ["p", x]), AB),
    ("encode", lambda x: x.encode("utf-8"), A),
    ("encode decode", lambda x: x.encode().decode(), A),
]


@pytest.mark.parametrize("name,op,want", STR_OPS, ids=[o[0] for o in STR_OPS])
def test_str_operation_keeps_value_and_origins(name, op, want):
    x = s()
    got = op(x)
    assert got == op("Hello, World")
    assert type(got) in (TaintStr, TaintBytes)
    assert get_origins(got) == want


# Operations whose results are lists or tuples of strings.
SPLIT_OPS = [
    ("split", lambda x: x.split(", ")),
    ("split none", lambda x: x.split()),
    ("rsplit", lambda x: x.rsplit("o", 1)),
    ("splitlines", lambda x: (x + "\nnext").splitlines()),
    ("partition", lambda x: x.partition(", ")),
    ("rpartition", lambda x: x.rpartition("o")),
    ("iteration", lambda x: list(x)),
    ("list()", lambda x: list(iter(x))),
]


@pytest.mark.parametrize("name,op", SPLIT_OPS, ids=[o[0] for o in SPLIT_OPS])
def test_str_operation_returning_parts_taints_each_part(name, op):
    got = op(s())
    assert list(got) == list(op("Hello, World"))
    assert got and all(type(p) is TaintStr and get_origins(p) == A for p in got)


# Operations whose results are answers about the value, not derived text:
# plain, exactly as for str.
PLAIN_RESULTS = [
    ("==", lambda x: x == "Hello, World"),
    ("== reversed", lambda x: "Hello, World" == x),
    ("!=", lambda x: x != "nope"),
    ("<", lambda x: x < "Z"),
    ("in", lambda x: "World" in x),
    ("find", lambda x: x.find("o")),
    ("count", lambda x: x.count("l")),
    ("startswith", lambda x: x.startswith("Hell")),
    ("isdigit", lambda x: x.isdigit()),
    ("len", lambda x: len(x)),
    ("hash", lambda x: hash(x)),
    ("bool", lambda x: bool(x)),
]


@pytest.mark.parametrize("name,op", PLAIN_RESULTS, ids=[o[0] for o in PLAIN_RESULTS])
def test_str_answers_are_plain(name, op):
    got = op(s())
    assert got == op("Hello, World")
    assert type(got) in (bool, int)


def test_str_behaves_as_str_where_programs_look():
    x = s()
    assert isinstance(x, str)
    assert type(x) is not str  # the documented exception: exact-type checks see the subclass
    assert type(untaint(x)) is str and untaint(x) == x
    d = {"Hello, World": 1}
    assert d[x] == 1
    d[x] = 2
    assert d == {"Hello, World": 2}
    assert {x, "Hello, World"} == {"Hello, World"}
    assert sorted([wrap("b", A), "a", "c"]) == ["a", "b", "c"]
    assert x.lower() in {"hello, world"}


def test_json_encodes_wrappers_exactly_as_plain_values():
    value = {"a": s("x"), s("key"): [wrap(3, A), wrap(2.5, A), wrap(b"b", A).decode()], "n": None}
    plain = {"a": "x", "key": [3, 2.5, "b"], "n": None}
    for kwargs in ({}, {"indent": 2}, {"sort_keys": True}, {"ensure_ascii": False}):
        assert json.dumps(value, **kwargs) == json.dumps(plain, **kwargs)
    assert json.dumps(s('quote " and \n')) == json.dumps('quote " and \n')


def test_json_loads_of_a_tainted_text_parses_it():
    # The C scanner builds plain values; the rewriter re-taints the result
    # of the json.loads call. What matters here is that it parses.
    got = json.loads(s('{"a": [1, "two"]}'))
    assert got == {"a": [1, "two"]}


def test_re_on_tainted_text():
    x = s("name: Ada, age: 36")
    m = re.search(r"name: (\w+)", x)
    assert m.group(1) == "Ada"  # plain (built in C), re-tainted by the rewriter
    assert re.sub(r"\d+", "N", x) == "name: Ada, age: N"
    assert re.findall(r"\w+", x)[:2] == ["name", "Ada"]
    assert re.split(", ", x) == ["name: Ada", "age: 36"]


@pytest.mark.parametrize("value", [s(), wrap(b"bytes", A), wrap(7, A), wrap(7.5, A)], ids=["str", "bytes", "int", "float"])
def test_pickle_gives_the_plain_value(value):
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(value, protocol))
        assert back == value
        assert type(back) is type(untaint(value))


def test_a_pickle_of_a_wrapper_loads_without_aco(tmp_path):
    data = pickle.dumps({"k": s(), "n": wrap(3, A)})
    assert b"aco" not in data
    out = subprocess.run(
        [sys.executable, "-c", "import pickle,sys; print(pickle.loads(sys.stdin.buffer.read()))"],
        input=data,
        capture_output=True,
        cwd=tmp_path,
        check=True,
    )
    assert out.stdout.strip() == b"{'k': 'Hello, World', 'n': 3}"


@pytest.mark.parametrize("value", [s(), wrap(b"bytes", A), wrap(7, A), wrap(7.5, A)], ids=["str", "bytes", "int", "float"])
def test_copy_keeps_origins(value):
    for c in (copy.copy(value), copy.deepcopy(value), copy.deepcopy([value])[0]):
        assert c == value and get_origins(c) == A


# (name, operation on TaintInt 7 tainted A, origins of the result)
NUMBER_OPS = [
    ("add", lambda x: x + 1, A),
    ("radd", lambda x: 1 + x, A),
    ("sub", lambda x: x - 10, A),
    ("rsub", lambda x: 10 - x, A),
    ("mul", lambda x: x * 3, A),
    ("truediv", lambda x: x / 2, A),
    ("floordiv", lambda x: x // 2, A),
    ("mod", lambda x: x % 4, A),
    ("pow", lambda x: x**2, A),
    ("rpow", lambda x: 2**x, A),
    ("neg", lambda x: -x, A),
    ("abs", lambda x: abs(-x), A),
    ("round", lambda x: round(x / 3, 2), A),
    ("add tainted", lambda x: x + wrap(1, B), AB),
    ("mixed float", lambda x: x * wrap(0.5, B), AB),
    ("lshift", lambda x: x << 2, A),
    ("and", lambda x: x & 3, A),
    ("or", lambda x: 8 | x, A),
    ("invert", lambda x: ~x, A),
    ("str()", lambda x: str(x), A),
    ("repr()", lambda x: repr(x), A),
    ("format spec", lambda x: f"{x:05d}", A),
    ("float str", lambda x: str(x / 2), A),
]


@pytest.mark.parametrize("name,op,want", NUMBER_OPS, ids=[o[0] for o in NUMBER_OPS])
def test_number_operation(name, op, want):
    got = op(wrap(7, A))
    assert got == op(7)
    assert type(got) in (TaintInt, TaintFloat, TaintStr)
    assert get_origins(got) == want


def test_divmod_taints_both_parts():
    q, r = divmod(wrap(7, A), 2)
    assert (q, r) == (3, 1) and get_origins(q) == get_origins(r) == A


def test_numbers_behave_as_numbers():
    n, f = wrap(7, A), wrap(2.5, A)
    assert isinstance(n, int) and not isinstance(n, bool) and isinstance(f, float)
    assert type(int(n)) is int and type(float(f)) is float
    assert [0, 1, 2, 3, 4, 5, 6, 7][n] == 7 and list(range(n))[-1] == 6
    assert {7: "x"}[n] == "x" and hash(f) == hash(2.5)
    assert (n == 7) is True and (f < 3) is True
    assert "%d|%.1f" % (n, f) == "7|2.5"
    assert n * "ab" == "ab" * 7


def test_bytes_operations():
    b = wrap(b"abc def", A)
    for got, want in [
        (b.upper(), b"ABC DEF"),
        (b[1:3], b"bc"),
        (b + b"!", b"abc def!"),
        (b"<" + b, b"<abc def"),
        (b.replace(b"a", b"z"), b"zbc def"),
        (b"-".join([b, b"x"]), b"abc def-x"),
    ]:
        assert got == want
        if got is not None and type(got) is TaintBytes:
            assert get_origins(got) == A
    assert [type(p) for p in b.split()] == [TaintBytes, TaintBytes]
    assert b[0] == 97 and get_origins(b[0]) == A
    assert [get_origins(i) for i in b][:2] == [A, A]
    assert type(b.decode()) is TaintStr and get_origins(b.decode()) == A


def test_wrapping_twice_merges_and_shares_origins():
    x = wrap(wrap("t", A), B)
    assert get_origins(x) == AB
    # No new set when nothing new is added: values share their origins.
    y = wrap("u", ["A"])
    assert get_origins(y) is get_origins(wrap("v", frozenset({"A"})))
    assert get_origins(x.upper()) is get_origins(x)
    assert get_origins(x + y) is get_origins(x)


def test_constructors():
    assert get_origins(TaintStr("x", ["n"])) == {"n"}
    assert get_origins(TaintInt(3, ["n"])) == {"n"}
    assert get_origins(TaintFloat("1.5", ["n"])) == {"n"} and TaintFloat("1.5") == 1.5
    assert get_origins(TaintBytes(b"x", ["n"])) == {"n"}
    assert get_origins(TaintStr(TaintStr("x", "a"), "b")) == {"a", "b"}


def test_random_operation_chains_match_plain_str():
    # Property: any chain of derived-text operations computes what it does
    # on plain str and ends with the union of the origins that went in.
    rng = random.Random(1234)
    words = ["alpha", "Beta", " gamma ", "DELTA", "e", "", "naïve", "x,y"]
    unary = [
        lambda v: v.upper(),
        lambda v: v.lower(),
        lambda v: v.strip(),
        lambda v: v.title(),
        lambda v: v[1:],
        lambda v: v[::-1],
        lambda v: v * 2,
        lambda v: v.replace("a", "A"),
        lambda v: v.center(12, "."),
        lambda v: "(%s)" % v,
        lambda v: format(v, "<3"),
        lambda v: v.encode().decode(),
        lambda v: v[:0].join(v.split(",")),
    ]
    for _ in range(500):
        origins = set()
        plain = tainted = ""
        for step in range(rng.randint(1, 6)):
            if step == 0 or rng.random() < 0.5:
                w = rng.choice(words)
                o = "n%d" % rng.randint(1, 4)
                origins.add(o)
                if rng.random() < 0.5:
                    plain, tainted = plain + w, tainted + wrap(w, [o])
                else:
                    plain, tainted = w + plain, wrap(w, [o]) + tainted
            else:
                op = rng.choice(unary)
                plain, tainted = op(plain), op(tainted)
            assert tainted == plain
        assert type(tainted) is TaintStr
        assert get_origins(tainted) == origins


def test_fstring_parts_and_builtins_that_build_text_in_c():
    x = s("v")
    # A lone replacement field is the formatted value itself: tainted.
    assert get_origins(f"{x}") == A
    # Joined parts are built by the interpreter: plain until rewritten.
    assert f"<{x}>" == "<v>"
    assert "".join([x, x]) == "vv"
