"""The patch runtime without the network: selectors over real OpenAI
response objects, request hashing, rebuilding recorded responses, text
overwrites, and installing the patches."""

import hashlib
import json
import os
import subprocess
import sys
import warnings

import pytest

from aco import patches, protocol
from aco.patches import runtime, selectors
from aco.patches._generated import openai as decl

openai = pytest.importorskip("openai")
from openai.types.chat import ChatCompletion  # noqa: E402
from openai.types.responses import Response  # noqa: E402

METHODS = {m["api"]: m for m in decl.METHODS}
CHAT = METHODS["openai.chat.completions.create"]
RESPONSES = METHODS["openai.responses.create"]

PYSHIM = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def chat_json(content="The answer is 42.", n=1):
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "choices": [
            {"index": i, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
            for i in range(n)
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    }


def responses_json(*texts):
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1700000000,
        "model": "gpt-4o-mini",
        "status": "completed",
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "output": [
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "thinking"}]},
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": t, "annotations": []} for t in texts],
            },
        ],
    }


# --- selectors -----------------------------------------------------------


@pytest.mark.parametrize(
    "method,response,want",
    [
        (CHAT, ChatCompletion.model_validate(chat_json("hello")), "hello"),
        (CHAT, ChatCompletion.model_validate(chat_json("a", n=2)), "a\na"),
        (RESPONSES, Response.model_validate(responses_json("one", "two")), "one\ntwo"),
    ],
)
def test_output_text_matches_the_sdk(method, response, want):
    dump = response.model_dump(mode="json")
    assert selectors.text({"response": dump}, method["output_text"]) == want
    if method is RESPONSES:
        # The SDK joins parts without a separator; the texts are the same.
        assert response.output_text == want.replace("\n", "")


@pytest.mark.parametrize(
    "method,request_,want_text,want_model",
    [
        (
            CHAT,
            {
                "model": "gpt-4o-mini",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": [{"type": "text", "text": "Add 1 to 42"}, {"type": "image_url", "image_url": {"url": "x"}}]},
                ],
            },
            "Be brief.\nAdd 1 to 42",
            "gpt-4o-mini",
        ),
        (RESPONSES, {"model": "o4", "instructions": "Be brief.", "input": "Output 42"}, "Be brief.\nOutput 42", "o4"),
        (
            RESPONSES,
            {"model": "o4", "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}, {"role": "user", "content": "there"}]},
            "hi\nthere",
            "o4",
        ),
        (CHAT, {"messages": []}, "", ""),
    ],
)
def test_input_text_and_model(method, request_, want_text, want_model):
    docs = {"request": request_}
    assert selectors.text(docs, method["input_text"]) == want_text
    assert selectors.first_string(docs, method["model"]) == want_model


@pytest.mark.parametrize(
    "selector,want",
    [
        (("request", "a", 0, "b"), [1]),
        (("request", "a", -1, "b"), [2]),
        (("request", "a", None, "b"), [1, 2]),
        (("request", "a", 5), []),  # out of range: nothing, not an error
        (("request", "a", "b"), []),  # a field of a list: nothing
        (("request", "x-y"), ["q"]),
        (("response",), []),  # a root that is not there
    ],
)
def test_selector_steps(selector, want):
    docs = {"request": {"a": [{"b": 1}, {"b": 2}], "x-y": "q"}}
    assert selectors.values(docs, selector) == want


@pytest.mark.parametrize(
    "request_,passthrough,raw,stream",
    [
        ({"stream": True}, False, False, True),
        ({"stream": False}, False, False, False),
        ({"extra_headers": {"X-Stainless-Raw-Response": "true"}}, False, True, False),
        ({"extra_headers": {"X-Stainless-Raw-Response": "stream"}}, True, False, False),
        ({"extra_headers": {"X-Other": "true"}}, False, False, False),
    ],
)
def test_call_shapes(request_, passthrough, raw, stream):
    docs = {"request": request_}
    assert (selectors.any_truthy(docs, CHAT["passthrough"]) is not None) is passthrough
    assert (selectors.any_truthy(docs, CHAT["raw_response"]["when"]) is not None) is raw
    assert (selectors.any_truthy(docs, CHAT["stream"]["when"]) is not None) is stream


def test_filter_step():
    sel = ("chunk", ("?", "type", "response.output_text.delta"), "delta")
    assert selectors.values({"chunk": {"type": "response.output_text.delta", "delta": "d"}}, sel) == ["d"]
    assert selectors.values({"chunk": {"type": "response.created", "delta": "d"}}, sel) == []
    assert selectors.values({"chunk": ["not", "an", "object"]}, sel) == []
    items = {"r": [{"type": "a", "x": 1}, {"type": "b", "x": 2}]}
    assert selectors.values({"response": items}, ("response", "r", None, ("?", "type", "b"), "x")) == [2]


@pytest.mark.parametrize(
    "selector",
    [
        ("chunk", ("?", "type", "d"), "delta", "text"),
        ("chunk", ("?", "type", "other"), "delta", "text"),
        ("chunk", "delta", ("?", "type", "t"), "text"),
        ("chunk", ("?", "missing", None), "index"),
        ("chunk", ("?", "type", "d"), "nothing"),
        ("chunk", "index", ("?", "type", "d")),
        ("chunk", "list", ("?", "type", "d")),
        ("chunk", ("?", "type", "d"), "list", None, "v"),
        ("chunk", ("?", "type", "d"), "list", -1, "v"),
    ],
)
def test_values_shortcut_agrees_with_places(selector):
    # values() walks field and filter steps itself; places() is the
    # grammar's reference walk.
    docs = {"chunk": {"type": "d", "index": 0, "delta": {"type": "t", "text": "hi"}, "list": [{"v": 1}, {"v": 2}]}}
    assert selectors.values(docs, selector) == [c[k] for c, k in selectors.places(docs, selector)]



@pytest.mark.parametrize(
    "selector,reaches",
    [
        (("request", "messages", None, "content"), True),
        (("request", "messages", None, "content", None, "text"), True),
        (("request", "messages", -1, "content", 0, "text"), True),
        (("request", "messages", 7, "content"), False),
        (("request", "messages", None, ("?", "role", "user"), "content", None, "text"), True),
        (("request", "messages", None, ("?", "role", "nobody"), "content"), False),
        (("request", "tools", None, "function", "name"), True),
        (("request", "tools", None), True),
        (("request", "model", None), False),
        (("request", "messages", None, "content", None), True),
    ],
)
def test_a_walk_over_lists_agrees_with_places(selector, reaches):
    # A selector with an index or every-element step is walked by its
    # field_walk; places() is the reference. The document mixes what a
    # walk must pass over: strings where lists are expected, parts that
    # are not objects, messages without the field.
    docs = {
        "request": {
            "model": "m",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "a"}, "bare", {"type": "image"}, {"text": "b"}]},
                {"role": "user"},
                ["not", "a", "message"],
                {"role": "assistant", "content": [{"text": "c"}]},
            ],
            "tools": [{"function": {"name": "f"}}, {"function": {}}, {"type": "web"}, {"function": {"name": "g"}}],
        }
    }
    want = [c[k] for c, k in selectors.places(docs, selector)]
    assert selectors.values(docs, selector) == want
    assert bool(want) is reaches

def live_chunks():
    """Streamed chunks as the SDK makes them: ChatCompletionChunks of text,
    of a tool call, of no choices and with an extra field, and Responses
    events built the way openai builds them (set fields only)."""
    from openai.types.chat import ChatCompletionChunk
    from openai.types.responses import ResponseTextDeltaEvent, ResponseTextDoneEvent

    def chat(*choices, **extra):
        return ChatCompletionChunk.model_validate(
            {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": list(choices), **extra}
        )

    call = {"index": 0, "id": "t1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1}'}}
    event = {"item_id": "i1", "output_index": 0, "content_index": 0, "sequence_number": 3}
    return [
        chat({"index": 0, "delta": {"role": "assistant", "content": "Höhe "}}),
        chat({"index": 0, "delta": {"content": None}, "finish_reason": "stop"}, {"index": 1, "delta": {"content": "two"}}),
        chat({"index": 0, "delta": {"tool_calls": [call]}}),
        chat(),
        chat({"index": 0, "delta": {"content": "x"}, "x_parts": [{"text": "a"}, "b", {"no": "text"}]}, usage=None),
        ResponseTextDeltaEvent.model_construct(type="response.output_text.delta", delta="4", **event),
        ResponseTextDoneEvent.model_construct(type="response.output_text.done", text="42", **event),
    ]


@pytest.mark.parametrize(
    "selector",
    [
        ("chunk", "choices", None, "delta", "content"),
        ("chunk", "choices", -1, "delta", "content"),
        ("chunk", "choices", 5, "delta", "content"),
        ("chunk", "choices", None, "delta", "tool_calls", None, "function", "arguments"),
        ("chunk", "choices", 0, "x_parts"),
        ("chunk", "choices", 0, ("?", "missing", None), "delta", "content"),
        ("chunk", "choices", 0, "delta", ("?", "role", "assistant"), "content"),
        ("chunk", ("?", "type", "response.output_text.delta"), "delta"),
        ("chunk", ("?", "type", "response.output_text.done"), "text"),
        ("chunk", "id", ("?", "missing", None)),
        ("chunk", "model", "no field of a str"),
        ("chunk", "copy"),  # a method, not a field
    ],
)
def test_fields_of_a_live_chunk_agree_with_values_of_its_dump(selector):
    from aco.taint.response import tainter

    taint = tainter("n1")
    for chunk in live_chunks():
        # The chunk as the program has it: its strings tainted in place.
        chunk = taint(chunk)
        want = [t for v in selectors.values({"chunk": runtime.dump(chunk)}, selector) for t in selectors._texts(v)]
        got = [t for v in selectors.fields(chunk, selector) for t in selectors.field_texts(v)]
        assert got == want, chunk


def test_a_pydantic_chunk_is_written_as_its_dump_in_json_text():
    from aco.taint.response import tainter

    taint = tainter("n1")
    for chunk in live_chunks():
        plain = runtime.dump(chunk)
        text, data = runtime._chunk_entry(taint(chunk))
        assert data is None  # written by pydantic's serializer, in one call
        assert json.loads(text) == {"type": runtime.type_name(type(chunk)), "data": plain}
    assert '"content":"Höhe "' in runtime._chunk_entry(live_chunks()[0])[0]  # UTF-8, as the protocol writes it
    # JSON has no NaN: pydantic writes null, as the SDK's to_json() does, and the chunk is kept.
    first = live_chunks()[0]
    logprobs = {"content": [{"token": "x", "logprob": float("nan"), "top_logprobs": []}]}
    nan = type(first).model_validate(dict(first.model_dump(), choices=[dict(first.choices[0].model_dump(), logprobs=logprobs)]))
    text, _ = runtime._chunk_entry(nan)
    assert json.loads(text)["data"]["choices"][0]["logprobs"]["content"][0]["logprob"] is None
    # An object the SDK built without validating it (a dict where a model
    # belongs) is written as it is, and no warning reaches the program.
    off = first.model_copy(update={"choices": [first.choices[0].model_copy(update={"logprobs": logprobs})]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert json.loads(runtime._chunk_entry(off)[0])["data"]["choices"][0]["logprobs"]["content"][0]["token"] == "x"
        assert runtime.dump(off)["choices"][0]["logprobs"]["content"][0]["token"] == "x"

    from openai.types.chat import ChatCompletionChunk

    class OwnDump(ChatCompletionChunk):
        def model_dump(self, **kwargs):
            return dict(super().model_dump(**kwargs), own=True)

    own = OwnDump.model_validate(live_chunks()[0].model_dump())
    text, data = runtime._chunk_entry(own)
    # A class with a dump of its own is written the general way: that dump.
    assert data["own"] is True and json.loads(text)["data"] == data


# --- JSON and hashing ----------------------------------------------------


class Opaque:
    pass


def test_to_json():
    from openai.types.chat import ChatCompletionMessage

    got = runtime.to_json(
        {
            "model": "m",
            "temperature": openai.NOT_GIVEN,
            "top_p": openai.omit,
            "messages": (ChatCompletionMessage(role="assistant", content="x"),),
            "obj": Opaque(),
            3: "int key",
        }
    )
    assert got["messages"][0]["role"] == "assistant" and got["messages"][0]["content"] == "x"
    assert "temperature" not in got and "top_p" not in got
    assert got["obj"] == {"__repr__": "<%s.Opaque object>" % __name__}
    assert got["3"] == "int key"
    json.dumps(got)  # JSON-able


def _snapshot_cases():
    from openai.types.chat import ChatCompletionMessage

    from aco.taint import wrap

    return [
        ("plain chat", {"model": "m", "messages": [{"role": "user", "content": "hi é \u2028"}], "stream": True, "n": 2, "temperature": 0.25, "stop": None}),
        ("tainted text and numbers", {"model": "m", "messages": [{"role": "user", "content": wrap("from an answer", ["n1"])}], "max_tokens": wrap(7, ["n1"])}),
        ("a tuple and nesting", {"input": ({"role": "user", "content": [{"type": "text", "text": "x"}]},), "metadata": {"a": {"b": [1, 2.5, False]}}}),
        ("a pydantic model", {"messages": (ChatCompletionMessage(role="assistant", content="x"),)}),
        ("an object kept as its repr", {"model": "m", "obj": Opaque()}),
        ("an SDK sentinel", {"model": "m", "temperature": openai.NOT_GIVEN, "top_p": openai.omit}),
        ("an int key", {"model": "m", "logit_bias": {3: 1}}),
        ("a key JSON cannot hold", {"model": "m", "weird": {(1, 2): "tuple key"}}),
        ("NaN", {"model": "m", "temperature": float("nan")}),
    ]


def test_snapshot_is_to_json_as_text_for_plain_requests():
    """snapshot() is the C encoder's text where the request is plain JSON
    values, to_json's copy where it is not; either way Call.request is what
    to_json makes, so the recorded input and its hash do not depend on
    which."""
    texts = set()
    for name, request_ in _snapshot_cases():
        snap = runtime.snapshot(request_)
        if isinstance(snap, str):
            texts.add(name)
        call = runtime.Call(CHAT, "openai", None, "run", request_, snap, None, "n")
        want = runtime.to_json(request_)
        if name == "NaN":
            assert call.request["temperature"] != call.request["temperature"]
            continue
        assert call.request == want, name
        assert runtime.input_hash(CHAT["api"], call.request) == runtime.input_hash(CHAT["api"], want), name
    assert texts == {"plain chat", "tainted text and numbers", "a tuple and nesting", "a pydantic model", "an object kept as its repr", "an int key"}



@pytest.mark.parametrize("encoder", ["C", "none"])
def test_prepare_takes_the_snapshot_snapshot_takes(monkeypatch, encoder):
    """prepare() writes its snapshot out rather than calling snapshot():
    the request it records is snapshot()'s for every kind of request, and
    with no C encoder (a Python without _json) both are to_json's."""
    from aco import client

    monkeypatch.setattr(client, "_client", _FreshClient())
    if encoder == "none":
        monkeypatch.setattr(runtime, "_encode_request", None)
    gated = runtime.with_gates(CHAT)
    for name, request_ in _snapshot_cases():
        call = runtime.prepare(gated, "openai", (), request_)
        assert call is not None, name
        assert type(call._request) is type(runtime.snapshot(request_)), name
        if encoder == "none":
            assert type(call._request) is dict, name
        if name != "NaN":
            assert call.request == runtime.to_json(request_), name


BASE = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Output the number 42"}],
    "temperature": 0.2,
    "tools": [{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}],
}


def variant(path, value):
    req = json.loads(json.dumps(BASE))
    target = req
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return req


@pytest.mark.parametrize(
    "name,other",
    [
        ("user message", variant(["messages", 1, "content"], "Output the number 43")),
        ("system prompt", variant(["messages", 0, "content"], "Be verbose.")),
        ("temperature", variant(["temperature"], 0.3)),
        ("tools", variant(["tools", 0, "function", "name"], "sub")),
        ("model", variant(["model"], "gpt-4o")),
        ("added argument", dict(BASE, seed=1)),
    ],
)
def test_any_change_changes_the_hash(name, other):
    assert runtime.input_hash(CHAT["api"], runtime.to_json(other)) != runtime.input_hash(CHAT["api"], runtime.to_json(BASE))


def test_same_request_same_hash():
    reordered = dict(reversed(list(json.loads(json.dumps(BASE)).items())))
    with_sentinel = dict(BASE, top_p=openai.NOT_GIVEN, obj=Opaque())
    with_other_sentinel_object = dict(BASE, top_p=openai.NOT_GIVEN, obj=Opaque())
    h = runtime.input_hash(CHAT["api"], runtime.to_json(BASE))
    assert runtime.input_hash(CHAT["api"], runtime.to_json(reordered)) == h
    # Two processes' distinct objects with the same repr hash alike.
    assert runtime.input_hash(CHAT["api"], runtime.to_json(with_sentinel)) == runtime.input_hash(
        CHAT["api"], runtime.to_json(with_other_sentinel_object)
    )
    assert runtime.input_hash(RESPONSES["api"], runtime.to_json(BASE)) != h
    # A fixed value: the hash is the Go side's and the store's too.
    assert runtime.input_hash("a", {"b": "é"}) == __import__("hashlib").sha256('{"api":"a","request":{"b":"é"}}'.encode()).hexdigest()


# --- rebuilding and overwrites --------------------------------------------


@pytest.mark.parametrize(
    "method,response",
    [
        (CHAT, ChatCompletion.model_validate(chat_json())),
        (RESPONSES, Response.model_validate(responses_json("x", "y"))),
    ],
)
def test_rebuild_round_trip(method, response):
    again = runtime.rebuild(method, response.model_dump(mode="json"))
    assert type(again) is type(response)
    assert again == response


def test_rebuild_tolerates_what_validation_rejects():
    data = chat_json("kept")
    data["choices"][0]["finish_reason"] = "a reason from a newer API"
    got = runtime.rebuild(CHAT, data)
    assert got.choices[0].message.content == "kept"


def test_output_text_overwrite_chat():
    data = chat_json("old", n=2)
    assert selectors.set_text({"response": data}, CHAT["set_output"], "new")
    got = runtime.rebuild(CHAT, data)
    assert got.choices[0].message.content == "new"
    assert got.choices[1].message.content == "old"  # set_output names choices[0]


def test_output_text_overwrite_responses():
    data = responses_json("first", "second")
    assert selectors.set_text({"response": data}, RESPONSES["set_output"], "new text")
    got = runtime.rebuild(RESPONSES, data)
    assert got.output_text == "new text"
    assert got.output[0].summary[0].text == "thinking"


@pytest.mark.parametrize(
    "method,request_,want",
    [
        (CHAT, {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}, {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "NEW"}]}),
        (
            CHAT,
            {"messages": [{"role": "user", "content": [{"type": "image_url"}, {"type": "text", "text": "b"}, {"type": "text", "text": "c"}]}]},
            {"messages": [{"role": "user", "content": [{"type": "image_url"}, {"type": "text", "text": "NEW"}, {"type": "text", "text": ""}]}]},
        ),
        (RESPONSES, {"input": "a"}, {"input": "NEW"}),
        (RESPONSES, {"input": [{"role": "user", "content": "a"}]}, {"input": [{"role": "user", "content": "NEW"}]}),
    ],
)
def test_input_text_overwrite(method, request_, want):
    docs = {"request": request_}
    assert selectors.set_text(docs, method["set_input"], "NEW")
    assert docs["request"] == want
    assert selectors.text(docs, method["input_text"]).split("\n")[-1] == "NEW"


def test_input_text_overwrite_never_drops_data():
    # The last item has no content and the input is a list of items: there is
    # no place for text, and the conversation must not be replaced by it.
    request_ = {"input": [{"role": "user", "content": "a"}, {"type": "function_call_output", "call_id": "c", "output": "3"}]}
    before = json.loads(json.dumps(request_))
    assert not selectors.set_text({"request": request_}, RESPONSES["set_input"], "NEW")
    assert request_ == before


def test_version_in_range():
    for v, spec, want in [
        ("3.57.0", ">=1.66,<4", True),
        ("1.66", ">=1.66,<4", True),
        ("1.65.9", ">=1.66,<4", False),
        ("4.0.0rc1", ">=1.66,<4", False),
        ("2.0.1", "!=2.0.1", False),
    ]:
        assert patches.version_in_range(v, spec) is want, (v, spec)


# --- installing -------------------------------------------------------------


def run_python(code):
    env = dict(os.environ, PYTHONPATH=PYSHIM, ACO_HOME=os.environ.get("ACO_HOME", "/tmp/aco-test-home"))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)


# Every target and async twin declared in patches/openai.yaml.
EXPECTED_PATCHES = [t for m in decl.METHODS for t in (m["target"], m["async_target"]) if t]


def test_install_is_lazy_and_patches_on_import():
    r = run_python(
        """
import sys
import aco.patches as p
p.install()
assert "openai" not in sys.modules, "install imported the SDK"
assert not p.patched()
import openai
from openai.resources.chat.completions import Completions, AsyncCompletions
from openai.resources.responses import Responses, AsyncResponses
for cls in (Completions, AsyncCompletions, Responses, AsyncResponses):
    assert cls.__dict__["create"].__aco_patch__, cls
assert type(openai.__loader__).__name__ != "_Loader", openai.__loader__
print(len(p.patched()))
"""
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(len(EXPECTED_PATCHES))
    assert r.stderr == ""


def test_install_when_already_imported_idempotent_and_reversible():
    from openai.resources.chat.completions import AsyncCompletions, Completions
    from openai.resources.responses import Responses

    originals = {cls: cls.__dict__["create"] for cls in (Completions, AsyncCompletions, Responses)}
    patches.install()
    try:
        wrapped = {cls: cls.__dict__["create"] for cls in originals}
        for cls, w in wrapped.items():
            assert w is not originals[cls]
            assert w.__wrapped__ is originals[cls]
        patches.install()
        patches._apply("openai")  # applying again must not wrap the wrapper
        for cls, w in wrapped.items():
            assert cls.__dict__["create"] is w
    finally:
        patches.uninstall()
    for cls, orig in originals.items():
        assert cls.__dict__["create"] is orig
    assert patches.patched() == []
    assert patches._finder not in sys.meta_path


def test_missing_target_warns_once_and_the_rest_is_patched(capfd):
    from openai.resources.chat.completions import Completions

    bad = dict(CHAT, api="openai.gone.create", target="openai.resources.chat.completions.Gone.create", async_target=None)
    try:
        patches._patch(bad, "openai", bad["target"], False)
        patches._patch(bad, "openai", bad["target"], False)
        patches._patch(CHAT, "openai", CHAT["target"], False)
        assert Completions.__dict__["create"].__aco_patch__ == CHAT["api"]
    finally:
        patches.uninstall()
    err = capfd.readouterr().err
    assert err.count("cannot patch openai.resources.chat.completions.Gone.create") == 1, err


# --- stale patches ------------------------------------------------------------


def test_request_params_are_what_the_selectors_read():
    assert patches.request_params(CHAT) == ["extra_headers", "model", "messages", "tools", "stream"]


def test_target_without_a_read_parameter_is_skipped_and_the_rest_patched(capfd):
    from openai.resources.chat.completions import Completions
    from openai.resources.responses import Responses

    # A declaration reading a parameter the method does not take stands for
    # an SDK release that renamed it.
    stale = dict(RESPONSES, model=(("request", "engine"),))
    try:
        patches._patch(stale, "openai", stale["target"], False)
        patches._patch(CHAT, "openai", CHAT["target"], False)
        assert getattr(Responses.__dict__["create"], "__aco_patch__", None) is None
        assert Completions.__dict__["create"].__aco_patch__ == CHAT["api"]
    finally:
        patches.uninstall()
    err = capfd.readouterr().err
    assert err.count("\n") == 1, err
    assert "not patching openai.resources.responses.Responses.create: it takes no engine parameter" in err
    assert "aco apiwatch" in err


def test_version_outside_the_range_warns_once(capfd):
    sdk = dict(decl.SDK, versions=">=99", verified="99.1")
    patches._check_version(sdk)
    patches._check_version(sdk)
    err = capfd.readouterr().err
    assert err.count("\n") == 1, err
    assert ("openai %s is outside the versions" % openai.__version__) in err
    assert ">=99, last 99.1" in err and "aco apiwatch" in err
    patches._check_version(decl.SDK)
    assert capfd.readouterr().err == ""


# --- the manager shape (anthropic's messages.stream) ---------------------------


class FakeChunk:
    """Stands in for an SDK chunk type: a pydantic-like model."""

    def __init__(self, **data):
        self.data = data

    def model_dump(self, mode="json"):
        return dict(self.data)

    @classmethod
    def model_validate(cls, data):
        return cls(**data)

    def __eq__(self, other):
        return type(other) is FakeChunk and other.data == self.data


FakeChunk.__module__ = "fakesdk.types"


class FakeManager:
    """Opens its raw stream on entry through a private attribute, as
    anthropic's MessageStreamManager does; text_stream is its helper."""

    def __init__(self, chunks):
        self.__api_request = lambda: iter(chunks)

    def __enter__(self):
        self.raw = self.__api_request()
        return self

    def __exit__(self, *exc):
        pass

    @property
    def text_stream(self):
        for c in self.raw:
            if c.data.get("type") == "delta":
                yield c.data["text"]


MANAGER = {
    "api": "fakesdk.stream",
    "kind": "llm",
    "response_type": "fakesdk.types.Message",
    "model": (("request", "model"),),
    "input_text": (("request", "prompt"),),
    "set_input": (("request", "prompt"),),
    "output_text": (),
    "set_output": (),
    "passthrough": (),
    "stream": {
        "when": (),
        "always": True,
        "shape": "manager",
        "manager_attr": "_FakeManager__api_request",
        "text": (("chunk", ("?", "type", "delta"), "text"),),
        "full_text": (),
    },
    "raw_response": None,
    "hook": None,
}


class Sink:
    """A client that keeps each message as the server would read it."""

    def __init__(self):
        self.sent = []

    def send(self, msg):
        self.sent.append(protocol.decode(protocol.encode(msg)))


def test_manager_shape_records_and_replays(monkeypatch):
    monkeypatch.setitem(sys.modules, "fakesdk", type(sys)("fakesdk"))
    monkeypatch.setitem(sys.modules, "fakesdk.types", type(sys)("fakesdk.types"))
    sys.modules["fakesdk.types"].FakeChunk = FakeChunk
    chunks = [FakeChunk(type="start"), FakeChunk(type="delta", text="4"), FakeChunk(type="delta", text="2")]

    def call(answer):
        sink = Sink()
        c = runtime.Call(MANAGER, "fakesdk", sink, "run", {"prompt": "p"}, {"prompt": "p"}, "h", answer["node_id"], answer)
        c.streaming = True
        served = c.cached()
        if served is None:
            manager = c.finish(FakeManager(chunks))
        else:
            manager = c.serve_manager(FakeManager([]), served.chunks)
        with manager as m:
            text = "".join(m.text_stream)
        return text, sink.sent

    text, sent = call({"node_id": "n1", "hit": False})
    assert text == "42"
    (node,) = sent
    assert (node["output_text"], node["stream"]) == ("42", True)
    assert [e["type"] for e in node["output"]["chunks"]] == ["fakesdk.types.FakeChunk"] * 3

    text, sent = call({"node_id": "n1", "hit": True, "output": dict(node["output"], text="7")})
    assert text == "7"
    assert (sent[0]["cached"], sent[0]["edited"], sent[0]["output_text"]) == (True, True, "7")


ITERATOR = dict(MANAGER, api="fakesdk.create", stream=dict(MANAGER["stream"], shape="iterator", manager_attr=None))


class FakeStream:
    """An SDK stream whose chunks are made as they are asked for, so the
    program and aco hold the only references to them."""

    def __init__(self, datas):
        self.datas = datas

    def __iter__(self):
        return (FakeChunk(**d) for d in self.datas)

    def close(self):
        self.datas = []


def stream_call(monkeypatch, datas):
    monkeypatch.setitem(sys.modules, "fakesdk", type(sys)("fakesdk"))
    monkeypatch.setitem(sys.modules, "fakesdk.types", type(sys)("fakesdk.types"))
    sink = Sink()
    c = runtime.Call(ITERATOR, "fakesdk", sink, "run", {"prompt": "p"}, {"prompt": "p"}, "h", "n1")
    c.streaming = True
    return c.finish(FakeStream(datas)), sink


def test_a_stream_holds_no_chunk_the_program_has_moved_past(monkeypatch):
    import weakref

    datas = [{"type": "start"}, {"type": "delta", "text": "4"}, {"type": "delta", "text": "2"}, {"type": "stop"}]
    stream, sink = stream_call(monkeypatch, datas)
    it = iter(stream)
    seen = []
    for _ in datas:
        chunk = next(it)
        if seen:
            # Asking for this chunk wrote the one before down: nothing of
            # aco's keeps it alive past the program's own reference.
            assert seen[-1]() is None
        seen.append(weakref.ref(chunk))
        del chunk
    assert sink.sent == []  # recorded when the stream ends, not before
    with pytest.raises(StopIteration):
        next(it)
    (node,) = sink.sent
    assert [e["data"] for e in node["output"]["chunks"]] == datas
    assert [e["type"] for e in node["output"]["chunks"]] == ["fakesdk.types.FakeChunk"] * 4
    assert node["output_text"] == "42"


def test_a_chunk_that_cannot_be_written_down_costs_only_itself(monkeypatch):
    logged = []
    monkeypatch.setattr(runtime._log, "log", lambda message, exc_info=False: logged.append(message))
    datas = [{"type": "delta", "text": "4"}, {"type": "delta", "text": "x", "logprob": float("nan")}, {"type": "delta", "text": "2"}]
    stream, sink = stream_call(monkeypatch, datas)
    assert [c.data["text"] for c in stream] == ["4", "x", "2"]
    (node,) = sink.sent
    assert [e["data"] for e in node["output"]["chunks"]] == [datas[0], datas[2]]
    assert node["output_text"] == "42"
    # JSON has no NaN: that chunk is left out, and the log says so.
    assert logged == ["fakesdk.create: writing down a streamed chunk failed; the stream is recorded without it"]


def test_a_stream_closed_early_records_the_chunks_it_handed_on(monkeypatch):
    datas = [{"type": "delta", "text": "4"}, {"type": "delta", "text": "2"}, {"type": "delta", "text": "!"}]
    stream, sink = stream_call(monkeypatch, datas)
    it = iter(stream)
    next(it)
    next(it)
    stream.close()
    (node,) = sink.sent
    assert [e["data"] for e in node["output"]["chunks"]] == datas[:2]
    assert node["output_text"] == "42"


def test_recorded_chunk_types_must_belong_to_the_sdk():
    with pytest.raises(ValueError):
        runtime.rebuild_chunk("openai", {"type": "os.system", "data": {}})
    with pytest.raises(ValueError):
        runtime.rebuild_chunk("openai", {"type": "openai.OpenAI", "data": {}})


@pytest.mark.parametrize(
    "request_, sels",
    [
        ({"stream": True}, (("request", "stream"),)),
        ({"stream": False}, (("request", "stream"),)),
        ({"stream": None, "n": 2}, (("request", "stream"), ("request", "n"))),
        ({}, (("request", "stream"),)),
        ({"extra_headers": {"X-Stainless-Raw-Response": "true"}}, (("request", "extra_headers", ("?", "X-Stainless-Raw-Response", "true")),)),
        ({"extra_headers": {"X-Stainless-Raw-Response": "stream"}}, (("request", "extra_headers", ("?", "X-Stainless-Raw-Response", "true")),)),
        ({"messages": [{"stream": 1}]}, (("request", "messages", None, "stream"),)),
        ({"stream": ""}, ()),
        ({"extra_headers": None}, (("request", "extra_headers", ("?", "X-Stainless-Raw-Response", "true")),)),
        ({"messages": []}, (("request",),)),
        ({}, (("request",),)),
        ({"n": 0, "stream": True}, (("request", "n"), ("request", "stream"))),
    ],
)
def test_request_selector_shortcut_agrees_with_selectors(request_, sels):
    assert runtime._truthy(request_, sels) == selectors.any_truthy({"request": request_}, sels)


def _every_declared_method():
    import importlib

    from aco.patches._generated import SDKS

    for module in SDKS.values():
        for m in importlib.import_module(module).METHODS:
            if m["kind"] != "taint":
                yield m


class _FreshClient:
    """What prepare() reads of the client, in a run's first execution."""

    def __init__(self):
        from aco import client

        self._dead, self._pid, self.run_id, self.fresh = None, client._pid, "run", {"run"}


GATED_REQUESTS = [
    {},
    {"stream": True},
    {"stream": False},
    {"stream": None},
    {"stream": 1, "extra_headers": {"X-Other": "1"}},
    {"extra_headers": {"X-Stainless-Raw-Response": "true"}},
    {"extra_headers": {"X-Stainless-Raw-Response": "stream"}},
    {"extra_headers": {"X-Stainless-Raw-Response": "true"}, "stream": True},
    {"extra_headers": None, "stream": True},
    {"config": {"stream": True}, "name": "add"},
]


@pytest.mark.parametrize("method", list(_every_declared_method()), ids=lambda m: m["api"])
def test_prepares_gates_decide_as_the_selectors_do(method, monkeypatch):
    """prepare() reads a method's passthrough, raw and stream selectors
    through gates worked out once: for every declared method it must
    decide as the selectors themselves do."""
    from aco import client

    monkeypatch.setattr(client, "_client", _FreshClient())
    gated = runtime.with_gates(method)
    for request_ in GATED_REQUESTS:
        docs = {"request": request_}
        passthrough = selectors.any_truthy(docs, method["passthrough"]) is not None
        stream, raw = method["stream"], method["raw_response"]
        streaming = bool(stream) and (stream["always"] or selectors.any_truthy(docs, stream["when"]) is not None)
        is_raw = bool(raw) and selectors.any_truthy(docs, raw["when"]) is not None
        call = runtime.prepare(gated, "sdk", (), request_)
        if passthrough or (streaming and is_raw):
            assert call is None, request_
        else:
            assert call is not None and (call.streaming, call.raw) == (streaming, is_raw), request_


def test_prepare_parses_no_snapshot_for_plain_requests(monkeypatch):
    """On the way in, a plain request (no sentinels, stream absent or a
    bool, no extra headers) is written once and parsed only when the node
    is recorded."""
    from aco import client

    monkeypatch.setattr(client, "_client", _FreshClient())
    parsed = []
    real = runtime._protocol.loads
    monkeypatch.setattr(runtime._protocol, "loads", lambda text: parsed.append(text) or real(text))
    gated = runtime.with_gates(CHAT)
    for request_ in ({"model": "m", "messages": [{"role": "user", "content": "hi"}]}, {"model": "m", "messages": [], "stream": True}):
        call = runtime.prepare(gated, "openai", (), request_)
        assert call is not None and call.streaming is ("stream" in request_)
        assert parsed == [], "parsed before the call: %r" % parsed
        assert call.request == request_
        assert len(parsed) == 1
        parsed.clear()


def test_canonical_json_is_the_text_recorded_hashes_were_made_of():
    # Cached calls are found by input_hash: a change to the text it hashes
    # would miss every call recorded before it. canonical_json is written
    # with json's C encoder, made once; this pins it to the json.dumps it
    # stands for.
    value = {
        "b": [1.5, None, True, False, -0.0, 10**30, 1e300, float("nan")],
        "a": {"z": {}, "y": [], "é": "é\u2028\ud800\"\\\n"},
        "10": 1,
        "2": "x",
    }
    want = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert runtime.canonical_json(value) == want
    assert runtime.input_hash("api", {"a": 1}) == hashlib.sha256(b'{"api":"api","request":{"a":1}}').hexdigest()
    assert runtime.input_hash("api", value) != runtime.input_hash("api", dict(value, a={}))  # surrogate and all
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        runtime.canonical_json({"a": object()})
