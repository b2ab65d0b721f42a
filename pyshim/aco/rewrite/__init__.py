"""Taint through the user's own code: an AST rewrite of string building and
of calls out of the user's code (transform, helpers), its bytecode cache
under __pycache__ (cache), the import hook that loads it (hook), and the
long-lived worker the server's file watcher keeps the cache fresh with
(worker, also ``python -m aco.rewrite``).

Importing this package does nothing; ACO_REWRITE=0 turns rewriting off.
What the hook and the cache need before they know that a file must be
rewritten lives here, so a run whose modules' rewritten bytecode is all
fresh never imports transform (nor ast).
"""

import os

# Part of the cache key: bump it whenever a change in transform or helpers
# changes what rewritten code does, or caches made by the old version would
# be used.
REWRITER_VERSION = "4"

MARKER = "aco: no-rewrite"
_MARKER_LINES = 20


def enabled():
    """Whether rewriting is on (ACO_REWRITE is not "0")."""
    return os.environ.get("ACO_REWRITE", "1") != "0"


def has_opt_out(source):
    """Whether the marker comment ``# aco: no-rewrite`` is in the first lines:
    a "#", then "aco:" and "no-rewrite" as a whole word, whitespace allowed
    around "aco:". (Matched by hand: re would cost every run its import.)"""
    if isinstance(source, bytes):
        source = source[:4096].decode("latin-1")
    if "no-rewrite" not in source:
        return False
    for i, line in enumerate(source.splitlines()):
        if i >= _MARKER_LINES:
            break
        if _marked(line):
            return True
    return False


def _marked(line):
    at = line.find("#")
    while at >= 0:
        rest = line[at + 1 :].lstrip()
        if rest.startswith("aco:"):
            rest = rest[4:].lstrip()
            if rest.startswith("no-rewrite"):
                after = rest[10:11]
                if not after or not (after.isalnum() or after == "_"):
                    return True
        at = line.find("#", at + 1)
    return False
