"""aco.apisurface reads signatures and response fields from source alone."""

import json
import os
import subprocess
import sys
import textwrap

from aco import apisurface


def write(root, files):
    for path, src in files.items():
        p = os.path.join(root, *path.split("/"))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(textwrap.dedent(src))


SDK = {
    "sdk/__init__.py": "",
    "sdk/_base.py": """
        class Resource:
            def inherited(self, x, /, *args, y=1, **kw): ...
    """,
    # Lazy re-export, as openai's resources/__init__.py does it.
    "sdk/resources/__init__.py": """
        _LAZY = {"Chat": (".chat", "Chat")}
        def __getattr__(name): ...
    """,
    "sdk/resources/chat.py": """
        from typing import overload
        from .._base import Resource
        from ..types import Reply

        class Chat(Resource):
            @overload
            def create(self, *, model: str) -> Reply: ...
            def create(self, *, model: str, stream: bool = False) -> Reply:
                import sdk.never_imported
            async def acreate(self, *, model): ...
            legacy = staticmethod(create)
    """,
    "sdk/types/__init__.py": "from .reply import Reply as Reply\n",
    "sdk/types/reply.py": """
        from typing import List, Optional, Union, Dict
        from typing_extensions import Annotated, TypeAlias

        class Text:
            text: str

        class Image:
            url: str

        Part: TypeAlias = Annotated[Union[Text, "Image"], "discriminator"]

        class Reply:
            parts: List[Part]
            meta: Dict[str, object]
            note: Optional[str] = None
    """,
    "sdk/moved/__init__.py": "",
    "sdk/moved/place.py": """
        class Old:
            def go(self): ...
    """,
}


def test_targets_types_and_moves(tmp_path):
    write(str(tmp_path), SDK)
    out = apisurface.surface({
        "root": str(tmp_path),
        "targets": ["sdk.resources.Chat.create", "sdk.resources.Chat.acreate", "sdk.resources.Chat.inherited",
                    "sdk.resources.Chat.legacy", "sdk.gone.Old.go"],
        "types": {"sdk.types.Reply": [["parts", "text"], ["parts", "url"], ["parts", "nope"], ["meta", "x"]]},
    })
    create = out["targets"]["sdk.resources.Chat.create"]
    assert create["found"] and create["kind"] == "method" and create["overloads"] == 1
    assert create["where"] == "sdk/resources/chat.py:9"  # dedent keeps the leading blank line
    assert [(p["name"], p["kind"], p["default"]) for p in create["params"]] == [
        ("self", "positional_or_keyword", None), ("model", "keyword_only", None), ("stream", "keyword_only", "False")]
    assert create["returns"] == "Reply" and create["methods"] == ["acreate", "create"]
    assert out["targets"]["sdk.resources.Chat.acreate"]["is_async"]
    inherited = out["targets"]["sdk.resources.Chat.inherited"]
    assert [p["kind"] for p in inherited["params"]] == [
        "positional_only", "positional_only", "var_positional", "keyword_only", "var_keyword"]
    assert out["targets"]["sdk.resources.Chat.legacy"]["kind"] == "attribute"
    gone = out["targets"]["sdk.gone.Old.go"]
    assert not gone["found"] and gone["moved_to"] == ["sdk.moved.place.Old.go"]
    paths = {".".join(p["path"]): (p["status"], p["at"]) for p in out["types"]["sdk.types.Reply"]["paths"]}
    assert paths == {"parts.text": ("ok", 2), "parts.url": ("ok", 2), "parts.nope": ("missing", 1), "meta.x": ("unknown", 1)}
    assert "sdk.never_imported" not in sys.modules


def test_runs_as_a_script(tmp_path):
    write(str(tmp_path), SDK)
    req = {"root": str(tmp_path), "targets": ["sdk.resources.Chat.create"], "types": {}}
    res = subprocess.run([sys.executable, apisurface.__file__], input=json.dumps(req), capture_output=True, text=True, check=True)
    assert json.loads(res.stdout)["targets"]["sdk.resources.Chat.create"]["found"]
