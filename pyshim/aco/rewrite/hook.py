"""The import hook: the user's modules load from rewritten bytecode.

A meta path finder in front of the others. For a module whose file is under
a project root (and not in site-packages, a virtualenv, .git, node_modules or
__pycache__), it returns python's own spec with a loader whose get_code gives
the rewritten code (aco.rewrite.cache). Everything else it declines at once,
so the rest of sys.meta_path sees the import as if we were not there. A
module with ``# aco: no-rewrite`` near its top, or one that fails to rewrite
(logged once per file), loads as python would load it.
"""

import os
import sys
import _thread

from aco import _log
from aco._bootstrap import PathFinder, SourceFileLoader
from aco.rewrite import enabled, has_opt_out, paths

_installed = None
_install_lock = _thread.allocate_lock()




class RewritingLoader(SourceFileLoader):
    """SourceFileLoader but for where the code comes from; get_source,
    get_data and resources stay python's, so linecache, inspect and
    tracebacks read the file as written."""

    def get_code(self, fullname):
        from aco.rewrite import cache

        path = self.get_filename(fullname)
        try:
            data = self.get_data(path)
        except OSError:
            return super().get_code(fullname)
        if has_opt_out(data):
            return super().get_code(fullname)
        try:
            return cache.load(path, data)
        except Exception as e:
            _failed(path, e)
            return super().get_code(fullname)


def _opted_out(path):
    # Decided here, not in the loader, so an opted-out module keeps python's
    # own loader object, as under plain python.
    try:
        with open(path, "rb") as f:
            return has_opt_out(f.read(4096))
    except OSError:
        return False


_failed_once = set()


def _failed(path, e):
    if path in _failed_once:
        return
    _failed_once.add(path)
    _log.log("aco.rewrite: %s runs un-rewritten: %s: %s" % (path, type(e).__name__, e))


class RewritingFinder:
    def __init__(self, roots):
        self._busy = _thread._local()  # threading.local itself
        self.roots = roots

    @property
    def roots(self):
        return self._roots

    @roots.setter
    def roots(self, roots):
        self._roots = paths.normalize_roots(roots)
        self._searchable = {}  # absolute path entry -> whether user code can be found through it

    def _entry_searchable(self, entry):
        # Whether a module found through this sys.path (or package __path__)
        # entry can be the user's: the entry is inside a root but not in
        # installed code (a virtualenv kept in the project, say), or a root
        # is inside it (a project below a sys.path directory). Judged once
        # per entry: every import asks, and realpath is a system call per
        # path component.
        known = self._searchable.get(entry) if type(entry) is str else None
        if known is not None:
            return known
        absolute = type(entry) is str and os.path.isabs(entry)
        try:
            real = os.path.join(os.path.realpath(entry or os.getcwd()), "")
        except (TypeError, ValueError, OSError):
            return False
        found = False
        for r in self._roots:
            if r.startswith(real) or (real.startswith(r) and paths.is_user_file(real + "_.py", self._roots)):
                found = True
                break
        if absolute:
            self._searchable[entry] = found
        return found

    def _search_path(self, entries):
        """The entries to look for a user module in: the prefix of entries
        that ends at the last searchable one, so that a module is found
        where python would find it (an earlier entry still wins), and the
        entries after it, which hold no user code, are not searched twice.
        Empty for a package outside the roots, and for a top-level import
        when only the script's directory is a root and lacks the module's
        file: the common imports pass through at the cost of a dict look-up
        per entry."""
        searchable = self._entry_searchable
        last = 0
        for i, e in enumerate(entries, 1):
            if searchable(e):
                last = i
        return list(entries[:last])

    def find_spec(self, fullname, path=None, target=None):
        if getattr(self._busy, "on", False):
            return None
        self._busy.on = True
        try:
            search = self._search_path(sys.path if path is None else path)
            if not search:
                return None
            spec = PathFinder.find_spec(fullname, search, target)
            if spec is None or type(spec.loader) is not SourceFileLoader or not spec.origin:
                return None
            if not paths.is_user_file(spec.origin, self._roots) or _opted_out(spec.origin):
                return None
            spec.loader = RewritingLoader(spec.loader.name, spec.loader.path)
            return spec
        except Exception:
            _log.log("aco.rewrite: finding %s failed; python imports it" % fullname, exc_info=True)
            return None
        finally:
            self._busy.on = False

    def invalidate_caches(self):
        pass


def install(project_roots):
    """Rewrite the modules under project_roots from now on (once per process;
    later calls add roots). A no-op under ACO_REWRITE=0. Never raises."""
    global _installed
    if not enabled():
        return None
    try:
        from aco.rewrite import helpers

        with _install_lock:
            if _installed is None:
                _installed = RewritingFinder(project_roots)
                sys.meta_path.insert(0, _installed)
            else:
                _installed.roots = paths.normalize_roots(list(_installed.roots) + list(project_roots))
            helpers.set_project_roots(_installed.roots)
        return _installed
    except Exception:
        _log.log("aco.rewrite: installing the import hook failed; running un-rewritten", exc_info=True)
        return None


def uninstall():
    global _installed
    with _install_lock:
        if _installed is not None:
            try:
                sys.meta_path.remove(_installed)
            except ValueError:
                pass
            _installed = None


def rewrite_main(path, source):
    """Code for the main script, as compile(source, path, "exec",
    dont_inherit=True) makes it but rewritten, from the bytecode cache when
    it is fresh (as for any module). source is bytes or str. A script that
    does not parse raises exactly python's SyntaxError; one that fails to
    rewrite, or opts out, compiles plainly."""
    plain = lambda: compile(source, path, "exec", dont_inherit=True)  # noqa: E731
    if not enabled() or has_opt_out(source):
        return plain()
    try:
        from aco.rewrite import cache

        if isinstance(source, bytes) and os.path.isabs(path):
            return cache.load(path, source)
        from aco.rewrite import transform

        if isinstance(source, bytes):
            from aco import _bootstrap

            text = _bootstrap.decode_source(source)
        else:
            text = source
        tree = transform.rewrite(text, path, is_user_module=cache._user_module_predicate(path))
        return compile(tree, path, "exec", dont_inherit=True)
    except SyntaxError:
        pass
    except Exception as e:
        _failed(path, e)
    # Outside the except blocks, so python's own SyntaxError (raised by the
    # plain compile) carries no "during handling" context of ours.
    return plain()
