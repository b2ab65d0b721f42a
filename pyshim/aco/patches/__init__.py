"""Patches SDK methods so that their calls are recorded and cached.

What to patch is declared in patches/*.yaml and rendered into _generated/;
runtime.py is what a patched method does per call. install() patches an SDK
only once the program imports it: a sys.meta_path finder lets the real import
run and patches the classes right after the module has executed, so aco never
imports an SDK the program does not use. Patches sit on the classes (every
client instance sees them), are idempotent (the wrapper carries a marker) and
reversible (uninstall()). Nothing here may raise into the program: a failure
skips that patch, says so once on stderr, and logs the details.
"""

import sys
import _thread

from aco import _log

_MARK = "__aco_patch__"

_lock = _thread.RLock()  # threading.RLock, without importing threading (start-up time)
_installed = False
_pending = set()  # SDK import names declared but not imported yet
_patched = {}  # (class, attribute) -> (original, whether the class had its own)


def install():
    """Patch every declared SDK that is imported now, and each other one as
    soon as the program imports it."""
    try:
        _install()
    except Exception:
        _log.log("installing the SDK patches failed", exc_info=True)
        _log.warn_once("cannot patch the LLM SDKs; calls will not be recorded (details: %s)" % _log.log_path())


def _install():
    global _installed
    from aco.patches._generated import SDKS

    with _lock:
        if _installed:
            return
        _installed = True
        now = [name for name in SDKS if name in sys.modules]
        _pending.update(name for name in SDKS if name not in sys.modules)
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)
    for name in now:
        _apply(name)


def uninstall():
    """Remove the import hook and put the original methods back."""
    global _installed
    with _lock:
        _installed = False
        _pending.clear()
        try:
            sys.meta_path.remove(_finder)
        except ValueError:
            pass
        for (owner, attr), (original, had_own) in list(_patched.items()):
            try:
                if getattr(owner.__dict__.get(attr), _MARK, None) is not None:
                    if had_own:
                        setattr(owner, attr, original)
                    else:
                        delattr(owner, attr)
            except Exception:
                _log.log("cannot restore %s.%s" % (owner.__name__, attr), exc_info=True)
        _patched.clear()


def patched():
    """The (class, attribute) pairs patched now."""
    with _lock:
        return sorted((o.__module__ + "." + o.__qualname__, a) for o, a in _patched)


def _apply(sdk_import):
    """Patch the methods declared for an imported SDK; each failure skips one."""
    try:
        import importlib

        from aco.patches import runtime
        from aco.patches._generated import SDKS

        decl = importlib.import_module(SDKS[sdk_import])
        _check_version(decl.SDK)
    except Exception:
        _log.log("loading the declarations of %s failed" % sdk_import, exc_info=True)
        _log.warn_once("cannot patch %s; its calls will not be recorded (details: %s)" % (sdk_import, _log.log_path()))
        return
    for method in decl.METHODS:
        if method["kind"] == "taint":
            # Taint pass-through is the taint work's; nothing is recorded.
            continue
        # The log names the file to fix along with the api id.
        method = runtime.with_gates(dict(method, source=decl.SDK.get("source")))
        for target, is_async in ((method["target"], False), (method["async_target"], True)):
            if target:
                _patch(method, sdk_import, target, is_async)


def _patch(method, sdk_import, target, is_async):
    from aco.patches import runtime

    try:
        owner_path, _, attr = target.rpartition(".")
        owner = runtime.resolve(owner_path)
        if not isinstance(owner, type):
            raise TypeError("%s is not a class" % owner_path)
        had_own = attr in owner.__dict__
        current = owner.__dict__[attr] if had_own else getattr(owner, attr)
    except Exception as e:
        _log.log("cannot patch %s: %s: %s" % (target, type(e).__name__, e))
        _log.warn_once("cannot patch %s (%s); %s calls will not be recorded" % (target, type(e).__name__, method["api"]))
        return
    if getattr(current, _MARK, None) is None:
        problem = _signature_problem(method, current)
        if problem:
            _log.log("not patching %s: %s" % (target, problem))
            _log.warn_once(
                "not patching %s: %s; %s calls will not be recorded (the SDK changed: see `aco apiwatch`, then fix %s)"
                % (target, problem, method["api"], method.get("source") or "patches/")
            )
            return
    with _lock:
        if getattr(current, _MARK, None) is not None:
            return
        wrapper = _wrapper(method, sdk_import, current, is_async)
        setattr(owner, attr, wrapper)
        _patched[(owner, attr)] = (current, had_own)


def _wrapper(method, sdk_import, original, is_async):
    import inspect

    from aco.patches import runtime

    # A coroutine function gets a coroutine wrapper whichever field names
    # it: an async-only SDK (mcp's ClientSession) declares it as target.
    if inspect.iscoroutinefunction(inspect.unwrap(original)):
        wrapper = runtime.async_method(method, sdk_import, original)
    else:
        # An async client's method may be a plain function returning an
        # async object (anthropic's AsyncMessages.stream): it stays plain.
        wrapper = runtime.sync_method(method, sdk_import, original, is_async)

    import functools  # here, as inspect above: no SDK, no patching, no import

    functools.update_wrapper(wrapper, original)
    setattr(wrapper, _MARK, method["api"])
    return wrapper


def request_params(method):
    """The keyword parameters the method's request selectors read: the
    first step of each selector rooted at request."""
    sels = []
    for field in ("passthrough", "model", "input_text", "set_input", "attachments", "tools"):
        sels.extend(method.get(field) or ())
    for part in ("stream", "raw_response"):
        if method.get(part):
            sels.extend(method[part]["when"])
    out = []
    for sel in sels:
        if sel[0] == "request" and len(sel) > 1 and isinstance(sel[1], str) and sel[1] not in out:
            out.append(sel[1])
    return out


def _signature_problem(method, func):
    """Why func no longer fits its declaration, or "": a target must take
    every keyword its selectors read (or **kwargs)."""
    import inspect

    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return ""  # no signature to read (a builtin): nothing to hold against it
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return ""
    missing = [name for name in request_params(method) if name not in params]
    if missing:
        return "it takes no %s parameter" % ", ".join(missing)
    return ""


def _check_version(sdk):
    """Warn once when the installed SDK is outside the verified range; the
    patches are still applied, as most releases keep these methods."""
    from importlib import metadata

    try:
        installed = metadata.version(sdk["distribution"])
    except Exception:
        return
    if not version_in_range(installed, sdk["versions"]):
        _log.warn_once(
            "%s %s is outside the versions aco's patches were verified for (%s, last %s); some calls may not be recorded; `aco apiwatch` shows what changed"
            % (sdk["distribution"], installed, sdk["versions"], sdk["verified"])
        )


def _release(v):
    # The release number of a PEP 440 version: "1.2.3rc1" -> (1, 2, 3).
    out = []
    for part in v.strip().split("."):
        digits = ""
        for c in part:
            if not c.isdigit():
                break
            digits += c
        if not digits:
            break
        out.append(int(digits))
        if len(digits) != len(part):
            break
    return tuple(out)


def _cmp(a, b):
    n = max(len(a), len(b))
    a, b = a + (0,) * (n - len(a)), b + (0,) * (n - len(b))
    return (a > b) - (a < b)


def version_in_range(version, spec):
    """Whether version satisfies a range such as ">=1.66,<4" (the grammar
    patches/README.md gives; comparison on release numbers)."""
    v = _release(version)
    ops = {
        ">=": lambda r: r >= 0,
        "<=": lambda r: r <= 0,
        "==": lambda r: r == 0,
        "!=": lambda r: r != 0,
        ">": lambda r: r > 0,
        "<": lambda r: r < 0,
    }
    for clause in spec.split(","):
        clause = clause.strip()
        for op in (">=", "<=", "==", "!=", ">", "<"):
            if clause.startswith(op):
                if not ops[op](_cmp(v, _release(clause[len(op):]))):
                    return False
                break
    return True


def _imported(name):
    with _lock:
        if name not in _pending:
            return
        _pending.discard(name)
    _apply(name)


class _Loader:
    """Runs the real loader, then patches the SDK it just executed."""

    def __init__(self, loader, name):
        self._loader = loader
        self._name = name

    def __getattr__(self, attr):
        return getattr(self._loader, attr)

    def create_module(self, spec):
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module):
        # The SDK sees its own loader, as it would without aco.
        try:
            module.__loader__ = self._loader
            module.__spec__.loader = self._loader
        except Exception:
            pass
        self._loader.exec_module(module)
        try:
            _imported(self._name)
        except Exception:
            _log.log("patching %s failed" % self._name, exc_info=True)


class _Finder:
    """A sys.meta_path entry that only acts on declared SDKs not yet imported."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _pending:
            return None
        try:
            for finder in sys.meta_path:
                if finder is self:
                    continue
                find = getattr(finder, "find_spec", None)
                if find is None:
                    continue
                spec = find(fullname, path, target)
                if spec is not None:
                    break
            else:
                return None
            if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = _Loader(spec.loader, fullname)
            return spec
        except Exception:
            _log.log("import hook for %s failed; importing without it" % fullname, exc_info=True)
            return None

    def invalidate_caches(self):
        pass


_finder = _Finder()
