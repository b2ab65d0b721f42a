"""Taint through files: rewritten code that writes tainted text into a file
under the project root, and reads the file back whole, gets the taint back;
from this process's own record, or from the server's for another run."""

import hashlib
import os
import ast
import textwrap

import pytest

import aco.taint as taint
from aco.rewrite import helpers, transform
from aco.taint import files


class FakeClient:
    """What aco.taint.files needs of aco.client: send and request."""

    def __init__(self, recorded=None):
        self.sent = []
        self.asked = []
        self.recorded = recorded or {}

    def send(self, msg):
        self.sent.append(msg)

    def request(self, msg):
        self.asked.append(msg)
        return {"type": "file_taint_result", "id": 1, "origins": self.recorded.get((msg["path"], msg["sha256"]), [])}


@pytest.fixture
def proj(tmp_path, monkeypatch):
    root = tmp_path / "proj"
    root.mkdir()
    helpers.set_project_roots([str(root)])
    client = FakeClient()
    monkeypatch.setattr(files, "_client", lambda: client)
    monkeypatch.setattr(files, "_run_id", lambda: "run-1")
    monkeypatch.setattr(files, "_enabled", True)
    for d in (files._pending, files._written, files._known):
        d.clear()
    monkeypatch.setattr(helpers, "_files", None)
    monkeypatch.setattr(helpers, "_taint", None)
    yield root, client
    helpers.set_project_roots([])
    helpers._files = None


def run(src, root, **env):
    code = transform.compile_rewritten(textwrap.dedent(src), str(root / "agent.py"))
    ns = {"__name__": "agent", "ANSWER": taint.wrap("42", ["node-a"]), "ROOT": str(root)}
    ns.update(env)
    exec(code, ns)
    return ns


def test_written_text_is_tainted_when_read_back(proj):
    root, client = proj
    ns = run(
        """
        import json, os
        from pathlib import Path
        p = os.path.join(ROOT, "notes.txt")
        with open(p, "w") as f:
            f.write("answer: " + ANSWER)
        with open(p) as f:
            text = f.read()
        again = Path(p).read_text()
        with open(os.path.join(ROOT, "facts.json"), "w") as f:
            json.dump({"n": ANSWER}, f)
        with open(os.path.join(ROOT, "facts.json")) as f:
            data = json.load(f)
        Path(ROOT, "b.bin").write_bytes(ANSWER.encode())
        raw = Path(ROOT, "b.bin").read_bytes()
        with open(p) as f:
            f.readline()
            rest = f.read()
        Path(ROOT, "plain.txt").write_text("nothing tainted")
        plain = Path(ROOT, "plain.txt").read_text()
        """,
        root,
    )
    assert ns["text"] == ns["again"] == "answer: 42"
    for name in ("text", "again", "raw"):
        assert taint.get_origins(ns[name]) == {"node-a"}, name
    assert ns["data"] == {"n": "42"} and taint.get_origins(ns["data"]["n"]) == {"node-a"}
    # Part of a file, and a file nothing tainted went into, carry nothing.
    assert not taint.is_tainted(ns["rest"]) and not taint.is_tainted(ns["plain"])
    sent = {os.path.basename(m["path"]): m for m in client.sent}
    assert set(sent) == {"notes.txt", "facts.json", "b.bin"}
    assert all(m["origins"] == ["node-a"] and m["run_id"] == "run-1" for m in sent.values())
    # What this process wrote it knows; only the untainted file was asked about.
    assert [os.path.basename(m["path"]) for m in client.asked] == ["plain.txt"]


def test_taint_recorded_by_another_run_is_restored(proj):
    root, client = proj
    p = root / "from_yesterday.txt"
    p.write_text("43")
    client.recorded[(str(p), hashlib.sha256(b"43").hexdigest())] = ["node-old"]
    ns = run("text = open(ROOT + '/from_yesterday.txt').read()\nagain = open(ROOT + '/from_yesterday.txt').read()\n", root)
    assert ns["text"] == "43" and taint.get_origins(ns["text"]) == {"node-old"}
    assert taint.get_origins(ns["again"]) == {"node-old"}
    assert len(client.asked) == 1, "an unchanged file is looked up once"


def test_files_outside_the_project_are_left_alone(proj, tmp_path):
    root, client = proj
    outside = tmp_path / "elsewhere.txt"
    ns = run("open(P, 'w').write(ANSWER)\ntext = open(P).read()\n", root, P=str(outside))
    files.settle()
    assert ns["text"] == "42" and not taint.is_tainted(ns["text"])
    assert client.sent == [] and client.asked == []


def test_without_recording_reads_are_plain_method_calls(proj, monkeypatch):
    root, client = proj
    monkeypatch.setattr(files, "_enabled", False)
    f = open(os.path.join(root, "x.txt"), "w+")
    assert helpers.reading(f.read) == f.read
    f.close()
    assert client.sent == [] and client.asked == []


def test_rewrite_of_whole_file_reads():
    tree = transform.rewrite("a = f.read()\nb = f.read(10)\nc = self.read()\nd = p.read_text()\n", "m.py")
    src = [line for line in ast.unparse(tree).splitlines() if "=" in line]
    assert src[0].startswith("a = _@aco.reading(f.read)()")
    assert src[1] == "b = f.read(10)"
    assert src[2] == "c = self.read()"
    assert src[3].startswith("d = _@aco.reading(p.read_text)()")
