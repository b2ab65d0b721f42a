"""Rewritten bytecode cached beside python's own, never in its place.

``pkg/mod.py`` caches to ``pkg/__pycache__/mod.<cache_tag>.aco-<REWRITER_VERSION>.pyc``
(with ``.opt-N`` under -O, and under sys.pycache_prefix when that is set).
The file is a PEP 552 hash-based pyc: python's magic number (so another
interpreter's file never matches), flags, the source's hash, the marshalled
code. It is fresh when magic and hash match the interpreter and source at
hand; the rewriter version is in the name. Written to a temporary file and
renamed into place, so a reader sees a whole file or none; where it cannot be
written (read-only directory, PYTHONDONTWRITEBYTECODE) the code is kept in
memory for this process.
"""

import marshal
import os
import sys
import _thread

import aco.rewrite
from aco import _bootstrap

_FLAGS = 0b11  # hash-based, checked against the source
_HEADER = 16

_memory = {}
_memory_lock = _thread.allocate_lock()


def cache_path(path):
    """Where path's rewritten bytecode lives."""
    base = _bootstrap.cache_from_source(path, optimization="")
    stem = base[: -len(".pyc")]
    opt = ".opt-%d" % sys.flags.optimize if sys.flags.optimize else ""
    return "%s.aco-%s%s.pyc" % (stem, aco.rewrite.REWRITER_VERSION, opt)


def _package_base(path):
    """The sys.path entry path's top-level package (or module) sits in."""
    d = os.path.dirname(os.path.abspath(path))
    while os.path.isfile(os.path.join(d, "__init__.py")):
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    return d


def _user_module_predicate(path):
    """Absolute imports of modules living beside path's top-level package
    count as the user's own. Decided from the file's place alone, so the same
    file rewrites the same way in the hook and in the watcher's worker."""
    base = _package_base(path)
    seen = {}

    def is_user_module(name):
        top = name.partition(".")[0]
        v = seen.get(top)
        if v is None:
            v = os.path.isdir(os.path.join(base, top)) or os.path.isfile(os.path.join(base, top + ".py"))
            seen[top] = v
        return v

    return is_user_module


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def compile_source(path, data):
    """Rewrite and compile source bytes read from path."""
    from aco.rewrite import transform  # here: a run whose caches are fresh never needs it

    text = _bootstrap.decode_source(data)
    tree = transform.rewrite(text, path, is_user_module=_user_module_predicate(path))
    return compile(tree, path, "exec", dont_inherit=True)


def _pack(code, source_hash):
    return _bootstrap.MAGIC_NUMBER + _FLAGS.to_bytes(4, "little") + source_hash + marshal.dumps(code)


def _unpack(blob, source_hash):
    if len(blob) < _HEADER:
        return None
    if blob[:4] != _bootstrap.MAGIC_NUMBER or int.from_bytes(blob[4:8], "little") != _FLAGS:
        return None
    if blob[8:16] != source_hash:
        return None
    return marshal.loads(blob[_HEADER:])


def _write_atomic(target, blob):
    d = os.path.dirname(target)
    os.makedirs(d, exist_ok=True)
    import tempfile  # here: most runs find their bytecode fresh and write none

    fd, tmp = tempfile.mkstemp(dir=d, prefix=os.path.basename(target) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def refresh(path):
    """Rewrite, compile and write path's cache now (the watcher's worker
    calls this on every save). Raises on a syntax error or a failed write.
    A file with the opt-out marker gets no cache; a stale one is removed."""
    data = _read(path)
    target = cache_path(path)
    if aco.rewrite.has_opt_out(data):
        try:
            os.unlink(target)
        except FileNotFoundError:
            pass
        return
    code = compile_source(path, data)
    _write_atomic(target, _pack(code, _bootstrap.source_hash(data)))


def load(path, data=None):
    """Rewritten code for path: from a fresh cache file, else from this
    process's memory, else rewritten now (and cached where possible). Raises
    SyntaxError (or another error of the rewrite) for the caller to fall back."""
    if data is None:
        data = _read(path)
    source_hash = _bootstrap.source_hash(data)
    target = cache_path(path)
    try:
        code = _unpack(_read(target), source_hash)
    except (OSError, ValueError, EOFError, TypeError):
        code = None
    if code is not None:
        return code
    key = (path, source_hash)
    with _memory_lock:
        code = _memory.get(key)
    if code is not None:
        return code
    code = compile_source(path, data)
    if not sys.dont_write_bytecode:
        try:
            _write_atomic(target, _pack(code, source_hash))
            return code
        except OSError:
            pass
    with _memory_lock:
        _memory[key] = code
    return code
