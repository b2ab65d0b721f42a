"""Drive the mock LLM server with the real openai SDK, sync and async.

Usage: python sdk_check_openai.py BASE_URL   (e.g. http://127.0.0.1:8000/v1)

Exits non-zero with a traceback when the SDK cannot parse what the mock
sends or an answer is wrong; prints "sdk_check ok" when every check passed.
"""

import asyncio
import sys
import warnings

import openai

STORY = "Tell me a story about a dragon"
STORY_ANSWER = "Echo: " + STORY


def check_equal(got, want, what):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


def check_responses(client):
    r = client.responses.create(model="gpt-4o", input="Add 1 to 42")
    check_equal(r.output_text, "43", "responses plain")
    check_equal(r.status, "completed", "responses status")
    check_equal(r.usage.input_tokens, 4, "responses input tokens")
    check_equal(r.usage.output_tokens, 1, "responses output tokens")

    r = client.responses.create(
        model="gpt-4o",
        instructions="You are a calculator.",
        input=[
            {"role": "user", "content": "Double 2"},
            {"role": "assistant", "content": "4"},
            {"role": "user", "content": [{"type": "input_text", "text": "Multiply 6 by 7"}]},
        ],
    )
    check_equal(r.output_text, "42", "responses message list")
    check_equal(r.instructions, "You are a calculator.", "responses instructions echo")

    types, deltas, final = [], [], None
    for event in client.responses.create(model="gpt-4o", input=STORY, stream=True):
        types.append(event.type)
        if event.type == "response.output_text.delta":
            deltas.append(event.delta)
        if event.type == "response.completed":
            final = event.response
    check_equal(types[0], "response.created", "responses stream first event")
    check_equal(types[-1], "response.completed", "responses stream last event")
    if len(deltas) < 2:
        raise AssertionError(f"responses stream: want several deltas, got {deltas!r}")
    check_equal("".join(deltas), STORY_ANSWER, "responses stream deltas")
    check_equal(final.output_text, STORY_ANSWER, "responses stream final")

    # The SDK's accumulating helper checks item ids and indexes across events.
    with client.responses.stream(model="gpt-4o", input="Subtract 2 from 10") as stream:
        for _ in stream:
            pass
        check_equal(stream.get_final_response().output_text, "8", "responses.stream helper")


def check_chat(client):
    c = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "system", "content": "Answer with a number."},
            {"role": "user", "content": "Add 3 to 42"},
        ],
    )
    check_equal(c.choices[0].message.content, "45", "chat plain")
    check_equal(c.choices[0].finish_reason, "stop", "chat finish reason")
    check_equal(c.usage.prompt_tokens, 8, "chat prompt tokens")

    c = client.chat.completions.create(
        model="gpt-4o-mini", n=2, messages=[{"role": "user", "content": "Double 21"}]
    )
    check_equal([ch.message.content for ch in c.choices], ["42", "42"], "chat n=2")

    texts, chunks, usage = {}, 0, None
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        n=2,
        stream=True,
        stream_options={"include_usage": True},
        messages=[{"role": "user", "content": STORY}],
    )
    for chunk in stream:
        chunks += 1
        for ch in chunk.choices:
            texts[ch.index] = texts.get(ch.index, "") + (ch.delta.content or "")
        if chunk.usage is not None:
            usage = chunk.usage
    check_equal(texts, {0: STORY_ANSWER, 1: STORY_ANSWER}, "chat stream n=2")
    if chunks < 6:
        raise AssertionError(f"chat stream: want several chunks, got {chunks}")
    if usage is None or usage.completion_tokens != 2 * len(STORY_ANSWER.split()):
        raise AssertionError(f"chat stream usage: {usage!r}")

    with client.chat.completions.stream(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Output the number 42"}]
    ) as s:
        for _ in s:
            pass
        check_equal(s.get_final_completion().choices[0].message.content, "42", "chat stream helper")

    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=[])
    except openai.BadRequestError as e:
        check_equal(e.status_code, 400, "chat error status")
        check_equal(e.param, "messages", "chat error param")
    else:
        raise AssertionError("chat with no messages: want BadRequestError")


def check_embeddings(client):
    # Without encoding_format the SDK asks for base64 and decodes it itself.
    default = client.embeddings.create(model="text-embedding-3-small", input="hello world")
    floats = client.embeddings.create(
        model="text-embedding-3-small", input=["hello world", "other"], encoding_format="float"
    )
    check_equal(len(default.data[0].embedding), 1536, "embedding size")
    if any(abs(a - b) > 1e-6 for a, b in zip(default.data[0].embedding, floats.data[0].embedding)):
        raise AssertionError("base64 and float embeddings of the same text differ")
    if floats.data[0].embedding == floats.data[1].embedding:
        raise AssertionError("different texts gave the same embedding")
    short = client.embeddings.create(model="text-embedding-3-small", input="hello", dimensions=16)
    check_equal(len(short.data[0].embedding), 16, "embedding dimensions")


def check_models(client):
    ids = [m.id for m in client.models.list()]
    if "gpt-4o-mini" not in ids:
        raise AssertionError(f"models list: {ids!r}")


async def check_async(base_url):
    client = openai.AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0)
    r = await client.responses.create(model="gpt-4o", input="Add 1 to this number: 42.")
    check_equal(r.output_text, "43", "async responses plain")

    deltas = []
    async for event in await client.responses.create(model="gpt-4o", input=STORY, stream=True):
        if event.type == "response.output_text.delta":
            deltas.append(event.delta)
    check_equal("".join(deltas), STORY_ANSWER, "async responses stream")

    c = await client.chat.completions.create(
        model="gpt-4o-mini", n=2, messages=[{"role": "user", "content": "Subtract 2 from 10"}]
    )
    check_equal([ch.message.content for ch in c.choices], ["8", "8"], "async chat n=2")

    text = ""
    async for chunk in await client.chat.completions.create(
        model="gpt-4o-mini", stream=True, messages=[{"role": "user", "content": STORY}]
    ):
        for ch in chunk.choices:
            text += ch.delta.content or ""
    check_equal(text, STORY_ANSWER, "async chat stream")

    e = await client.embeddings.create(model="text-embedding-3-small", input="hello world")
    check_equal(len(e.data[0].embedding), 1536, "async embedding size")
    await client.close()


def main():
    base_url = sys.argv[1]
    client = openai.OpenAI(base_url=base_url, api_key="x", max_retries=0)
    # Any warning while talking to the mock (an unexpected field, a failed
    # serialisation) means the mock is not what the SDK expects.
    warnings.simplefilter("error")
    check_responses(client)
    check_chat(client)
    check_embeddings(client)
    check_models(client)
    client.close()
    asyncio.run(check_async(base_url))
    print("sdk_check ok")


if __name__ == "__main__":
    main()
