"""Pieces of an answer picked out with re: a group, findall, and sub."""

import re

from openai import OpenAI

client = OpenAI()


def ask(prompt):
    return client.responses.create(model="gpt-4o-mini", input=prompt).output_text


reply = ask("Order 17 costs 23 dollars")
order = re.search(r"Order (\d+)", reply).group(1)
first = ask(f"Double {order}")
numbers = re.findall(r"\d+", reply)
second = ask("Add " + numbers[1] + " to 1")
masked = re.sub(r"\d", "#", reply)
third = ask("Say " + masked)
print(first, second, third)
