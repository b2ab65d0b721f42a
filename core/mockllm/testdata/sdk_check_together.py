"""Drive the mock LLM server with the real together SDK, sync and async.

Usage: python sdk_check_together.py BASE_URL   (e.g. http://127.0.0.1:8000)

Exits non-zero with a traceback when the SDK cannot parse what the mock
sends, warns about it, or an answer is wrong; prints "sdk_check ok" when
every check passed.
"""

import asyncio
import sys
import warnings

import together
from together.types.chat import ChatCompletion, ChatCompletionChunk

MODEL = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
STORY = "Tell me a story about a dragon"
STORY_ANSWER = "Echo: " + STORY


def check_equal(got, want, what):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


def check_sync(client):
    c = client.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "Answer with a number."},
            {"role": "user", "content": "Add 1 to 42"},
        ],
    )
    check_equal(c.choices[0].message.content, "43", "create plain")
    check_equal(c.choices[0].finish_reason, "stop", "finish reason")
    check_equal(c.usage.prompt_tokens, 8, "prompt tokens")
    # Strict validation is what a cache replay does with a recorded response.
    ChatCompletion.model_validate(c.model_dump())

    text, chunks, usage = "", 0, None
    for chunk in client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": STORY}], stream=True
    ):
        ChatCompletionChunk.model_validate(chunk.model_dump())
        chunks += 1
        for ch in chunk.choices:
            check_equal(ch.delta.role, "assistant", "delta role")
            text += ch.delta.content or ""
        if chunk.usage is not None:
            usage = chunk.usage
    check_equal(text, STORY_ANSWER, "stream text")
    if chunks < 2:
        raise AssertionError(f"stream: want several chunks, got {chunks}")
    if usage is None or usage.completion_tokens != len(STORY_ANSWER.split()):
        raise AssertionError(f"stream usage: {usage!r}")


async def check_async(base_url):
    client = together.AsyncTogether(base_url=base_url, api_key="x", max_retries=0)
    c = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Double 21"}]
    )
    check_equal(c.choices[0].message.content, "42", "async create")

    text = ""
    async for chunk in await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": STORY}], stream=True
    ):
        for ch in chunk.choices:
            text += ch.delta.content or ""
    check_equal(text, STORY_ANSWER, "async stream")
    await client.close()


def main():
    base_url = sys.argv[1]
    client = together.Together(base_url=base_url, api_key="x", max_retries=0)
    warnings.simplefilter("error")
    check_sync(client)
    client.close()
    asyncio.run(check_async(base_url))
    print("sdk_check ok")


if __name__ == "__main__":
    main()
