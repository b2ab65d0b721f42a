"""Benchmarks of the patches, against the real mock LLM server:

- added latency per call (plain and streaming): median of N calls patched
  (recorded in a first execution) minus unpatched;
- time to first chunk through a patched stream over an unpatched one;
- start-up of install() with every declaration indexed but no SDK imported,
  over plain python.

Run: .venv/bin/python pyshim/tests/bench_patches.py [N]   (ACO_TEST_ACO_BIN
names a built aco; otherwise one is built).
"""

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYSHIM = os.path.dirname(HERE)
sys.path.insert(0, PYSHIM)
sys.path.insert(0, HERE)

import mockllm_server  # noqa: E402


def sink_server():
    """An aco server stand-in: a session in its first execution, every
    other message read and dropped."""
    sock = socket.create_server(("127.0.0.1", 0))

    def serve():
        conn, _ = sock.accept()
        with conn, conn.makefile("rb") as r:
            for line in r:
                if json.loads(line)["type"] == "hello":
                    conn.sendall(b'{"type":"session","run_id":"bench","execution":1}\n')

    threading.Thread(target=serve, daemon=True).start()
    return "127.0.0.1:%d" % sock.getsockname()[1]


def timed(fn, n):
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def startup(code, n=15):
    env = dict(os.environ, PYTHONPATH=PYSHIM)
    return timed(lambda: subprocess.run([sys.executable, "-c", code], env=env, check=True), n)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    tmp = tempfile.mkdtemp()
    os.environ["ACO_HOME"] = tmp
    llm = mockllm_server.MockLLM(mockllm_server.aco_binary(tmp))
    import openai

    from aco import client as aco_client
    from aco import patches

    c = openai.OpenAI(base_url=llm.base_url, api_key="k")
    msgs = [{"role": "user", "content": "Add 1 to 42"}]

    def plain():
        c.chat.completions.create(model="m", messages=msgs)

    def first_chunk():
        s = c.chat.completions.create(model="m", messages=msgs, stream=True)
        next(iter(s))
        return s

    def stream_all():
        for _ in c.chat.completions.create(model="m", messages=msgs, stream=True):
            pass

    def ttfc():
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            s = first_chunk()
            out.append(time.perf_counter() - t0)
            s.close()
        return statistics.median(out)

    for f in (plain, stream_all):
        f()  # warm up connections
    base = {"call": timed(plain, n), "stream": timed(stream_all, n), "ttfc": ttfc()}
    hello = {"type": "hello", "protocol": 1, "name": "bench", "cwd": tmp, "argv": [], "interpreter": sys.executable, "pid": os.getpid()}
    cl = aco_client.start(sink_server(), hello)
    patches.install()
    patched = {"call": timed(plain, n), "stream": timed(stream_all, n), "ttfc": ttfc()}
    patches.uninstall()
    cl.close()
    llm.close()

    plain_py = startup("pass")
    with_install = startup("import aco.patches as p; p.install(); import sys; assert 'openai' not in sys.modules")
    print("openai %s, %d calls each, medians:" % (openai.__version__, n))
    print("  added latency per call:      %.3f ms (%.3f -> %.3f ms)" % ((patched["call"] - base["call"]) * 1e3, base["call"] * 1e3, patched["call"] * 1e3))
    print("  added latency per stream:    %.3f ms (%.3f -> %.3f ms)" % ((patched["stream"] - base["stream"]) * 1e3, base["stream"] * 1e3, patched["stream"] * 1e3))
    print("  time to first chunk:         %.3fx (%.3f -> %.3f ms)" % (patched["ttfc"] / base["ttfc"], base["ttfc"] * 1e3, patched["ttfc"] * 1e3))
    print("  install() start-up:          +%.1f ms over plain python (%.1f -> %.1f ms)" % ((with_install - plain_py) * 1e3, plain_py * 1e3, with_install * 1e3))


if __name__ == "__main__":
    main()
