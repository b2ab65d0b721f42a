"""Makes one call, says ready, waits for a line on stdin (the test kills the
aco server meanwhile), then makes two more calls and exits with 3."""
import sys

from openai import OpenAI

client = OpenAI()


def ask(prompt):
    return client.responses.create(model="gpt-4o-mini", input=prompt).output_text


first = ask("Output the number 42")
print("ready", first, flush=True)
sys.stdin.readline()
second = ask(f"Add 1 to {first}")
third = ask(f"Add 2 to {second}")
print("after", second, third, flush=True)
sys.exit(3)
