"""patches/google_genai.yaml against the real google-genai SDK talking HTTP
to the real mock LLM server (`aco mockllm`): models.generate_content and
models.generate_content_stream and their client.aio twins, recorded, served
from the cache as the SDK's own types, and edited.

Also run at the oldest google-genai the declaration claims (test_patches_oldest.py)."""

import asyncio

import pytest
from google import genai
from google.genai import types

from mockllm_server import aco_bin, mockllm  # noqa: F401 (fixtures)
from sdk_recording import DEAD, aco_server  # noqa: F401 (fixture)

GENERATE = "google.genai.models.generate_content"
STREAM = "google.genai.models.generate_content_stream"
MODEL = "gemini-2.5-flash"
STORY = "Tell me a story about a dragon"


def client(addr):
    return genai.Client(api_key="x", http_options={"base_url": "http://" + addr})


@pytest.fixture
def live(mockllm):
    return client(mockllm.addr)


@pytest.fixture
def dead():
    """A client whose every HTTP request fails: what it gets came from the cache."""
    return client(DEAD)


def test_generate_content_recorded_cached_and_edited(live, dead, aco_server):
    got = live.models.generate_content(model=MODEL, contents="Add 1 to 42")
    assert got.text == "43"
    node = aco_server.node(GENERATE)
    assert (node["api"], node["kind"], node["model"], node["stream"]) == (GENERATE, "llm", MODEL, False)
    assert (node["input_text"], node["output_text"]) == ("Add 1 to 42", "43")
    assert node["output"]["type"] == "google.genai.types.GenerateContentResponse"

    aco_server.serve(node)
    again = dead.models.generate_content(model=MODEL, contents="Add 1 to 42")
    assert isinstance(again, types.GenerateContentResponse) and again.text == "43"
    assert aco_server.node(GENERATE)["cached"] is True

    aco_server.serve(node, text="an edit")
    edited = dead.models.generate_content(model=MODEL, contents="Add 1 to 42")
    assert isinstance(edited, types.GenerateContentResponse)
    assert edited.text == "an edit" and edited.candidates[0].content.parts[0].text == "an edit"
    e = aco_server.node(GENERATE)
    assert (e["cached"], e["edited"], e["output_text"]) == (True, True, "an edit")


def test_contents_of_every_shape(live, aco_server):
    history = [
        types.Content(role="user", parts=[types.Part(text="Double 2")]),
        types.Content(role="model", parts=[types.Part(text="4")]),
        types.Content(role="user", parts=[types.Part(text="Multiply 6 by 7")]),
    ]
    config = types.GenerateContentConfig(
        system_instruction="You are a calculator.",
        tools=[types.Tool(function_declarations=[types.FunctionDeclaration(name="add", description="adds")])],
    )
    assert live.models.generate_content(model=MODEL, contents=history, config=config).text == "42"
    node = aco_server.node(GENERATE)
    assert node["input_text"] == "You are a calculator.\nDouble 2\n4\nMultiply 6 by 7"
    assert node["tools"] == ["add"]

    assert live.models.generate_content(model=MODEL, contents=["Subtract 2 from 10"]).text == "8"
    assert aco_server.node(GENERATE)["input_text"] == "Subtract 2 from 10"


@pytest.mark.parametrize(
    "contents",
    ["Add 1 to 42", [{"role": "user", "parts": [{"text": "Add 1 to 42"}]}]],
    ids=["string", "content dicts"],
)
def test_input_overwrite_is_what_the_sdk_sends(live, aco_server, contents):
    aco_server.answers.append({"hit": False, "input_overwrite": {"text": "Double 21"}})
    got = live.models.generate_content(model=MODEL, contents=contents)
    assert got.text == "42"
    node = aco_server.node(GENERATE)
    assert (node["input_text"], node["edited"], node["output_text"]) == ("Double 21", True, "42")


def test_stream_live_break_and_replay(live, dead, aco_server):
    stream = live.models.generate_content_stream(model=MODEL, contents=STORY)
    chunks = list(stream)
    assert len(chunks) > 1 and all(isinstance(c, types.GenerateContentResponse) for c in chunks)
    assert "".join(c.text or "" for c in chunks) == "Echo: " + STORY
    node = aco_server.node(STREAM)
    assert (node["stream"], node["input_text"], node["output_text"], node["model"]) == (True, STORY, "Echo: " + STORY, MODEL)
    assert [c["data"] for c in node["output"]["chunks"]] == [c.model_dump(mode="json", exclude_unset=True) for c in chunks]

    s = live.models.generate_content_stream(model=MODEL, contents=STORY)
    for first in s:
        break
    aco_server.next()  # cache_get
    aco_server.probe()  # nothing recorded until the stream is closed
    s.close()
    msg = aco_server.next()
    assert msg["type"] == "add_node" and msg["output_text"] == first.text and len(msg["output"]["chunks"]) == 1

    aco_server.serve(node)
    replayed = list(dead.models.generate_content_stream(model=MODEL, contents=STORY))
    assert len(replayed) == len(chunks) and all(isinstance(c, types.GenerateContentResponse) for c in replayed)
    assert [c.text for c in replayed] == [c.text for c in chunks]
    assert aco_server.node(STREAM)["cached"] is True

    aco_server.serve(node, text="edited story")
    edited = list(dead.models.generate_content_stream(model=MODEL, contents=STORY))
    assert "".join(c.text or "" for c in edited) == "edited story"
    e = aco_server.node(STREAM)
    assert (e["edited"], e["output_text"]) == (True, "edited story")


def test_aio_twins(mockllm, aco_server):
    async def main():
        c, d = client(mockllm.addr), client(DEAD)
        got = await c.aio.models.generate_content(model=MODEL, contents="Double 21")
        node = aco_server.node(GENERATE)
        aco_server.serve(node, text="cached 42")
        cached = await d.aio.models.generate_content(model=MODEL, contents="Double 21")
        out = {"generate": (got.text, type(cached), cached.text, node, aco_server.node(GENERATE))}

        live = [ch async for ch in await c.aio.models.generate_content_stream(model=MODEL, contents=STORY)]
        node = aco_server.node(STREAM)
        aco_server.serve(node)
        replay = [ch async for ch in await d.aio.models.generate_content_stream(model=MODEL, contents=STORY)]
        out["stream"] = (live, replay, node, aco_server.node(STREAM))

        s = await c.aio.models.generate_content_stream(model=MODEL, contents=STORY)
        async for first in s:
            break
        await s.aclose()
        aco_server.next()  # cache_get
        out["break"] = (first, aco_server.next())
        return out

    out = asyncio.run(main())
    text, cls, cached_text, node, cached = out["generate"]
    assert (text, node["output_text"]) == ("42", "42")
    assert (issubclass(cls, types.GenerateContentResponse), cached_text, cached["cached"], cached["edited"]) == (True, "cached 42", True, True)
    live, replay, node, cached = out["stream"]
    assert "".join(ch.text or "" for ch in live) == "Echo: " + STORY == node["output_text"]
    assert len(replay) == len(live) and all(isinstance(ch, types.GenerateContentResponse) for ch in replay)
    assert [ch.text for ch in replay] == [ch.text for ch in live] and cached["cached"] is True
    first, msg = out["break"]
    assert msg["type"] == "add_node" and msg["output_text"] == first.text and len(msg["output"]["chunks"]) == 1
