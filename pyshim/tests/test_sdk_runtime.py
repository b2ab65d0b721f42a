"""The runtime's parts the SDK declarations beyond openai rely on, one by one:
arguments passed by position (mcp), the input_text hook stage (mcp), a
manager's opener under its async twin's mangled name (anthropic), rebuilding
a response whose type refuses its own nulls (google-genai 1.0), and
coroutine targets named by `target` (mcp's async-only ClientSession)."""

import asyncio

import pytest

from aco import patches
from aco.patches import runtime


class Session:
    def call(self, name, arguments=None, timeout=None, *, meta=None):
        return (name, arguments, timeout, meta)

    def only(self, name, /, arguments=None):
        return (name, arguments)

    def star(self, *names):
        return names


@pytest.mark.parametrize(
    "func,args,kwargs,want",
    [
        (Session.call, ("add", {"a": 1}), {}, ((), {"name": "add", "arguments": {"a": 1}})),
        (Session.call, ("add",), {"meta": 1}, ((), {"name": "add", "meta": 1})),
        (Session.call, (), {"name": "add"}, ((), {"name": "add"})),
        # Left for the SDK to refuse, as it would without aco.
        (Session.call, ("add",), {"name": "x"}, (("add",), {"name": "x"})),
        (Session.call, ("a", "b", "c", "d"), {}, (("a", "b", "c", "d"), {})),
        # No keyword to move them to: the call goes unrecorded.
        (Session.only, ("add",), {}, (("add",), {})),
        (Session.star, ("a", "b"), {}, (("a", "b"), {})),
    ],
)
def test_by_keyword(func, args, kwargs, want):
    assert runtime.by_keyword(func, args, kwargs) == want


class Hooked:
    @staticmethod
    def input_text(request):
        if request.get("fail"):
            raise RuntimeError("boom")
        return "hooked %s" % request["name"]


def record_input_text(monkeypatch, request):
    monkeypatch.setitem(runtime._hooks, "test:hooked", Hooked)
    method = {"api": "t.call", "kind": "tool", "hook": "test:hooked", "input_text": (("request", "name"),), "model": ()}
    sent = []

    class Sink:
        def send(self, msg):
            sent.append(msg)

    call = runtime.Call(method, "t", Sink(), "run", request, request, "h", "n")
    call._record({"type": "x"}, "", cached=False)
    return sent[0]["input_text"]


def test_input_text_hook_and_its_fallback(monkeypatch):
    assert record_input_text(monkeypatch, {"name": "add"}) == "hooked add"
    # A failing hook falls back to the declaration's selectors.
    assert record_input_text(monkeypatch, {"name": "add", "fail": True}) == "add"


class _MessageStreamManager:
    def __init__(self):
        self.__api_request = "sync"


class _AsyncMessageStreamManager:
    def __init__(self):
        self.__api_request = "async"


class Derived(_AsyncMessageStreamManager):
    pass


@pytest.mark.parametrize(
    "manager,want",
    [
        (_MessageStreamManager(), "_MessageStreamManager__api_request"),
        (_AsyncMessageStreamManager(), "_AsyncMessageStreamManager__api_request"),
        (Derived(), "_AsyncMessageStreamManager__api_request"),
        (object(), "_MessageStreamManager__api_request"),  # missing: the caller's getattr says so
    ],
)
def test_manager_attr_under_a_mangled_name(manager, want):
    assert runtime._manager_attr(manager, "_MessageStreamManager__api_request") == want


def test_rebuild_drops_nulls_a_type_refuses():
    import pydantic

    class Part(pydantic.BaseModel):
        text: str = ""

    class Strict(pydantic.BaseModel):
        parts: list[Part]
        parsed: dict = {}  # refuses null, as google-genai 1.0's parsed did

    got = runtime._build(Strict, {"parts": [{"text": "4"}], "parsed": None})
    assert type(got) is Strict and type(got.parts[0]) is Part and got.parts[0].text == "4"


def test_a_coroutine_target_gets_a_coroutine_wrapper():
    class Client:
        async def call_tool(self, name):
            return name

    method = {"api": "t.call_tool"}
    wrapper = patches._wrapper(method, "t", Client.call_tool, False)
    assert asyncio.iscoroutinefunction(wrapper)
    assert asyncio.run(wrapper(Client(), "add")) == "add"  # no session: the SDK's own call
