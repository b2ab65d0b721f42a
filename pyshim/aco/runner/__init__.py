"""Runs a program the way python would while aco records it.

``python SHIM/aco/runner/__main__.py SCRIPT ARGS...`` (or ``-m MODULE
ARGS...``), as aco-launch starts it; ``python -m aco.runner ...`` works too. The work is in
aco.runner.main so that nothing of it lives in the program's __main__.
"""
