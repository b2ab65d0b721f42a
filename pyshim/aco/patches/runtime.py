"""What a patched SDK method does on each call.

The flow is the same for sync and async methods: prepare() asks the server
whether the call is cached; a hit is served without calling the SDK, a miss
calls it (with any input overwrite applied) and finish() records the result.
Anything that goes wrong inside aco makes the call go to the SDK exactly as
without aco; only the SDK's own errors reach the program.

Requests and responses travel as JSON (the call's keyword arguments; the
response's model_dump(mode="json") with its type), never pickle, so a shared
store cannot make code run on a teammate's machine: a recorded response is
rebuilt only through the declared response_type of its method.
"""

import copy
import hashlib
import json
import os
import re
import sys
import time

from aco import _log
from aco.patches import selectors


def current_run_id():
    from aco import context

    return context.current_run_id()


def current_client():
    from aco import client

    return client.get()


# --- JSON ---------------------------------------------------------------

_DROP = object()
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def to_json(value):
    """A JSON-able copy of value: pydantic models through model_dump(mode="json"),
    the SDK's NotGiven/Omit sentinels dropped (they mean "not passed"), and
    anything else as {"__repr__": repr} with memory addresses removed, so the
    same request hashes the same in every process."""
    out = _to_json(value)
    return None if out is _DROP else out


def _to_json(v):
    if v is None or isinstance(v, (bool, int, float)):
        return v
    if isinstance(v, str):
        # str subclasses (taint wrappers) serialize as the plain text.
        return v if type(v) is str else str.__str__(v)
    if type(v).__name__ in ("NotGiven", "Omit"):
        return _DROP
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            j = _to_json(x)
            if j is not _DROP:
                out[k if isinstance(k, str) else str(k)] = j
        return out
    if isinstance(v, (list, tuple)):
        return [j for j in map(_to_json, v) if j is not _DROP]
    dump = getattr(v, "model_dump", None)
    if callable(dump) and not isinstance(v, type):
        try:
            return _to_json(dump(mode="json"))
        except Exception:
            _log.log("model_dump of %s failed; recording its repr" % type(v).__name__, exc_info=True)
    # Iterables other than lists (generators the SDK accepts for tools, say)
    # are not walked: consuming them would change what the SDK receives.
    return {"__repr__": _ADDRESS.sub("", repr(v))}


def canonical_json(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def input_hash(api, request):
    return hashlib.sha256(canonical_json({"api": api, "request": request}).encode("utf-8")).hexdigest()


def type_name(cls):
    return "%s.%s" % (cls.__module__, cls.__qualname__)


# --- resolving dotted paths ---------------------------------------------


_resolved = {}


def resolve(path):
    """The object at a dotted path: the longest importable module prefix,
    then attributes. Raises ImportError or AttributeError when missing.
    Found objects are remembered: a failed import attempt costs more than
    the call being recorded."""
    obj = _resolved.get(path)
    if obj is None:
        obj = _resolved[path] = _resolve(path)
    return obj


def _resolve(path):
    import importlib

    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        name = ".".join(parts[:i])
        mod = sys.modules.get(name)
        if mod is None:
            try:
                mod = importlib.import_module(name)
            except ImportError:
                if i == 1:
                    raise
                continue
        obj = mod
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(path)


def rebuild(method, data):
    """The SDK's own response object from its recorded JSON dump."""
    cls = resolve(method["response_type"])
    try:
        return cls.model_validate(data)
    except Exception:
        # Validation is stricter than the SDK itself, which builds responses
        # leniently (extra fields, older shapes); construct() matches it and
        # the OpenAI models build nested types in it.
        return cls.model_construct(**data)


# --- where the program made the call -------------------------------------

_skip_dirs = None


def _skipped_dirs():
    global _skip_dirs
    if _skip_dirs is None:
        import sysconfig

        dirs = {os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
        paths = sysconfig.get_paths()
        for key in ("stdlib", "platstdlib", "purelib", "platlib"):
            if paths.get(key):
                dirs.add(os.path.realpath(paths[key]))
                dirs.add(paths[key])
        _skip_dirs = tuple(d.rstrip(os.sep) + os.sep for d in dirs)
    return _skip_dirs


def _is_user_file(filename, sdk_dirs):
    if filename.startswith("<frozen"):
        return False
    if "%ssite-packages%s" % (os.sep, os.sep) in filename or "%sdist-packages%s" % (os.sep, os.sep) in filename:
        return False
    return not filename.startswith(_skipped_dirs() + sdk_dirs)


def location(sdk_import):
    """file:line of the innermost frame that is the program's own code."""
    sdk = sys.modules.get(sdk_import)
    sdk_file = getattr(sdk, "__file__", None)
    sdk_dirs = (os.path.dirname(sdk_file) + os.sep,) if sdk_file else ()
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if _is_user_file(filename, sdk_dirs):
            return "%s:%d" % (filename, frame.f_lineno)
        frame = frame.f_back
    return ""


# --- one call ------------------------------------------------------------


class Call:
    """One recorded call between the cache look-up and the add_node."""

    def __init__(self, method, sdk_import, client, run_id, kwargs, request, request_hash, answer, started):
        self.method = method
        self.sdk_import = sdk_import
        self.client = client
        self.run_id = run_id
        self.kwargs = kwargs
        self.request = request  # the program's request: what request_hash covers
        self.request_hash = request_hash
        self.sent = request  # the request the SDK got, after any input overwrite
        self.answer = answer
        self.started = started
        self.t0 = time.perf_counter()
        self.location = ""
        self.edited = False
        self.output_text_edit = None

    @property
    def api(self):
        return self.method["api"]

    def cached(self):
        """The response to return without calling the SDK, or None."""
        if not self.answer.get("hit"):
            return None
        output = self.answer.get("output")
        if not isinstance(output, dict):
            return None
        if "data" not in output:
            # A text overwrite of a call with no recorded output: the SDK is
            # called and its response gets the text.
            if isinstance(output.get("text"), str):
                self.output_text_edit = output["text"]
            return None
        data = copy.deepcopy(output["data"])
        if isinstance(output.get("text"), str):
            self.edited = self._set_output_text(data, output["text"]) or self.edited
        response = rebuild(self.method, data)
        self._add_node(response, data, cached=True)
        return response

    def call_kwargs(self):
        """The keyword arguments to call the SDK with: the program's, or an
        input overwrite's."""
        ov = self.answer.get("input_overwrite")
        if not isinstance(ov, dict):
            return self.kwargs
        if isinstance(ov.get("request"), dict):
            new = ov["request"]
        elif isinstance(ov.get("text"), str):
            docs = {"request": copy.deepcopy(self.request)}
            if not selectors.set_text(docs, self.method["set_input"], ov["text"]):
                _log.log("%s: input text overwrite has no place in this request; sent unchanged" % self.api)
                return self.kwargs
            new = docs["request"]
        else:
            _log.log("%s: ignoring an input overwrite of unknown shape" % self.api)
            return self.kwargs
        kwargs = {}
        for k, v in self.kwargs.items():
            # Arguments the JSON does not carry (sentinels, objects kept as
            # their repr) stay as the program passed them.
            if k not in self.request or (k in new and new[k] == self.request[k]):
                kwargs[k] = v
        for k, v in new.items():
            if k not in kwargs:
                kwargs[k] = v
        self.sent = new
        self.edited = True
        return kwargs

    def finish(self, response):
        """Record the SDK's response; returns what the program gets."""
        cls = resolve(self.method["response_type"])
        if not isinstance(response, cls):
            _log.log("%s returned %s, not %s; not recorded" % (self.api, type(response).__name__, cls.__name__))
            return response
        data = response.model_dump(mode="json")
        if self.output_text_edit is not None and self._set_output_text(data, self.output_text_edit):
            response = rebuild(self.method, data)
            self.edited = True
        self._add_node(response, data, cached=False)
        return response

    def _set_output_text(self, data, text):
        if selectors.set_text({"response": data}, self.method["set_output"], text):
            return True
        _log.log("%s: output text overwrite has no place in this response; ignored" % self.api)
        return False

    def _add_node(self, response, data, cached):
        req = {"request": self.sent}
        resp = {"response": data}
        m = self.method
        self.client.send(
            {
                "type": "add_node",
                "run_id": self.run_id,
                "node_id": self.answer["node_id"],
                "api": m["api"],
                "kind": m["kind"],
                "model": selectors.first_string(req, m["model"]),
                "input": self.request,
                "input_hash": self.request_hash,
                "output": {"type": type_name(type(response)), "data": data},
                "input_text": selectors.text(req, m["input_text"]),
                "output_text": selectors.text(resp, m["output_text"]),
                "location": self.location,
                "started_at": self.started,
                "duration_ms": (time.perf_counter() - self.t0) * 1000.0,
                "stream": False,
                "cached": cached,
                "edited": self.edited,
            }
        )


def prepare(method, sdk_import, args, kwargs):
    """Look the call up in the cache. None means: call the SDK unrecorded."""
    if args:
        # The SDK methods take keyword arguments only; let the SDK say so.
        return None
    run_id = current_run_id()
    if not run_id:
        return None
    client = current_client()
    if client is None:
        return None
    started = time.time()
    request = to_json(kwargs)
    reason = selectors.any_truthy({"request": request}, method["passthrough"])
    if reason is not None:
        _log.log("%s: passed through unrecorded (%s is set)" % (method["api"], _selector_text(reason)))
        return None
    h = input_hash(method["api"], request)
    if client.is_fresh(run_id):
        # A run's first execution has no recordings: name the node here and
        # spare the program the look-up's round trip.
        answer = {"type": "cache_result", "node_id": os.urandom(6).hex(), "hit": False}
        call = Call(method, sdk_import, client, run_id, kwargs, request, h, answer, started)
        call.location = location(sdk_import)
        return call
    try:
        answer = client.request({"type": "cache_get", "run_id": run_id, "api": method["api"], "input_hash": h})
    except Exception as e:
        _log.log("%s: cache look-up failed (%s); calling the SDK unrecorded" % (method["api"], e))
        return None
    if not isinstance(answer, dict) or answer.get("type") != "cache_result" or not answer.get("node_id"):
        _log.log("%s: unexpected answer to cache_get: %r" % (method["api"], answer))
        return None
    call = Call(method, sdk_import, client, run_id, kwargs, request, h, answer, started)
    call.location = location(sdk_import)
    return call


def _selector_text(sel):
    out = sel[0]
    for step in sel[1:]:
        out += "[*]" if step is None else "[%d]" % step if isinstance(step, int) else ".%s" % step
    return out


def _begin(method, sdk_import, args, kwargs):
    """prepare() and a cache hit, fail-soft: (call or None, response or None)."""
    try:
        call = prepare(method, sdk_import, args, kwargs)
    except Exception:
        _log.log("%s: recording failed before the call" % method["api"], exc_info=True)
        return None, None
    if call is None:
        return None, None
    try:
        return call, call.cached()
    except Exception:
        _log.log("%s: serving the cached output failed; calling the SDK" % method["api"], exc_info=True)
        return call, None


def _kwargs(call, kwargs):
    try:
        return call.call_kwargs()
    except Exception:
        _log.log("%s: applying the input overwrite failed" % call.api, exc_info=True)
        return kwargs


def _finish(call, response):
    try:
        return call.finish(response)
    except Exception:
        _log.log("%s: recording the response failed" % call.api, exc_info=True)
        return response


def call_sync(method, sdk_import, original, self, args, kwargs):
    call, cached = _begin(method, sdk_import, args, kwargs)
    if call is None:
        return original(self, *args, **kwargs)
    if cached is not None:
        return cached
    response = original(self, *args, **_kwargs(call, kwargs))
    return _finish(call, response)


async def call_async(method, sdk_import, original, self, args, kwargs):
    call, cached = _begin(method, sdk_import, args, kwargs)
    if call is None:
        return await original(self, *args, **kwargs)
    if cached is not None:
        return cached
    response = await original(self, *args, **_kwargs(call, kwargs))
    return _finish(call, response)
