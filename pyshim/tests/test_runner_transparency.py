"""A program run by aco.runner must not be able to tell it is not under plain
python. Each case runs the same program both ways, as real subprocesses, and
compares stdout, stderr and the exit status byte for byte. The server address
points at a closed port, so the runner runs fail-open and adds exactly one
"aco: " warning line to stderr, which is set aside before comparing."""

import os
import signal
import subprocess
import textwrap

import pytest

from runner_helpers import (
    PYTHON,
    RUNNER_MODULE,
    RUNNER_SCRIPT,
    base_env,
    closed_port,
    run_aco,
    run_plain,
    runner_env,
    split_aco_lines,
)

PROGRAMS = {
    "argv.py": """
        import sys
        print(sys.argv)
        print(sys.orig_argv[1:])
    """,
    "main_module.py": """
        import builtins, os, sys
        print(list(globals()))
        print(__name__, __file__, __cached__, __spec__, __package__, __doc__)
        print(type(__loader__).__name__, __loader__.name, __loader__.path)
        print(__builtins__ is builtins, sys.modules["__main__"] is sys.modules[__name__])
        print(sys.modules["__main__"])
        print(sys.path[0])
        print(os.environ.get("PYTHONPATH"), sorted(k for k in os.environ if k.startswith("ACO_")))
        if __name__ == "__main__":
            print("guarded block runs")
    """,
    "stdin.py": """
        import sys
        data = sys.stdin.read()
        print(repr(data.upper()))
        print(sys.stdin.isatty(), sys.stdout.isatty())
    """,
    "exit0.py": "import sys\nprint('out')\nsys.exit(0)\n",
    "exit3.py": "import sys\nprint('out')\nsys.exit(3)\n",
    "exitmsg.py": "import sys\nprint('out')\nsys.exit('fatal: bad input')\n",
    "exitnone.py": "raise SystemExit\n",
    "crash.py": """
        def inner(d):
            return d["missing"]

        def outer():
            return inner({})

        print("before", flush=True)
        outer()
    """,
    "chained.py": """
        class AppError(Exception):
            pass

        def parse(s):
            try:
                return int(s)
            except ValueError as e:
                raise AppError("cannot parse %r" % s) from e

        try:
            parse("x")
        except AppError:
            {}["k"]
    """,
    "syntax.py": "x = 1\ndef (\n",
    "keyboard.py": "print('waiting', flush=True)\nraise KeyboardInterrupt\n",
    "pickler.py": """
        import pickle

        class Point:
            def __init__(self, x, y):
                self.x, self.y = x, y

        def double(v):
            return 2 * v

        p = pickle.loads(pickle.dumps(Point(1, 2)))
        print(type(p), p.x, p.y, pickle.loads(pickle.dumps(double))(21))
    """,
    "spawn.py": """
        import multiprocessing as mp

        def square(v):
            return v * v

        if __name__ == "__main__":
            with mp.get_context("spawn").Pool(1) as pool:
                print(pool.map(square, [1, 2, 3]))
    """,
    "atexit_threads.py": """
        import atexit, sys, threading
        gate = threading.Event()

        def late():
            gate.wait()
            print("thread done", flush=True)

        threading.Thread(target=late).start()
        atexit.register(lambda: print("atexit sees __file__:", hasattr(sys.modules["__main__"], "__file__")))
        print("main done", threading.active_count(), flush=True)
        gate.set()
    """,
    "excepthook.py": """
        import sys

        def hook(t, v, tb):
            print("custom hook:", t.__name__, v, tb.tb_frame.f_code.co_name, file=sys.stderr)

        sys.excepthook = hook
        raise RuntimeError("boom")
    """,
    "frames.py": """
        import sys, traceback
        try:
            1 / 0
        except ZeroDivisionError:
            traceback.print_exc()
        print(sys._getframe().f_code.co_filename == __file__)
    """,
    "coding.py": "# -*- coding: latin-1 -*-\nprint(len('\xe9'))\n",
    "tools/where.py": "import sys, sibling\nprint(sys.path[0], sibling.NAME, __file__)\n",
    "tools/sibling.py": "NAME = 'sibling'\n",
    "pkg/__init__.py": "import sys\nprint('pkg init', sys.argv)\n",
    "pkg/helper.py": "VALUE = 'helper value'\n",
    "pkg/__main__.py": """
        import sys
        from . import helper
        from .helper import VALUE
        print(__name__, __package__, __spec__.name, __file__, VALUE)
        print(sys.argv, sys.path[0], list(globals()))
    """,
    "pkg/mod.py": """
        import sys
        from .helper import VALUE
        print(__name__, __package__, __spec__.name, type(__loader__).__name__, VALUE)
        print(sys.argv, sys.path[0], __cached__ is not None)
        if __name__ == "__main__":
            print("guarded block runs")
    """,
    "pkg/crash.py": """
        def fail():
            raise ValueError("from a module")

        fail()
    """,
    "pkg/bad.py": "def (\n",
    "appdir/__main__.py": "import sys\nprint(__name__, __file__, sys.argv, sys.path[0])\n",
}

CASES = [
    # (id, args, stdin)
    ("argv", ["argv.py", "a", "b c", "-m", "--flag"], None),
    ("main module", ["main_module.py"], None),
    ("relative path with dot", ["./main_module.py"], None),
    ("script in subdirectory", ["tools/where.py"], None),
    ("unnormalized script path", ["pkg/../main_module.py"], None),
    ("script through a symlinked dir", ["linked/mod.py"], None),
    ("stdin piped", ["stdin.py"], b"hello\nworld\n"),
    ("sys.exit(0)", ["exit0.py"], None),
    ("sys.exit(3)", ["exit3.py"], None),
    ("sys.exit(message)", ["exitmsg.py"], None),
    ("raise SystemExit", ["exitnone.py"], None),
    ("uncaught exception", ["crash.py"], None),
    ("chained exception", ["chained.py"], None),
    ("syntax error", ["syntax.py"], None),
    ("KeyboardInterrupt", ["keyboard.py"], None),
    ("pickle of main-module objects", ["pickler.py"], None),
    ("multiprocessing spawn", ["spawn.py"], None),
    ("threads then atexit", ["atexit_threads.py"], None),
    ("custom excepthook", ["excepthook.py"], None),
    ("frames and caught tracebacks", ["frames.py"], None),
    ("source encoding", ["coding.py"], None),
    ("missing script", ["nope.py"], None),
    ("directory with __main__", ["appdir", "x"], None),
    ("-m package", ["-m", "pkg", "arg"], None),
    ("-m module with relative import", ["-m", "pkg.mod", "arg"], None),
    ("-m crash", ["-m", "pkg.crash"], None),
    ("-m syntax error", ["-m", "pkg.bad"], None),
    ("-m missing module", ["-m", "nope"], None),
]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    for name, text in PROGRAMS.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = textwrap.dedent(text).lstrip("\n")
        path.write_bytes(data.encode("latin-1") if name == "coding.py" else data.encode())
    os.symlink(root / "pkg", root / "linked")
    return root


# Python options that change what the program sees of its start.
PYOPTS = [((), "no options"), (("-P",), "-P"), (("-u", "-X", "utf8"), "-u -X utf8")]


@pytest.mark.parametrize("start", [RUNNER_SCRIPT, RUNNER_MODULE], ids=["started as a script", "started with -m"])
@pytest.mark.parametrize("pyopts", [o[0] for o in PYOPTS], ids=[o[1] for o in PYOPTS])
@pytest.mark.parametrize("args,stdin", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_runner_is_indistinguishable_from_python(project, tmp_path, args, stdin, pyopts, start):
    plain = run_plain(args, project, tmp_path, stdin, pyopts=pyopts)
    aco = run_aco(args, project, tmp_path, "127.0.0.1:%d" % closed_port(), stdin, pyopts=pyopts, start=start)

    stderr, warnings = split_aco_lines(aco.stderr)
    assert aco.stdout == plain.stdout
    assert stderr == plain.stderr
    assert aco.returncode == plain.returncode
    if args[0] != "nope.py":  # python gives up before the program starts
        assert len(warnings) == 1, aco.stderr
        assert b"running without recording" in warnings[0]
    assert not plain.stderr.startswith(b"aco: ")


def test_keyboard_interrupt_dies_by_sigint(project, tmp_path):
    aco = run_aco(["keyboard.py"], project, tmp_path, "127.0.0.1:%d" % closed_port())
    assert aco.returncode == -signal.SIGINT
    assert b"KeyboardInterrupt" in aco.stderr
    assert b"aco/" not in aco.stderr and b"runpy" not in aco.stderr


def test_traceback_shows_no_aco_frames(project, tmp_path):
    aco = run_aco(["crash.py"], project, tmp_path, "127.0.0.1:%d" % closed_port())
    stderr, _ = split_aco_lines(aco.stderr)
    assert stderr.startswith(b"Traceback (most recent call last):\n  File \"%s" % str(project / "crash.py").encode())
    assert b"aco" not in stderr and b"runpy" not in stderr


def _ctrl_c(argv, env, cwd):
    """Start a program that blocks, press "Ctrl-C" once it says so."""
    p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.readline() == b"ready\n"
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    return p.returncode, out, err


def test_ctrl_c_while_blocked(tmp_path):
    script = tmp_path / "block.py"
    script.write_text("import sys\nprint('ready', flush=True)\nsys.stdin.read()\n")
    plain = _ctrl_c([PYTHON, str(script)], base_env(tmp_path), tmp_path)
    rc, out, err = _ctrl_c(
        [PYTHON, *RUNNER_SCRIPT, str(script)],
        runner_env(tmp_path, "127.0.0.1:%d" % closed_port()),
        tmp_path,
    )
    err, _ = split_aco_lines(err)
    # Where the signal lands (still in print, in read, in a codec) is up to
    # the scheduler, so the traceback is compared by its ends.
    assert rc == plain[0] == -signal.SIGINT
    assert out == plain[1] == b""  # "ready" was read before the signal
    for stderr in (err, plain[2]):
        lines = stderr.decode().splitlines()
        assert lines[0] == "Traceback (most recent call last):"
        assert lines[1].startswith('  File "%s", line ' % script)
        assert lines[-1] == "KeyboardInterrupt"
        assert "aco" not in stderr.decode() and "runpy" not in stderr.decode()


def test_children_see_the_plain_environment(tmp_path):
    """A child python started by the program behaves as under plain python:
    no runner variables, PYTHONPATH as the user had it, shim not importable."""
    script = tmp_path / "parent.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, subprocess, sys
            code = "import os, sys, importlib.util; print(os.environ.get('PYTHONPATH'), importlib.util.find_spec('aco'))"
            subprocess.run([sys.executable, "-c", code], check=True)
            print(sorted(k for k in os.environ if k.startswith("ACO_RUN")))
            print(sys.path[-1].endswith("pyshim"), sys.path.count(sys.path[-1]))
            """
        )
    )
    user_path = str(tmp_path / "userlib")
    env = runner_env(tmp_path, "127.0.0.1:%d" % closed_port(), ACO_RUNNER_ORIG_PYTHONPATH=user_path, ACO_RUN_NAME="n")
    env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], user_path])
    p = subprocess.run([PYTHON, *RUNNER_SCRIPT, str(script)], cwd=tmp_path, env=env, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode().splitlines() == ["%s None" % user_path, "[]", "True 1"]
