"""What a stream records while the work of recording it is kept off the
time to its first chunk: in a run's first execution the request is hashed
and the call located after the SDK has returned the stream, and a chunk is
dumped when the program asks for the next one. The node must be the
one recorded before: the request as the program made it, the line of the
call, every chunk as the SDKs' own to_json() writes it (the fields the API
set)."""

import asyncio
import copy
import inspect
import os
import sys

import pytest

from aco.patches import runtime
from test_patches_flow import CHAT, add_node, aco_server, chat_request, llm  # noqa: F401 (fixtures)
from mockllm_server import aco_bin, mockllm  # noqa: F401 (fixtures)

HERE = os.path.abspath(__file__)


def here():
    """file:line of the caller's next line: where its SDK call is."""
    return "%s:%d" % (HERE, inspect.currentframe().f_back.f_lineno + 1)


def check_node(node, request, where, chunks):
    assert node["location"] == where
    assert node["input"] == request
    assert node["input_hash"] == runtime.input_hash(CHAT["api"], request)
    assert node["stream"] is True
    assert [e["data"] for e in node["output"]["chunks"]] == [c.model_dump(mode="json", exclude_unset=True) for c in chunks]
    assert [e["type"] for e in node["output"]["chunks"]] == [runtime.type_name(type(c)) for c in chunks]
    assert node["output_text"] == "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


@pytest.mark.parametrize("aco_server", [1], indirect=True)
def test_stream_records_the_request_as_made_and_the_line_of_the_call(llm, aco_server):
    request = dict(chat_request(), stream=True)
    made = copy.deepcopy(request)
    c = llm.client()
    where = here()
    stream = c.chat.completions.create(**request)
    # The program changes its messages before it reads the stream: the
    # node still holds (and is keyed on) what it asked.
    request["messages"].append({"role": "assistant", "content": "later"})
    request["messages"][0]["content"] = "changed"
    chunks = [chunk for chunk in stream]
    assert chunks
    check_node(add_node(aco_server.next()), made, where, chunks)


@pytest.mark.parametrize("aco_server", [1], indirect=True)
def test_async_stream_records_the_line_of_the_call(llm, aco_server):
    request = dict(chat_request(), stream=True)
    c = llm.async_client()

    async def run():
        where = here()
        stream = await c.chat.completions.create(**request)
        return where, [chunk async for chunk in stream]

    where, chunks = asyncio.run(run())
    assert chunks
    check_node(add_node(aco_server.next()), dict(chat_request(), stream=True), where, chunks)


# The Python functions of aco a first execution's stream runs between the
# program's call and its first chunk, besides the walk that taints the
# chunk: against a mock answering at once this is the time to first chunk
# aco adds (bench_patches.py times it; bench_first_chunk_cg.py counts it
# far more steadily). A change that adds a layer here must show there that
# it costs nothing, then raise this list.
FIRST_CHUNK_PATH = sorted(
    [
        "patches/runtime.py:patched",  # the patched method
        "patches/runtime.py:prepare",
        "client.py:get",
        "patches/runtime.py:__init__",  # Call
        "patches/runtime.py:finish",
        "patches/runtime.py:location",
        "patches/runtime.py:_proxy",
        "patches/runtime.py:__init__",  # _Proxy
        "taint/response.py:tainter",
        "patches/runtime.py:__iter__",
        "patches/runtime.py:__next__",
        "taint/response.py:taint",
    ]
)
WALK = {"taint/response.py:_model", "taint/response.py:_dict", "taint/response.py:_list"}


@pytest.mark.parametrize("aco_server", [1], indirect=True)
def test_the_first_chunk_is_few_python_calls_away(llm, aco_server):
    c = llm.client()
    request = dict(chat_request(), stream=True)
    for _ in range(2):  # the chunk classes are met once before
        list(c.chat.completions.create(**request))
        add_node(aco_server.next())
    aco_dir = os.path.dirname(os.path.dirname(runtime.__file__))
    calls = []

    def profile(frame, event, arg):
        filename = frame.f_code.co_filename
        if event == "call" and filename.startswith(aco_dir + os.sep):
            calls.append("%s:%s" % (filename[len(aco_dir) + 1 :].replace(os.sep, "/"), frame.f_code.co_name))

    sys.setprofile(profile)
    try:
        stream = c.chat.completions.create(**request)
        first = next(iter(stream))
    finally:
        sys.setprofile(None)
    stream.close()
    add_node(aco_server.next())
    assert first.choices[0].delta.role == "assistant"
    walk = [name for name in calls if name in WALK]
    assert sorted(name for name in calls if name not in WALK) == FIRST_CHUNK_PATH
    # The walk: one _model and one _dict per model of the chunk, one _list
    # per list (a ChatCompletionChunk, its choices, a Choice, its delta).
    assert sorted(walk) == ["taint/response.py:_dict"] * 3 + ["taint/response.py:_list"] + ["taint/response.py:_model"] * 3
