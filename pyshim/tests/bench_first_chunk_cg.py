"""Time to first chunk, patched over unpatched, counted instead of timed.

bench_patches.py times the first chunk; on a shared machine its ratio moves
by several percent between runs, more than the few percent the patches add,
so a change on the call path cannot be ranked by it. This counts what the
CPU does instead, under valgrind's callgrind with its cache simulator:
instructions, first-level and last-level cache misses of the program's
first-chunk regions (from the streamed call to its first chunk, as
bench_patches.py measures it), unpatched and patched, and from them
callgrind's own estimate of cycles (Ir + 10 x L1 misses + 100 x LL
misses). These move far less between runs (the socket reads differ): about
10,000 of anthropic's 3.2 million instructions per region and 0.005x of
its ratio, so a change worth more than that shows. The caches simulated are
fixed (32 KiB L1s, a 2 MiB last level) so that every machine counts alike.

Each region follows a recorded call and a recorded full stream, as in
bench_patches.py: what the recording at a stream's end leaves in the caches
counts against the next call. The kernel's work (the socket reads) and the
mock's are not counted: against the time bench_patches.py reads, these
ratios leave out a part that is the same on both sides.

Run: .venv/bin/python pyshim/tests/bench_first_chunk_cg.py [SDK ...] [-n REGIONS]
(SDK: openai, anthropic, google; all by default). Needs valgrind; each SDK
takes a few minutes, its two sides running side by side.
"""

import functools
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PYSHIM = os.path.dirname(HERE)
sys.path.insert(0, PYSHIM)
sys.path.insert(0, HERE)

import bench_patches  # noqa: E402
import mockllm_server  # noqa: E402

CASES = {"openai": bench_patches.openai_case, "anthropic": bench_patches.anthropic_case, "google": bench_patches.google_case}
WARMUP = 15
# Only what runs under functools.reduce is counted: no SDK on the path calls it.
TOGGLE = "functools_reduce"
CACHES = ["--I1=32768,8,64", "--D1=32768,8,64", "--LL=2097152,16,64"]


def worker(side, sdk, regions):
    """Runs WARMUP + regions rounds of: a call, a full stream, and the
    first chunk of a stream (under functools.reduce past the warm-up)."""
    tmp = tempfile.mkdtemp()
    os.environ["ACO_HOME"] = tmp
    llm = mockllm_server.MockLLM(mockllm_server.aco_binary(tmp))
    from aco import client as aco_client
    from aco import patches

    _, plain, stream = CASES[sdk](llm.addr)[:3]
    sink, addr = bench_patches.sink_server()
    hello = {"type": "hello", "protocol": 1, "name": "bench", "cwd": tmp, "argv": [], "interpreter": sys.executable, "pid": os.getpid()}
    cl = aco_client.start(addr, hello)
    settle = bench_patches.Settler(cl)
    patches.install()
    bench_patches.switch(patches)(side == "patched")

    def first_chunk(_a, _b):
        s = stream()
        it = iter(s)
        next(it)
        return s, it

    for i in range(WARMUP + regions):
        plain()
        settle()
        for _ in stream():
            pass
        settle()
        s, it = functools.reduce(first_chunk, [0, 1]) if i >= WARMUP else first_chunk(0, 0)
        close = getattr(s, "close", None) or getattr(it, "close", None)
        close()
        settle()
    patches.uninstall()
    cl.close()
    sink.wait()
    llm.close()


def counts(path):
    """{event: count} from a callgrind output file."""
    events = totals = None
    with open(path) as f:
        for line in f:
            if line.startswith("events:"):
                events = line.split()[1:]
            elif line.startswith("summary:") or line.startswith("totals:"):
                totals = [int(x) for x in line.split()[1:]]
    if events is None or totals is None:
        raise SystemExit("%s: no event counts (did valgrind run?)" % path)
    return dict(zip(events, totals))


def estimate(c):
    l1 = c["I1mr"] + c["D1mr"] + c["D1mw"]
    ll = c["ILmr"] + c["DLmr"] + c["DLmw"]
    return c["Ir"], l1, ll, c["Ir"] + 10 * l1 + 100 * ll


def main():
    args = sys.argv[1:]
    if args[:1] == ["--worker"]:
        worker(args[1], args[2], int(args[3]))
        return
    regions = 10
    if "-n" in args:
        i = args.index("-n")
        regions = int(args[i + 1])
        del args[i : i + 2]
    sdks = args or list(CASES)
    for sdk in sdks:
        if sdk not in CASES:
            raise SystemExit("unknown SDK %r: one of %s" % (sdk, ", ".join(CASES)))
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    tmp = tempfile.mkdtemp()
    env = dict(os.environ, ACO_TEST_ACO_BIN=mockllm_server.aco_binary(tmp))
    print("per first-chunk region, %d regions per side:" % regions)
    for sdk in sdks:
        runs = {}
        for side in ("plain", "patched"):
            out = os.path.join(tmp, "%s.%s.out" % (sdk, side))
            cmd = ["valgrind", "--tool=callgrind", "--toggle-collect=" + TOGGLE, "--cache-sim=yes"] + CACHES
            cmd += ["--callgrind-out-file=" + out, sys.executable, os.path.abspath(__file__), "--worker", side, sdk, str(regions)]
            runs[side] = (out, subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        est = {}
        for side, (out, p) in runs.items():
            _, err = p.communicate()
            if p.returncode != 0:
                raise SystemExit("%s %s failed:\n%s" % (sdk, side, err.decode(errors="replace")[-2000:]))
            est[side] = [v / regions for v in estimate(counts(out))]
        print(sdk)
        for i, label in enumerate(("instructions", "L1 misses", "LL misses", "estimated cycles")):
            b, p = est["plain"][i], est["patched"][i]
            print("  %-17s %12.0f -> %12.0f  %+10.0f  %.3fx" % (label, b, p, p - b, p / b))


if __name__ == "__main__":
    main()
