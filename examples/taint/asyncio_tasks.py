"""Concurrent calls with the async client, gathered, then combined."""

import asyncio

from openai import AsyncOpenAI

client = AsyncOpenAI()


async def ask(prompt):
    response = await client.responses.create(model="gpt-4o-mini", input=prompt)
    return response.output_text


async def main():
    a, b = await asyncio.gather(ask("Output the number 2"), ask("Output the number 3"))
    task = asyncio.create_task(ask(f"Multiply {a} by {b}"))
    product = await task
    total = await ask(f"Add {product} to {a}")
    print(product, total)


asyncio.run(main())
