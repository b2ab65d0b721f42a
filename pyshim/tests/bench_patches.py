"""Benchmarks of the patches, per SDK, against the real mock LLM server:

- added latency per call (plain and streaming): median of N calls patched
  (recorded in a first execution) minus unpatched;
- time to first chunk through a patched stream over an unpatched one;
- start-up of install() with every declaration indexed but no SDK imported,
  over plain python.

Patched and unpatched calls alternate in rounds (install()/uninstall()
between them), so that drift in a shared machine's load falls on both.
The recording server is a stand-in in a process of its own, as the real
aco server is: one in this process would compete with the program for the
GIL and charge its own JSON parsing to the patches.

Run: .venv/bin/python pyshim/tests/bench_patches.py [N]   (ACO_TEST_ACO_BIN
names a built aco; otherwise one is built). SDKs not installed are skipped.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYSHIM = os.path.dirname(HERE)
sys.path.insert(0, PYSHIM)
sys.path.insert(0, HERE)

import mockllm_server  # noqa: E402

ROUNDS = 5

SINK = r"""
import json, socket, sys
sock = socket.create_server(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
conn, _ = sock.accept()
with conn, conn.makefile("rb") as r:
    for line in r:
        if json.loads(line)["type"] == "hello":
            conn.sendall(b'{"type":"session","run_id":"bench","execution":1}\n')
"""


def sink_server():
    """An aco server stand-in: a session in its first execution, every
    other message read and dropped."""
    p = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE)
    return p, "127.0.0.1:%d" % int(p.stdout.readline())


def openai_case(addr):
    import openai

    c = openai.OpenAI(base_url="http://%s/v1" % addr, api_key="k")
    msgs = [{"role": "user", "content": "Add 1 to 42"}]
    return (
        "openai %s chat.completions.create" % openai.__version__,
        lambda: c.chat.completions.create(model="m", messages=msgs),
        lambda: c.chat.completions.create(model="m", messages=msgs, stream=True),
    )


def anthropic_case(addr):
    import anthropic

    c = anthropic.Anthropic(base_url="http://" + addr, api_key="k", max_retries=0)
    req = dict(model="claude-haiku-4-5", max_tokens=100, messages=[{"role": "user", "content": "Add 1 to 42"}])
    return (
        "anthropic %s messages.create" % anthropic.__version__,
        lambda: c.messages.create(**req),
        lambda: c.messages.create(stream=True, **req),
    )


def google_case(addr):
    from google import genai

    c = genai.Client(api_key="k", http_options={"base_url": "http://" + addr})
    return (
        "google-genai %s models.generate_content" % genai.__version__,
        lambda: c.models.generate_content(model="gemini-2.5-flash", contents="Add 1 to 42"),
        lambda: c.models.generate_content_stream(model="gemini-2.5-flash", contents="Add 1 to 42"),
    )


MEASURES = ("call", "stream", "ttfc", "cpu_call", "cpu_stream")


def measure(plain, stream, n, out):
    """Appends n samples of each of MEASURES to out's lists. The cpu_ ones
    are the CPU time of the program's thread: what the patches add to it
    is their own work, which a loaded machine's scheduling hides in the
    wall times."""
    for _ in range(n):
        c0, t0 = time.thread_time(), time.perf_counter()
        plain()
        out["call"].append(time.perf_counter() - t0)
        out["cpu_call"].append(time.thread_time() - c0)
    for _ in range(n):
        c0, t0 = time.thread_time(), time.perf_counter()
        for _ in stream():
            pass
        out["stream"].append(time.perf_counter() - t0)
        out["cpu_stream"].append(time.thread_time() - c0)
    for _ in range(n):
        t0 = time.perf_counter()
        s = stream()
        it = iter(s)
        next(it)
        out["ttfc"].append(time.perf_counter() - t0)
        close = getattr(s, "close", None) or getattr(it, "close", None)
        if close is not None:
            close()
        else:
            for _ in it:
                pass


def startup(code, n=15):
    env = dict(os.environ, PYTHONPATH=PYSHIM)
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    tmp = tempfile.mkdtemp()
    os.environ["ACO_HOME"] = tmp
    llm = mockllm_server.MockLLM(mockllm_server.aco_binary(tmp))

    from aco import client as aco_client
    from aco import patches

    cases = []
    for make in (openai_case, anthropic_case, google_case):
        try:
            cases.append(make(llm.addr))
        except ImportError as e:
            print("skipped: %s" % e)
    sink, addr = sink_server()
    hello = {"type": "hello", "protocol": 1, "name": "bench", "cwd": tmp, "argv": [], "interpreter": sys.executable, "pid": os.getpid()}
    cl = aco_client.start(addr, hello)

    results = []
    for name, plain, stream in cases:
        base = {m: [] for m in MEASURES}
        patched = {m: [] for m in MEASURES}
        for _ in range(2):
            plain()  # warm up connections and imports
            for _ in stream():
                pass
        for _ in range(ROUNDS):
            measure(plain, stream, max(1, n // ROUNDS), base)
            patches.install()
            try:
                measure(plain, stream, max(1, n // ROUNDS), patched)
            finally:
                patches.uninstall()
        results.append((name, {k: statistics.median(v) for k, v in base.items()}, {k: statistics.median(v) for k, v in patched.items()}))
    cl.close()
    sink.wait()
    llm.close()

    plain_py = startup("pass")
    with_install = startup("import aco.patches as p; p.install(); import sys; assert 'openai' not in sys.modules")
    print("%d calls each, medians:" % n)
    for name, base, patched in results:
        print(name)
        print("  added latency per call:      %.3f ms (%.3f -> %.3f ms)" % ((patched["call"] - base["call"]) * 1e3, base["call"] * 1e3, patched["call"] * 1e3))
        print("  added latency per stream:    %.3f ms (%.3f -> %.3f ms)" % ((patched["stream"] - base["stream"]) * 1e3, base["stream"] * 1e3, patched["stream"] * 1e3))
        print("  time to first chunk:         %.3fx (%.3f -> %.3f ms)" % (patched["ttfc"] / base["ttfc"], base["ttfc"] * 1e3, patched["ttfc"] * 1e3))
        print("  CPU time added per call:     %.3f ms, per stream: %.3f ms" % ((patched["cpu_call"] - base["cpu_call"]) * 1e3, (patched["cpu_stream"] - base["cpu_stream"]) * 1e3))
    print("install() start-up:            +%.1f ms over plain python (%.1f -> %.1f ms)" % ((with_install - plain_py) * 1e3, plain_py * 1e3, with_install * 1e3))


if __name__ == "__main__":
    main()
