from pathlib import Path

from openai import OpenAI

text = Path("answer.txt").read_text()
print(OpenAI().responses.create(model="gpt-4o-mini", input="Add 1 to " + text).output_text)
