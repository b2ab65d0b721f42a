"""Imports openai and makes three calls: the start-up benchmark's program."""
from openai import OpenAI

client = OpenAI()
a = client.responses.create(model="gpt-4o-mini", input="Output the number 1").output_text
b = client.responses.create(model="gpt-4o-mini", input=f"Add 1 to {a}").output_text
c = client.chat.completions.create(
    model="gpt-4o-mini", messages=[{"role": "user", "content": f"Add 1 to {b}"}]
).choices[0].message.content
print(a, b, c)
