"""The rewrite worker the server's file watcher keeps alive, one per
interpreter (bytecode is per python version): ``python -m aco.rewrite.worker``.

Reads JSON lines ``{"id": N, "path": "/abs/file.py"}`` on stdin and answers
each, in order, with ``{"id": N, "ok": true}`` or ``{"id": N, "ok": false,
"error": "..."}`` on stdout once aco.rewrite.cache.refresh(path) has run.
Exits 0 at end of input.
"""

import json
import sys


def serve(inp, out):
    from aco.rewrite import cache

    for line in inp:
        if not line.strip():
            continue
        rid = None
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise ValueError("request is not a JSON object")
            rid = req.get("id")
            path = req.get("path")
            if not isinstance(path, str) or not path:
                raise ValueError("request has no path")
            cache.refresh(path)
            reply = {"id": rid, "ok": True}
        except Exception as e:
            reply = {"id": rid, "ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        out.write(json.dumps(reply) + "\n")
        out.flush()


def main():
    serve(sys.stdin, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
