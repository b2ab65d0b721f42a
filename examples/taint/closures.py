"""An answer captured by a closure, a lambda and a nonlocal counter."""

from openai import OpenAI

client = OpenAI()


def ask(prompt):
    return client.responses.create(model="gpt-4o-mini", input=prompt).output_text


def make_prompter(base):
    def prompter(verb):
        return f"{verb} {base}"

    return prompter


def accumulate():
    total = ""

    def add(part):
        nonlocal total
        total = total + part
        return total

    return add


prompter = make_prompter(ask("Output the number 6"))
wrap = lambda s: "Say <" + s + ">"  # noqa: E731
add = accumulate()
add(ask("first"))
add(" and ")
joined = add(ask("second"))
one = ask(prompter("Double"))
two = ask(wrap(joined))
print(one, two)
