"""patches/together.yaml against the real together SDK talking HTTP to the
real mock LLM server (`aco mockllm`): chat.completions.create, plain and
streamed, sync and async, recorded, served from the cache as the SDK's own
types, and edited.

Also run at the oldest together the declaration claims (test_patches_oldest.py)."""

import asyncio
from importlib import metadata

import pytest
import together
from together.types.chat import ChatCompletion, ChatCompletionChunk

from mockllm_server import aco_bin, mockllm  # noqa: F401 (fixtures)
from sdk_recording import DEAD, aco_server  # noqa: F401 (fixture)

API = "together.chat.completions.create"
MODEL = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
STORY = "Tell me a story about a dragon"


def base_url(addr):
    # together 3 posts to /v1/... under a base URL of the program's; 2.x
    # appends the path to a base that ends in /v1.
    major = int(metadata.version("together").split(".")[0])
    return "http://%s%s" % (addr, "" if major >= 3 else "/v1")


def request(text="Add 1 to 42", **kw):
    return dict(model=MODEL, messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}], **kw)


@pytest.fixture
def live(mockllm):
    c = together.Together(base_url=base_url(mockllm.addr), api_key="x", max_retries=0)
    yield c
    c.close()


@pytest.fixture
def dead():
    """A client whose every HTTP request fails: what it gets came from the cache."""
    c = together.Together(base_url=base_url(DEAD), api_key="x", max_retries=0)
    yield c
    c.close()


def text_of(chunks):
    return "".join(ch.delta.content or "" for c in chunks for ch in c.choices)


def test_create_recorded_cached_and_edited(live, dead, aco_server):
    got = live.chat.completions.create(**request())
    assert got.choices[0].message.content == "43"
    node = aco_server.node(API)
    assert (node["api"], node["kind"], node["model"], node["stream"]) == (API, "llm", MODEL, False)
    assert (node["input_text"], node["output_text"]) == ("Be brief.\nAdd 1 to 42", "43")
    assert node["output"]["type"] == "together.types.chat.chat_completion.ChatCompletion"

    aco_server.serve(node)
    again = dead.chat.completions.create(**request())
    assert isinstance(again, ChatCompletion) and again == got
    assert aco_server.node(API)["cached"] is True

    aco_server.serve(node, text="an edit")
    edited = dead.chat.completions.create(**request())
    assert isinstance(edited, ChatCompletion) and edited.choices[0].message.content == "an edit"
    e = aco_server.node(API)
    assert (e["edited"], e["output_text"]) == (True, "an edit")


def test_input_overwrite_is_what_the_sdk_sends(live, aco_server):
    aco_server.answers.append({"hit": False, "input_overwrite": {"text": "Double 21"}})
    assert live.chat.completions.create(**request()).choices[0].message.content == "42"
    node = aco_server.node(API)
    assert (node["input"], node["input_text"], node["edited"]) == (request(), "Be brief.\nDouble 21", True)


def test_stream_live_break_and_replay(live, dead, aco_server):
    stream = live.chat.completions.create(**request(STORY), stream=True)
    assert isinstance(stream, together.Stream)
    chunks = list(stream)
    assert len(chunks) > 1 and all(isinstance(c, ChatCompletionChunk) for c in chunks)
    assert text_of(chunks) == "Echo: " + STORY
    node = aco_server.node(API)
    assert (node["stream"], node["output_text"]) == (True, "Echo: " + STORY)

    s = live.chat.completions.create(**request(STORY), stream=True)
    for _ in s:
        break
    aco_server.next()  # cache_get
    aco_server.probe()  # nothing recorded until the stream is closed
    s.close()
    msg = aco_server.next()
    assert msg["type"] == "add_node" and len(msg["output"]["chunks"]) == 1

    aco_server.serve(node)
    with dead.chat.completions.create(**request(STORY), stream=True) as r:
        replayed = list(r)
    assert replayed == chunks and all(isinstance(c, ChatCompletionChunk) for c in replayed)
    assert aco_server.node(API)["cached"] is True

    aco_server.serve(node, text="edited story")
    assert text_of(dead.chat.completions.create(**request(STORY), stream=True)) == "edited story"
    e = aco_server.node(API)
    assert (e["edited"], e["output_text"]) == (True, "edited story")


def test_async_plain_and_stream(mockllm, aco_server):
    async def main():
        c = together.AsyncTogether(base_url=base_url(mockllm.addr), api_key="x", max_retries=0)
        d = together.AsyncTogether(base_url=base_url(DEAD), api_key="x", max_retries=0)
        got = await c.chat.completions.create(**request("Double 21"))
        node = aco_server.node(API)
        aco_server.serve(node, text="cached 42")
        cached = await d.chat.completions.create(**request("Double 21"))
        out = {"plain": (got, cached, node, aco_server.node(API))}
        live = [ch async for ch in await c.chat.completions.create(**request(STORY), stream=True)]
        node = aco_server.node(API)
        aco_server.serve(node)
        replay = [ch async for ch in await d.chat.completions.create(**request(STORY), stream=True)]
        out["stream"] = (live, replay, node, aco_server.node(API))
        await c.close()
        await d.close()
        return out

    out = asyncio.run(main())
    got, cached, node, cached_node = out["plain"]
    assert (got.choices[0].message.content, node["output_text"]) == ("42", "42")
    assert isinstance(cached, ChatCompletion) and cached.choices[0].message.content == "cached 42"
    assert (cached_node["cached"], cached_node["edited"]) == (True, True)
    live, replay, node, cached_node = out["stream"]
    assert text_of(live) == node["output_text"] == "Echo: " + STORY
    assert replay == live and cached_node["cached"] is True
