"""Rewritten vs plain on a string-heavy CPU-bound workload (formatting,
joins, json, re; no LLM calls, so every value takes the untainted path).
Target: rewritten <= 2x plain.

    python pyshim/tests/transparency/bench_strings.py [--rounds N]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from aco.rewrite import transform  # noqa: E402

WORKLOAD = '''
import json, re

WORD = re.compile(r"[a-z]+")

def render(i, name, score):
    head = f"{i:05d} {name!r:<12} {score:.3f}"
    tail = "%s/%d" % (name, i)
    return head + " | " + tail + " | " + "{}-{}".format(name.upper(), i)

def work(n):
    rows = []
    for i in range(n):
        name = "user" + str(i % 97)
        rows.append(render(i, name, i / 7))
    text = "\\n".join(rows)
    words = WORD.findall(text)
    doc = json.dumps({"rows": rows[:200], "words": len(words)})
    back = json.loads(doc)
    counts = {}
    for w in words:
        counts[w] = counts.get(w, 0) + 1
    return len(text), len(back["rows"]), len(counts)
'''


def best(code, rounds, n):
    ns = {"__name__": "bench"}
    exec(code, ns)
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        result = ns["work"](n)
        times.append(time.perf_counter() - t)
    return min(times), result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n", type=int, default=20000)
    opts = ap.parse_args()
    plain = compile(WORKLOAD, "bench.py", "exec", dont_inherit=True)
    rewritten = transform.compile_rewritten(WORKLOAD, "bench.py")
    tp, rp = best(plain, opts.rounds, opts.n)
    tr, rr = best(rewritten, opts.rounds, opts.n)
    assert rp == rr, (rp, rr)
    print("plain %.3fs  rewritten %.3fs  ratio %.2fx (target <= 2x)" % (tp, tr, tr / tp))
    return 0 if tr / tp <= 2 else 1


if __name__ == "__main__":
    raise SystemExit(main())
