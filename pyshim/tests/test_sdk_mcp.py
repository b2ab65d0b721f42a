"""patches/mcp.yaml against the real mcp SDK: a ClientSession, under the
recording runtime, drives a real stdio MCP server (fixtures/mcp_add_server.py,
written with the mcp package) and each call_tool is a tool node, served
from the cache and edited like an LLM call.

Also run at the oldest mcp the declaration claims (test_patches_oldest.py)."""

import asyncio
import copy
import os
import sys

import mcp
from mcp.client.stdio import StdioServerParameters, stdio_client

from sdk_recording import aco_server  # noqa: F401 (fixture)

API = "mcp.client_session.call_tool"
SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "mcp_add_server.py")


def with_session(body):
    """Runs body(session) against a fresh server process; returns its result."""

    async def main():
        params = StdioServerParameters(command=sys.executable, args=[SERVER])
        async with stdio_client(params) as (read, write):
            async with mcp.ClientSession(read, write) as session:
                await session.initialize()
                return await body(session)

    return asyncio.run(main())


def text(result):
    return "".join(c.text for c in result.content if getattr(c, "type", "") == "text")


def test_call_tool_is_a_tool_node(aco_server):
    async def body(session):
        by_position = await session.call_tool("add", {"a": 1, "b": 2})
        by_keyword = await session.call_tool(name="add", arguments={"a": 40, "b": 2})
        return by_position, by_keyword

    by_position, by_keyword = with_session(body)
    assert (text(by_position), text(by_keyword)) == ("3", "42")
    first, second = aco_server.node(API), aco_server.node(API)
    assert (first["kind"], first["api"], first["model"], first["stream"]) == ("tool", API, "", False)
    # Passed by position or by keyword, the request is the same shape.
    assert first["input"] == {"name": "add", "arguments": {"a": 1, "b": 2}}
    assert (first["input_text"], first["output_text"]) == ('add {"a": 1, "b": 2}', "3")
    assert (second["input_text"], second["output_text"]) == ('add {"a": 40, "b": 2}', "42")
    assert first["output"]["type"].endswith(".CallToolResult")
    assert first["location"].startswith(os.path.abspath(__file__) + ":")


def test_call_tool_from_the_cache_and_edited(aco_server):
    async def record(session):
        return await session.call_tool("add", {"a": 1, "b": 2})

    live = with_session(record)
    node = aco_server.node(API)

    # The recording, changed where the server would never say so: a hit is
    # served without a tools/call.
    changed = copy.deepcopy(node)
    changed["output"]["data"]["content"][0]["text"] = "from the recording"
    aco_server.serve(changed)
    aco_server.serve(node, text="edited 7")

    async def replay(session):
        return await session.call_tool("add", {"a": 1, "b": 2}), await session.call_tool("add", {"a": 1, "b": 2})

    cached, edited = with_session(replay)
    assert type(cached) is type(live) and text(cached) == "from the recording"
    assert type(edited) is type(live) and text(edited) == "edited 7"
    c, e = aco_server.node(API), aco_server.node(API)
    assert (c["cached"], c["edited"], c["output_text"]) == (True, False, "from the recording")
    assert (e["cached"], e["edited"], e["output_text"]) == (True, True, "edited 7")


def test_input_overwrite_calls_the_tool_with_it(aco_server):
    aco_server.answers.append({"hit": False, "input_overwrite": {"request": {"name": "add", "arguments": {"a": 20, "b": 22}}}})

    async def body(session):
        return await session.call_tool("add", {"a": 1, "b": 2})

    got = with_session(body)
    assert text(got) == "42"
    node = aco_server.node(API)
    assert (node["input"]["arguments"], node["input_text"], node["edited"]) == ({"a": 1, "b": 2}, 'add {"a": 20, "b": 22}', True)
