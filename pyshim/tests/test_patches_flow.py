"""A recorded call end to end: the real openai SDK, patched, talking to a
small LLM server, while a stand-in aco server speaking the runner protocol
(JSON lines over TCP) answers cache look-ups and collects what the runtime
sends through the real aco.client."""

import asyncio
import copy
import http.server
import inspect
import json
import os
import queue
import re
import socket
import sys
import threading

import pytest

from aco import client as aco_client
from aco import patches
from aco.patches import runtime
from test_patches_runtime import CHAT, RESPONSES, chat_json, responses_json

openai = pytest.importorskip("openai")

RUN = "run-1"
HERE = os.path.abspath(__file__)


def last_text(body):
    if "messages" in body:
        content = body["messages"][-1]["content"]
    else:
        content = body["input"] if isinstance(body["input"], str) else body["input"][-1]["content"]
    return content if isinstance(content, str) else content[0]["text"]


class LLM:
    """Answers chat completions and responses with "echo: <last input text>"."""

    def __init__(self):
        self.bodies = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.bodies.append(body)
                text = "echo: " + last_text(body)
                answer = chat_json(text) if self.path.endswith("/chat/completions") else responses_json(text)
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever)
        self.thread.start()
        self.base_url = "http://127.0.0.1:%d/v1" % self.httpd.server_address[1]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


class AcoServer:
    """Answers hello with a session and each cache_get with the next entry of
    `answers` (a miss by default); every message received lands in `got`.
    The session is a rerun (execution 2) unless told otherwise, so calls
    look the cache up."""

    def __init__(self, execution=2):
        self.execution = execution
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
                if msg["type"] == "hello":
                    answer = {"type": "session", "run_id": RUN, "execution": self.execution}
                elif msg["type"] == "cache_get":
                    self.nodes += 1
                    answer = dict(self.answers.pop(0) if self.answers else {"hit": False})
                    answer.setdefault("type", "cache_result")
                    answer.setdefault("node_id", "node-%d" % self.nodes)
                    answer["id"] = msg["id"]
                else:
                    answer = None
                if answer is not None:
                    conn.sendall(json.dumps(answer).encode() + b"\n")
                if msg["type"] != "hello":
                    self.got.put(msg)

    def next(self):
        return self.got.get(timeout=10)

    def close(self):
        self.sock.close()
        self.thread.join()


@pytest.fixture
def llm():
    s = LLM()
    yield s
    s.close()


@pytest.fixture(params=[2])
def aco_server(tmp_path, monkeypatch, request):
    monkeypatch.setenv("ACO_HOME", str(tmp_path))
    s = AcoServer(request.param)
    hello = {"type": "hello", "protocol": 1, "name": "test", "cwd": str(tmp_path), "argv": [], "interpreter": sys.executable, "pid": os.getpid()}
    c = aco_client.start(s.addr, hello)
    patches.install()
    yield s
    patches.uninstall()
    c.close()
    aco_client._client = None
    s.close()
    assert s.got.empty(), "unchecked messages: %r" % list(s.got.queue)


def here():
    """file:line of the caller's next line: where its SDK call is."""
    return "%s:%d" % (HERE, inspect.currentframe().f_back.f_lineno + 1)


def add_node(msg):
    assert msg["type"] == "add_node", msg
    assert isinstance(msg["started_at"], float) and msg["started_at"] > 1.6e9
    assert msg["duration_ms"] >= 0
    return {k: v for k, v in msg.items() if k not in ("started_at", "duration_ms")}


def chat_request(text="Output the number 42"):
    return {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]}


def test_miss_calls_the_sdk_and_records(llm, aco_server):
    c = openai.OpenAI(base_url=llm.base_url, api_key="k")
    where = here()
    got = c.chat.completions.create(**chat_request(), temperature=0.5)
    assert got.choices[0].message.content == "echo: Output the number 42"
    assert len(llm.bodies) == 1

    request = dict(chat_request(), temperature=0.5)
    h = runtime.input_hash(CHAT["api"], request)
    get = aco_server.next()
    assert get == {"type": "cache_get", "id": get["id"], "run_id": RUN, "api": CHAT["api"], "input_hash": h}
    assert add_node(aco_server.next()) == {
        "type": "add_node",
        "run_id": RUN,
        "node_id": "node-1",
        "api": "openai.chat.completions.create",
        "kind": "llm",
        "model": "gpt-4o-mini",
        "input": request,
        "input_hash": h,
        "output": {"type": "openai.types.chat.chat_completion.ChatCompletion", "data": got.model_dump(mode="json")},
        "input_text": "Be brief.\nOutput the number 42",
        "output_text": "echo: Output the number 42",
        "location": where,
        "stream": False,
        "cached": False,
        "edited": False,
    }


def test_hit_is_served_without_the_sdk(llm, aco_server):
    recorded = chat_json("recorded 42")
    aco_server.answers.append({"hit": True, "node_id": "node-old", "output": {"type": "openai.types.chat.chat_completion.ChatCompletion", "data": recorded}})
    c = openai.OpenAI(base_url=llm.base_url, api_key="k")
    got = c.chat.completions.create(**chat_request())
    assert llm.bodies == []
    assert isinstance(got, openai.types.chat.ChatCompletion)
    assert got.choices[0].message.content == "recorded 42"
    assert aco_server.next()["type"] == "cache_get"
    node = add_node(aco_server.next())
    assert (node["node_id"], node["cached"], node["edited"], node["output_text"]) == ("node-old", True, False, "recorded 42")
    assert node["output"] == {"type": "openai.types.chat.chat_completion.ChatCompletion", "data": recorded}


@pytest.mark.parametrize(
    "output,calls_sdk",
    [
        # recorded output with a text edit: served from the cache
        ({"type": "openai.types.chat.chat_completion.ChatCompletion", "data": chat_json("old"), "text": "edited 7"}, False),
        # only the text: the SDK is called and its answer gets the text
        ({"text": "edited 7"}, True),
    ],
)
def test_output_text_overwrite(llm, aco_server, output, calls_sdk):
    aco_server.answers.append({"hit": True, "output": output})
    c = openai.OpenAI(base_url=llm.base_url, api_key="k")
    got = c.chat.completions.create(**chat_request())
    assert got.choices[0].message.content == "edited 7"
    assert len(llm.bodies) == int(calls_sdk)
    aco_server.next()
    node = add_node(aco_server.next())
    assert (node["cached"], node["edited"], node["output_text"]) == (not calls_sdk, True, "edited 7")


@pytest.mark.parametrize(
    "overwrite,sent",
    [
        ({"text": "Add 1 to 42"}, "Add 1 to 42"),
        ({"request": dict(chat_request("Output the number 7"), model="other")}, "Output the number 7"),
    ],
)
def test_input_overwrite_changes_what_the_sdk_gets(llm, aco_server, overwrite, sent):
    aco_server.answers.append({"hit": False, "input_overwrite": overwrite})
    c = openai.OpenAI(base_url=llm.base_url, api_key="k")
    got = c.chat.completions.create(**chat_request())
    assert got.choices[0].message.content == "echo: " + sent
    assert last_text(llm.bodies[0]) == sent
    assert llm.bodies[0]["messages"][0]["content"] == "Be brief."
    aco_server.next()
    node = add_node(aco_server.next())
    # The node keeps the program's request (what the cache is keyed on) and
    # shows the text that was sent.
    assert node["input"] == chat_request()
    assert node["input_hash"] == runtime.input_hash(CHAT["api"], chat_request())
    assert node["input_text"] == "Be brief.\n" + sent
    assert node["edited"] is True


def test_responses_api(llm, aco_server):
    c = openai.OpenAI(base_url=llm.base_url, api_key="k")
    got = c.responses.create(model="gpt-4o-mini", instructions="Be brief.", input="Add 1 to 42")
    assert got.output_text == "echo: Add 1 to 42"
    get = aco_server.next()
    assert get["api"] == RESPONSES["api"]
    node = add_node(aco_server.next())
    assert node["output"]["type"] == "openai.types.responses.response.Response"
    assert (node["input_text"], node["output_text"], node["model"]) == ("Be brief.\nAdd 1 to 42", "echo: Add 1 to 42", "gpt-4o-mini")


def test_async_miss_then_hit(llm, aco_server):
    async def main():
        c = openai.AsyncOpenAI(base_url=llm.base_url, api_key="k")
        first = await c.chat.completions.create(**chat_request())
        aco_server.answers.append({"hit": True, "output": {"type": "x", "data": first.model_dump(mode="json")}})
        second = await c.chat.completions.create(**chat_request())
        r = await c.responses.create(model="m", input="hi")
        return first, second, r

    first, second, r = asyncio.run(main())
    assert second == first
    assert r.output_text == "echo: hi"
    assert len(llm.bodies) == 2  # the hit did not reach the SDK
    kinds = [(m["type"], m.get("cached")) for m in (aco_server.next() for _ in range(6))]
    assert kinds == [("cache_get", None), ("add_node", False), ("cache_get", None), ("add_node", True), ("cache_get", None), ("add_node", False)]


def test_raw_response_passes_through_unrecorded(llm, aco_server):
    c = openai.OpenAI(base_url=llm.base_url, api_key="k")
    raw = c.chat.completions.with_raw_response.create(**chat_request())
    assert raw.parse().choices[0].message.content == "echo: Output the number 42"
    assert len(llm.bodies) == 1
    # Nothing reached the aco server: the next message is this probe's.
    aco_client.get().send({"type": "log", "run_id": RUN, "entry": "probe"})
    assert aco_server.next()["entry"] == "probe"


def test_stream_true_passes_through(aco_server):
    from openai.resources.chat.completions import Completions

    calls = []

    # The SDK method itself stands in for a streaming call: the wrapper must
    # hand it the call untouched.
    def fake(self, **kwargs):
        calls.append(kwargs)
        return "stream object"

    wrapper = patches._wrapper(CHAT, "openai", fake, False)
    assert wrapper(Completions.__new__(Completions), stream=True, model="m", messages=[]) == "stream object"
    assert calls == [{"stream": True, "model": "m", "messages": []}]
    aco_client.get().send({"type": "log", "run_id": RUN, "entry": "probe"})
    assert aco_server.next()["entry"] == "probe"


def test_server_error_calls_the_sdk(llm, aco_server):
    aco_server.answers.append({"type": "error", "code": "internal", "message": "boom"})
    c = openai.OpenAI(base_url=llm.base_url, api_key="k")
    got = c.chat.completions.create(**chat_request())
    assert got.choices[0].message.content == "echo: Output the number 42"
    assert aco_server.next()["type"] == "cache_get"
    aco_client.get().send({"type": "log", "run_id": RUN, "entry": "probe"})
    assert aco_server.next()["entry"] == "probe"  # no add_node for the failed look-up


def test_sdk_errors_reach_the_program_unchanged(aco_server):
    c = openai.OpenAI(base_url="http://127.0.0.1:1/v1", api_key="k", max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        c.chat.completions.create(**chat_request())
    assert aco_server.next()["type"] == "cache_get"


def test_nothing_recorded_without_a_client(llm):
    patches.install()
    try:
        c = openai.OpenAI(base_url=llm.base_url, api_key="k")
        got = c.chat.completions.create(**chat_request())
    finally:
        patches.uninstall()
    assert got.choices[0].message.content == "echo: Output the number 42"


@pytest.mark.parametrize("aco_server", [1], indirect=True)
def test_first_execution_records_without_a_look_up(llm, aco_server):
    """Nothing of a run in its first execution can be cached: the call goes
    straight to the SDK, and the node is named by the shim."""
    c = openai.OpenAI(base_url=llm.base_url, api_key="k")
    got = c.chat.completions.create(**chat_request())
    assert got.choices[0].message.content == "echo: Output the number 42"
    msg = aco_server.next()
    assert msg["type"] == "add_node", "a cache_get was sent in a first execution: %r" % msg
    assert re.fullmatch(r"[0-9a-f]{12}", msg["node_id"])
    assert msg["output_text"] == "echo: Output the number 42" and msg["cached"] is False
    second = c.chat.completions.create(**chat_request())
    assert second.choices[0].message.content == got.choices[0].message.content
    msg2 = aco_server.next()
    assert msg2["type"] == "add_node" and msg2["node_id"] != msg["node_id"]
    assert msg2["input_hash"] == msg["input_hash"]
