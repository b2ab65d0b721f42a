"""Taint through the user's own code: an AST rewrite of string building and
of calls out of the user's code (transform, helpers), its bytecode cache
under __pycache__ (cache), the import hook that loads it (hook), and the
long-lived worker the server's file watcher keeps the cache fresh with
(worker, also ``python -m aco.rewrite``).

Importing this package does nothing; ACO_REWRITE=0 turns rewriting off.
"""

import os


def enabled():
    """Whether rewriting is on (ACO_REWRITE is not "0")."""
    return os.environ.get("ACO_REWRITE", "1") != "0"
