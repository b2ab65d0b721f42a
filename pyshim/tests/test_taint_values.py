"""wrap, get_origins, untaint and is_tainted over containers, models and
other objects: what each kind of value becomes, and that nothing a program
relies on (identity, type, shared mutation) changes."""

import collections
import dataclasses
import datetime
import decimal
import fractions
import json
import os
import pathlib
import re
import threading
import uuid

import pytest

import aco
from aco.taint import (
    EMPTY,
    TaintBytes,
    TaintFloat,
    TaintInt,
    TaintStr,
    get_origins,
    is_tainted,
    untaint,
    values,
    wrap,
)

A = frozenset({"A"})
B = frozenset({"B"})


class Plain:
    pass


SENTINEL = Plain()


@pytest.mark.parametrize(
    "value,want_type",
    [
        ("text", TaintStr),
        (b"raw", TaintBytes),
        (3, TaintInt),
        (2.5, TaintFloat),
    ],
)
def test_wrap_scalars(value, want_type):
    got = wrap(value, ["A"])
    assert type(got) is want_type and got == value and get_origins(got) == A
    assert is_tainted(got)
    assert type(untaint(got)) is type(value) and untaint(got) == value


@pytest.mark.parametrize(
    "value",
    [True, False, None, SENTINEL, Plain, len, json, iter([1]), ValueError("x"), 1j, bytearray(b"x"), {1, 2}, threading.Lock()],
    ids=lambda v: type(v).__name__,
)
def test_wrap_leaves_what_it_cannot_wrap_safely_as_it_is(value):
    assert wrap(value, A) is value
    assert get_origins(value) == EMPTY and not is_tainted(value)
    assert untaint(value) is value


@pytest.mark.parametrize("value", ["x", 3, [1, "a"], {"k": "v"}, ("t",)], ids=repr)
def test_empty_origins_give_the_value_itself(value):
    assert wrap(value, []) is value
    assert wrap(value, frozenset()) is value


def test_wrap_list_taints_elements_in_place_and_keeps_identity():
    inner = {"k": "v"}
    lst = ["a", 1, 2.5, None, True, inner, ("x", "y"), ["deep"]]
    got = wrap(lst, A)
    assert got is lst and got[5] is inner
    assert lst == ["a", 1, 2.5, None, True, {"k": "v"}, ("x", "y"), ["deep"]]
    assert [type(x) for x in lst[:5]] == [TaintStr, TaintInt, TaintFloat, type(None), bool]
    assert type(inner["k"]) is TaintStr and type(lst[6][0]) is TaintStr and type(lst[7][0]) is TaintStr
    assert get_origins(lst) == A


def test_wrap_keeps_shared_mutation_working():
    # d.setdefault(k, []).append(x) is the reason containers are not copied.
    d = {}
    bucket = wrap(d.setdefault("k", []), A)
    bucket.append("x")
    assert d == {"k": ["x"]}


def test_wrap_dict_taints_values_not_keys():
    d = collections.OrderedDict([("b", "1"), ("a", ["2"])])
    assert wrap(d, A) is d
    assert list(d) == ["b", "a"] and type(list(d)[0]) is str
    assert type(d["b"]) is TaintStr and type(d["a"][0]) is TaintStr


def test_wrap_json_loads_result_carries_origins_to_every_leaf():
    data = wrap(json.loads('{"answer": "42", "items": [{"name": "x", "n": 1}], "ok": true}'), ["call-1"])
    assert get_origins(data["answer"]) == {"call-1"}
    assert get_origins(data["items"][0]["name"]) == {"call-1"}
    assert get_origins(data["items"][0]["n"]) == {"call-1"}
    assert data["ok"] is True
    assert json.dumps(data) == '{"answer": "42", "items": [{"name": "x", "n": 1}], "ok": true}'


def test_wrap_immutable_containers_builds_new_ones():
    Point = collections.namedtuple("Point", "x y")
    t = wrap(("a", 1), A)
    p = wrap(Point("a", 2), A)
    f = wrap(frozenset({"a"}), A)
    assert type(t) is tuple and type(p) is Point and type(f) is frozenset
    assert t == ("a", 1) and p == Point("a", 2) and f == {"a"}
    assert get_origins(t[0]) == get_origins(p.x) == get_origins(next(iter(f))) == A


def test_wrap_leaves_other_list_subclasses_alone():
    class Watched(list):
        def __setitem__(self, i, v):
            raise AssertionError("must not be written")

    w = Watched(["a"])
    assert wrap(w, A) is w and type(w[0]) is str


def test_wrap_pydantic_and_dataclass_fields_in_place():
    pydantic = pytest.importorskip("pydantic")

    class Answer(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(frozen=True)
        text: str
        score: int
        tags: list

    @dataclasses.dataclass(frozen=True)
    class Note:
        body: str

    a = Answer(text="t", score=3, tags=["x"])
    before = a.model_dump_json()
    n = Note("b")
    assert wrap(a, A) is a and wrap(n, A) is n
    assert get_origins(a.text) == get_origins(a.score) == get_origins(a.tags[0]) == A
    assert get_origins(n.body) == A
    assert a.model_dump_json() == before and type(a) is Answer
    assert get_origins(a) == A and get_origins(n) == A
    # Models are not copied by untaint: identity is kept.
    assert untaint(a) is a


def test_pydantic_validation_accepts_tainted_values():
    pydantic = pytest.importorskip("pydantic")

    class M(pydantic.BaseModel):
        name: str
        n: int
        x: float

    m = M(name=wrap("ada", A), n=wrap(3, A), x=wrap(1.5, A))
    assert (m.name, m.n, m.x) == ("ada", 3, 1.5)
    assert M.model_validate_json(wrap('{"name": "b", "n": 1, "x": 2}', A)).name == "b"


def test_get_origins_looks_into_containers():
    value = {"messages": [{"role": "user", "content": wrap("hi", A)}], "opts": ({"x": wrap(1, B)},)}
    assert get_origins(value) == A | B
    assert get_origins({wrap("key", A): 1}) == A
    assert get_origins({wrap("member", B)}) == B
    assert get_origins([[[]]]) == EMPTY


def test_get_origins_is_bounded():
    nested = wrap("x", A)
    for _ in range(values.DEPTH):
        nested = [nested]
    assert get_origins(nested) == A
    assert get_origins([nested]) == EMPTY
    wide = ["plain"] * (values.BUDGET + 10) + [wrap("late", A)]
    assert get_origins(wide) == EMPTY
    assert get_origins(["plain"] * 10 + [wrap("early", A)]) == A


def test_cycles_terminate():
    lst = [wrap("x", A)]
    lst.append(lst)
    d = {"self": None}
    d["self"] = d
    assert get_origins(lst) == A and get_origins(d) == EMPTY
    assert wrap(d, A) is d
    assert untaint(lst)[0] == "x"


def test_untaint_is_deep_and_keeps_identity_when_nothing_is_tainted():
    clean = {"a": [1, "x", (2.5, None)], "b": {"c"}}
    assert untaint(clean) is clean
    inner_clean = ["keep"]
    dirty = {"a": [wrap("x", A)], "b": inner_clean, wrap("k", B): (wrap(1, A),), "s": {wrap("m", A)}}
    got = untaint(dirty)
    assert got == {"a": ["x"], "b": ["keep"], "k": (1,), "s": {"m"}}
    assert got["b"] is inner_clean
    assert type(got["a"][0]) is str and type(got[("k")][0]) is int and type(next(iter(got["s"]))) is str
    assert all(type(k) is str for k in got)
    assert type(dirty["a"][0]) is TaintStr  # the original is not changed


def test_untaint_keeps_container_types():
    Point = collections.namedtuple("Point", "x y")
    dd = collections.defaultdict(list, {"k": wrap("v", A)})
    got = untaint(dd)
    assert type(got) is collections.defaultdict and got.default_factory is list and type(got["k"]) is str
    p = untaint(Point(wrap("a", A), 1))
    assert type(p) is Point and type(p.x) is str


@pytest.mark.parametrize(
    "make,read",
    [
        (lambda: re.match(r"(\w+) (\w+)", "hello world"), lambda m: m.group(2)),
        (lambda: re.match(r"(\w+) (\w+)", "hello world"), lambda m: m[1]),
        (lambda: re.match(r"(?P<w>\w+)", "hello"), lambda m: m.groupdict()["w"]),
        (lambda: datetime.datetime(2024, 5, 6, 7, 8), lambda d: d.isoformat()),
        (lambda: datetime.datetime(2024, 5, 6, 7, 8), lambda d: d.year),
        (lambda: datetime.datetime(2024, 5, 6), lambda d: str(d + datetime.timedelta(days=1))),
        (lambda: decimal.Decimal("1.25"), lambda d: d * 2),
        (lambda: fractions.Fraction(1, 3), lambda f: f.numerator),
        (lambda: uuid.UUID(int=5), lambda u: u.hex),
        (lambda: pathlib.PurePosixPath("/tmp/a.txt"), lambda p: p.suffix),
        (lambda: pathlib.Path("/tmp/a.txt"), lambda p: str(p.parent)),
    ],
)
def test_proxies_for_value_like_objects(make, read):
    obj = make()
    p = wrap(obj, A)
    assert p is not obj
    assert isinstance(p, type(obj)) and p.__class__ is type(obj)
    got = read(p)
    assert got == read(make()) and get_origins(got) == A
    assert get_origins(p) == A and untaint(p) is obj
    assert p == obj and hash(p) == hash(obj) and repr(p) == repr(obj) and str(p) == str(obj)
    # Special methods answer as for the object itself.
    for name in ("__iter__", "__len__", "__getitem__", "__fspath__", "__add__"):
        assert hasattr(p, name) == hasattr(obj, name), name
    assert bool(p) == bool(obj)


def test_proxy_works_where_the_object_goes():
    p = wrap(pathlib.Path(os.devnull), A)
    assert os.fspath(p) == os.devnull
    with open(p) as f:
        assert f.read() == ""
    d = wrap(datetime.date(2024, 1, 2), A)
    assert datetime.date(2024, 1, 3) - d == datetime.timedelta(days=1)
    assert sorted([datetime.date(2025, 1, 1), d])[0] == datetime.date(2024, 1, 2)
    assert json.dumps({"d": untaint(d)}, default=str) == '{"d": "2024-01-02"}'
    assert get_origins(wrap(d, B)) == A | B


def test_a_proxied_match_pickles_and_copies_as_its_object():
    import copy
    import pickle

    d = wrap(datetime.datetime(2024, 1, 2), A)
    assert type(pickle.loads(pickle.dumps(d))) is datetime.datetime
    assert get_origins(copy.copy(d)) == A and copy.deepcopy(d) == d


def test_plain_values_take_the_fast_path():
    for v in ("s", b"b", 1, 1.5, True, None):
        assert get_origins(v) is EMPTY and untaint(v) is v and not is_tainted(v)


def test_public_aco_names():
    t = aco.taint_wrap("text", taint_origin="n1")
    assert aco.get_taint_origins(t) == ["n1"]
    assert aco.get_taint_origins(aco.taint_wrap(["a"], taint_origin=["n2", "n1"])) == ["n1", "n2"]
    assert type(aco.untaint_if_needed(t)) is str
    assert aco.taint_wrap("x") == "x" and type(aco.taint_wrap("x")) is str
    assert aco.get_taint_origins("plain") == []


def test_import_aco_does_not_import_taint(tmp_path):
    import subprocess
    import sys

    code = "import sys, aco; print('aco.taint' in sys.modules)"
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(aco.__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, check=True)
    assert out.stdout.strip() == "False"


def test_threads_wrapping_and_reading_shared_data():
    data = {"k%d" % i: ["v"] * 10 for i in range(200)}
    errors = []

    def work(i):
        try:
            for _ in range(30):
                wrap(data, ["n%d" % i])
                get_origins(data)
                untaint(data)
                data["k%d" % i].append("x")
        except Exception as e:  # pragma: no cover - the assertion below reports it
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert get_origins(data) == {"n0", "n1", "n2", "n3"}
    assert all(len(data["k%d" % i]) == 40 for i in range(4))
