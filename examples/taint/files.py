"""Answers written into files and read back: plain text, a JSON document,
and a pathlib round trip. (A file written by one run and read by a later
one keeps its taint too; e2e/taint_test.go runs that.)"""

import json
import os
import tempfile
from pathlib import Path

from openai import OpenAI

client = OpenAI()


def ask(prompt):
    return client.responses.create(model="gpt-4o-mini", input=prompt).output_text


here = Path(__file__).resolve().parent
with tempfile.TemporaryDirectory(dir=here) as tmp:
    notes = os.path.join(tmp, "notes.txt")
    with open(notes, "w") as f:
        f.write(ask("Output the number 11") + "\n")
    with open(notes) as f:
        first = ask("Double " + f.read().strip())

    with open(os.path.join(tmp, "facts.json"), "w") as f:
        json.dump({"count": ask("Output the number 12")}, f)
    with open(os.path.join(tmp, "facts.json")) as f:
        second = ask(f"Triple {json.load(f)['count']}")

    (Path(tmp) / "summary.txt").write_text(f"summary: {ask('Output the number 13')}")
    third = ask("Halve " + (Path(tmp) / "summary.txt").read_text().split()[-1])
print(first, second, third)
