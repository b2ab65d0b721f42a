"""An answer kept on an instance, on the class, and in a dataclass field,
read back through a property and a method."""

from dataclasses import dataclass

from openai import OpenAI

client = OpenAI()


def ask(prompt):
    return client.responses.create(model="gpt-4o-mini", input=prompt).output_text


class Memory:
    last = None

    def __init__(self, fact):
        self.fact = fact

    @property
    def loud(self):
        return self.fact.upper()

    def prompt(self, verb):
        return f"{verb} {self.fact}"


@dataclass
class Note:
    text: str


memory = Memory(ask("Output the number 8"))
Memory.last = ask("remember this")
note = Note(text=ask("Output the number 9"))
one = ask(memory.prompt("Halve"))
two = ask("Say " + Memory.last)
three = ask(f"Add {note.text} to {memory.loud}")
print(one, two, three)
