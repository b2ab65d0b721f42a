"""The rewritten-bytecode cache, the import hook and the watcher's worker,
with real files, real imports in fresh interpreters and a real worker
process."""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

import aco.rewrite
from aco.rewrite import cache, transform

PYSHIM = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return str(path)


@pytest.fixture(autouse=True)
def writable_bytecode(monkeypatch):
    # The suite may run under PYTHONDONTWRITEBYTECODE, which load() honours.
    monkeypatch.setattr(sys, "dont_write_bytecode", False)


def uses_helpers(code):
    return transform.HELPERS_NAME in code.co_names


def test_cache_file_is_beside_pythons_own_and_named_apart(tmp_path):
    src = write(tmp_path / "m.py", "import json\nx = json.dumps(y)\n")
    own = importlib.util.cache_from_source(src)
    path = cache.cache_path(src)
    assert os.path.dirname(path) == os.path.dirname(own)
    assert path != own and ".aco-%s" % transform.REWRITER_VERSION in path
    assert sys.implementation.cache_tag in os.path.basename(path)


def test_load_writes_then_reuses_a_fresh_cache(tmp_path, monkeypatch):
    src = write(tmp_path / "m.py", "import json\nx = json.dumps(y)\n")
    code = cache.load(src)
    assert uses_helpers(code)
    assert os.path.isfile(cache.cache_path(src))
    assert not os.path.exists(importlib.util.cache_from_source(src))

    def no_rewrite(*a, **k):
        raise AssertionError("a fresh cache must not be rewritten again")

    monkeypatch.setattr(cache, "compile_source", no_rewrite)
    again = cache.load(src)
    assert again.co_names == code.co_names


def test_stale_cache_is_rewritten(tmp_path):
    p = tmp_path / "m.py"
    src = write(p, "a = f'{b}'\n")
    cache.load(src)
    p.write_text("c = f'{d}'\n")
    code = cache.load(src)
    assert "c" in code.co_names and "a" not in code.co_names


def test_version_change_uses_another_file(tmp_path, monkeypatch):
    src = write(tmp_path / "m.py", "a = f'{b}'\n")
    old = cache.cache_path(src)
    cache.load(src)
    monkeypatch.setattr(aco.rewrite, "REWRITER_VERSION", "test-next")
    new = cache.cache_path(src)
    assert new != old
    cache.load(src)
    assert os.path.isfile(old) and os.path.isfile(new)


@pytest.mark.parametrize("damage", [b"", b"garbage", None])
def test_damaged_or_foreign_cache_is_replaced(tmp_path, damage):
    src = write(tmp_path / "m.py", "a = f'{b}'\n")
    target = cache.cache_path(src)
    cache.load(src)
    blob = open(target, "rb").read()
    if damage is None:  # another interpreter's magic number
        damage = b"\0\0\r\n" + blob[4:]
    with open(target, "wb") as f:
        f.write(damage)
    assert uses_helpers(cache.load(src))
    assert open(target, "rb").read() == blob


def test_dont_write_bytecode_keeps_code_in_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    src = write(tmp_path / "m.py", "a = f'{b}'\n")
    assert cache.load(src) is cache.load(src)
    assert not os.path.exists(tmp_path / "__pycache__")


def test_unwritable_pycache_falls_back_to_memory(tmp_path, monkeypatch):
    src = write(tmp_path / "m.py", "a = f'{b}'\n")
    # A file where the directory should be: no user can write there.
    (tmp_path / "__pycache__").write_text("")
    first = cache.load(src)
    assert uses_helpers(first)

    def no_rewrite(*a, **k):
        raise AssertionError("kept in memory")

    monkeypatch.setattr(cache, "compile_source", no_rewrite)
    assert cache.load(src) is first
    with pytest.raises(OSError):
        cache._write_atomic(cache.cache_path(src), b"x")


def test_refresh_writes_atomically_and_raises_on_errors(tmp_path):
    src = write(tmp_path / "m.py", "a = f'{b}'\n")
    cache.refresh(src)
    target = cache.cache_path(src)
    assert uses_helpers(cache._unpack(open(target, "rb").read(), importlib.util.source_hash(open(src, "rb").read())))
    assert os.listdir(os.path.dirname(target)) == [os.path.basename(target)]
    bad = write(tmp_path / "bad.py", "def f(:\n")
    with pytest.raises(SyntaxError):
        cache.refresh(bad)
    assert not os.path.exists(cache.cache_path(bad))
    assert sorted(os.listdir(os.path.dirname(target))) == [os.path.basename(target)]


def test_refresh_removes_the_cache_of_an_opted_out_file(tmp_path):
    p = tmp_path / "m.py"
    src = write(p, "a = f'{b}'\n")
    cache.refresh(src)
    p.write_text("# aco: no-rewrite\na = f'{b}'\n")
    cache.refresh(src)
    assert not os.path.exists(cache.cache_path(src))


def run_python(code, cwd, env_extra=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = PYSHIM
    env["ACO_HOME"] = str(cwd / "home")
    env.pop("ACO_REWRITE", None)
    env.update(env_extra or {})
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    r = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


HOOK_PROBE = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, "proj")
    from aco.rewrite import hook
    hook.install(["proj"])
    import {mods}
    for m in [{mods}]:
        print(m.__name__, type(m.__loader__).__name__, "_@aco" in vars(m), m.value)
    """
)


def test_hook_rewrites_user_modules_only(tmp_path):
    write(tmp_path / "proj/pkg/__init__.py", "from . import sub\nvalue = f'{sub.value}!'\n")
    write(tmp_path / "proj/pkg/sub.py", "import json\nx = [1]\nvalue = json.dumps(x)\n")
    write(tmp_path / "proj/optout.py", "# aco: no-rewrite\nvalue = f'{1}'\n")
    write(tmp_path / "proj/broken.py", "value = f'{1}'\n")
    write(tmp_path / "proj/.venv/lib/site-packages/vendored.py", "value = f'{2}'\n")
    write(tmp_path / "proj/.venv/pyvenv.cfg", "")
    code = HOOK_PROBE.format(mods="pkg, pkg.sub, optout, broken")
    code = code.replace(
        "import pkg,",
        "from aco.rewrite import cache\n"
        "real = cache.load\n"
        "def load(path, data=None):\n"
        "    if path.endswith('broken.py'):\n"
        "        raise RuntimeError('rewrite exploded')\n"
        "    return real(path, data)\n"
        "cache.load = load\n"
        "sys.path.insert(0, 'proj/.venv/lib/site-packages')\n"
        "import vendored\n"
        "print('vendored', type(vendored.__loader__).__name__, '_@aco' in vars(vendored), vendored.value)\n"
        "import pkg,",
    )
    out = run_python(code, tmp_path)
    rows = [out[i : i + 4] for i in range(0, len(out), 4)]
    assert rows == [
        ["vendored", "SourceFileLoader", "False", "2"],
        ["pkg", "RewritingLoader", "True", "[1]!"],
        ["pkg.sub", "RewritingLoader", "True", "[1]"],
        ["optout", "SourceFileLoader", "False", "1"],
        ["broken", "RewritingLoader", "False", "1"],
    ]
    log = (tmp_path / "home" / "shim.log").read_text()
    assert log.count("broken.py runs un-rewritten") == 1
    assert os.path.isfile(cache.cache_path(str(tmp_path / "proj/pkg/sub.py")))


def test_hook_finds_a_module_where_python_would(tmp_path):
    # The hook searches only the sys.path prefix that can hold user code,
    # so a module is loaded from where python would load it: an earlier
    # entry outside the project still wins over the project's copy, a
    # project below a sys.path entry is found through that entry, and a
    # package in a virtualenv kept in the project is left to python.
    write(tmp_path / "proj/shadowed.py", "value = f'{1}'\n")
    write(tmp_path / "proj/mine.py", "value = f'{1}'\n")
    write(tmp_path / "proj/sub/deep.py", "value = f'{3}'\n")
    write(tmp_path / "outside/shadowed.py", "value = f'{2}'\n")
    write(tmp_path / "proj/.venv/pyvenv.cfg", "")
    write(tmp_path / "proj/.venv/lib/site-packages/vend/__init__.py", "")
    write(tmp_path / "proj/.venv/lib/site-packages/vend/inner.py", "value = f'{4}'\n")
    code = textwrap.dedent(
        """
        import os, sys
        from aco.rewrite import hook
        hook.install(["proj"])
        sys.path[:0] = [os.path.abspath("outside"), os.path.abspath("proj"), os.getcwd(), os.path.abspath("proj/.venv/lib/site-packages")]
        import shadowed, mine, proj.sub.deep as deep, vend.inner as inner
        for m in (shadowed, mine, deep, inner):
            print(m.__name__, type(m.__loader__).__name__, m.value)
        """
    )
    out = run_python(code, tmp_path)
    rows = [out[i : i + 3] for i in range(0, len(out), 3)]
    assert rows == [
        ["shadowed", "SourceFileLoader", "2"],
        ["mine", "RewritingLoader", "1"],
        ["proj.sub.deep", "RewritingLoader", "3"],
        ["vend.inner", "SourceFileLoader", "4"],
    ]


def test_rewrite_off_switch(tmp_path):
    write(tmp_path / "proj/mod.py", "value = f'{1}'\n")
    out = run_python(HOOK_PROBE.format(mods="mod"), tmp_path, {"ACO_REWRITE": "0"})
    assert out == ["mod", "SourceFileLoader", "False", "1"]


def test_rewrite_main_matches_python_for_good_and_bad_scripts(tmp_path):
    from aco.rewrite import hook

    good = hook.rewrite_main("/x/agent.py", b"# -*- coding: latin-1 -*-\nimport json\nx = json.dumps(y)\n")
    assert uses_helpers(good) and good.co_filename == "/x/agent.py"
    with pytest.raises(SyntaxError) as ours:
        hook.rewrite_main("/x/agent.py", b"x = (\n")
    with pytest.raises(SyntaxError) as plain:
        compile(b"x = (\n", "/x/agent.py", "exec", dont_inherit=True)
    assert (ours.value.msg, ours.value.lineno, ours.value.offset) == (plain.value.msg, plain.value.lineno, plain.value.offset)
    assert not uses_helpers(hook.rewrite_main("/x/a.py", "# aco: no-rewrite\nx = f'{y}'\n"))


def test_worker_protocol(tmp_path):
    good = write(tmp_path / "good.py", "x = f'{y}'\n")
    bad = write(tmp_path / "bad.py", "def f(:\n")
    requests = [
        {"id": 1, "path": good},
        {"id": 2, "path": bad},
        {"id": 3, "path": str(tmp_path / "missing.py")},
        "not json",
        {"id": 5},
    ]
    lines = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in requests)
    env = dict(os.environ, PYTHONPATH=PYSHIM)
    r = subprocess.run(
        [sys.executable, "-m", "aco.rewrite.worker"], input=lines, env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    replies = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(x["id"], x["ok"]) for x in replies] == [(1, True), (2, False), (3, False), (None, False), (5, False)]
    assert "SyntaxError" in replies[1]["error"]
    assert "FileNotFoundError" in replies[2]["error"]
    assert os.path.isfile(cache.cache_path(good))


def test_aco_itself_is_never_user_code(tmp_path):
    """The shim may be unpacked under a project root (ACO_HOME in /tmp, a
    script in /tmp); its own modules must never be rewritten."""
    import aco
    from aco.rewrite import paths

    shim_root = os.path.dirname(os.path.dirname(os.path.realpath(aco.__file__)))
    roots = paths.normalize_roots([shim_root])
    assert not paths.is_user_file(os.path.join(os.path.dirname(aco.__file__), "client.py"), roots)
    assert paths.is_user_file(str(tmp_path / "agent.py"), paths.normalize_roots([str(tmp_path)]))


def test_bootstrap_functions_are_importlibs():
    import importlib.machinery
    import importlib.util

    from aco import _bootstrap

    for data in (b"", b"x = 1\n", bytes(range(256)) * 9):
        assert _bootstrap.source_hash(data) == importlib.util.source_hash(data)
    assert _bootstrap.MAGIC_NUMBER == importlib.util.MAGIC_NUMBER
    assert _bootstrap.cache_from_source("/p/m.py") == importlib.util.cache_from_source("/p/m.py")
    assert _bootstrap.decode_source(b"# coding: latin-1\nx = '\xe9'\n") == importlib.util.decode_source(b"# coding: latin-1\nx = '\xe9'\n")
    assert _bootstrap.SourceFileLoader is importlib.machinery.SourceFileLoader
    assert _bootstrap.PathFinder is importlib.machinery.PathFinder
    assert _bootstrap.BuiltinImporter is importlib.machinery.BuiltinImporter
