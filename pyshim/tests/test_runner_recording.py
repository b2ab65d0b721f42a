"""What the runner tells the server, checked against a stand-in server over
real TCP: the hello, subruns from sequential code, threads, thread pools and
asyncio tasks with the right parents, log entries, the deregister, and what
happens to the program when the server goes away or talks first."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from fake_server import FakeServer, shutdown_on_bye
from runner_helpers import PYSHIM, PYTHON, RUNNER_SCRIPT, base_env, run_aco, runner_env, split_aco_lines


@pytest.fixture
def server():
    s = FakeServer()
    yield s
    s.close()


def write(tmp_path, text, name="prog.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def of_type(messages, kind):
    return [m for m in messages if m["type"] == kind]


def logs(messages):
    """Log entry -> run id it was recorded for."""
    out = {}
    for m in of_type(messages, "log"):
        assert m["entry"] not in out, "entry logged twice: %r" % m["entry"]
        out[m["entry"]] = m["run_id"]
    return out


SUBRUNS = """
import asyncio, sys, threading
from concurrent.futures import ThreadPoolExecutor

import aco
from aco.context import current_run_id
from aco.runner.context_manager import aco_launch

aco.log("top")
with aco.launch("a") as a:
    aco.log("in a")
    with aco_launch("a.1"):
        aco.log("in a.1")
    aco.log("back in a")
print(a)

def work(i):
    with aco.launch("t%d" % i):
        aco.log("t%d" % i)

threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()

pool = ThreadPoolExecutor(1)
with aco.launch("spawner"):
    t = threading.Thread(target=aco.log, args=("from thread",))
    t.start()
    t.join()
    pool.submit(aco.log, "from pool").result()
pool.submit(aco.log, "pool outside").result()
pool.shutdown()
plain = threading.Thread(target=aco.log, args=("thread outside",))
plain.start()
plain.join()

async def task(i):
    async with aco.launch("async%d" % i):
        await asyncio.sleep(0)
        aco.log("async%d" % i)
        await asyncio.get_running_loop().run_in_executor(None, aco.log, "executor%d" % i)

async def main():
    await asyncio.gather(*(task(i) for i in range(8)))

asyncio.run(main())

try:
    with aco.launch("boom"):
        raise ValueError("inside a subrun")
except ValueError as e:
    print("caught", e)

aco.log("done", success=True)
aco.log("not done", success=False)
print(current_run_id(), threading.active_count())
sys.exit(3)
"""


def test_message_sequence(tmp_path, server):
    prog = write(tmp_path, SUBRUNS)
    p = run_aco([str(prog), "--x"], tmp_path, tmp_path, server.addr)
    assert p.stderr == b""
    assert p.returncode == 3
    assert p.stdout.decode().splitlines() == ["r:a", "caught inside a subrun", "run-1 1"]

    (conn,) = server.wait()
    msgs = conn.messages
    hello = msgs[0]
    assert hello["type"] == "hello" and hello["protocol"] == 1
    assert "run_id" not in hello
    assert hello["name"] == "prog.py"
    assert hello["argv"] == [str(prog), "--x"]
    assert hello["cwd"] == str(tmp_path)
    assert hello["project_root"] == os.path.realpath(tmp_path)
    assert hello["interpreter"] == sys.executable
    assert hello["pid"] > 0
    assert not [k for k in hello["env"] if k.startswith("ACO_RUN")]
    assert "PYTHONPATH" not in hello["env"]

    starts = {m["name"]: m for m in of_type(msgs, "subrun_start")}
    parents = {name: m["parent"] for name, m in starts.items()}
    want = {"a": "run-1", "a.1": "r:a", "spawner": "run-1", "boom": "run-1"}
    want.update({"t%d" % i: "run-1" for i in range(8)})
    want.update({"async%d" % i: "run-1" for i in range(8)})
    assert parents == want
    ids = [m["id"] for m in msgs if "id" in m]
    assert len(ids) == len(set(ids)) == len(starts)

    want_logs = {
        "top": "run-1",
        "in a": "r:a",
        "in a.1": "r:a.1",
        "back in a": "r:a",
        "from thread": "r:spawner",
        "from pool": "r:spawner",
        "pool outside": "run-1",
        "thread outside": "run-1",
        "done": "run-1",
        "not done": "run-1",
    }
    want_logs.update({"t%d" % i: "r:t%d" % i for i in range(8)})
    want_logs.update({"async%d" % i: "r:async%d" % i for i in range(8)})
    want_logs.update({"executor%d" % i: "r:async%d" % i for i in range(8)})
    assert logs(msgs) == want_logs
    success = {m["entry"]: m.get("success") for m in of_type(msgs, "log")}
    assert (success["done"], success["not done"], success["top"]) == (True, False, None)

    ends = {m["run_id"]: m["status"] for m in of_type(msgs, "subrun_end")}
    assert ends == {"r:" + name: ("crashed" if name == "boom" else "finished") for name in starts}
    # A subrun ends after everything recorded inside it.
    order = [(m["type"], m.get("run_id"), m.get("entry")) for m in msgs]
    assert order.index(("subrun_end", "r:a.1", None)) < order.index(("log", "r:a", "back in a"))

    assert msgs[-1] == {"type": "deregister", "run_id": "run-1", "status": "finished", "exit_code": 3}
    assert len(of_type(msgs, "deregister")) == 1


@pytest.mark.parametrize(
    "body,status,code",
    [
        ("pass", "finished", 0),
        ("import sys; sys.exit('bad')", "finished", 1),
        ("raise ValueError('x')", "crashed", 1),
        ("raise KeyboardInterrupt", "crashed", 130),
        ("def (", "crashed", 1),
    ],
    ids=["normal end", "sys.exit(message)", "exception", "KeyboardInterrupt", "syntax error"],
)
def test_deregister_outcome(tmp_path, server, body, status, code):
    prog = write(tmp_path, body + "\n")
    p = run_aco([str(prog)], tmp_path, tmp_path, server.addr)
    plain = subprocess.run([PYTHON, str(prog)], env=base_env(tmp_path), capture_output=True, timeout=60)
    assert (p.returncode, p.stdout, p.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    (conn,) = server.wait()
    assert conn.messages[-1] == {"type": "deregister", "run_id": "run-1", "status": status, "exit_code": code}


def test_deregister_waits_for_threads_and_atexit(tmp_path, server):
    prog = write(
        tmp_path,
        """
        import atexit, threading, aco
        gate = threading.Event()

        def late():
            gate.wait()
            aco.log("thread")

        threading.Thread(target=late).start()
        atexit.register(aco.log, "atexit")
        gate.set()
        """,
    )
    p = run_aco([str(prog)], tmp_path, tmp_path, server.addr)
    assert p.returncode == 0, p.stderr
    (conn,) = server.wait()
    assert [(m["type"], m.get("entry")) for m in conn.messages[1:]] == [
        ("log", "thread"),
        ("log", "atexit"),
        ("deregister", None),
    ]


def test_rerun_and_name_come_from_the_launcher(tmp_path, server):
    prog = write(tmp_path, "print('ok')\n")
    p = run_aco(
        [str(prog), "x"], tmp_path, tmp_path, server.addr, ACO_RUN_ID="run-7", ACO_RUN_NAME="nightly", ACO_RUNNER_ARGV=""
    )
    assert p.returncode == 0, p.stderr
    (conn,) = server.wait()
    hello = conn.messages[0]
    assert (hello["run_id"], hello["name"], hello["argv"]) == ("run-7", "nightly", [str(prog), "x"])


def test_module_hello(tmp_path, server):
    write(tmp_path, "import aco\naco.log('in module')\n", name="tool.py")
    p = run_aco(["-m", "tool", "a"], tmp_path, tmp_path, server.addr)
    assert p.returncode == 0, p.stderr
    (conn,) = server.wait()
    hello = conn.messages[0]
    assert (hello["name"], hello["argv"], hello["project_root"]) == ("tool", ["-m", "tool", "a"], str(tmp_path))
    assert logs(conn.messages) == {"in module": "run-1"}


AFTER_DROP = """
import sys, threading, aco
aco.log("die")
with aco.launch("after") as rid:
    print("in block", rid)
aco.log("after")
threads = [threading.Thread(target=lambda: aco.launch("x").__enter__()) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("end")
sys.exit(3)
"""


@pytest.mark.parametrize("reset", [False, True], ids=["FIN", "RST"])
def test_server_killed_mid_run(tmp_path, reset):
    def react(conn, msg):
        if msg.get("entry") == "die":
            conn.drop(reset=reset)
            return True
        return False

    server = FakeServer(react)
    try:
        prog = write(tmp_path, AFTER_DROP)
        p = run_aco([str(prog)], tmp_path, tmp_path, server.addr)
    finally:
        server.close()
    stderr, warnings = split_aco_lines(p.stderr)
    assert p.returncode == 3
    assert p.stdout == b"in block None\nend\n"
    assert stderr == b""
    assert len(warnings) == 1, p.stderr
    assert b"without recording" in warnings[0]


def test_hello_refused(tmp_path):
    def react(conn, msg):
        if msg["type"] == "hello":
            conn.send({"type": "error", "code": "protocol", "message": "protocol 1 is not 2"})
            return True
        return False

    server = FakeServer(react)
    try:
        prog = write(tmp_path, "import aco\nwith aco.launch('x') as r:\n    print(r)\n")
        p = run_aco([str(prog)], tmp_path, tmp_path, server.addr)
    finally:
        server.close()
    _, warnings = split_aco_lines(p.stderr)
    assert (p.returncode, p.stdout) == (0, b"None\n")
    assert warnings == [
        b"aco: the aco server refused the session: protocol 1 is not 2; running without recording (details: %s)\n"
        % os.path.join(str(tmp_path), "shim.log").encode()
    ]


def test_subrun_refused_runs_the_block(tmp_path):
    def react(conn, msg):
        if msg["type"] == "subrun_start" and msg["name"] == "refused":
            conn.send({"type": "error", "id": msg["id"], "code": "bad_request", "message": "no"})
            return True
        return False

    server = FakeServer(react)
    try:
        prog = write(
            tmp_path,
            """
            import aco
            with aco.launch("refused") as r:
                print(r)
                aco.log("inside")
            with aco.launch("fine") as r:
                print(r)
            """,
        )
        p = run_aco([str(prog)], tmp_path, tmp_path, server.addr)
        (conn,) = server.wait()
    finally:
        server.close()
    assert (p.returncode, p.stdout, p.stderr) == (0, b"None\nr:fine\n", b"")
    assert logs(conn.messages) == {"inside": "run-1"}
    assert [m["run_id"] for m in of_type(conn.messages, "subrun_end")] == ["r:fine"]


def test_restart_interrupts_the_program(tmp_path):
    def react(conn, msg):
        if msg.get("entry") == "ready":
            conn.send({"type": "restart"})
            return True
        return False

    server = FakeServer(react)
    try:
        prog = write(tmp_path, "import time, aco\naco.log('ready')\ntime.sleep(60)\nprint('not reached')\n")
        p = run_aco([str(prog)], tmp_path, tmp_path, server.addr)
        (conn,) = server.wait()
    finally:
        server.close()
    assert p.returncode == -signal.SIGINT
    assert p.stdout == b""
    assert p.stderr.decode().splitlines()[-1] == "KeyboardInterrupt"
    assert conn.messages[-1] == {"type": "deregister", "run_id": "run-1", "status": "crashed", "exit_code": 130}


def test_shutdown_stops_recording(tmp_path):
    server = FakeServer(shutdown_on_bye)
    try:
        prog = write(
            tmp_path,
            """
            import aco, sys
            aco.log("bye")
            while aco.client.get() is not None:
                pass  # the reader thread turns recording off
            with aco.launch("later") as r:
                aco.log("later")
            print(r)
            """,
        )
        p = run_aco([str(prog)], tmp_path, tmp_path, server.addr)
        (conn,) = server.wait()
    finally:
        server.close()
    _, warnings = split_aco_lines(p.stderr)
    assert (p.returncode, p.stdout) == (0, b"None\n")
    assert len(warnings) == 1 and b"shutting down: aco server stop" in warnings[0]
    assert [m["type"] for m in conn.messages] == ["hello", "log"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_does_not_use_the_parents_connection(tmp_path, server):
    prog = write(
        tmp_path,
        """
        import os, sys, aco
        pid = os.fork()
        if pid == 0:
            aco.log("child")
            with aco.launch("child run") as r:
                print("child", r, flush=True)
            sys.exit(0)
        os.waitpid(pid, 0)
        aco.log("parent")
        """,
    )
    p = run_aco([str(prog)], tmp_path, tmp_path, server.addr)
    (conn,) = server.wait()
    assert (p.returncode, p.stdout, p.stderr) == (0, b"child None\n", b"")
    assert [(m["type"], m.get("entry")) for m in conn.messages] == [
        ("hello", None),
        ("log", "parent"),
        ("deregister", None),
    ]


def test_disabled_aco_is_a_cheap_no_op(tmp_path):
    prog = write(
        tmp_path,
        """
        import sys
        before = set(sys.modules)
        import aco
        print(sorted(set(sys.modules) - before))
        from aco.runner.context_manager import aco_launch
        with aco.launch("x") as r:
            print(r)
        with aco_launch("y") as r:
            print(r)
        aco.log("nothing", success=True)
        v = object()
        print(aco.taint_wrap(v) is v, aco.get_taint_origins(v), aco.untaint_if_needed(v) is v)
        """,
    )
    env = base_env(tmp_path)
    env.update(PYTHONPATH=PYSHIM, ACO_DISABLE="1")
    p = subprocess.run([PYTHON, str(prog)], env=env, capture_output=True, timeout=60)
    assert (p.returncode, p.stderr) == (0, b"")
    assert p.stdout.decode().splitlines() == ["['aco']", "None", "None", "True [] True"]


def test_async_with_outside_recording(tmp_path):
    prog = write(
        tmp_path,
        """
        import asyncio, aco

        async def main():
            async with aco.launch("x") as r:
                return r

        print(asyncio.run(main()))
        """,
    )
    env = base_env(tmp_path)
    env["PYTHONPATH"] = PYSHIM
    p = subprocess.run([PYTHON, str(prog)], env=env, capture_output=True, timeout=60)
    assert (p.returncode, p.stdout, p.stderr) == (0, b"None\n", b"")


def test_shim_bytecode_is_written_once_where_python_writes_none(tmp_path, server):
    # PYTHONDONTWRITEBYTECODE would make every run compile the shim from
    # source; the runner writes the shim's own bytecode once, and the
    # program still runs with the setting (its own files get none).
    import shutil

    shim = tmp_path / "shim"
    shutil.copytree(os.path.join(PYSHIM, "aco"), shim / "aco", ignore=shutil.ignore_patterns("__pycache__"))
    prog = write(tmp_path, "import sys, helper\nprint(sys.dont_write_bytecode)\n")
    write(tmp_path, "value = 1\n", name="helper.py")
    env = runner_env(tmp_path / "home", server.addr, argv=[str(prog)], PYTHONPATH=str(shim), PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.run([PYTHON, "-m", "aco.runner", str(prog)], cwd=tmp_path, env=env, capture_output=True, timeout=60)
    assert (p.returncode, p.stderr, p.stdout) == (0, b"", b"True\n")
    sources = sorted(shim.rglob("*.py"))
    compiled = sorted(shim.rglob("*.pyc"))
    assert len(sources) > 30 and len(compiled) == len(sources)
    assert not (tmp_path / "__pycache__").exists()


def test_main_script_comes_from_the_rewrite_cache(tmp_path, server):
    # The first run rewrites the script and caches its bytecode; the next
    # one loads it and never imports the rewriter (nor ast).
    prog = write(tmp_path, "import sys\nx = f'{1}'\nprint(x, 'aco.rewrite.transform' in sys.modules, 'ast' in sys.modules)\n")
    env = runner_env(tmp_path / "home", server.addr, argv=[str(prog)])
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    outs = []
    for _ in range(2):
        p = subprocess.run([PYTHON, "-m", "aco.runner", str(prog)], cwd=tmp_path, env=env, capture_output=True, timeout=60)
        assert (p.returncode, p.stderr) == (0, b"")
        outs.append(p.stdout.decode())
    assert outs == ["1 True True\n", "1 False False\n"]
    assert list((tmp_path / "__pycache__").glob("prog.*.aco-*.pyc"))


def test_recording_loads_nothing_a_plain_run_does_not_but_our_own(tmp_path, server):
    """Start-up cost is mostly imports: a recorded run of a program that
    does a little string work loads aco's modules and a few C modules, and
    none of the pure-Python stdlib (json, re, threading, runpy, importlib.util,
    functools...) that python itself does not load for it."""
    prog = write(tmp_path, "import sys\nnames = list(sys.modules)\nprint(' '.join(sorted(names)))\n")
    env = runner_env(tmp_path, server.addr)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # the first run caches the rewrite
    run = lambda: subprocess.run([PYTHON, *RUNNER_SCRIPT, str(prog)], cwd=tmp_path, env=env, capture_output=True, timeout=60)  # noqa: E731
    first = run()
    assert first.returncode == 0, first.stderr
    assert b"aco.rewrite.transform" in first.stdout.split()  # it did rewrite: the next run loads the cache
    p = run()
    plain = subprocess.run([PYTHON, str(prog)], cwd=tmp_path, env=base_env(tmp_path), capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    (_, conn) = server.wait(2)
    assert of_type(conn.messages, "deregister"), "the run was not recorded"
    extra = set(p.stdout.split()) - set(plain.stdout.split())
    assert b"aco.rewrite.helpers" in extra  # rewritten, so the helpers ran
    ours = {m for m in extra if m == b"aco" or m.startswith(b"aco.")}
    c_modules = {b"_json", b"_socket", b"_struct", b"_functools", b"_contextvars", b"atexit", b"itertools", b"math"}
    c_modules.add(b"contextvars")  # pure Python, but one line: from _contextvars import *
    assert extra - ours - c_modules == set()


def test_a_program_iterating_sys_modules_runs_as_under_python(tmp_path, server):
    """aco loads what rewritten code needs before the program runs: an
    import in the middle of it would change sys.modules under an iterator
    the program holds (a generator expression's first iterator is made
    before the call it is passed to runs)."""
    prog = write(
        tmp_path,
        """
        import sys
        names = sorted(m for m in sys.modules if not m.startswith("aco"))
        for name in sys.modules:
            text = "%s!" % name
        print("sys" in names, len(text) > 1)
        """,
    )
    plain = subprocess.run([PYTHON, str(prog)], cwd=tmp_path, env=base_env(tmp_path), capture_output=True, timeout=60)
    p = run_aco([str(prog)], tmp_path, tmp_path, server.addr)
    assert plain.stdout == b"True True\n", plain.stderr
    assert (p.returncode, p.stdout, p.stderr) == (0, plain.stdout, b"")
    (conn,) = server.wait()
    assert of_type(conn.messages, "deregister"), "the run was not recorded"
