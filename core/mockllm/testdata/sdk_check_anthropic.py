"""Drive the mock LLM server with the real anthropic SDK, sync and async.

Usage: python sdk_check_anthropic.py BASE_URL   (e.g. http://127.0.0.1:8000)

Exits non-zero with a traceback when the SDK cannot parse what the mock
sends, warns about it, or an answer is wrong; prints "sdk_check ok" when
every check passed.
"""

import asyncio
import sys
import warnings

import anthropic

# A model the SDK does not warn about as deprecated.
MODEL = "claude-haiku-4-5"
STORY = "Tell me a story about a dragon"
STORY_ANSWER = "Echo: " + STORY


def check_equal(got, want, what):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


def check_sync(client):
    m = client.messages.create(
        model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "Add 1 to 42"}]
    )
    check_equal(m.content[0].text, "43", "create plain")
    check_equal(m.stop_reason, "end_turn", "create stop reason")
    check_equal((m.usage.input_tokens, m.usage.output_tokens), (4, 1), "create usage")
    if not m.id.startswith("msg_") or not m._request_id:
        raise AssertionError(f"create ids: {m.id!r} {m._request_id!r}")

    m = client.messages.create(
        model=MODEL,
        max_tokens=100,
        system=[{"type": "text", "text": "You are a calculator."}],
        messages=[
            {"role": "user", "content": "Double 2"},
            {"role": "assistant", "content": "4"},
            {"role": "user", "content": [{"type": "text", "text": "Multiply 6 by 7"}]},
        ],
    )
    check_equal(m.content[0].text, "42", "create with system blocks and history")

    types, text, final_usage = [], "", None
    for event in client.messages.create(
        model=MODEL, max_tokens=100, messages=[{"role": "user", "content": STORY}], stream=True
    ):
        types.append(event.type)
        if event.type == "content_block_delta":
            text += event.delta.text
        if event.type == "message_delta":
            final_usage = event.usage
    check_equal(types[0], "message_start", "stream first event")
    check_equal(types[-1], "message_stop", "stream last event")
    check_equal(text, STORY_ANSWER, "stream text")
    check_equal(final_usage.output_tokens, len(STORY_ANSWER.split()), "stream output tokens")

    # The helper accumulates the events into a message of its own.
    with client.messages.stream(
        model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "Subtract 2 from 10"}]
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    check_equal("".join(pieces), "8", "stream helper text_stream")
    check_equal(final.content[0].text, "8", "stream helper final message")
    check_equal(final.stop_reason, "end_turn", "stream helper stop reason")

    with client.messages.stream(
        model=MODEL, max_tokens=100, messages=[{"role": "user", "content": STORY}]
    ) as stream:
        check_equal(stream.get_final_text(), STORY_ANSWER, "stream helper final text")

    count = client.messages.count_tokens(
        model=MODEL, messages=[{"role": "user", "content": "Add 1 to 42"}]
    )
    check_equal(count.input_tokens, 4, "count_tokens")

    try:
        client.messages.create(model=MODEL, max_tokens=100, messages=[])
    except anthropic.BadRequestError as e:
        check_equal(e.status_code, 400, "error status")
        check_equal(e.body["error"]["type"], "invalid_request_error", "error type")
    else:
        raise AssertionError("create with no messages: want BadRequestError")


async def check_async(base_url):
    client = anthropic.AsyncAnthropic(base_url=base_url, api_key="x", max_retries=0)
    m = await client.messages.create(
        model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "Add 1 to this number: 42."}]
    )
    check_equal(m.content[0].text, "43", "async create")

    text = ""
    async for event in await client.messages.create(
        model=MODEL, max_tokens=100, messages=[{"role": "user", "content": STORY}], stream=True
    ):
        if event.type == "content_block_delta":
            text += event.delta.text
    check_equal(text, STORY_ANSWER, "async stream")

    async with client.messages.stream(
        model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "Double 21"}]
    ) as stream:
        pieces = [t async for t in stream.text_stream]
        final = await stream.get_final_message()
    check_equal("".join(pieces), "42", "async stream helper text_stream")
    check_equal(final.content[0].text, "42", "async stream helper final message")
    await client.close()


def main():
    base_url = sys.argv[1]
    client = anthropic.Anthropic(base_url=base_url, api_key="x", max_retries=0)
    # Any warning while talking to the mock (an unexpected field, a
    # deprecated model) means the mock is not what the SDK expects.
    warnings.simplefilter("error")
    check_sync(client)
    client.close()
    asyncio.run(check_async(base_url))
    print("sdk_check ok")


if __name__ == "__main__":
    main()
