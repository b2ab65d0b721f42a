"""What a stream records while the work of recording it is kept off the
time to its first chunk: in a run's first execution the request is hashed
and the call located after the SDK has returned the stream, and chunks are
dumped through pydantic's JSON encoder at the end. The node must be the
one recorded before: the request as the program made it, the line of the
call, every chunk as the SDKs' own to_json() writes it (the fields the API
set)."""

import asyncio
import copy
import inspect
import os

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
