"""Answers made in worker threads, handed back through a shared list, a
queue and a thread pool's futures."""

import queue
import threading
from concurrent.futures import ThreadPoolExecutor

from openai import OpenAI

client = OpenAI()


def ask(prompt):
    return client.responses.create(model="gpt-4o-mini", input=prompt).output_text


results = []
inbox = queue.Queue()


def worker(n):
    results.append(ask(f"Output the number {n}"))


def producer():
    inbox.put(ask("Output the number 21"))


threads = [threading.Thread(target=worker, args=(10,)), threading.Thread(target=producer)]
for t in threads:
    t.start()
for t in threads:
    t.join()
with ThreadPoolExecutor(max_workers=2) as pool:
    futures = [pool.submit(ask, f"Output the number {n}") for n in (30, 40)]
    pooled = [f.result() for f in futures]
one = ask(f"Add {results[0]} to {inbox.get()}")
two = ask(f"Add {pooled[0]} to {pooled[1]}")
print(one, two)
