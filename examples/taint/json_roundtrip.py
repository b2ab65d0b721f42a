"""A JSON answer parsed, a field picked out, and the data dumped back into
a prompt: json's C parser and encoder build new values, which the rewriter
re-taints with the answer's origins."""

import json

from openai import OpenAI

client = OpenAI()


def ask(prompt):
    return client.responses.create(model="gpt-4o-mini", input=prompt).output_text


reply = ask('{"n": 42, "unit": "apples"}')
data = json.loads(reply.removeprefix("Echo: "))
plus = ask(f"Add 1 to {data['n']}")
again = ask("Repeat " + json.dumps({"unit": data["unit"]}))
print(plus, again)
