"""patches/anthropic.yaml against the real anthropic SDK talking HTTP to the
real mock LLM server (`aco mockllm`): messages.create (sync, async,
stream=True) and messages.stream (the manager, sync and async), recorded,
served from the cache as the SDK's own types, and edited.

Also run at the oldest anthropic the declaration claims (test_patches_oldest.py)."""

import asyncio
import gc

import anthropic
import pytest
from anthropic.types import Message

from mockllm_server import aco_bin, mockllm  # noqa: F401 (fixtures)
from sdk_recording import DEAD, aco_server  # noqa: F401 (fixture)

CREATE = "anthropic.messages.create"
STREAM = "anthropic.messages.stream"
MODEL = "claude-haiku-4-5"


def request(text="Add 1 to 42", **kw):
    return dict(model=MODEL, max_tokens=100, system="Be brief.", messages=[{"role": "user", "content": text}], **kw)


@pytest.fixture
def live(mockllm):
    c = anthropic.Anthropic(base_url="http://" + mockllm.addr, api_key="x", max_retries=0)
    yield c
    c.close()


@pytest.fixture
def dead():
    """A client whose every HTTP request fails: what it gets came from the cache."""
    c = anthropic.Anthropic(base_url="http://" + DEAD, api_key="x", max_retries=0)
    yield c
    c.close()


def deltas(events):
    return "".join(e.delta.text for e in events if e.type == "content_block_delta")


def test_create_recorded_cached_and_edited(live, dead, aco_server):
    got = live.messages.create(**request())
    assert got.content[0].text == "43"
    node = aco_server.node(CREATE)
    assert (node["api"], node["kind"], node["model"]) == (CREATE, "llm", MODEL)
    assert (node["input_text"], node["output_text"], node["stream"], node["cached"]) == ("Be brief.\nAdd 1 to 42", "43", False, False)
    assert node["output"]["type"] == "anthropic.types.message.Message"
    assert node["input"] == request()

    aco_server.serve(node)
    again = dead.messages.create(**request())
    assert type(again) is Message and again == got
    cached = aco_server.node(CREATE)
    assert (cached["cached"], cached["output_text"], cached["node_id"]) == (True, "43", node["node_id"])

    aco_server.serve(node, text="an edit")
    edited = dead.messages.create(**request())
    assert type(edited) is Message
    assert edited.content[0].text == "an edit"
    e = aco_server.node(CREATE)
    assert (e["edited"], e["output_text"]) == (True, "an edit")


def test_input_overwrite_is_what_the_sdk_sends(live, aco_server):
    aco_server.answers.append({"hit": False, "input_overwrite": {"text": "Double 21"}})
    got = live.messages.create(**request())
    assert got.content[0].text == "42"
    node = aco_server.node(CREATE)
    assert (node["input"], node["input_text"], node["edited"]) == (request(), "Be brief.\nDouble 21", True)


def test_list_content_and_tools(live, aco_server):
    tools = [{"name": "add", "description": "adds", "input_schema": {"type": "object", "properties": {}}}]
    content = [{"type": "text", "text": "Multiply 6 by 7"}, {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}]
    got = live.messages.create(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": content}], tools=tools)
    assert got.content[0].text == "42"
    node = aco_server.node(CREATE)
    assert (node["input_text"], node["output_text"]) == ("Multiply 6 by 7", "42")
    assert (node["attachments"], node["tools"]) == (["https://example.com/a.png"], ["add"])


def test_create_stream_live_break_and_replay(live, dead, aco_server):
    stream = live.messages.create(**request("Tell me a story about a dragon"), stream=True)
    assert isinstance(stream, anthropic.Stream)
    events = list(stream)
    assert events[0].type == "message_start" and events[-1].type == "message_stop"
    assert deltas(events) == "Echo: Tell me a story about a dragon"
    node = aco_server.node(CREATE)
    assert (node["stream"], node["output_text"]) == (True, "Echo: Tell me a story about a dragon")
    assert [c["data"] for c in node["output"]["chunks"]] == [e.model_dump(mode="json", exclude_unset=True) for e in events]

    # An early break, then close: recorded with what was read.
    s = live.messages.create(**request("Tell me a story about a dragon"), stream=True)
    for first in s:
        break
    assert first.type == "message_start"
    aco_server.next()  # cache_get
    aco_server.probe()  # nothing recorded before the stream is closed
    s.close()
    msg = aco_server.next()
    assert msg["type"] == "add_node" and len(msg["output"]["chunks"]) == 1 and msg["output_text"] == ""

    # From the cache: a stream of the SDK's own event types, with the edit.
    aco_server.serve(node, text="edited story")
    replayed = list(dead.messages.create(**request("Tell me a story about a dragon"), stream=True))
    assert [type(e) for e in replayed] == [type(e) for e in events]
    assert deltas(replayed) == "edited story"
    r = aco_server.node(CREATE)
    assert (r["cached"], r["edited"], r["output_text"]) == (True, True, "edited story")


def test_create_stream_dropped_unfinished_is_recorded(live, aco_server):
    s = live.messages.create(**request(), stream=True)
    next(iter(s))
    del s
    gc.collect()
    node = aco_server.node(CREATE)
    assert node["stream"] is True and len(node["output"]["chunks"]) == 1


def test_stream_manager_live_and_from_the_cache(live, dead, aco_server):
    with live.messages.stream(**request("Subtract 2 from 10")) as s:
        pieces = list(s.text_stream)
        final = s.get_final_message()
    assert "".join(pieces) == "8" and final.content[0].text == "8"
    node = aco_server.node(STREAM)
    assert (node["stream"], node["output_text"], node["input_text"], node["model"]) == (True, "8", "Be brief.\nSubtract 2 from 10", MODEL)

    aco_server.serve(node)
    with dead.messages.stream(**request("Subtract 2 from 10")) as s:
        kinds = [e.type for e in s]
        again = s.get_final_message()
    assert "text" in kinds and again.content[0].text == "8"
    assert aco_server.node(STREAM)["cached"] is True

    aco_server.serve(node, text="eight")
    with dead.messages.stream(**request("Subtract 2 from 10")) as s:
        assert s.get_final_text() == "eight"
    e = aco_server.node(STREAM)
    assert (e["edited"], e["output_text"]) == (True, "eight")


def test_stream_manager_break_records_what_was_read(live, aco_server):
    with live.messages.stream(**request("Tell me a story about a dragon")) as s:
        for event in s:
            if event.type == "text":
                break
    node = aco_server.node(STREAM)
    assert node["stream"] is True
    assert 0 < len(node["output_text"]) < len("Echo: Tell me a story about a dragon")


def test_async_create_stream_and_manager(mockllm, aco_server):
    async def main():
        c = anthropic.AsyncAnthropic(base_url="http://" + mockllm.addr, api_key="x", max_retries=0)
        d = anthropic.AsyncAnthropic(base_url="http://" + DEAD, api_key="x", max_retries=0)
        got = await c.messages.create(**request("Double 21"))
        node = aco_server.node(CREATE)
        aco_server.serve(node, text="cached 42")
        cached = await d.messages.create(**request("Double 21"))
        out = {"create": (got.content[0].text, type(cached), cached.content[0].text, node, aco_server.node(CREATE))}

        s = await c.messages.create(**request("Add 2 to 40"), stream=True)
        assert isinstance(s, anthropic.AsyncStream)
        live_events = [e async for e in s]
        node = aco_server.node(CREATE)
        aco_server.serve(node)
        replay = [e async for e in await d.messages.create(**request("Add 2 to 40"), stream=True)]
        out["stream"] = (deltas(live_events), deltas(replay), node, aco_server.node(CREATE))

        async with c.messages.stream(**request("Triple 14")) as s:
            text = "".join([t async for t in s.text_stream])
        node = aco_server.node(STREAM)
        aco_server.serve(node, text="forty-two")
        async with d.messages.stream(**request("Triple 14")) as s:
            final = await s.get_final_message()
        out["manager"] = (text, final.content[0].text, node, aco_server.node(STREAM))
        await c.close()
        await d.close()
        return out

    out = asyncio.run(main())
    text, cls, cached_text, node, cached = out["create"]
    assert (text, cls, cached_text) == ("42", Message, "cached 42")
    assert (node["output_text"], cached["cached"], cached["output_text"]) == ("42", True, "cached 42")
    live_text, replay_text, node, cached = out["stream"]
    assert (live_text, replay_text, node["stream"], node["output_text"], cached["cached"]) == ("42", "42", True, "42", True)
    text, final_text, node, cached = out["manager"]
    assert (text, node["api"], node["output_text"]) == ("42", STREAM, "42")
    assert (final_text, cached["cached"], cached["edited"]) == ("forty-two", True, True)
