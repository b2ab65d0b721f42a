"""Costs of the taint API on the paths the rewriter takes for every call.

Run as a script for the numbers (``python tests/test_taint_bench.py``); as a
test it checks them against bounds loose enough for a busy shared machine
(best of several repeats), so only a lost fast path fails it.
"""

import os
import sys
import timeit

if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from aco.taint import get_origins, is_tainted, untaint, wrap  # noqa: E402

# Taint something first: the fast path must not depend on nothing being
# tainted in the process yet.
wrap("warm", ["n0"])

MESSAGES = [{"role": "user", "content": "question %d" % i} for i in range(20)]
TAINTED_MESSAGES = [{"role": "user", "content": wrap("question %d" % i, ["n1"])} for i in range(20)]

CASES = [
    # (name, statement, bound in microseconds per call)
    ("get_origins(plain str)", lambda: get_origins("text"), 1.0),
    ("get_origins(plain int)", lambda: get_origins(42), 1.0),
    ("get_origins(None)", lambda: get_origins(None), 1.0),
    ("is_tainted(plain str)", lambda: is_tainted("text"), 1.0),
    ("untaint(plain str)", lambda: untaint("text"), 1.0),
    ("get_origins(TaintStr)", lambda: get_origins(TAINTED), 1.0),
    ("untaint(TaintStr)", lambda: untaint(TAINTED), 2.0),
    ("wrap(str)", lambda: wrap("text", ORIGINS), 6.0),
    ("TaintStr.upper()", lambda: TAINTED.upper(), 6.0),
    ("TaintStr + str", lambda: TAINTED + "x", 6.0),
    ("get_origins(20 plain messages)", lambda: get_origins(MESSAGES), 150.0),
    ("get_origins(20 tainted messages)", lambda: get_origins(TAINTED_MESSAGES), 150.0),
    ("untaint(20 plain messages)", lambda: untaint(MESSAGES), 150.0),
]

TAINTED = wrap("some text", ["n1"])
ORIGINS = frozenset({"n1"})


def measure(fn, number=20000, repeat=5):
    # Best of several: the least disturbed run is the cost of the code.
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def test_costs_stay_within_bounds():
    over = []
    for name, fn, bound in CASES:
        number = 2000 if bound > 10 else 20000
        us = measure(fn, number)
        if us > bound:
            # Other processes share the cores: one more round before failing.
            us = min(us, measure(fn, number))
        if us > bound:
            over.append("%s: %.3f us > %.1f us" % (name, us, bound))
    assert not over, over


if __name__ == "__main__":
    for name, fn, bound in CASES:
        print("%-36s %8.3f us   (bound %.1f)" % (name, measure(fn), bound))
