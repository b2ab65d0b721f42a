"""Transform-then-exec: rewritten code must behave as plain code does, and
carry taint where plain code would drop it."""

import ast
import asyncio
import os
import sys
import textwrap
import traceback
import warnings

import pytest

from aco.rewrite import helpers, transform

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import taint_standin as T  # noqa: E402

A = frozenset({"A"})
B = frozenset({"B"})


@pytest.fixture(autouse=True)
def standin(monkeypatch, tmp_path):
    monkeypatch.setattr(helpers, "_taint", T)
    global _default_file
    helpers.set_project_roots([str(tmp_path / "proj")])
    # Code run by the tests counts as the user's, as an agent's file would.
    _default_file = str(tmp_path / "proj" / "agent.py")
    yield
    helpers.set_project_roots([])


_default_file = None


def run(src, filename=None, rewritten=True, **env):
    src = textwrap.dedent(src)
    filename = filename or _default_file
    if rewritten:
        code = transform.compile_rewritten(src, filename)
    else:
        code = compile(src, filename, "exec", dont_inherit=True)
    ns = {"__name__": "rewritten_mod", "A": T.TStr("alpha", A), "B": T.TStr("beta", B)}
    ns.update(env)
    exec(code, ns)
    return ns


@pytest.mark.parametrize(
    "expr, text, origins",
    [
        ('f"<{A}>"', "<alpha>", A),
        ('f"{A!r:>10}|{B}"', "   'alpha'|beta", A | B),
        ('f"{A=}"', "A='alpha'", A),
        ('f"{{}}{A:{w}}"', "{}alpha     ", A),
        ('"{}-{k}".format(A, k=B)', "alpha-beta", A | B),
        ('"%s/%s" % (A, B)', "alpha/beta", A | B),
        ('"%(x)s!" % {"x": A}', "alpha!", A),
        ('"<%s>" % A', "<alpha>", A),
        ('"x" + A', "xalpha", A),
        ('A + "x"', "alphax", A),
        ('", ".join([A, B])', "alpha, beta", A | B),
        ('json.dumps({"k": A})', '{"k": "alpha"}', A),
        ('json.loads(json.dumps([A]))', ["alpha"], A),
        ('re.search(r"l(p)h", A).group(1)', "p", A),
        ('re.sub("a", "o", A)', "olpho", A),
        ('textwrap.shorten(A + " " + B, width=20)', "alpha beta", A | B),
        ('str.upper(A)', "ALPHA", A),
        ('", ".join(x.upper() for x in (A, B))', "ALPHA, BETA", A | B),
        ('"-".join(sorted((x for x in ["c", B]), key=len))', "c-beta", B),
        ('"|".join(",".join(x for x in (w, "z")) for w in (A, B))', "alpha,z|beta,z", A | B),
        ('max(x for x in (A, B))', "beta", A | B),
    ],
)
def test_taint_flows(expr, text, origins):
    ns = run("import json, re, textwrap\nw = 10\nout = " + expr)
    out = ns["out"]
    assert out == text
    assert T.get_origins(out) == origins


def test_generator_arguments_taint_each_call_with_what_it_drew():
    ns = run(
        """
        per_word = [",".join(x for x in (w, "z")) for w in (A, B, "c")]
        nothing = "".join(x for x in ("p", "q"))
        try:
            "".join(x if x != "q" else 1 / 0 for x in (A, "q"))
        except ZeroDivisionError:
            pass
        after_error = "".join(x for x in (B,))
        lazy = map(str.upper, (x for x in (A,)))
        """
    )
    assert [T.get_origins(x) for x in ns["per_word"]] == [A, B, frozenset()]
    assert ns["per_word"] == ["alpha,z", "beta,z", "c,z"]
    assert ns["nothing"] == "pq" and not T.get_origins(ns["nothing"])
    # A call that raised leaves what it drew to the next call: over-tainting,
    # never a crash or a changed value.
    assert ns["after_error"] == "beta" and B <= T.get_origins(ns["after_error"])
    assert list(ns["lazy"]) == ["ALPHA"]


def test_int_of_a_tainted_text_is_tainted():
    ns = run("n = int(N)\nplain = int('5')\n", N=T.TStr("12", A))
    assert ns["n"] == 12 and T.get_origins(ns["n"]) == A
    assert type(ns["plain"]) is int


def test_generator_argument_keeps_python_s_traceback():
    src = "def bad(x):\n    return 1 / 0\n\n\nout = ','.join(bad(x) for x in (A,))\n"
    got = {}
    for rewritten in (False, True):
        with pytest.raises(ZeroDivisionError) as ei:
            run(src, rewritten=rewritten)
        got[rewritten] = [(f.name, f.lineno) for f in traceback.extract_tb(ei.value.__traceback__)][-3:]
    assert got[True] == got[False]


def test_augmented_add_keeps_taint():
    ns = run("s = 'q:'\ns += A\nn = 1\nn += 2\n")
    assert ns["s"] == "q:alpha" and T.get_origins(ns["s"]) == A
    assert ns["n"] == 3


@pytest.mark.parametrize(
    "expr",
    [
        'f"{x!a}|{y:>{w}.{p}}|{x=!s:^9}|{{lit}}|{y:{\'<\'}8}"',
        '"%5.2f|%s" % (y, x)',
        '"{0:>{1}}".format(x, w)',
        '7 % w',
        '"%d" % w',
        'f"{ {1: 2}[1] }"',
        'f"{x}" f"{y}" "tail"',
    ],
)
def test_plain_values_format_exactly_as_python(expr):
    src = "x = 'h\\xe9llo'\ny = 3.14159\nw = 7\np = 2\nout = " + expr
    plain, rewritten = run(src, rewritten=False)["out"], run(src)["out"]
    assert rewritten == plain
    assert type(rewritten) is type(plain)


def test_untainted_calls_return_plain_types():
    ns = run("import json\nout = json.dumps({'a': [1, 2]})\nf = f'{out}'\n")
    assert type(ns["out"]) is str and type(ns["f"]) is str


def test_user_functions_get_tainted_values_as_they_are():
    ns = run(
        """
        def own(x):
            return x
        class K:
            def m(self, x):
                return x
        same = own(A) is A
        method_same = K().m(A) is A
        """
    )
    assert ns["same"] and ns["method_same"]


def test_calls_into_user_files_keep_taint_and_third_party_gets_plain(tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "mine.py").write_text("def kind(x):\n    return type(x).__name__\n")
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "theirs.py").write_text("def kind(x):\n    return type(x).__name__\n")
    sys.path[:0] = [str(proj), str(lib)]
    try:
        ns = run("import mine, theirs\nmk = mine.kind(A)\ntk = theirs.kind(A)\n")
    finally:
        sys.path.remove(str(proj))
        sys.path.remove(str(lib))
        sys.modules.pop("mine", None)
        sys.modules.pop("theirs", None)
    assert ns["mk"] == "TStr"
    assert ns["tk"] == "str"
    assert T.get_origins(ns["tk"]) == A


def test_mutable_arguments_are_changed_in_place():
    ns = run(
        """
        import random, collections
        lst = []
        lst.append(A)
        d = {}
        d.update({"k": A})
        items = [A, B, "c", "d", "e", "f", "g"]
        random.Random(1).shuffle(items)
        dq = collections.deque()
        dq.append(A)
        """
    )
    assert ns["lst"][0] is ns["A"]
    assert ns["d"]["k"] is ns["A"]
    assert sorted(ns["items"]) == ["alpha", "beta", "c", "d", "e", "f", "g"]
    assert ns["items"] != ["alpha", "beta", "c", "d", "e", "f", "g"]
    assert ns["dq"][0] is ns["A"]


@pytest.mark.parametrize(
    "name, call",
    [
        ("isinstance", "isinstance(A, str)"),
        ("super", "super()"),
        ("locals", "locals()"),
        ("eval", "eval(s)"),
        ("len", "len(s)"),
    ],
)
def test_keep_identity_builtins_are_not_rewritten(name, call):
    tree = transform.rewrite("out = " + call, "<t>")
    assert "_@aco" not in ast.unparse(tree)


def test_scoping_builtins_see_the_callers_frame():
    src = """
        import json
        def f(a):
            b = json.dumps(a)
            c = eval("b + '!'")
            exec("d = 1")
            return sorted(locals()), c, vars()["a"]
        out = f(A)
        """
    ns = run(src)
    names, c, a = ns["out"]
    assert names == run(src, rewritten=False)["out"][0]
    assert "b" in names and not any("@" in n for n in names)
    assert c == '"alpha"!'
    assert a is ns["A"]


def test_super_zero_argument_form():
    ns = run(
        """
        class E(ValueError):
            def __init__(self, msg):
                super().__init__(f"bad: {msg}")
        class Base:
            def greet(self, who):
                return "hi " + who
        class Child(Base):
            def greet(self, who):
                return super().greet(who).upper()
        e = E(A)
        g = Child().greet(B)
        """
    )
    assert str(ns["e"]) == "bad: alpha"
    assert ns["g"] == "HI BETA" and T.get_origins(ns["g"]) == B


def test_generators_async_comprehensions_match_walrus():
    ns = run(
        """
        import asyncio, json
        def gen(xs):
            got = yield f"start"
            for x in xs:
                got = yield f"<{x}|{got}>"
        g = gen([A, B])
        seq = [next(g), g.send(1), g.send(2)]
        async def twice(x):
            await asyncio.sleep(0)
            return f"{x}{x}"
        async def main():
            return await asyncio.gather(twice(A), twice(B))
        gathered = asyncio.run(main())
        comp = [f"{x}" for x in (A, B) if (n := len(x)) > 4]
        last_n = n
        class C:
            items = [f"{i}" for i in range(2)]
        def route(cmd):
            match cmd:
                case {"op": "say", "text": str(t)} if t.startswith("al"):
                    return f"said {t}"
                case [x, *rest]:
                    return json.dumps(rest)
                case _:
                    return "?"
        said = route({"op": "say", "text": A})
        rest = route([1, 2, 3])
        """
    )
    seq = ns["seq"]
    assert seq == ["start", "<alpha|1>", "<beta|2>"]
    assert T.get_origins(seq[1]) == A and T.get_origins(seq[2]) == B
    assert ns["gathered"] == ["alphaalpha", "betabeta"]
    assert T.get_origins(ns["gathered"][0]) == A
    assert ns["comp"] == ["alpha"] and ns["last_n"] == 4
    assert ns["C"].items == ["0", "1"]
    assert ns["said"] == "said alpha" and T.get_origins(ns["said"]) == A
    assert ns["rest"] == "[2, 3]"


def test_decorators_and_annotations_are_left_as_written():
    src = """
        from __future__ import annotations
        import functools
        from typing import Annotated
        size = 4
        def meta(n):
            return lambda f: f
        @functools.lru_cache(maxsize=size)
        @meta(f"{size}")
        def f(x: Annotated[int, meta(f"{size}")], y: dict[str, int] = {}) -> list[str]:
            z: Annotated[str, functools.partial(print, size)] = f"{x}"
            return [z]
        out = f(3)
        """
    tree = transform.rewrite(textwrap.dedent(src), "<t>")
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "f")
    assert "_@aco" not in "".join(ast.unparse(d) for d in fn.decorator_list)
    assert "_@aco" not in ast.unparse(fn.args) and "_@aco" not in ast.unparse(fn.returns)
    plain, rewritten = run(src, rewritten=False), run(src)
    assert rewritten["f"].__annotations__ == plain["f"].__annotations__
    assert rewritten["out"] == ["3"]
    assert hasattr(rewritten["f"], "cache_info")


def test_future_import_and_docstring_stay_first():
    src = '"""Doc."""\nfrom __future__ import annotations\nimport json\nx = json.dumps(A)\n'
    tree = transform.rewrite(src, "<t>")
    assert isinstance(tree.body[1], ast.ImportFrom) and tree.body[1].module == "__future__"
    assert tree.body[2].names[0].asname == transform.HELPERS_NAME
    ns = run(src)
    assert ns["__doc__"] == "Doc."


def test_untouched_module_gets_no_import():
    src = "def f(x):\n    return x + 1\n"
    assert ast.dump(transform.rewrite(src, "<t>")) == ast.dump(ast.parse(src))


SRC_CRASH = """\
import json


def parse(text):
    data = json.loads(
        text)
    return data


def outer(t):
    return f"{parse(t)}"


outer(A)
"""


def _frames(tb):
    return [(f.name, f.lineno, f.colno, f.end_colno) for f in traceback.extract_tb(tb)]


def test_traceback_lines_and_columns_are_python_s():
    got = {}
    for rewritten in (False, True):
        with pytest.raises(ValueError) as ei:
            run(SRC_CRASH, filename="agent.py", rewritten=rewritten, A="{bad")
        frames = _frames(ei.value.__traceback__)
        got[rewritten] = [f for f in frames if f[0] in ("<module>", "outer", "parse")]
        assert not any("aco/rewrite" in f.filename for f in traceback.extract_tb(ei.value.__traceback__) if rewritten)
    assert got[True] == got[False]
    assert [f[1] for f in got[True]] == [14, 11, 5]


def test_plain_path_adds_no_frame_before_the_callee():
    ns = run(
        """
        import warnings, logging, collections, sys, io
        def inner():
            warnings.warn(f"{n}", UserWarning, stacklevel=2)
        def depth(k):
            return sys._getframe(k).f_code.co_name
        n = 1
        P = collections.namedtuple("P", fields)
        here = depth(n)
        """,
        filename="agent.py",
        fields=["a"],
    )
    assert ns["P"].__module__ == "rewritten_mod"
    assert ns["here"] == "<module>"
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ns["inner"]()
    assert w[0].filename == __file__


def test_opt_out_marker():
    assert transform.has_opt_out("#!/usr/bin/env python\n# aco: no-rewrite\nx = 1\n")
    assert transform.has_opt_out(b"#aco:no-rewrite\n")
    assert not transform.has_opt_out("x = 1\n" * 30 + "# aco: no-rewrite\n")


def test_internal_failure_falls_back_to_plain_call(monkeypatch):
    class Broken:
        def get_origins(self, v):
            raise RuntimeError("boom")

    monkeypatch.setattr(helpers, "_taint", Broken())
    ns = run("import json\nv = [[1]]\nout = json.dumps(v)\n")
    assert ns["out"] == "[[1]]"
    assert helpers._taint is False


def test_async_and_await_in_arguments():
    ns = run(
        """
        import asyncio, json
        async def value():
            await asyncio.sleep(0)
            return A
        async def main():
            return json.dumps(await value())
        out = asyncio.run(main())
        """
    )
    assert ns["out"] == '"alpha"' and T.get_origins(ns["out"]) == A


@pytest.mark.parametrize(
    "src, rewritten",
    [
        ("rows = []\nrows.append(x)", False),
        ("def f(x):\n    counts = {}\n    return counts.get(x, 0)", False),
        ("rows: list[str] = []\nrows += z\nrows.append(x)", False),
        ("def f(x):\n    s = set()\n    def g():\n        s.add(x)", False),
        ("CACHE = {}\nclass C:\n    def m(self, k):\n        return CACHE.get(k)", False),
        ("a = b = [i for i in z]\nb.extend(x)", False),
        # a parameter, another binding, or a name something else may rebind
        ("def f(rows, x):\n    rows.append(x)", True),
        ("rows = []\nrows = make()\nrows.append(x)", True),
        ("rows = []\nfor rows in z:\n    pass\nrows.append(x)", True),
        ("rows = []\nif (rows := z):\n    pass\nrows.append(x)", True),
        ("rows = []\ndef g():\n    global rows\n    rows = z\nrows.append(x)", True),
        ("def f():\n    rows = []\n    def g():\n        nonlocal rows\n        rows = z\n    rows.append(x)", True),
        ("rows = []\nh = lambda rows: rows.append(x)", True),
        ("d = {}\nout = [d.get(x) for d in ds]", True),
        ("from m import *\nrows = []\nrows.append(x)", True),
        ("class C:\n    items = []\n    items.append(x)", True),
        ("import d\nd = {}\nd.get(x)", True),
        # not a method that keeps its arguments: fromkeys makes a new dict
        ("d = {}\nout = d.fromkeys(x)", True),
        ("rows = []\nrows.join(x)", True),
        ("def f(x):\n    rows = list()\n    rows.append(x)", False),
        ("def f(x):\n    rows = list()\n    rows.append(x)\ndef list():\n    pass", True),
        ("def f(x, set):\n    s = set()\n    s.add(x)", True),
        ("rows = list(z)\nrows.append(x)", True),
    ],
)
def test_methods_of_fresh_containers_are_left_alone(src, rewritten):
    tree = transform.rewrite(src, "<t>")
    assert ("_@aco" in ast.unparse(tree)) == rewritten
    compile(tree, "<t>", "exec", dont_inherit=True)


def test_taint_goes_through_containers_left_alone():
    ns = run(
        """
        def collect(xs):
            rows = []
            counts = {}
            for x in xs:
                rows.append(x.upper())
                counts[x] = counts.get(x, 0) + 1
            return "-".join(rows), counts.get(xs[0]), rows.pop()
        joined, n, last = collect([A, B, A])
        """
    )
    assert ns["joined"] == "ALPHA-BETA-ALPHA" and T.get_origins(ns["joined"]) == A | B
    assert ns["n"] == 2
    assert ns["last"] == "ALPHA" and T.get_origins(ns["last"]) == A


def test_every_node_made_has_a_place_in_the_source():
    src = textwrap.dedent(
        """
        import json
        def f(items, name):
            parts = [f"{name}-{i}: {item!r:>4}" for i, item in enumerate(items)]
            return json.dumps(", ".join(p for p in parts)) + "%s" % name
        """
    )
    tree = transform.rewrite(src, "<t>")
    placed = [n for n in ast.walk(tree) if "lineno" in n._attributes]
    # Reading a position the rewrite forgot to set raises AttributeError.
    assert all(1 <= n.lineno <= n.end_lineno <= 5 for n in placed)
    helpers_used = [n for n in placed if isinstance(n, ast.Name) and n.id == transform.HELPERS_NAME]
    assert len(helpers_used) >= 4


@pytest.mark.parametrize(
    "line",
    [
        "# aco: no-rewrite",
        "#aco:no-rewrite",
        "x = 1  #  aco:\tno-rewrite please",
        "# aco: no-rewrite.",
        "# aco: no-rewrite-later",
        "# aco: no-rewriter",
        "# aco: no-rewrite_x",
        "# aco: no-rewriteé",
        "# aco : no-rewrite",
        "# acos: no-rewrite",
        "# note # aco: no-rewrite",
        "s = '#' # aco: no-rewrite",
        "# aco:\u3000no-rewrite",
        "aco: no-rewrite",
        "# aco: no rewrite",
        "#",
        "",
    ],
)
def test_opt_out_marker_matches_as_the_pattern_says(line):
    import re

    want = re.search(r"#\s*aco:\s*no-rewrite\b", line) is not None
    assert transform.has_opt_out(line + "\n") is want


def test_helpers_types_are_the_stdlib_ones():
    import functools
    import re
    import types

    from aco.rewrite import helpers

    assert helpers._partial is functools.partial
    assert helpers._method is types.MethodType
    assert helpers._NEVER_INSPECT == (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)
    assert helpers._match_type() is re.Match
