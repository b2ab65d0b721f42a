"""The import system's own functions, taken from the module python loaded
to start up (frozen into CPython) rather than through importlib.util or
importlib.machinery, whose import would load contextlib, collections,
functools and more into a program that may use none of them."""

import _imp

try:
    import _frozen_importlib as _bootstrap
    import _frozen_importlib_external as _external
except ImportError:  # not CPython, or a CPython built without them frozen
    from importlib import _bootstrap, _bootstrap_external as _external

BuiltinImporter = _bootstrap.BuiltinImporter
PathFinder = _external.PathFinder
SourceFileLoader = _external.SourceFileLoader
MAGIC_NUMBER = _external.MAGIC_NUMBER
cache_from_source = _external.cache_from_source
decode_source = _external.decode_source

_RAW_MAGIC = int.from_bytes(MAGIC_NUMBER, "little")


def source_hash(data):
    """importlib.util.source_hash: the key of hash-based bytecode files."""
    return _imp.source_hash(_RAW_MAGIC, data)
