"""Run the program as ``python SCRIPT`` or ``python -m MODULE`` would, while
aco records it.

aco-launch starts us as ``python SHIM/aco/runner/__main__.py ...``: as a
script, which spares the program the import of runpy (and importlib.util,
contextlib and more) that ``python -m aco.runner ...`` costs it; both work.
By the time main() runs, python has set things up for running the runner:
sys.argv, sys.path[0], the __main__ namespace (which aco/runner/__main__.py
executes in) and sys.orig_argv. main() rewrites each of them to what python
would have made for the program, connects to the server, and then runs the
program the way
CPython's own startup code does (Modules/main.c, Python/pythonrun.c), so that
output, tracebacks, exit codes and the SIGINT death on Ctrl-C come out the same.

The outcome goes to the server from an atexit handler registered before the
program runs: atexit handlers run last-registered first, after python has
joined the program's non-daemon threads, so ours runs after all of the
program's own exit work.
"""

import atexit
import builtins
import os
import sys

from aco import _log

_PASSED_ENV = ("ACO_RUNNER_ADDR", "ACO_RUNNER_ORIG_PYTHONPATH", "ACO_RUNNER_ARGV", "ACO_RUN_ID", "ACO_RUN_NAME")

# How the program ended, for the deregister: (status, exit code).
_outcome = ("finished", 0)


def main():
    runner, args = sys.argv[0], sys.argv[1:]
    passed = _take_environment()
    if passed["ACO_RUNNER_ORIG_PYTHONPATH"] is not None:
        _compile_shim()  # started by aco-launch, from the shim it unpacked
    _restore_orig_argv(runner)
    if not args or (args[0] == "-m" and len(args) < 2):
        sys.stderr.write("usage: python -m aco.runner (SCRIPT | -m MODULE) [ARGS...]\n")
        raise SystemExit(2)
    if args[0] == "-m":
        target = _Module(args[1], args[2:])
    else:
        target = _path_target(args[0], args[1:])
    target.prepare()
    _record(target, passed, args)
    _install_rewriting(target)
    _run(target)


def _compile_shim():
    """Write the shim's bytecode, once, where python is told not to write
    any (PYTHONDONTWRITEBYTECODE, as container images often set, or -B):
    otherwise every run would compile aco's modules from source again, some
    50 ms. The shim's directory is aco's own, so this leaves the program's
    files alone; the program itself still runs with the setting it asked
    for. aco/__init__'s file is written last and marks the work done."""
    if not sys.dont_write_bytecode:
        return
    try:
        from aco import _bootstrap

        pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        marker = os.path.join(pkg, "__init__.py")
        if os.path.exists(_bootstrap.cache_from_source(marker)):
            return
        import py_compile

        sources = []
        for d, dirs, files in os.walk(pkg):
            dirs[:] = [x for x in dirs if x != "__pycache__"]
            sources.extend(os.path.join(d, f) for f in files if f.endswith(".py"))
        sources.remove(marker)
        for path in sorted(sources) + [marker]:
            py_compile.compile(path, doraise=True)
    except Exception:
        _log.log("cannot write the shim's bytecode; it compiles on each run", exc_info=True)


# Whether the program's own modules (and the main script) are rewritten so
# taint flows through them. Only while recording: without a server the
# rewrite would cost time and find nothing to report.
_rewriting = False


def _install_rewriting(target):
    global _rewriting
    try:
        from aco import client

        if client.get() is None:
            return
        import aco.rewrite

        if not aco.rewrite.enabled():
            return  # before importing the hook, which costs start-up time
        from aco.rewrite import hook

        hook.install([target.root])
        _rewriting = True
    except Exception:
        _log.log("rewriting disabled: installing the import hook failed", exc_info=True)


def _compile_main(source, filename):
    """The main script's code: rewritten while recording, else as python
    compiles it. A rewrite failure falls back to the plain compile inside
    rewrite_main; a SyntaxError is python's own."""
    if _rewriting:
        from aco.rewrite import hook

        try:
            return hook.rewrite_main(filename, source)
        except SyntaxError as e:
            # Raised by the plain compile inside the hook: drop the hook's
            # frames so the traceback is python's own.
            raise e.with_traceback(None) from None
    return compile(source, filename, "exec", dont_inherit=True)


def _take_environment():
    """Read what the launcher passed and hide it from the program and its
    children, which must see the environment plain python would."""
    env = os.environ
    passed = {name: env.pop(name, None) for name in _PASSED_ENV}
    orig = passed["ACO_RUNNER_ORIG_PYTHONPATH"]
    if orig is not None:
        if orig:
            env["PYTHONPATH"] = orig
        else:
            env.pop("PYTHONPATH", None)
    return passed


def _restore_orig_argv(runner):
    """Take the runner out of sys.orig_argv: "-m aco.runner", or the path
    of this package's __main__.py as python was given it (sys.argv[0])."""
    orig = getattr(sys, "orig_argv", None)
    if not orig:
        return
    for i in range(1, len(orig)):
        if orig[i] == "-m" and i + 1 < len(orig) and orig[i + 1] == "aco.runner":
            sys.orig_argv = orig[:i] + orig[i + 2 :]
            return
        if orig[i] == runner:
            sys.orig_argv = orig[:i] + orig[i + 1 :]
            return


def _shim_dir():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _fix_sys_path(first):
    """Make sys.path what python would have made for the program: `first`
    as its first entry (None: none), no shim entry from PYTHONPATH, and the
    shim at the very end so that this process can still import aco but the
    program's own modules win."""
    path = sys.path
    # Without -P python put the runner's own entry first: its directory, or
    # the cwd under python -m aco.runner. PYTHONPATH's entries follow.
    own = 0 if getattr(sys.flags, "safe_path", False) else 1
    shim = _shim_dir()
    for i in range(own, len(path)):
        try:
            if os.path.abspath(path[i]) == shim:
                del path[i]
                break
        except Exception:
            continue
    if first is not None:
        if own:
            path[0] = first
        else:
            path.insert(0, first)
    if shim not in path:
        path.append(shim)


def _reset_main():
    """Give __main__ back the namespace python starts a program with; the
    module object itself stays, so it is the one python made."""
    from aco._bootstrap import BuiltinImporter

    d = sys.modules["__main__"].__dict__
    d.clear()
    d.update(
        __name__="__main__",
        __doc__=None,
        __package__=None,
        __loader__=BuiltinImporter,
        __spec__=None,
        __annotations__={},
        __builtins__=builtins,
    )
    return d


class _Script:
    """python SCRIPT: pymain_run_file and _PyRun_SimpleFileObject."""

    def __init__(self, path, rest):
        self.typed = path
        self.rest = rest
        # python makes the name absolute without normalizing it (_Py_abspath).
        self.filename = path if os.path.isabs(path) else os.path.join(os.getcwd(), path)
        self.name = os.path.basename(path)
        self.root = os.path.dirname(os.path.realpath(self.filename))
        self.source = None

    def prepare(self):
        try:
            with open(self.filename, "rb") as f:
                self.source = f.read()
        except OSError as e:
            sys.stderr.write(
                "%s: can't open file %r: [Errno %d] %s\n" % (_program_name(), self.filename, e.errno, e.strerror)
            )
            sys.stderr.flush()
            raise SystemExit(2) from None
        sys.argv = [self.typed] + self.rest
        # python puts the script's directory, symlinks resolved, first; -P
        # (safe_path) puts nothing there.
        _fix_sys_path(None if getattr(sys.flags, "safe_path", False) else self.root)

    def run(self):
        from aco._bootstrap import SourceFileLoader

        d = _reset_main()
        d["__file__"] = self.filename
        d["__cached__"] = None
        d["__loader__"] = SourceFileLoader("__main__", self.filename)
        try:
            code = _compile_main(self.source, self.filename)
            self.source = None
            exec(code, d)
        except SystemExit:
            # python exits from inside PyErr_Print here, leaving __file__ set.
            raise
        except BaseException:
            _print_uncaught()
            self._forget_file(d)
            raise
        self._forget_file(d)

    @staticmethod
    def _forget_file(d):
        # _PyRun_SimpleFileObject removes these once the script is done, so
        # the program's atexit handlers see __main__ without them.
        d.pop("__file__", None)
        d.pop("__cached__", None)


class _Module:
    """python -m MODULE: runpy._run_module_as_main, as python calls it."""

    def __init__(self, module, rest, argv0="-m", alter_argv=True, path0=None, root=None):
        self.module = module
        self.rest = rest
        self.argv0 = argv0
        self.alter_argv = alter_argv
        self.path0 = path0
        self.name = module
        self.root = root or os.getcwd()

    def prepare(self):
        # During the module search python's sys.argv[0] is "-m"; runpy then
        # replaces it with the module's file.
        sys.argv = [self.argv0] + self.rest
        # A directory or zip file goes first even under -P (pymain_run_python);
        # else -m puts the cwd first, unless -P.
        first = self.path0
        if first is None and not getattr(sys.flags, "safe_path", False):
            first = os.getcwd()
        _fix_sys_path(first)

    def run(self):
        import runpy

        _reset_main()
        try:
            runpy._run_module_as_main(self.module, self.alter_argv)
        except SystemExit:
            raise
        except BaseException:
            _print_uncaught()
            raise


def _path_target(path, rest):
    """A script path that is a directory or zip file runs its __main__ module,
    as python does when a path hook accepts the path."""
    filename = path if os.path.isabs(path) else os.path.join(os.getcwd(), path)
    for hook in sys.path_hooks:
        try:
            hook(filename)
        except Exception:  # ImportError: not a path this hook takes
            continue
        return _Module("__main__", rest, argv0=path, alter_argv=False, path0=filename, root=filename)
    return _Script(path, rest)


def _program_name():
    orig = getattr(sys, "orig_argv", None)
    return orig[0] if orig else sys.executable


def _record(target, passed, args):
    """Connect to the server and install the SDK patches; on any failure say
    so once and let the program run unrecorded."""
    if os.environ.get("ACO_DISABLE") == "1":
        return
    try:
        addr = passed["ACO_RUNNER_ADDR"]
        if not addr:
            raise _NoRecording("no server address was given (ACO_RUNNER_ADDR is not set)")
        from aco import client

        try:
            c = client.start(addr, _hello(target, passed, args))
        except client.ClientError as e:
            raise _NoRecording(str(e)) from None
        atexit.register(_deregister)
    except _NoRecording as e:
        _log.warn_once("%s; running without recording (details: %s)" % (e, _log.log_path()), key="no recording")
        return
    except Exception as e:
        _log.log("starting the recording failed", exc_info=True)
        _log.warn_once(
            "internal error (%s); running without recording (details: %s)" % (e, _log.log_path()),
            key="no recording",
        )
        return
    _log.log("recording run %s (execution %s)" % (c.run_id, c.execution))
    try:
        import aco.patches

        aco.patches.install()
    except Exception:
        _log.log("SDK patches not installed; LLM calls will not be recorded", exc_info=True)


class _NoRecording(Exception):
    pass


def _hello(target, passed, args):
    from aco import protocol

    argv = None
    if passed["ACO_RUNNER_ARGV"]:
        try:
            argv = protocol.loads(passed["ACO_RUNNER_ARGV"])
        except ValueError:
            _log.log("ACO_RUNNER_ARGV is not JSON: %r" % passed["ACO_RUNNER_ARGV"])
    if not isinstance(argv, list):
        argv = args
    hello = {
        "type": "hello",
        "protocol": protocol.PROTOCOL_VERSION,
        "name": passed["ACO_RUN_NAME"] or target.name,
        "cwd": os.getcwd(),
        "argv": [str(a) for a in argv],
        "interpreter": sys.executable,
        "env": dict(os.environ),
        "project_root": target.root,
        "pid": os.getpid(),
    }
    if passed["ACO_RUN_ID"]:
        hello["run_id"] = passed["ACO_RUN_ID"]
    return hello


def _run(target):
    global _outcome
    try:
        target.run()
    except SystemExit as e:
        _outcome = ("finished", _exit_code(e))
        raise
    except BaseException as e:
        _outcome = ("crashed", 130 if type(e) is KeyboardInterrupt else 1)
        # Already printed without our frames. Re-raised, python sets the exit
        # code, or for a plain KeyboardInterrupt dies by SIGINT after its
        # atexit work, but it would print the traceback again (with our
        # frames): the next excepthook call is a silent one.
        _silence_next_excepthook()
        raise


def _exit_code(e):
    code = e.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    return 1


def _strip(tb):
    """Drop this module's frames from the front of a traceback; what python
    itself shows (runpy's frames under -m) stays."""
    here = __file__
    while tb is not None and tb.tb_frame.f_code.co_filename == here:
        tb = tb.tb_next
    return tb


def _print_uncaught():
    """Print the exception being handled as python's PyErr_Print would."""
    etype, value, tb = sys.exc_info()
    tb = _strip(tb)
    value.__traceback__ = tb
    hook = getattr(sys, "excepthook", None)
    if hook is None:
        sys.stderr.write("sys.excepthook is missing\n")
        sys.__excepthook__(etype, value, tb)
        return
    try:
        hook(etype, value, tb)
    except SystemExit:
        raise
    except BaseException as e2:
        sys.stderr.write("Error in sys.excepthook:\n")
        sys.__excepthook__(type(e2), e2, e2.__traceback__)
        sys.stderr.write("\nOriginal exception was:\n")
        sys.__excepthook__(etype, value, tb)
    finally:
        try:
            sys.stderr.flush()
        except Exception:
            pass


def _silence_next_excepthook():
    previous = sys.excepthook

    def quiet(*_):
        sys.excepthook = previous

    sys.excepthook = quiet


def _deregister():
    try:
        from aco import client

        c = client.get()
        if c is None:
            return
        status, code = _outcome
        c.close({"type": "deregister", "run_id": c.run_id, "status": status, "exit_code": code})
    except KeyboardInterrupt:
        # A second Ctrl-C while we wait for the server: the program is
        # ending anyway, and python would print our frames.
        _log.log("deregister interrupted")
    except Exception:
        _log.log("deregister failed", exc_info=True)
