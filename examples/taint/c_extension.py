"""An answer stored in an in-memory SQLite database (the C extension
_sqlite3) and read back: the value that comes out was made by C code from
nothing the program handed it in that call, so no taint reaches the next
prompt, and the edge is found by content."""

import sqlite3

from openai import OpenAI

client = OpenAI()


def ask(prompt):
    return client.responses.create(model="gpt-4o-mini", input=prompt).output_text


db = sqlite3.connect(":memory:")
db.execute("CREATE TABLE answers (text TEXT)")
db.execute("INSERT INTO answers VALUES (?)", (ask("Output the number 12"),))
(stored,) = db.execute("SELECT text FROM answers").fetchone()
print(ask("Add 1 to " + stored))
