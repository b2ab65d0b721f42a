"""Which files are the user's code: under a project root and not in a place
that holds installed, generated or vendored code."""

import os
import sys

# Directory names that never hold the user's own source.
EXCLUDED_DIRS = frozenset(
    {"site-packages", "dist-packages", ".git", "node_modules", "__pycache__", ".tox", ".nox", ".hg", ".svn"}
)

_venv_cache = {}


def _install_prefixes():
    import sysconfig  # here: a program that imports none of its own modules never needs it

    out = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            out.add(os.path.join(os.path.realpath(sysconfig.get_paths()[key]), ""))
        except Exception:
            pass
    if sys.prefix != sys.base_prefix:
        # The running virtualenv, wherever it sits (often inside the project).
        out.add(os.path.join(os.path.realpath(sys.prefix), ""))
    # aco itself, wherever its shim was unpacked (under a project root, when
    # ACO_HOME or the program sits in /tmp): rewriting the rewriter recurses.
    import aco

    out.add(os.path.join(os.path.realpath(os.path.dirname(aco.__file__)), ""))
    return tuple(out)


_prefixes = None


def _is_venv_dir(d):
    v = _venv_cache.get(d)
    if v is None:
        v = os.path.isfile(os.path.join(d, "pyvenv.cfg"))
        _venv_cache[d] = v
    return v


def is_user_file(filename, roots):
    """filename (a .py path) is under one of roots (real paths ending in a
    separator) and not under site-packages, a virtualenv, .git, node_modules,
    __pycache__ or the interpreter's own library."""
    global _prefixes
    if not roots or not filename:
        return False
    try:
        real = os.path.realpath(filename)
    except (OSError, ValueError):
        return False
    root = next((r for r in roots if real.startswith(r)), None)
    if root is None:
        return False
    if _prefixes is None:
        _prefixes = _install_prefixes()
    if any(real.startswith(p) for p in _prefixes):
        return False
    rel = real[len(root) :].split(os.sep)[:-1]
    d = root[:-1] or os.sep
    for part in rel:
        if part in EXCLUDED_DIRS:
            return False
        d = os.path.join(d, part)
        if _is_venv_dir(d):
            return False
    return True


def normalize_roots(roots):
    return tuple(os.path.join(os.path.realpath(r), "") for r in roots if r)
