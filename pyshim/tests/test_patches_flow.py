"""A recorded call end to end: the real openai SDK, patched, talking to a
small LLM server, while a stand-in aco server speaking the runner protocol
(JSON lines over TCP) answers cache look-ups and collects what the runtime
sends through the real aco.client."""

import asyncio
import copy
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
from mockllm_server import aco_bin, mockllm  # noqa: F401 (fixtures)
from aco.patches._generated import openai as decl

# These tests also run against the oldest openai the declaration claims
# (test_patches_oldest.py), so they import nothing that builds SDK objects
# at collection time.
METHODS = {m["api"]: m for m in decl.METHODS}
CHAT = METHODS["openai.chat.completions.create"]
RESPONSES = METHODS["openai.responses.create"]


def chat_json(content):
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    }

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
    """The real mock LLM server, and the request bodies this test's clients
    sent it (seen through the SDK's own HTTP client's event hook)."""

    def __init__(self, server):
        self.base_url = server.base_url
        self.bodies = []

    def _note(self, request):
        self.bodies.append(json.loads(request.content or b"null"))

    def client(self, **kw):
        http = openai.DefaultHttpxClient(event_hooks={"request": [self._note]})
        return openai.OpenAI(base_url=self.base_url, api_key="k", http_client=http, **kw)

    def async_client(self, **kw):
        async def note(request):
            self._note(request)

        http = openai.DefaultAsyncHttpxClient(event_hooks={"request": [note]})
        return openai.AsyncOpenAI(base_url=self.base_url, api_key="k", http_client=http, **kw)


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
def llm(mockllm):
    return LLM(mockllm)


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
    c = llm.client()
    where = here()
    got = c.chat.completions.create(**chat_request(), temperature=0.5)
    assert got.choices[0].message.content == "42"
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
        "output": {"type": "openai.types.chat.chat_completion.ChatCompletion", "data": got.model_dump(mode="json", exclude_unset=True)},
        "input_text": "Be brief.\nOutput the number 42",
        "output_text": "42",
        "location": where,
        "stream": False,
        "cached": False,
        "edited": False,
    }


def test_hit_is_served_without_the_sdk(llm, aco_server):
    recorded = chat_json("recorded 42")
    aco_server.answers.append({"hit": True, "node_id": "node-old", "output": {"type": "openai.types.chat.chat_completion.ChatCompletion", "data": recorded}})
    c = llm.client()
    where = here()
    got = c.chat.completions.create(**chat_request())
    assert llm.bodies == []
    assert isinstance(got, openai.types.chat.ChatCompletion)
    assert got.choices[0].message.content == "recorded 42"
    assert aco_server.next()["type"] == "cache_get"
    node = add_node(aco_server.next())
    assert (node["node_id"], node["cached"], node["edited"], node["output_text"]) == ("node-old", True, False, "recorded 42")
    assert node["location"] == where
    assert node["output"] == {"type": "openai.types.chat.chat_completion.ChatCompletion", "data": recorded}


def test_a_replayed_response_says_which_fields_the_api_set(llm, aco_server):
    """The recording holds the fields the API set, so the response rebuilt
    from it is the live one down to its set fields: to_dict() (which leaves
    out unset fields) is the same live and from the cache."""
    c = llm.client()
    live = c.chat.completions.create(**chat_request())
    aco_server.next()
    node = add_node(aco_server.next())
    assert "tool_calls" not in node["output"]["data"]["choices"][0]["message"]  # the API sent none
    aco_server.answers.append(recorded(node))
    replayed = c.chat.completions.create(**chat_request())
    aco_server.next()
    add_node(aco_server.next())
    assert replayed.to_dict() == live.to_dict()
    assert replayed.model_dump() == live.model_dump()


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
    c = llm.client()
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
    c = llm.client()
    got = c.chat.completions.create(**chat_request())
    assert got.choices[0].message.content == {"Add 1 to 42": "43", "Output the number 7": "7"}[sent]
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
    c = llm.client()
    got = c.responses.create(model="gpt-4o-mini", instructions="Be brief.", input="Add 1 to 42")
    assert got.output_text == "43"
    get = aco_server.next()
    assert get["api"] == RESPONSES["api"]
    node = add_node(aco_server.next())
    assert node["output"]["type"] == "openai.types.responses.response.Response"
    assert (node["input_text"], node["output_text"], node["model"]) == ("Be brief.\nAdd 1 to 42", "43", "gpt-4o-mini")


def test_async_miss_then_hit(llm, aco_server):
    wheres = []

    async def main():
        c = llm.async_client()
        wheres.append(here())
        first = await c.chat.completions.create(**chat_request())
        aco_server.answers.append({"hit": True, "output": {"type": "x", "data": first.model_dump(mode="json")}})
        wheres.append(here())
        second = await c.chat.completions.create(**chat_request())
        wheres.append(here())
        r = await c.responses.create(model="m", input="hi")
        return first, second, r

    first, second, r = asyncio.run(main())
    assert second == first
    assert r.output_text == "Echo: hi"
    assert len(llm.bodies) == 2  # the hit did not reach the SDK
    msgs = [aco_server.next() for _ in range(6)]
    kinds = [(m["type"], m.get("cached")) for m in msgs]
    assert kinds == [("cache_get", None), ("add_node", False), ("cache_get", None), ("add_node", True), ("cache_get", None), ("add_node", False)]
    assert [m["location"] for m in msgs if m["type"] == "add_node"] == wheres


def test_a_call_with_no_python_frame_above_it_is_recorded_without_a_location(llm, aco_server):
    # A thread whose first Python frame is the patched method (list.extend
    # over a starmap of a partial: C all the way up): the walk for the
    # program's line has no frame to start from, on a miss and on a hit, and
    # the call still returns its response. The lock is released after it.
    import _thread
    import functools
    import itertools

    c = llm.client()
    create = functools.partial(c.chat.completions.create, **chat_request())
    for cached in (False, True):
        got, done = [], _thread.allocate_lock()
        done.acquire()
        _thread.start_new_thread(got.extend, (itertools.chain(itertools.starmap(create, [()]), itertools.starmap(done.release, [()])),))
        assert aco_server.next()["type"] == "cache_get"
        node = add_node(aco_server.next())
        assert (node["location"], node["cached"], node["output_text"]) == ("", cached, "42")
        aco_server.answers.append({"hit": True, "output": node["output"]})
        assert done.acquire(timeout=10)
        assert got[0].choices[0].message.content == "42"
    assert len(llm.bodies) == 1  # the second call was served from the cache


def recorded(node):
    """A cache answer serving node's recorded output."""
    return {"hit": True, "node_id": node["node_id"], "output": node["output"]}


def test_raw_response_is_recorded_and_served(llm, aco_server):
    c = llm.client()
    raw = c.chat.completions.with_raw_response.create(**chat_request())
    got = raw.parse()
    assert got.choices[0].message.content == "42"
    assert raw.headers.get("content-type", "").startswith("application/json")
    aco_server.next()
    node = add_node(aco_server.next())
    assert (node["output_text"], node["stream"]) == ("42", False)
    assert node["output"]["data"] == got.model_dump(mode="json", exclude_unset=True)

    aco_server.answers.append(dict(recorded(node), output=dict(node["output"], text="edited")))
    again = c.chat.completions.with_raw_response.create(**chat_request())
    assert again.parse().choices[0].message.content == "edited"
    assert len(llm.bodies) == 1
    aco_server.next()
    assert add_node(aco_server.next())["cached"] is True


def test_streaming_response_wrapper_passes_through(llm, aco_server):
    c = llm.client()
    with c.chat.completions.with_streaming_response.create(**chat_request()) as r:
        assert r.parse().choices[0].message.content == "42"
    assert len(llm.bodies) == 1
    aco_client.get().send({"type": "log", "run_id": RUN, "entry": "probe"})
    assert aco_server.next()["entry"] == "probe"


STREAM_REQUEST = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Add 1 to 42"}], "stream": True}


def test_stream_is_recorded_when_it_ends(llm, aco_server):
    from openai.types.chat import ChatCompletionChunk

    c = llm.client()
    stream = c.chat.completions.create(**STREAM_REQUEST)
    assert isinstance(stream, openai.Stream)
    chunks = list(stream)
    assert all(type(ch) is ChatCompletionChunk for ch in chunks)
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == "43"
    aco_server.next()
    node = add_node(aco_server.next())
    assert (node["stream"], node["output_text"], node["cached"]) == (True, "43", False)
    assert node["output"]["type"] == "openai.Stream" or node["output"]["type"].endswith("Stream")
    assert [e["data"] for e in node["output"]["chunks"]] == [ch.model_dump(mode="json", exclude_unset=True) for ch in chunks]

    # The same call again is served from the recording as a stream of the
    # SDK's own chunk type.
    aco_server.answers.append(recorded(node))
    with c.chat.completions.create(**STREAM_REQUEST) as replay:
        again = list(replay)
    assert [type(ch) for ch in again] == [ChatCompletionChunk] * len(chunks)
    assert again == chunks
    assert len(llm.bodies) == 1
    aco_server.next()
    node2 = add_node(aco_server.next())
    assert (node2["cached"], node2["stream"], node2["output_text"]) == (True, True, "43")


def test_stream_break_then_close_records_what_was_read(llm, aco_server):
    c = llm.client()
    stream = c.chat.completions.create(**STREAM_REQUEST)
    first = next(iter(stream))
    assert first.choices[0].delta.role == "assistant"
    aco_client.get().send({"type": "log", "run_id": RUN, "entry": "probe"})
    aco_server.next()  # cache_get
    assert aco_server.next()["entry"] == "probe", "recorded before the stream ended"
    stream.close()
    node = add_node(aco_server.next())
    assert len(node["output"]["chunks"]) == 1 and node["output_text"] == ""


def test_stream_dropped_unfinished_is_recorded(llm, aco_server):
    import gc

    c = llm.client()
    stream = c.chat.completions.create(**STREAM_REQUEST)
    for _ in stream:
        break
    del stream
    gc.collect()
    aco_server.next()
    assert add_node(aco_server.next())["stream"] is True


def test_async_stream_live_and_replayed(llm, aco_server):
    async def main():
        c = llm.async_client()
        s = await c.chat.completions.create(**STREAM_REQUEST)
        assert isinstance(s, openai.AsyncStream)
        live = [ch async for ch in s]
        get, node = aco_server.next(), add_node(aco_server.next())
        aco_server.answers.append(recorded(node))
        async with await c.chat.completions.create(**STREAM_REQUEST) as r:
            replayed = [ch async for ch in r]
        return live, node, replayed

    live, node, replayed = asyncio.run(main())
    assert replayed == live and node["output_text"] == "43"
    assert len(llm.bodies) == 1
    aco_server.next()
    assert add_node(aco_server.next())["cached"] is True


def test_chat_stream_helper_live_cached_and_edited(llm, aco_server):
    c = llm.client()
    request = {"model": "m", "messages": [{"role": "user", "content": "Add 1 to 42"}]}
    with c.chat.completions.stream(**request) as s:
        kinds = [e.type for e in s]
        final = s.get_final_completion()
    assert "content.delta" in kinds and final.choices[0].message.content == "43"
    aco_server.next()
    node = add_node(aco_server.next())
    assert (node["api"], node["stream"], node["output_text"]) == ("openai.chat.completions.create", True, "43")

    aco_server.answers.append(recorded(node))
    with c.chat.completions.stream(**request) as s:
        assert [e.type for e in s] == kinds
        assert s.get_final_completion().choices[0].message.content == "43"
    aco_server.next()
    add_node(aco_server.next())

    aco_server.answers.append(dict(recorded(node), output=dict(node["output"], text="an edit")))
    with c.chat.completions.stream(**request) as s:
        deltas = [e.delta for e in s if e.type == "content.delta"]
        assert s.get_final_completion().choices[0].message.content == "an edit"
    assert "".join(deltas) == "an edit"
    assert len(llm.bodies) == 1
    aco_server.next()
    node3 = add_node(aco_server.next())
    assert (node3["edited"], node3["output_text"]) == (True, "an edit")


def test_responses_stream_helper_live_cached_and_edited(llm, aco_server):
    c = llm.client()
    with c.responses.stream(model="m", input="Add 2 to 40") as s:
        events = [e.type for e in s]
        assert s.get_final_response().output_text == "42"
    aco_server.next()
    node = add_node(aco_server.next())
    assert (node["api"], node["output_text"]) == ("openai.responses.create", "42")

    aco_server.answers.append(dict(recorded(node), output=dict(node["output"], text="edited answer")))
    with c.responses.stream(model="m", input="Add 2 to 40") as s:
        again = [e for e in s]
        final = s.get_final_response()
    assert [e.type for e in again] == events
    assert "".join(e.delta for e in again if e.type == "response.output_text.delta") == "edited answer"
    assert final.output_text == "edited answer"
    assert len(llm.bodies) == 1
    aco_server.next()
    assert add_node(aco_server.next())["output_text"] == "edited answer"


def test_async_responses_stream_helper_from_cache(llm, aco_server):
    async def main():
        c = llm.async_client()
        async with c.responses.stream(model="m", input="Output the number 5") as s:
            live = [e.type async for e in s]
        aco_server.next()
        node = add_node(aco_server.next())
        aco_server.answers.append(recorded(node))
        async with c.responses.stream(model="m", input="Output the number 5") as s:
            again = [e.type async for e in s]
            final = await s.get_final_response()
        return live, again, final

    live, again, final = asyncio.run(main())
    assert again == live and final.output_text == "5"
    assert len(llm.bodies) == 1
    aco_server.next()
    add_node(aco_server.next())


def test_stream_text_overwrite_without_recording_edits_live_chunks(llm, aco_server):
    aco_server.answers.append({"hit": True, "output": {"text": "live edit"}})
    c = llm.client()
    chunks = list(c.chat.completions.create(**STREAM_REQUEST))
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == "live edit"
    assert len(llm.bodies) == 1
    aco_server.next()
    node = add_node(aco_server.next())
    assert (node["edited"], node["output_text"], node["cached"]) == (True, "live edit", False)


def test_parse_records_and_rebuilds_the_programs_type(llm, aco_server):
    import pydantic

    class Answer(pydantic.BaseModel):
        value: int

    c = llm.client()
    plain = c.chat.completions.parse(**chat_request())
    assert plain.choices[0].message.content == "42"
    aco_server.next()
    node = add_node(aco_server.next())
    assert (node["api"], node["output_text"]) == ("openai.chat.completions.parse", "42")

    data = copy.deepcopy(node["output"]["data"])
    data["choices"][0]["message"]["content"] = '{"value": 42}'
    aco_server.answers.append({"hit": True, "output": {"type": node["output"]["type"], "data": data, "text": '{"value": 7}'}})
    got = c.chat.completions.parse(**chat_request(), response_format=Answer)
    assert isinstance(got.choices[0].message.parsed, Answer)
    assert got.choices[0].message.parsed.value == 7
    assert len(llm.bodies) == 1
    aco_server.next()
    assert add_node(aco_server.next())["output_text"] == '{"value": 7}'


def test_embeddings(llm, aco_server):
    c = llm.client()
    e = c.embeddings.create(model="text-embedding-3-small", input="Output the number 42")
    aco_server.next()
    node = add_node(aco_server.next())
    assert (node["api"], node["input_text"], node["output_text"]) == ("openai.embeddings.create", "Output the number 42", "")
    aco_server.answers.append(recorded(node))
    again = c.embeddings.create(model="text-embedding-3-small", input="Output the number 42")
    assert type(again) is type(e) and again.data[0].embedding == e.data[0].embedding
    assert len(llm.bodies) == 1
    aco_server.next()
    add_node(aco_server.next())


def test_attachments_and_tools_are_sent(llm, aco_server):
    c = llm.client()
    tools = [{"type": "function", "function": {"name": "add", "parameters": {"type": "object", "properties": {}}}}]
    content = [{"type": "text", "text": "Output the number 42"}, {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]
    c.chat.completions.create(model="m", messages=[{"role": "user", "content": content}], tools=tools)
    aco_server.next()
    node = add_node(aco_server.next())
    assert node["attachments"] == ["https://example.com/a.png"]
    assert node["tools"] == ["add"]


class StandInTaint:
    """What aco.taint promises: get_origins finds node ids in a request;
    wrap_response marks a response's text with its node id."""

    def __init__(self):
        self.wrapped = []

    def get_origins(self, value):
        return frozenset(re.findall(r"node-\d+", json.dumps(runtime.to_json(value))))

    def wrap_response(self, obj, node_id):
        self.wrapped.append((type(obj).__name__, node_id))
        return obj


def test_taint_call_sites(llm, aco_server, monkeypatch):
    taint = StandInTaint()
    monkeypatch.setitem(sys.modules, "aco.taint", taint)
    # The runtime keeps the real aco.taint's stream tainter once it has
    # looked it up: aco.taint does not change under a running program.
    monkeypatch.setattr(runtime, "_make_tainter", None)
    c = llm.client()
    c.chat.completions.create(model="m", messages=[{"role": "user", "content": "from node-7 and node-3: Output 1"}])
    aco_server.next()
    node = add_node(aco_server.next())
    assert node["origins"] == ["node-3", "node-7"]
    assert taint.wrapped == [("ChatCompletion", "node-1")]
    taint.wrapped.clear()
    list(c.chat.completions.create(**STREAM_REQUEST))
    aco_server.next()
    add_node(aco_server.next())
    assert taint.wrapped and {w for w in taint.wrapped} == {("ChatCompletionChunk", "node-2")}


def test_taint_absent_is_a_no_op():
    assert runtime.taint_origins({"a": "b"}) == []
    obj = object()
    assert runtime.taint_wrap(obj, "n") is obj


def test_a_failing_selector_costs_its_field_only(llm, aco_server, monkeypatch):
    real = runtime.selectors.text
    lines = []
    monkeypatch.setattr(runtime._log, "log", lambda msg, exc_info=False: lines.append(msg))

    def broken(docs, sels):
        if "request" in docs:
            raise KeyError("shape")
        return real(docs, sels)

    monkeypatch.setattr(runtime.selectors, "text", broken)
    c = llm.client()
    got = c.chat.completions.create(**chat_request())
    assert got.choices[0].message.content == "42"
    aco_server.next()
    node = add_node(aco_server.next())
    assert (node["input_text"], node["output_text"]) == ("", "42")
    assert any(line.startswith("patches/openai.yaml: openai.chat.completions.create: input_text failed") for line in lines), lines


def test_server_error_calls_the_sdk(llm, aco_server):
    aco_server.answers.append({"type": "error", "code": "internal", "message": "boom"})
    c = llm.client()
    got = c.chat.completions.create(**chat_request())
    assert got.choices[0].message.content == "42"
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
        c = llm.client()
        got = c.chat.completions.create(**chat_request())
    finally:
        patches.uninstall()
    assert got.choices[0].message.content == "42"


@pytest.mark.parametrize("aco_server", [1], indirect=True)
def test_first_execution_records_without_a_look_up(llm, aco_server):
    """Nothing of a run in its first execution can be cached: the call goes
    straight to the SDK, and the node is named by the shim."""
    c = llm.client()
    got = c.chat.completions.create(**chat_request())
    assert got.choices[0].message.content == "42"
    msg = aco_server.next()
    assert msg["type"] == "add_node", "a cache_get was sent in a first execution: %r" % msg
    assert re.fullmatch(r"[0-9a-f]{12}", msg["node_id"])
    assert msg["output_text"] == "42" and msg["cached"] is False
    second = c.chat.completions.create(**chat_request())
    assert second.choices[0].message.content == got.choices[0].message.content
    msg2 = aco_server.next()
    assert msg2["type"] == "add_node" and msg2["node_id"] != msg["node_id"]
    # Short ids (what `aco show` prints, what `aco edit` matches) differ too.
    assert re.fullmatch(r"[0-9a-f]{12}", msg2["node_id"]) and msg2["node_id"][:8] != msg["node_id"][:8]
    assert msg2["input_hash"] == msg["input_hash"]
