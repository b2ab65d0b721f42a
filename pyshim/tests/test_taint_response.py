"""wrap_response on real OpenAI response objects: text fields and computed
properties carry the node id, while the object keeps its identity, passes
isinstance, and serializes, pickles and compares exactly as before."""

import copy
import json
import pickle
import subprocess
import sys

import pytest

from aco.taint import EMPTY, TaintStr, get_origins, untaint, wrap_response

openai = pytest.importorskip("openai")
from openai.types.chat import ChatCompletion  # noqa: E402
from openai.types.responses import Response  # noqa: E402

N = frozenset({"node-1"})

RESPONSE = {
    "id": "resp_1",
    "object": "response",
    "created_at": 1700000000.0,
    "model": "gpt-4o-mini",
    "output": [
        {
            "type": "message",
            "id": "msg_1",
            "status": "completed",
            "role": "assistant",
            "content": [
                {"type": "output_text", "text": "The answer", "annotations": []},
                {"type": "output_text", "text": " is 42.", "annotations": []},
            ],
        }
    ],
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
    "a_field_newer_than_the_sdk": {"note": "kept as an extra"},
}

CHAT = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "gpt-4o-mini",
    "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "42"}},
        {
            "index": 1,
            "finish_reason": "tool_calls",
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1}'}}
                ],
            },
        },
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
}


def response():
    return Response.model_validate(RESPONSE)


def chat():
    return ChatCompletion.model_validate(CHAT)


@pytest.mark.parametrize(
    "make,cls,read",
    [
        (response, Response, lambda r: r.output[0].content[0].text),
        (response, Response, lambda r: r.output[0].content[1].text),
        (response, Response, lambda r: r.output_text),
        (response, Response, lambda r: r.id),
        (response, Response, lambda r: r.model_extra["a_field_newer_than_the_sdk"]["note"]),
        (response, Response, lambda r: r.model_dump()["output"][0]["content"][0]["text"]),
        (chat, ChatCompletion, lambda c: c.choices[0].message.content),
        (chat, ChatCompletion, lambda c: c.choices[1].message.tool_calls[0].function.arguments),
        (chat, ChatCompletion, lambda c: c.choices[1].message.tool_calls[0].function.name),
    ],
)
def test_text_fields_carry_the_node_id(make, cls, read):
    obj = make()
    got = wrap_response(obj, "node-1")
    assert got is obj
    assert isinstance(got, cls)
    value = read(got)
    assert value == read(make())
    assert type(value) is TaintStr and get_origins(value) == N


@pytest.mark.parametrize("make,read", [(response, lambda r: r.output_text), (chat, lambda c: c.choices[0].message.content)])
def test_response_tainter_is_wrap_response_for_one_node(make, read):
    from aco.taint import response_tainter

    taint = response_tainter("node-1")
    for _ in range(3):  # one tainter, many chunks
        obj = make()
        assert taint(obj) is obj
        value = read(obj)
        assert type(value) is TaintStr and get_origins(value) == N
    assert taint(["plain", "list"]) == ["plain", "list"]
    assert get_origins(taint(["plain", "list"])[0]) == N


@pytest.mark.parametrize("make", [response, chat], ids=["responses", "chat"])
def test_serialization_is_unchanged(make):
    obj, plain = make(), make()
    wrap_response(obj, "node-1")
    assert obj.model_dump_json() == plain.model_dump_json()
    assert obj.model_dump_json(indent=2, exclude_none=True) == plain.model_dump_json(indent=2, exclude_none=True)
    assert json.dumps(obj.model_dump(mode="json")) == json.dumps(plain.model_dump(mode="json"))
    assert obj.model_dump() == plain.model_dump()
    assert obj.to_json() == plain.to_json()
    assert repr(obj) == repr(plain)


def test_numbers_and_nulls_stay_plain():
    r = chat()
    wrap_response(r, "node-1")
    assert type(r.usage.total_tokens) is int and type(r.created) is int
    assert r.choices[1].message.content is None


def test_a_class_without_computed_properties_is_kept():
    c = chat()
    wrap_response(c, "node-1")
    assert type(c) is ChatCompletion


def test_a_class_with_computed_properties_is_swapped_for_a_look_alike():
    r = response()
    plain = response()
    wrap_response(r, "node-1")
    # output_text joins the parts with a plain "".join: only the subclass's
    # property can taint it. It is the one place type(r) changes.
    assert type(r) is not Response and issubclass(type(r), Response)
    assert type(r).__name__ == "Response" and type(r).__qualname__ == Response.__qualname__
    assert type(r).__module__ == Response.__module__
    assert r == plain and plain == r and r == copy.deepcopy(r)
    assert Response.model_validate(r) is r
    assert get_origins(r.model_copy().output_text) == N


def test_pickle_gives_the_original_class_and_plain_strings():
    r = response()
    wrap_response(r, "node-1")
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(r, protocol))
        assert type(back) is Response and back == response()
        assert type(back.output[0].content[0].text) is str


def test_a_pickled_response_loads_without_aco(tmp_path):
    r = response()
    wrap_response(r, "node-1")
    code = "import pickle,sys; r = pickle.loads(sys.stdin.buffer.read()); print(type(r).__name__, r.output_text)"
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(r), capture_output=True, check=True, cwd=tmp_path)
    assert out.stdout.decode().strip() == "Response The answer is 42."


def test_rewrapping_merges_and_origins_reach_request_kwargs():
    r = response()
    wrap_response(r, "node-1")
    wrap_response(r, "node-2")
    assert get_origins(r.output_text) == {"node-1", "node-2"}
    # The next call's request: the previous output item passed back as input.
    kwargs = {"model": "m", "input": [r.output[0], {"role": "user", "content": "next"}]}
    assert get_origins(kwargs) == {"node-1", "node-2"}
    assert get_origins({"model": "m", "input": "plain"}) == EMPTY


def test_untainted_response_text_is_plain():
    r = response()
    wrap_response(r, "node-1")
    assert type(untaint(r.output_text)) is str


def test_non_model_responses_and_failures():
    assert get_origins(wrap_response("text", "n")) == {"n"}
    d = {"k": "v"}
    assert wrap_response(d, "n") is d and get_origins(d) == {"n"}
    marker = object()
    assert wrap_response(marker, "n") is marker
    assert wrap_response(None, "n") is None


@pytest.mark.parametrize("make", [response, chat], ids=["responses", "chat"])
def test_recorded_dump_of_a_tainted_response_is_plain_json(make):
    from aco.patches import runtime

    obj = wrap_response(make(), "node-1")
    dump = runtime._dump_chunk(obj)
    assert dump == json.loads(make().model_dump_json(exclude_unset=True))

    def kinds(v):
        if isinstance(v, dict):
            return set().union(*(kinds(x) for x in v.values())) if v else set()
        if isinstance(v, list):
            return set().union(*(kinds(x) for x in v)) if v else set()
        return {type(v)}

    assert str in kinds(dump) and not any(issubclass(t, str) and t is not str for t in kinds(dump))
