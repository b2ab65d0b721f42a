"""Numbers parsed out of answers and computed with: int() and float() of a
tainted text make plain numbers in C, which the rewriter re-taints, and
arithmetic on them keeps the taint."""

from openai import OpenAI

client = OpenAI()


def ask(prompt):
    return client.responses.create(model="gpt-4o-mini", input=prompt).output_text


count = int(ask("Output the number 4")) * 3
price = float(ask("Output the number 2.5")) + 0.25
one = ask(f"Add {count} to 1")
two = ask("Double %.2f" % price)
print(one, two)
