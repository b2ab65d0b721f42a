"""Verify one patch declaration against real calls of the SDK, for `aco patchgen`.

Run with the user's interpreter, with PYTHONPATH at a copy of the shim whose
_generated/ holds the candidate declaration:

    python -m aco.verify < spec.json

spec: {"api", "import", "client" (from aco.introspect), "base_url" (the
mock LLM's http://host:port), "example" (keyword arguments of one small
call), "response" (optional: a recorded response body served when the mock
does not speak this API), "stream_param", "expect_output_text"}.

It calls the method first without any patch, then with aco's patches
installed and the real aco.client talking the runner protocol to a stand-in
server in this process, which answers the cache look-ups as a rerun would:
a miss, a miss carrying an input text edit, a hit carrying an output text
edit, and a plain hit. From what the runtime records (its add_node
messages) and what the program gets back it checks that model, input text
and output text are extracted, that an input edit reaches the SDK and reads
back, that an output edit reaches the program and reads back, and that the
program's result is the same as without the patch (live and from the
cache; streaming and the async twin too when declared). It prints one JSON
report; every failure says what was expected and what was found, for the
model that drafted the declaration to fix.
"""

import asyncio
import copy
import json
import os
import queue
import socket
import sys
import threading

EDIT_INPUT = "Output the number 7"
EDIT_INPUT_ANSWER = "7"
EDIT_OUTPUT = "aco patchgen: edited output 31"
RUN_ID = "patchgen-verify"
WAIT = 20.0


class Fatal(Exception):
    """Verification cannot go on, whatever the declaration says."""


class StandIn:
    """The aco server's side of the runner protocol, enough for one process:
    a session in its second execution (so every call looks the cache up),
    cache_get answered from `answers` (a miss when empty), add_node
    messages collected in `nodes`."""

    def __init__(self):
        self.answers = queue.Queue()
        self.nodes = queue.Queue()
        self.count = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn, conn.makefile("rb") as r:
            for line in r:
                msg = json.loads(line)
                kind = msg.get("type")
                answer = None
                if kind == "hello":
                    answer = {"type": "session", "run_id": RUN_ID, "execution": 2}
                elif kind == "cache_get":
                    self.count += 1
                    try:
                        answer = dict(self.answers.get_nowait())
                    except queue.Empty:
                        answer = {"hit": False}
                    answer.update(type="cache_result", id=msg.get("id"))
                    answer.setdefault("node_id", "verify-%d" % self.count)
                elif kind == "add_node":
                    self.nodes.put(msg)
                elif "id" in msg:
                    answer = {"type": "error", "id": msg["id"], "message": "not served by the verifier"}
                if answer is not None:
                    conn.sendall(json.dumps(answer).encode() + b"\n")

    def node(self):
        try:
            return self.nodes.get(timeout=WAIT)
        except queue.Empty:
            return None

    def close(self):
        self.sock.close()


class Recorded:
    """Serves one recorded response body to every request, for APIs the
    mock LLM does not speak."""

    def __init__(self, body):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        data = json.dumps(body).encode()

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET = do_PUT = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _status(exc):
    for attr in ("status_code", "code", "status"):
        v = getattr(exc, attr, None)
        if isinstance(v, int):
            return v
    return None


def _strings(value, out):
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            _strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out)
    return out


def _first_difference(a, b, path="response"):
    if type(a) is not type(b):
        return "%s: %r vs %r" % (path, a, b)
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return "%s.%s: present on one side only" % (path, k)
            d = _first_difference(a[k], b[k], "%s.%s" % (path, k))
            if d:
                return d
        return ""
    if isinstance(a, list):
        if len(a) != len(b):
            return "%s: %d vs %d elements" % (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = _first_difference(x, y, "%s[%d]" % (path, i))
            if d:
                return d
        return ""
    return "" if a == b else "%s: %r vs %r" % (path, a, b)


def _short(s, n=300):
    s = "" if s is None else str(s)
    return s if len(s) <= n else s[:n] + "..."


class Verifier:
    def __init__(self, spec):
        self.spec = spec
        self.checks = []
        self.logs = []
        self.extracted = {}
        self.base_url = spec["base_url"]
        self.recorded = None
        self.against_mock = True

    # --- reporting ---------------------------------------------------------

    def check(self, name, ok, detail=""):
        self.checks.append({"name": name, "ok": bool(ok), "detail": detail})
        return ok

    def _capture_log(self):
        from aco import _log

        original = _log.log

        def log(message, exc_info=False):
            text = message
            if exc_info:
                import traceback

                text += " | " + traceback.format_exc().strip().splitlines()[-1]
            self.logs.append(text)
            original(message, exc_info)

        _log.log = log

    def logs_since(self, mark):
        return self.logs[mark:]

    # --- calling the SDK ---------------------------------------------------

    def _client(self, is_async):
        from aco import introspect
        from aco.patches import runtime

        info = self.spec["client"]
        if is_async and info.get("async"):
            return introspect.make_client(runtime.resolve(info["async"]), self.base_url)
        client = introspect.make_client(runtime.resolve(info["sync"]), self.base_url)
        return client.aio if is_async else client

    def dump(self, result):
        """A JSON view of what the program got: a response's dump, or a
        stream's chunk dumps (iterating it, as a program would)."""
        from aco.patches import runtime

        if callable(getattr(result, "model_dump", None)):
            return runtime.to_json(result)
        if hasattr(result, "__iter__") and not isinstance(result, (str, bytes, dict, list)):
            chunks = [runtime.to_json(c) for c in result]
            return {"chunks": chunks}
        return runtime.to_json(result)

    async def adump(self, result):
        from aco.patches import runtime

        if hasattr(result, "__aiter__"):
            return {"chunks": [runtime.to_json(c) async for c in result]}
        return self.dump(result)

    def call(self, kwargs):
        fn = _walk(self._client(False), self.spec["client"]["path"])
        result = fn(**copy.deepcopy(kwargs))
        return result, self.dump(result)

    def acall(self, kwargs):
        async def go():
            fn = _walk(self._client(True), self.spec["client"]["path"])
            result = await fn(**copy.deepcopy(kwargs))
            return result, await self.adump(result)

        return asyncio.run(go())

    # --- the flow ------------------------------------------------------------

    def run(self):
        self._capture_log()
        method = self.declaration()
        example = self.spec.get("example")
        if not isinstance(example, dict) or not example:
            self.check("example", False, "the draft gives no example: keyword arguments of one small call of %s" % self.spec["api"])
            return
        base_obj, base = self.baseline(example)
        if base is None:
            return
        stream_kwargs = self.stream_kwargs(method, example)
        base_stream = None
        if stream_kwargs is not None:
            try:
                base_stream = self.call(stream_kwargs)[1]
            except Exception as e:
                self.check("stream", False, "the streaming example call (%s=True) fails without any patch: %s: %s" % (self.spec.get("stream_param"), type(e).__name__, _short(e)))
        has_async = bool(method.get("async_target")) and bool(self.spec["client"].get("async") or self.spec["client"].get("async_via"))
        base_async = None
        if has_async:
            try:
                base_async = self.acall(example)[1]
            except Exception as e:
                self.check("async_target", False, "the example call through the async client fails without any patch: %s: %s" % (type(e).__name__, _short(e)))
                has_async = False

        standin = StandIn()
        try:
            self.install(standin, method)
            if not self.checks or all(c["ok"] for c in self.checks):
                self.recorded_call(standin, method, example, base_obj, base)
                if stream_kwargs is not None and base_stream is not None:
                    self.stream_call(standin, stream_kwargs, base_stream)
                if has_async and base_async is not None:
                    self.async_call(standin, example, base_async)
        finally:
            standin.close()
            if self.recorded is not None:
                self.recorded.close()

    def declaration(self):
        import importlib

        from aco.patches._generated import SDKS

        module = SDKS.get(self.spec["import"])
        if module is None:
            raise Fatal("no declarations of %s were rendered" % self.spec["import"])
        for m in importlib.import_module(module).METHODS:
            if m["api"] == self.spec["api"]:
                return m
        raise Fatal("the rendered declarations of %s hold no %s" % (self.spec["import"], self.spec["api"]))

    def baseline(self, example):
        """The example call without any patch: what the program gets."""
        try:
            obj, dump = self.call(example)
            return obj, dump
        except Exception as e:
            if _status(e) != 404:
                self.check("example", False, "the example call fails without any patch (fix the example's keyword arguments): %s: %s" % (type(e).__name__, _short(e, 600)))
                return None, None
            if self.spec.get("response") is None:
                raise Fatal("the mock LLM does not serve this API (HTTP 404: %s); pass --response FILE with a recorded response body to verify against it" % _short(e))
        self.recorded = Recorded(self.spec["response"])
        self.base_url = self.recorded.base_url
        self.against_mock = False
        try:
            return self.call(example)
        except Exception as e:
            self.check("example", False, "the example call fails against the recorded response without any patch: %s: %s" % (type(e).__name__, _short(e, 600)))
            return None, None

    def stream_kwargs(self, method, example):
        param = self.spec.get("stream_param")
        stream = method.get("stream")
        if not stream or stream.get("always") or stream.get("shape") == "manager" or not param or not self.against_mock:
            return None
        return dict(example, **{param: True})

    def install(self, standin, method):
        from aco import client, patches
        from aco.patches import runtime

        mark = len(self.logs)
        client.start(standin.addr, {"type": "hello", "protocol": 1, "name": "patchgen verify", "cwd": os.getcwd(), "argv": [], "interpreter": sys.executable, "env": {}, "pid": os.getpid()})
        patches.install()
        installed = set(patches.patched())
        for field in ("target", "async_target"):
            target = method.get(field)
            if not target:
                continue
            owner_path, _, attr = target.rpartition(".")
            try:
                owner = runtime.resolve(owner_path)
                key = ("%s.%s" % (owner.__module__, owner.__qualname__), attr)
            except Exception as e:
                self.check(field, False, "%s does not resolve: %s: %s" % (target, type(e).__name__, e))
                continue
            self.check(field, key in installed, "" if key in installed else "%s was not patched: %s" % (target, "; ".join(self.logs_since(mark)) or "no reason logged"))
        want = self.spec.get("target")
        if method.get("target") and want and method["target"] != want:
            # Another class than the one the client calls through is patched
            # in vain (a re-export of the same class is fine).
            try:
                same = runtime.resolve(method["target"]) is runtime.resolve(want)
            except Exception:
                same = False
            if not same:
                self.check("target", False, "the client calls %s, but the declaration patches %s" % (want, method["target"]))

    def recorded_call(self, standin, method, example, base_obj, base):
        from aco.patches import selectors

        # 1. A miss: the SDK is called and the call recorded.
        mark = len(self.logs)
        standin.answers.put({"hit": False})
        try:
            _, got = self.call(example)
        except Exception as e:
            self.check("call", False, "the patched call raised %s: %s (without the patch it returns normally)" % (type(e).__name__, _short(e, 600)))
            return
        node = standin.node()
        if not self.check("recorded", node is not None, "" if node else "the patched call sent no add_node: the patch did not run (%s)" % ("; ".join(self.logs_since(mark)) or "no reason logged")):
            return
        self.extracted = {"model": node.get("model", ""), "input_text": node.get("input_text", ""), "output_text": node.get("output_text", "")}
        diff = _first_difference(base, got)
        self.check("result_unchanged", not diff, "" if not diff else "the program got a different result with the patch: " + diff)
        output = node.get("output") or {}
        self.check(
            "response_type",
            "data" in output or "chunks" in output,
            "" if ("data" in output or "chunks" in output) else "the response was not recorded (%s)" % ("; ".join(self.logs_since(mark)) or "response_type does not match what the method returns: %s" % output.get("type")),
        )
        model = node.get("model") or ""
        want_model = example.get("model") if isinstance(example.get("model"), str) else None
        if want_model:
            self.check("model", model == want_model, "" if model == want_model else "model extracted %r, but the request's model is %r" % (model, want_model))
        else:
            self.check("model", bool(model) or method["kind"] != "llm", "" if model else "no model extracted")
        input_text = node.get("input_text") or ""
        prompts = [s for s in _strings({k: v for k, v in example.items() if k != "model"}, []) if len(s) > 3]
        ok = bool(input_text) and (not prompts or any(p in input_text for p in prompts))
        self.check("input_text", ok, "" if ok else "input_text extracted %r; expected it to hold the example's prompt (one of %r)" % (input_text, prompts[:3]))
        output_text = node.get("output_text") or ""
        expect_out = self.spec.get("expect_output_text", True)
        if expect_out:
            # The text is pieces of the response joined by newlines (or, for
            # a stream, deltas joined): each piece must come from it.
            found = "\n".join(_strings(base, []))
            ok = bool(output_text) and all(p in found or p in found.replace("\n", "") for p in output_text.split("\n"))
            self.check("output_text", ok, "" if ok else "output_text extracted %r; expected the response's text (the response is %s)" % (output_text, _short(json.dumps(base), 800)))
        recorded = output.get("data")
        if "chunks" in output:
            recorded = output["chunks"]

        # 2. An input text edit: the SDK must get it, and it must read back.
        mark = len(self.logs)
        standin.answers.put({"hit": False, "input_overwrite": {"text": EDIT_INPUT}})
        try:
            self.call(example)
            edited = standin.node()
        except Exception as e:
            edited = None
            self.check("set_input", False, "the call with an input text edit raised %s: %s" % (type(e).__name__, _short(e)))
        if edited is not None:
            got_in = edited.get("input_text") or ""
            ok = EDIT_INPUT in got_in
            detail = "" if ok else "after an input edit to %r the input text read back is %r (%s)" % (EDIT_INPUT, got_in, "; ".join(self.logs_since(mark)) or "set_input must point at a place input_text reads")
            if ok and self.against_mock and expect_out:
                out = edited.get("output_text") or ""
                ok = out.strip() == EDIT_INPUT_ANSWER
                detail = "" if ok else "the SDK did not send the edited input: the mock answered %r to the edit %r (set_input must point at the prompt the model answers)" % (out, EDIT_INPUT)
            self.check("set_input", ok, detail)

        # 3. An output text edit from the cache: the program must get it.
        if expect_out and recorded is not None:
            mark = len(self.logs)
            entry = {"type": output.get("type"), "text": EDIT_OUTPUT}
            entry["chunks" if "chunks" in output else "data"] = recorded
            standin.answers.put({"hit": True, "output": entry})
            try:
                obj, dump = self.call(example)
                edited = standin.node()
                seen = self.program_text(method, dump)
                ok = seen == EDIT_OUTPUT and edited is not None and edited.get("output_text") == EDIT_OUTPUT
                if ok and callable(getattr(base_obj, "model_dump", None)) and not isinstance(obj, type(base_obj)):
                    ok = False
                    seen = "a %s instead of the SDK's %s" % (type(obj).__name__, type(base_obj).__name__)
                self.check("set_output", ok, "" if ok else "after an output edit to %r the program's response reads %r and the node %r (%s)" % (EDIT_OUTPUT, seen, edited and edited.get("output_text"), "; ".join(self.logs_since(mark)) or "set_output must point at the text output_text reads"))
            except Exception as e:
                self.check("set_output", False, "serving an output edit from the cache raised %s: %s" % (type(e).__name__, _short(e)))

        # 4. A plain cache hit: the program gets what the SDK returned.
        if recorded is not None:
            entry = {"type": output.get("type")}
            entry["chunks" if "chunks" in output else "data"] = recorded
            standin.answers.put({"hit": True, "output": entry})
            try:
                _, dump = self.call(example)
                standin.node()
                diff = _first_difference(base, dump)
                self.check("cached_unchanged", not diff, "" if not diff else "from the cache the program gets a different result: " + diff)
            except Exception as e:
                self.check("cached_unchanged", False, "serving from the cache raised %s: %s" % (type(e).__name__, _short(e)))

    def program_text(self, method, dump):
        from aco.patches import selectors

        if isinstance(dump, dict) and "chunks" in dump and method.get("stream"):
            out = []
            for chunk in dump["chunks"]:
                for sel in method["stream"]["text"]:
                    for v in selectors.values({"chunk": chunk}, sel):
                        out.extend(selectors._texts(v))
            return "".join(out)
        return selectors.text({"response": dump}, method.get("output_text") or ())

    def stream_call(self, standin, kwargs, base_stream):
        mark = len(self.logs)
        standin.answers.put({"hit": False})
        try:
            _, got = self.call(kwargs)
        except Exception as e:
            self.check("stream", False, "the patched streaming call raised %s: %s" % (type(e).__name__, _short(e)))
            return
        node = standin.node()
        diff = _first_difference(base_stream, got, "stream")
        text = (node or {}).get("output_text") or ""
        want = self.extracted.get("output_text") or ""
        ok = node is not None and not diff and bool(node.get("stream")) and text == want
        detail = ""
        if node is None:
            detail = "the streaming call recorded no node (%s)" % ("; ".join(self.logs_since(mark)) or "stream.when must find the stream flag")
        elif diff:
            detail = "the program got different chunks with the patch: " + diff
        elif not node.get("stream"):
            detail = "the call was not recorded as a stream: stream.when found no truthy %s" % self.spec.get("stream_param")
        elif text != want:
            detail = "the stream's text assembled from stream.text is %r; the same call without streaming gave %r" % (text, want)
        self.check("stream", ok, detail)

    def async_call(self, standin, example, base_async):
        mark = len(self.logs)
        standin.answers.put({"hit": False})
        try:
            _, got = self.acall(example)
        except Exception as e:
            self.check("async_target", False, "the patched async call raised %s: %s" % (type(e).__name__, _short(e)))
            return
        node = standin.node()
        diff = _first_difference(base_async, got)
        ok = node is not None and not diff and node.get("output_text") == self.extracted.get("output_text")
        detail = ""
        if node is None:
            detail = "the async call recorded no node (%s)" % ("; ".join(self.logs_since(mark)) or "is async_target the async client's method?")
        elif diff:
            detail = "the async client got a different result with the patch: " + diff
        elif not ok:
            detail = "the async call's output text %r differs from the sync call's %r" % (node.get("output_text"), self.extracted.get("output_text"))
        self.check("async_target", ok, detail)

    def report(self, fatal=None):
        ok = fatal is None and bool(self.checks) and all(c["ok"] for c in self.checks)
        out = {"ok": ok, "checks": self.checks, "extracted": self.extracted, "logs": self.logs[-20:], "against_mock": self.against_mock}
        if fatal is not None:
            out["fatal"] = True
            out["error"] = fatal
        return out


def _walk(obj, path):
    for name in path:
        obj = getattr(obj, name)
    return obj


def main():
    spec = json.loads(sys.stdin.read())
    v = Verifier(spec)
    fatal = None
    try:
        v.run()
    except Fatal as e:
        fatal = str(e)
    except Exception as e:
        import traceback

        fatal = "the verifier failed: %s: %s\n%s" % (type(e).__name__, e, traceback.format_exc())
    out = v.report(fatal)
    sys.stdout.write(json.dumps(out, default=str) + "\n")
    sys.stdout.flush()
    # The SDK clients' connection pools and the patched classes need no
    # orderly teardown in a process that ends here.
    os._exit(0)


if __name__ == "__main__":
    main()
