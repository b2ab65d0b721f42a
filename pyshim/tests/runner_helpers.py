"""Running programs under plain python and under aco.runner, for the runner
tests. Both get the same environment apart from what the launcher adds."""

import os
import socket
import subprocess
import sys

PYSHIM = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = sys.executable
# How aco-launch starts the runner (a script: cheaper than -m), and the other
# way it can be started.
RUNNER_SCRIPT = [os.path.join(PYSHIM, "aco", "runner", "__main__.py")]
RUNNER_MODULE = ["-m", "aco.runner"]
TIMEOUT = 60  # a guard against a hung child, not a synchronisation


def closed_port():
    """A local port nothing listens on, so connecting is refused at once."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def base_env(home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACO_") and k != "PYTHONPATH"}
    env["ACO_HOME"] = str(home)
    env.pop("PYTHONSTARTUP", None)
    return env


def runner_env(home, addr, argv=None, **extra):
    env = base_env(home)
    env.update(
        PYTHONPATH=PYSHIM,
        ACO_RUNNER_ADDR=addr,
        ACO_RUNNER_ORIG_PYTHONPATH="",
    )
    if argv is not None:
        import json

        env["ACO_RUNNER_ARGV"] = json.dumps(argv)
    env.update(extra)
    return env


def run_plain(args, cwd, home, stdin=None, pyopts=()):
    return subprocess.run(
        [PYTHON, *pyopts] + list(args), cwd=cwd, env=base_env(home), input=stdin, capture_output=True, timeout=TIMEOUT
    )


def run_aco(args, cwd, home, addr, stdin=None, pyopts=(), start=RUNNER_SCRIPT, **extra):
    return subprocess.run(
        [PYTHON, *pyopts, *start] + list(args),
        cwd=cwd,
        env=runner_env(home, addr, argv=list(args), **extra),
        input=stdin,
        capture_output=True,
        timeout=TIMEOUT,
    )


def split_aco_lines(stderr):
    """stderr without aco's own warning lines, and those lines."""
    lines = stderr.splitlines(keepends=True)
    ours = [l for l in lines if l.startswith(b"aco: ")]
    rest = b"".join(l for l in lines if not l.startswith(b"aco: "))
    return rest, ours
