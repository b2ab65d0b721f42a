"""Hooks of patches/openai.yaml."""


class parsed_chat_completion:
    """chat.completions.parse returns ParsedChatCompletion[T], whose
    message.parsed is an instance of the program's response_format class
    (and tool calls carry parsed_arguments). A dump cannot rebuild those, so
    the recorded ChatCompletion is parsed again with the SDK's own parser and
    the classes the program passed in this call."""

    @staticmethod
    def rebuild(data, kwargs):
        import openai
        from openai.lib._parsing._completions import parse_chat_completion
        from openai.types.chat import ChatCompletion

        not_given = getattr(openai, "NOT_GIVEN", None)
        plain = _without_parsed(data)
        try:
            completion = ChatCompletion.model_validate(plain)
        except Exception:
            completion = ChatCompletion.model_construct(**plain)
        return parse_chat_completion(
            response_format=kwargs.get("response_format", not_given),
            chat_completion=completion,
            input_tools=kwargs.get("tools", not_given),
        )


def _without_parsed(data):
    out = dict(data)
    choices = []
    for choice in data.get("choices") or []:
        choice = dict(choice)
        message = dict(choice.get("message") or {})
        message.pop("parsed", None)
        calls = []
        for call in message.get("tool_calls") or []:
            call = dict(call)
            if isinstance(call.get("function"), dict):
                call["function"] = {k: v for k, v in call["function"].items() if k != "parsed_arguments"}
            calls.append(call)
        if message.get("tool_calls"):
            message["tool_calls"] = calls
        choice["message"] = message
        choices.append(choice)
    out["choices"] = choices
    return out
