"""What the test_sdk_*.py suites share: a stand-in aco server speaking the
runner protocol (JSON lines over TCP) that answers cache look-ups and
collects what the patched SDK sends through the real aco.client, and the
fixtures that patch the SDKs around one test.

These suites also run in the oldest-version virtualenvs (test_patches_oldest.py),
which hold one SDK each: nothing here imports an SDK.
"""

import json
import os
import queue
import socket
import sys
import threading

import pytest

from aco import client as aco_client
from aco import patches

RUN = "run-1"

# A port nothing listens on: a client pointed there fails if the SDK is
# called, which proves a call was served from the cache.
DEAD = "127.0.0.1:1"


class AcoServer:
    """Answers hello with a session (a rerun, so calls look the cache up)
    and each cache_get with the next entry of `answers` (a miss when there
    is none); every other message lands in `got`."""

    def __init__(self):
        self.got = queue.Queue()
        self.answers = []
        self.nodes = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve)
        self.thread.start()

    def _serve(self):
        conn, _ = self.sock.accept()
        with conn, conn.makefile("rb") as r:
            for line in r:
                msg = json.loads(line)
                answer = None
                if msg["type"] == "hello":
                    answer = {"type": "session", "run_id": RUN, "execution": 2}
                elif msg["type"] == "cache_get":
                    self.nodes += 1
                    answer = dict(self.answers.pop(0) if self.answers else {"hit": False})
                    answer.setdefault("type", "cache_result")
                    answer.setdefault("node_id", "node-%d" % self.nodes)
                    answer["id"] = msg["id"]
                if answer is not None:
                    conn.sendall(json.dumps(answer).encode() + b"\n")
                if msg["type"] != "hello":
                    self.got.put(msg)

    def next(self):
        return self.got.get(timeout=10)

    def node(self, api=None):
        """The add_node of the next call, after its cache_get (of api)."""
        get = self.next()
        assert get["type"] == "cache_get", get
        if api is not None:
            assert get["api"] == api, get
        msg = self.next()
        assert msg["type"] == "add_node", msg
        assert isinstance(msg["started_at"], float) and msg["duration_ms"] >= 0
        return msg

    def probe(self):
        """Asserts nothing else was sent: a log line sent now is the next message."""
        aco_client.get().send({"type": "log", "run_id": RUN, "entry": "probe"})
        msg = self.next()
        assert msg.get("entry") == "probe", "unexpected message: %r" % msg

    def serve(self, node, text=None):
        """The next call gets node's recorded output (with an output text edit)."""
        output = dict(node["output"])
        if text is not None:
            output["text"] = text
        self.answers.append({"hit": True, "node_id": node["node_id"], "output": output})

    def close(self):
        self.sock.close()
        self.thread.join()


@pytest.fixture
def aco_server(tmp_path, monkeypatch):
    """A recording session with the patches installed, for one test."""
    monkeypatch.setenv("ACO_HOME", str(tmp_path))
    s = AcoServer()
    hello = {"type": "hello", "protocol": 1, "name": "test", "cwd": str(tmp_path), "argv": [], "interpreter": sys.executable, "pid": os.getpid()}
    c = aco_client.start(s.addr, hello)
    patches.install()
    try:
        yield s
    finally:
        patches.uninstall()
        c.close()
        aco_client._client = None
        s.close()
    assert s.got.empty(), "unchecked messages: %r" % list(s.got.queue)
