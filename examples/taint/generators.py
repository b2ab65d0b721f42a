"""Answers passed through a generator function and a generator expression
into str.join (C code that builds a plain str).

What join draws from a generator expression is noted as it is drawn, so
that edge is taint. A generator function's values are not (its frame is
not the rewritten call's), so that flow is found by content: the prompt
holds both answers' text.
"""

from openai import OpenAI

client = OpenAI()


def ask(prompt):
    return client.responses.create(model="gpt-4o-mini", input=prompt).output_text


def numbered(lines):
    for i, line in enumerate(lines, 1):
        yield f"{i}. {line}"


a = ask("apples")
b = ask("pears")
listing = "\n".join(numbered([a, b]))
one = ask("Say " + listing)
short = ", ".join(s.removeprefix("Echo: ") for s in (a, b))
two = ask("List " + short)
print(one, two)
