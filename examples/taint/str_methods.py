"""str methods, joins, % and .format on answers."""

from openai import OpenAI

client = OpenAI()


def ask(prompt):
    return client.responses.create(model="gpt-4o-mini", input=prompt).output_text


a = ask("alpha beta gamma")
b = ask("Output the number 7")
words = a.lower().split()[1:]
shout = ", ".join(w.upper() for w in words)
one = ask("Say %s" % shout)
two = ask("Triple {}".format(b.strip().zfill(3)))
three = ask("Words: " + "-".join([a.replace("Echo: ", "").title(), "x"]))
print(one, two, three)
