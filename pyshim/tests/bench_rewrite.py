"""Rewrite-and-compile latency of a 1,000-line module, the work the
watcher's worker does on every save (target: save to fresh bytecode
<= 200 ms, of which the watcher's debounce takes ~50 ms).

    python pyshim/tests/bench_rewrite.py [--lines N] [--rounds N]
"""

import argparse
import ast
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from aco.rewrite import cache, transform  # noqa: E402

# The same shape as core/watcher's benchmark source (pySource).
STEP = '''def step_{i}_{seed}(items, name="s{i}"):
    parts = [f"{{name}}-{{i}}: {{item!r}}" for i, item in enumerate(items)]
    joined = ", ".join(p.upper() for p in parts)
    found = re.findall(r"\\d+", joined)
    payload = json.dumps({{"name": name, "found": found, "n": {seed}}})
    if len(payload) % 2:
        return "odd: %s" % payload
    return "even: {{}}".format(payload) + "!"


'''


def source(lines, seed):
    out = ["import json\nimport re\n\n\n"]
    n = 4
    i = 0
    while n + 10 <= lines:
        out.append(STEP.format(i=i, seed=seed))
        n += 10
        i += 1
    out.append("\n" * (lines - n))
    return "".join(out)


def best_ms(fn, rounds):
    times = []
    for k in range(rounds):
        t = time.perf_counter()
        fn(k)
        times.append(time.perf_counter() - t)
    return min(times) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=15)
    opts = ap.parse_args()
    src = source(opts.lines, 0)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "big.py")

        def refresh(k):
            with open(path, "w") as f:
                f.write(source(opts.lines, k))
            cache.refresh(path)

        rows = [
            ("parse", lambda k: ast.parse(src)),
            ("plain compile", lambda k: compile(src, "big.py", "exec", dont_inherit=True)),
            ("rewrite", lambda k: transform.rewrite(src, "big.py")),
            ("rewrite+compile", lambda k: transform.compile_rewritten(src, "big.py")),
            ("cache.refresh", refresh),
        ]
        for name, fn in rows:
            print("%-16s %6.1f ms" % (name, best_ms(fn, opts.rounds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
