"""Runs a program the way python would while aco records it.

``python -m aco.runner SCRIPT ARGS...`` or ``python -m aco.runner -m MODULE
ARGS...``; started by aco-launch, not by hand. The work is in
aco.runner.main so that nothing of it lives in the program's __main__.
"""
