"""Frameworks built on the SDKs are recorded through them: a LangChain
ChatOpenAI call and an OpenAI Agents SDK run, pointed at the real mock LLM
server (`aco mockllm`), appear as nodes of the openai patches, and a rerun
serves them from the cache."""

import copy
import inspect
import os

import pytest

from mockllm_server import aco_bin, mockllm  # noqa: F401 (fixtures)
from sdk_recording import DEAD, aco_server  # noqa: F401 (fixture)

# A missing framework is a failure, not a skip: CI must not pass silently.
import agents  # noqa: E402
import langchain_openai  # noqa: E402
import openai  # noqa: E402


def test_langchain_chat_openai_invoke(mockllm, aco_server):
    llm = langchain_openai.ChatOpenAI(model="gpt-4o-mini", base_url=mockllm.base_url, api_key="k", max_retries=0)
    line = inspect.currentframe().f_lineno + 1
    got = llm.invoke("Add 1 to 42")
    assert got.content == "43"
    node = aco_server.node("openai.chat.completions.create")
    assert (node["model"], node["input_text"], node["output_text"], node["cached"]) == ("gpt-4o-mini", "Add 1 to 42", "43", False)
    # The program's line, past LangChain's frames and the SDK's.
    assert node["location"] == "%s:%d" % (os.path.abspath(__file__), line)

    # From the cache, with an edit, through LangChain's own message type.
    aco_server.serve(node, text="edited 43")
    dead = langchain_openai.ChatOpenAI(model="gpt-4o-mini", base_url="http://%s/v1" % DEAD, api_key="k", max_retries=0)
    again = dead.invoke("Add 1 to 42")
    assert type(again) is type(got) and again.content == "edited 43"
    e = aco_server.node("openai.chat.completions.create")
    assert (e["cached"], e["edited"], e["output_text"]) == (True, True, "edited 43")


def test_langchain_stream(mockllm, aco_server):
    llm = langchain_openai.ChatOpenAI(model="gpt-4o-mini", base_url=mockllm.base_url, api_key="k", max_retries=0)
    pieces = [chunk.content for chunk in llm.stream("Tell me a story about a dragon")]
    assert "".join(pieces) == "Echo: Tell me a story about a dragon"
    node = aco_server.node("openai.chat.completions.create")
    assert (node["stream"], node["output_text"]) == (True, "Echo: Tell me a story about a dragon")


@pytest.fixture
def agents_at():
    """Points the Agents SDK at a base URL, offline: no tracing export."""

    def at(base_url):
        c = openai.AsyncOpenAI(base_url=base_url, api_key="k", max_retries=0)
        agents.set_default_openai_client(c, use_for_tracing=False)

    agents.set_tracing_disabled(True)
    yield at
    agents.set_tracing_disabled(False)


def test_agents_sdk_run(mockllm, aco_server, agents_at):
    agent = agents.Agent(name="calculator", instructions="Answer with a number.", model="gpt-4o-mini")
    agents_at(mockllm.base_url)
    result = agents.Runner.run_sync(agent, "Add 1 to 42")
    assert result.final_output == "43"
    node = aco_server.node("openai.responses.create")
    assert node["model"] == "gpt-4o-mini"
    assert (node["input_text"], node["output_text"], node["cached"]) == ("Answer with a number.\nAdd 1 to 42", "43", False)

    # A rerun of the agent is served from the recording.
    recorded = copy.deepcopy(node)
    aco_server.serve(recorded, text="edited 43")
    agents_at("http://%s/v1" % DEAD)
    again = agents.Runner.run_sync(agent, "Add 1 to 42")
    assert again.final_output == "edited 43"
    e = aco_server.node("openai.responses.create")
    assert (e["cached"], e["edited"], e["output_text"]) == (True, True, "edited 43")
