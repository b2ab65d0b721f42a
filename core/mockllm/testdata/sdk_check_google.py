"""Drive the mock LLM server with the real google-genai SDK, sync and async.

Usage: python sdk_check_google.py BASE_URL   (e.g. http://127.0.0.1:8000)

Exits non-zero with a traceback when the SDK cannot parse what the mock
sends, warns about it, or an answer is wrong; prints "sdk_check ok" when
every check passed.
"""

import asyncio
import sys
import warnings

from google import genai
from google.genai import errors, types

MODEL = "gemini-2.5-flash"
STORY = "Tell me a story about a dragon"
STORY_ANSWER = "Echo: " + STORY


def check_equal(got, want, what):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


def check_sync(client):
    r = client.models.generate_content(model=MODEL, contents="Add 1 to 42")
    check_equal(r.text, "43", "generate_content plain")
    check_equal(r.candidates[0].finish_reason, types.FinishReason.STOP, "finish reason")
    check_equal(r.usage_metadata.prompt_token_count, 4, "prompt tokens")
    check_equal(r.usage_metadata.candidates_token_count, 1, "candidates tokens")
    check_equal(r.model_version, MODEL, "model version")
    if not r.response_id:
        raise AssertionError("no response id")

    r = client.models.generate_content(
        model=MODEL,
        contents=[
            types.Content(role="user", parts=[types.Part(text="Double 2")]),
            types.Content(role="model", parts=[types.Part(text="4")]),
            types.Content(role="user", parts=[types.Part(text="Multiply 6 by 7")]),
        ],
        config=types.GenerateContentConfig(
            system_instruction="You are a calculator.", temperature=0.2, max_output_tokens=50
        ),
    )
    check_equal(r.text, "42", "generate_content with history and system instruction")

    r = client.models.generate_content(
        model=MODEL, contents="Subtract 2 from 10", config=types.GenerateContentConfig(candidate_count=2)
    )
    check_equal([c.content.parts[0].text for c in r.candidates], ["8", "8"], "candidate_count=2")

    text, chunks, last = "", 0, None
    for chunk in client.models.generate_content_stream(model=MODEL, contents=STORY):
        chunks += 1
        text += chunk.text
        last = chunk
    check_equal(text, STORY_ANSWER, "generate_content_stream text")
    if chunks < 2:
        raise AssertionError(f"generate_content_stream: want several chunks, got {chunks}")
    check_equal(last.candidates[0].finish_reason, types.FinishReason.STOP, "stream finish reason")
    check_equal(last.usage_metadata.candidates_token_count, len(STORY_ANSWER.split()), "stream usage")

    e = client.models.embed_content(model="gemini-embedding-001", contents=["hello world", "other"])
    check_equal([len(x.values) for x in e.embeddings], [3072, 3072], "embed sizes")
    if e.embeddings[0].values == e.embeddings[1].values:
        raise AssertionError("different texts gave the same embedding")
    e = client.models.embed_content(
        model="gemini-embedding-001",
        contents="hello world",
        config=types.EmbedContentConfig(output_dimensionality=16),
    )
    check_equal(len(e.embeddings[0].values), 16, "embed output_dimensionality")

    check_equal(client.models.count_tokens(model=MODEL, contents="a b c").total_tokens, 3, "count_tokens")

    try:
        client.models.generate_content(
            model=MODEL, contents=[types.Content(role="system", parts=[types.Part(text="hi")])]
        )
    except errors.ClientError as err:
        check_equal(err.code, 400, "error code")
        check_equal(err.status, "INVALID_ARGUMENT", "error status")
    else:
        raise AssertionError("a system role in contents: want ClientError")


async def check_async(client):
    r = await client.aio.models.generate_content(model=MODEL, contents="Add 1 to this number: 42.")
    check_equal(r.text, "43", "aio generate_content")

    text = ""
    async for chunk in await client.aio.models.generate_content_stream(model=MODEL, contents=STORY):
        text += chunk.text
    check_equal(text, STORY_ANSWER, "aio generate_content_stream")
    await client.aio.aclose()


def main():
    client = genai.Client(api_key="x", http_options={"base_url": sys.argv[1]})
    # Any warning while talking to the mock (an unexpected field, a
    # non-text part) means the mock is not what the SDK expects.
    warnings.simplefilter("error")
    check_sync(client)
    asyncio.run(check_async(client))
    client.close()
    print("sdk_check ok")


if __name__ == "__main__":
    main()
