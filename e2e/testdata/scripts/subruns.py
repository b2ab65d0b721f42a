"""Subruns three ways: sequential, 8 threads, asyncio.gather. Each subrun
makes two calls, the second using the first's answer. The numbers are apart
so no subrun's answer appears in another's prompt (content matching links
sibling subruns too)."""
import asyncio
import threading

from openai import AsyncOpenAI, OpenAI

import aco

client = OpenAI()
aclient = AsyncOpenAI()


def ask(prompt):
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}]
    ).choices[0].message.content


async def aask(prompt):
    r = await aclient.responses.create(model="gpt-4o-mini", input=prompt)
    return r.output_text


def sample(i):
    with aco.launch(f"thread {i}"):
        n = ask(f"Output the number {100 + 10 * i}")
        ask(f"Add 1 to {n}")


async def asample(i):
    async with aco.launch(f"task {i}"):
        n = await aask(f"Output the number {1000 + 10 * i}")
        await aask(f"Add 1 to {n}")


for i in range(3):
    with aco.launch(f"seq {i}"):
        n = ask(f"Output the number {10 + 10 * i}")
        ask(f"Add 1 to {n}")

threads = [threading.Thread(target=sample, args=(i,)) for i in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()


async def main():
    await asyncio.gather(*(asample(i) for i in range(4)))


asyncio.run(main())
aco.log("all samples done", success=True)
print("done")
