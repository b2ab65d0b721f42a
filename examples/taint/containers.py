"""Answers kept in lists, dicts, tuples and sets, sorted, unpacked and
looked up again."""

from openai import OpenAI

client = OpenAI()


def ask(prompt):
    return client.responses.create(model="gpt-4o-mini", input=prompt).output_text


answers = []
for n in (3, 5):
    answers.append(ask(f"Output the number {n}"))
by_name = {"small": answers[0], "big": answers[1]}
pair = (by_name["big"], "unused")
big, _ = pair
seen = {answers[0]}
ordered = sorted(answers, reverse=True)
first = ask(f"Add {big} to 10")
second = ask(f"Double {ordered[1]}")
third = ask("Triple " + next(iter(seen)))
print(first, second, third)
