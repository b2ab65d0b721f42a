"""Hooks of patches/mcp.yaml."""

import json


class tool_call:
    """A tool node shows the tool's name and its arguments; selectors take
    only strings, and the arguments are an object of any values."""

    @staticmethod
    def input_text(request):
        name = request.get("name") or ""
        args = request.get("arguments")
        if not args:
            return name
        return "%s %s" % (name, json.dumps(args, ensure_ascii=False))
