"""What a patched SDK method does on each call.

The flow is the same for sync and async methods: prepare() asks the server
whether the call is cached; a hit is served without calling the SDK, a miss
calls it (with any input overwrite applied) and finish() records the result.
Anything that goes wrong inside aco makes the call go to the SDK exactly as
without aco; only the SDK's own errors reach the program.

Requests and responses travel as JSON (the call's keyword arguments; the
response's dump(), the fields the API set, with its type), never pickle, so a shared
store cannot make code run on a teammate's machine: a recorded response is
rebuilt only through the declared response_type of its method.
"""

import copy
import inspect
import hashlib
import json
import itertools
import os
import re
import sys
import time

from aco import _log
from aco import client as _client
from aco import context as _context
from aco import protocol as _protocol
from aco.patches import selectors


_current_run = _context._run_id.get  # the subrun the calling code is in, if any
_clock = time.perf_counter


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


_JSON_SCALARS = frozenset((type(None), bool, int, float))


def _to_json(v):
    # The exact built-in types first: a request is mostly dicts, lists and
    # strings, and this runs on every call before the request goes out.
    t = type(v)
    if t is str or t in _JSON_SCALARS:
        return v
    if t is dict:
        out = {}
        for k, x in v.items():
            tx = type(x)
            j = x if tx is str or tx in _JSON_SCALARS else _to_json(x)
            if j is not _DROP:
                out[k if isinstance(k, str) else str(k)] = j
        return out
    if t is list:
        out = []
        for x in v:
            tx = type(x)
            j = x if tx is str or tx in _JSON_SCALARS else _to_json(x)
            if j is not _DROP:
                out.append(j)
        return out
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


class _Unsaid(Exception):
    """A request holds a value to drop (an SDK sentinel): see snapshot()."""


def _snapshot_default(v):
    j = _to_json(v)
    if j is _DROP:
        raise _Unsaid
    return j


try:
    import _json

    # json.dumps(kwargs, separators=(",", ":"), ensure_ascii=False,
    # allow_nan=False, check_circular=False, default=_snapshot_default): the
    # C encoder the SDKs use for their request bodies, called directly.
    _encode_request = _json.make_encoder(None, _snapshot_default, _json.encode_basestring, None, ":", ",", False, False, False)
except Exception:  # a Python without the accelerator
    _encode_request = None


def snapshot(kwargs):
    """The request as the program makes it, before the SDK has it: for a
    request of plain JSON values (text, numbers, lists, dicts; pydantic
    models through model_dump) its JSON text, written by json's C encoder in
    one call; else (an SDK sentinel to drop, a key JSON cannot hold) the
    to_json copy. Call.request parses the text, once, when it is needed:
    this runs before every call, and the walk to_json makes is hundreds of
    Python steps."""
    if _encode_request is not None:
        try:
            return "".join(_encode_request(kwargs, 0))
        except Exception:
            pass
    return _to_json(kwargs)  # to_json's: a dict is never _DROP


def dump(model):
    """A response or chunk as it is recorded: model_dump(mode="json") of the
    fields the response set (exclude_unset), the way the SDKs' own to_json()
    writes them. Rebuilt with model_validate it is the same object, its set
    fields included (a dump of every field would rebuild one that says all
    were set, so the replay's to_dict() would differ from the live one's);
    and it is smaller, which is work saved when a stream ends (a google-genai
    chunk's dump is a third of the size). Without pydantic's warnings: an
    object the SDK built without validating it (openai's construct) may
    hold a dict where a model belongs, and the program must not see aco
    warn about it."""
    return model.model_dump(mode="json", exclude_unset=True, warnings=False)


def _not_serializable(v):
    raise TypeError("Object of type %s is not JSON serializable" % type(v).__name__)


try:
    import _json

    # json.dumps(value, sort_keys=True, separators=(",", ":"),
    # ensure_ascii=False) without the circular check (a request is JSON
    # values, parsed or copied): the C encoder json.dumps would make, made
    # once rather than on every call, with the JSONEncoder object around it.
    _encode_canonical = _json.make_encoder(None, _not_serializable, _json.encode_basestring, None, ":", ",", True, False, True)
except Exception:  # a Python without the accelerator
    _encode_canonical = None


def canonical_json(value):
    """The JSON text input_hash hashes: sorted keys, no spaces, UTF-8."""
    if _encode_canonical is not None:
        return "".join(_encode_canonical(value, 0))
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def input_hash(api, request):
    # surrogatepass: a lone surrogate (a surrogateescape'd file name in a
    # prompt, say) has no UTF-8 form, and must not cost the call its node;
    # every other text hashes as it always has.
    return hashlib.sha256(canonical_json({"api": api, "request": request}).encode("utf-8", "surrogatepass")).hexdigest()


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


def rebuild(method, data, kwargs=None):
    """The SDK's own response object from its recorded JSON dump: through the
    declaration's hook when it has a rebuild stage, else response_type."""
    fn = hook(method, "rebuild")
    if fn is not None:
        try:
            return fn(data, kwargs or {})
        except Exception:
            _log.log("%s: hook %s failed to rebuild a response; using %s" % (where(method), method["hook"], method["response_type"]), exc_info=True)
    return _build(resolve(method["response_type"]), data)


def _build(cls, data):
    try:
        return cls.model_validate(data)
    except Exception:
        pass
    try:
        # A dump names every field, unset ones as null, and some SDK types
        # refuse their own nulls (google-genai 1.0's parsed): unset is what
        # they meant.
        return cls.model_validate(_without_nulls(data))
    except Exception:
        # Validation is stricter than the SDK itself, which builds responses
        # leniently (extra fields, older shapes); construct() matches it and
        # the OpenAI models build nested types in it.
        return cls.model_construct(**data)


def _without_nulls(value):
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def rebuild_chunk(sdk_import, entry):
    """One recorded stream chunk as the SDK's own type. The type is named by
    the recording, so only pydantic models inside the SDK are accepted: the
    store must not choose what code runs."""
    name = entry.get("type")
    if not isinstance(name, str) or not name.startswith(sdk_import + "."):
        raise ValueError("recorded chunk type %r is not a type of %s" % (name, sdk_import))
    cls = resolve(name)
    if not isinstance(cls, type) or not callable(getattr(cls, "model_validate", None)):
        raise ValueError("recorded chunk type %s is not a pydantic model" % name)
    return _build(cls, entry.get("data"))


_hooks = {}


def hook(method, stage):
    """The stage function of the method's declared hook, or None."""
    name = method.get("hook")
    if not name:
        return None
    obj = _hooks.get(name)
    if obj is None:
        import importlib

        module, _, attr = name.partition(":")
        try:
            obj = getattr(importlib.import_module("aco.patches.hooks." + module), attr)
        except Exception:
            _log.log("%s: cannot load hook %s" % (where(method), name), exc_info=True)
            obj = False
        _hooks[name] = obj
    return getattr(obj, stage, None) if obj else None


def where(method):
    """How the log names a declaration to fix: its file and api id."""
    return "%s: %s" % (method.get("source") or "patches", method["api"])


# --- taint ----------------------------------------------------------------
#
# aco.taint (its own issue) wraps the text of responses so that their flow
# into later requests is seen. The runtime calls it at two places: the
# origins of a request, and the wrapping of what the program gets back.
# Until aco.taint exists, both are no-ops.

_taint_absent = False


def _taint():
    global _taint_absent
    mod = sys.modules.get("aco.taint")
    if mod is not None or _taint_absent:
        return mod
    try:
        import importlib
        import importlib.util

        if importlib.util.find_spec("aco.taint") is None:
            _taint_absent = True
            return None
        return importlib.import_module("aco.taint")
    except Exception:
        _taint_absent = True
        _log.log("importing aco.taint failed; recording without taint", exc_info=True)
        return None


def taint_origins(kwargs):
    """Node ids whose taint reached the request's arguments."""
    t = _taint()
    if t is None:
        return []
    try:
        return sorted(t.get_origins(kwargs))
    except Exception:
        _log.log("aco.taint.get_origins failed", exc_info=True)
        return []


def taint_wrap(value, node_id):
    """value with its text fields carrying node_id's taint."""
    t = _taint()
    if t is None:
        return value
    try:
        out = t.wrap_response(value, node_id)
    except Exception:
        _log.log("aco.taint.wrap_response failed", exc_info=True)
        return value
    return value if out is None else out


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


_user_files = {}  # sdk_import -> {filename: whether it is the program's own}


def location(sdk_import, depth):
    """file:line of the innermost frame that is the program's own code.
    The walk starts depth frames up, at the caller of the patched method
    (3 from Call.finish, which the patched method calls; 4 from Call.cached,
    under _served): the frames below are aco's own, and each frame the walk
    passes is made into an object for it, which costs the call its time."""
    try:
        frame = sys._getframe(depth)
    except ValueError:  # the patched method called with no Python frame above it
        return ""
    known = _user_files.get(sdk_import)
    if known is None:
        known = _user_files[sdk_import] = {}
    sdk_dirs = None
    while frame is not None:
        filename = frame.f_code.co_filename
        mine = known.get(filename)
        if mine is None:
            # Each file is judged once: the walk passes the same SDK and
            # stdlib frames on every call, and judging is string work.
            if sdk_dirs is None:
                sdk_file = getattr(sys.modules.get(sdk_import), "__file__", None)
                sdk_dirs = (os.path.dirname(sdk_file) + os.sep,) if sdk_file else ()
            mine = known[filename] = _is_user_file(filename, sdk_dirs)
        if mine:
            return "%s:%d" % (filename, frame.f_lineno)
        frame = frame.f_back
    return ""


# --- one call ------------------------------------------------------------


class Call:
    """One recorded call between the cache look-up and the add_node."""

    # Made on every call, before the request goes out: slots make it cheaper.
    __slots__ = (
        "method", "sdk_import", "client", "run_id", "kwargs", "_request", "_request_hash", "_sent", "node_id",
        "answer", "is_async", "t0", "location", "edited", "output_text_edit", "streaming", "raw",
    )

    def __init__(self, method, sdk_import, client, run_id, kwargs, request, request_hash, node_id, answer=None, is_async=False, streaming=False, raw=False):
        self.method = method
        self.sdk_import = sdk_import
        self.client = client
        self.run_id = run_id
        self.kwargs = kwargs
        self._request = request  # a snapshot(); see request
        self._request_hash = request_hash
        self._sent = None  # see sent
        self.node_id = node_id
        self.answer = answer  # the cache look-up's answer; None in a first execution, which makes none
        self.is_async = is_async
        self.t0 = _clock()
        self.location = None  # see finish()
        self.edited = False
        self.output_text_edit = None
        self.streaming = streaming
        self.raw = raw

    @property
    def api(self):
        return self.method["api"]

    @property
    def request(self):
        """The program's request as JSON values: what request_hash covers."""
        r = self._request
        if type(r) is str:
            r = self._request = _protocol.loads(r)
        return r

    @property
    def sent(self):
        """The request the SDK got: the program's, or its input overwrite."""
        return self.request if self._sent is None else self._sent

    @property
    def request_hash(self):
        # Hashed on first use: with no cache look-up (a run's first
        # execution) that is when the node is recorded, after the SDK has
        # sent the request. request is the program's request as JSON, a copy
        # of its own, so the hash is the one it had at the call.
        if self._request_hash is None:
            self._request_hash = input_hash(self.method["api"], self.request)
        return self._request_hash

    def cached(self):
        """What to return without calling the SDK, or None."""
        if not (self.answer or {}).get("hit"):
            return None
        if self.location is None:
            self.location = location(self.sdk_import, 4)
        output = self.answer.get("output")
        if not isinstance(output, dict):
            return None
        text = output.get("text") if isinstance(output.get("text"), str) else None
        if self.streaming:
            if not isinstance(output.get("chunks"), list):
                # A text overwrite of a call with no recorded stream: the SDK
                # streams and its chunks get the text on the way.
                self.output_text_edit = text
                return None
            chunks = copy.deepcopy(output["chunks"])
            if text is not None:
                self.edited = _StreamEdit(self, text).apply_all(chunks) or self.edited
            self._record({"type": output.get("type"), "chunks": chunks}, self._stream_text(chunks), cached=True)
            return _replay(self, chunks)
        if "data" not in output:
            # A text overwrite of a call with no recorded output: the SDK is
            # called and its response gets the text.
            self.output_text_edit = text
            return None
        data = copy.deepcopy(output["data"])
        if text is not None:
            self.edited = self._set_output_text(data, text) or self.edited
        response = rebuild(self.method, data, self.kwargs)
        self._record({"type": type_name(type(response)), "data": data}, self._output_text(data), cached=True)
        if self.raw:
            return _CachedRaw(response)
        return taint_wrap(response, self.node_id)

    def call_kwargs(self):
        """The keyword arguments to call the SDK with: the program's, or an
        input overwrite's."""
        ov = (self.answer or {}).get("input_overwrite")
        if not isinstance(ov, dict):
            return self.kwargs
        if isinstance(ov.get("request"), dict):
            new = ov["request"]
        elif isinstance(ov.get("text"), str):
            docs = {"request": copy.deepcopy(self.request)}
            if not selectors.set_text(docs, self.method["set_input"], ov["text"]):
                _log.log("%s: input text overwrite has no place in this request (set_input); sent unchanged" % where(self.method))
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
        self._sent = new
        self.edited = True
        return kwargs

    def finish(self, result):
        """Record what the SDK returned; returns what the program gets.

        The call is located here, once (cached() does it for a hit): the
        program still waits in the call, so its frames and lines are those
        of the call, and for a stream this is while the first tokens are on
        their way, not before the request goes out."""
        if self.location is None:
            self.location = location(self.sdk_import, 3)
        if self.streaming:
            if self.method["stream"]["shape"] != "manager":
                return _proxy(self, result)
            return self._wrap_manager(result)
        response = result
        if self.raw:
            # The raw wrapper parses once and keeps the parsed object, so the
            # program's own parse() returns the very response recorded here.
            response = getattr(result, self.method["raw_response"]["parse"])()
        cls = resolve(self.method["response_type"])
        if not isinstance(response, cls):
            _log.log(
                "%s returned %s, not %s: recorded without its output; fix response_type"
                % (where(self.method), type(response).__name__, cls.__name__)
            )
            self._record({"type": type_name(type(response))}, "", cached=False)
            return result
        data = dump(response)
        if self.output_text_edit is not None and self._set_output_text(data, self.output_text_edit):
            if self.raw:
                _log.log("%s: an output edit cannot change a live raw response; returned unedited" % self.api)
            else:
                response = result = rebuild(self.method, data, self.kwargs)
                self.edited = True
        self._record({"type": type_name(type(response)), "data": data}, self._output_text(data), cached=False)
        return result if self.raw else taint_wrap(result, self.node_id)

    def _wrap_manager(self, result):
        # A stream manager (openai's .stream() helpers): its opener makes
        # the stream, which is wrapped when it is opened.
        attr = _manager_attr(result, self.method["stream"]["manager_attr"])
        opener = getattr(result, attr)
        if callable(opener):
            setattr(result, attr, lambda: _proxy(self, opener()))
        elif inspect.isawaitable(opener):

            async def opened():
                return _proxy(self, await opener)

            setattr(result, attr, opened())
        else:
            _log.log("%s: %s.%s opens no stream; not recorded" % (where(self.method), type(result).__name__, attr))
        return result

    def serve_manager(self, manager, chunks):
        """A cached stream of shape manager: the SDK built its manager (no
        I/O yet); its opener now returns the replay instead."""
        attr = _manager_attr(manager, self.method["stream"]["manager_attr"])
        opener = getattr(manager, attr)
        if inspect.isawaitable(opener):
            close = getattr(opener, "close", None)
            if close is not None:
                close()  # never awaited: no "coroutine was never awaited" warning

            async def opened():
                return _replay(self, chunks, is_async=True)

            setattr(manager, attr, opened())
        else:
            setattr(manager, attr, lambda: _replay(self, chunks, is_async=False))
        return manager

    def _set_output_text(self, data, text):
        if selectors.set_text({"response": data}, self.method["set_output"], text):
            return True
        _log.log("%s: output text overwrite has no place in this response (set_output); ignored" % where(self.method))
        return False

    def _safe(self, field, fn, default=""):
        # A selector that trips on an unexpected shape costs that field only.
        try:
            return fn()
        except Exception as e:
            self._failed(field, e)
            return default

    def _failed(self, field, e):
        _log.log("%s: %s failed on this call (%s: %s); recorded without it, fix the declaration" % (where(self.method), field, type(e).__name__, e))

    def _input_text(self, req):
        stage = hook(self.method, "input_text")
        if stage is not None:
            try:
                text = stage(req["request"])
                if isinstance(text, str):
                    return text
                _log.log("%s: hook input_text returned %s, not text" % (where(self.method), type(text).__name__))
            except Exception:
                _log.log("%s: hook input_text failed; using the input_text selectors" % where(self.method), exc_info=True)
        return selectors.text(req, self.method["input_text"])

    def _output_text(self, data):
        return self._safe("output_text", lambda: selectors.text({"response": data}, self.method["output_text"]))

    def _stream_text(self, chunks):
        """The text of a stream's chunk entries (a cached stream's)."""
        return self._safe("stream.text", lambda: "".join(t for entry in chunks for t in self._chunk_text(entry.get("data"))))

    def _chunk_text(self, data):
        """The pieces of the stream's text in one chunk's dump, in order."""
        docs = {"chunk": data}
        out = []
        for sel in self.method["stream"]["text"]:
            for value in selectors.values(docs, sel):
                out.extend(selectors._texts(value))
        return out

    def _chunk_fields_text(self, chunk):
        """_chunk_text(dump(chunk)), read off the chunk itself."""
        sels = self.method["stream"]["text"]
        walks = _text_walks.get(sels)
        if walks is None:
            walks = _text_walks[sels] = [selectors.field_walk(sel) for sel in sels]
        found = []
        for walk in walks:
            walk(chunk, found)
        out = []
        for value in found:
            if type(value) is str:  # the common case of field_texts
                out.append(value)
            elif value is not None:
                out.extend(selectors.field_texts(value))
        return out

    def _record(self, output, output_text, cached):
        req = {"request": self.sent}
        m = self.method
        took = _clock() - self.t0
        msg = {
            "type": "add_node",
            "run_id": self.run_id,
            "node_id": self.node_id,
            "api": m["api"],
            "kind": m["kind"],
            "model": self._safe("model", lambda: selectors.first_string(req, m["model"])),
            "input": self.request,
            "input_hash": self.request_hash,
            "output": output,
            "input_text": self._safe("input_text", lambda: self._input_text(req)),
            "output_text": output_text,
            "location": self.location or "",
            # The wall clock is read here rather than on the way in.
            "started_at": time.time() - took,
            "duration_ms": took * 1000.0,
            "stream": self.streaming,
            "cached": cached,
            "edited": self.edited,
        }
        # Not in the protocol's add_node yet (the server ignores unknown
        # fields); sent only when there are any, for the store to pick up.
        for field in ("attachments", "tools"):
            found = self._safe(field, lambda: selectors.strings(req, m.get(field) or ()), [])
            if found:
                msg[field] = found
        origins = taint_origins(self.kwargs)
        if origins:
            msg["origins"] = origins
        self.client.send(msg)


# --- streams ----------------------------------------------------------------


class _StreamEdit:
    """Puts an output text edit into a stream's chunk dumps: the first place
    of stream.text gets the whole text and later ones become empty, so the
    chunks add up to exactly the edit; places of stream.full_text (closing
    events that repeat the text) get the whole text."""

    def __init__(self, call, text):
        self.call = call
        self.text = text
        self.placed = False

    def apply(self, data):
        stream = self.call.method["stream"]
        docs = {"chunk": data}
        changed = False
        for sel in stream["text"]:
            for container, key in selectors.places(docs, sel):
                value = container[key]
                # A null delta (a finish chunk) stays null: it never held text.
                if value is None or not selectors._settable(value):
                    continue
                container[key] = selectors._replace(value, "" if self.placed else self.text)
                self.placed = changed = True
        if stream["full_text"] and selectors.set_text(docs, stream["full_text"], self.text):
            changed = True
        return changed

    def apply_all(self, chunks):
        for entry in chunks:
            if isinstance(entry, dict) and isinstance(entry.get("data"), dict):
                self.apply(entry["data"])
        if not self.placed:
            _log.log("%s: output text overwrite has no place in this stream (stream.text); ignored" % where(self.call.method))
        return self.placed

    def chunk(self, chunk):
        """A live chunk with the edit applied, as the SDK's own type."""
        data = dump(chunk)
        if not self.apply(data):
            return chunk
        self.call.edited = True
        return rebuild_chunk(self.call.sdk_import, {"type": type_name(type(chunk)), "data": data})


def _manager_attr(manager, attr):
    """The name under which manager holds attr. A private attribute is
    mangled with the name of the class that set it, and an SDK's async
    manager is a class of its own (anthropic's _MessageStreamManager__api_request
    is _AsyncMessageStreamManager__api_request there): one declaration names
    both through the sync name."""
    if hasattr(manager, attr):
        return attr
    i = attr.find("__", 1)
    if attr.startswith("_") and i > 1:
        for cls in type(manager).__mro__:
            name = "_%s%s" % (cls.__name__.lstrip("_"), attr[i:])
            if hasattr(manager, name):
                return name
    return attr


def _dump_chunk(chunk):
    """dump(chunk) for a pydantic model: the document model_dump_json()
    writes (plain strings, no sentinels) as Python objects, made in Rust
    with no JSON text in between, several times faster than writing the
    text and parsing it back; to_json(chunk) for anything else."""
    if getattr(chunk, "__pydantic_serializer__", None) is not None:
        try:
            return dump(chunk)
        except Exception:
            pass
    return to_json(chunk)


def _entry_json(entry):
    """A chunk's entry (JSON values) as the compact JSON text the protocol
    writes, by the request snapshot's encoder: one made once, not per call."""
    if _encode_request is not None:
        return "".join(_encode_request(entry, 0))
    return _protocol.dumps(entry)


_writers = {}  # chunk class -> _writer(class)
_text_walks = {}  # a method's stream.text -> its selectors' field walks


def _writer(cls):
    """How a stream's chunks of class cls are written down: for a pydantic
    model whose dump is pydantic's own, the start of its entry's JSON text
    and its serializer, which writes dump(chunk) as JSON text in one call
    (no Python objects made on the way, and no encoding them after); else
    None, for _chunk_entry's general way."""
    w = _writers.get(cls, _NOTHING)
    if w is _NOTHING:
        w = None
        serializer = getattr(cls, "__pydantic_serializer__", None)
        if serializer is not None and getattr(getattr(cls, "model_dump", None), "__module__", None) == "pydantic.main":
            w = ('{"type":%s,"data":' % _protocol.dumps(type_name(cls)), serializer.to_json)
        _writers[cls] = w
    return w


def _chunk_entry(chunk):
    """A chunk's entry, {"type": its class, "data": dump(chunk)}, as JSON
    text, and the dump as JSON values, or None when the chunk's serializer
    wrote the text directly (its stream text is then read off the chunk
    itself, by Call._chunk_fields_text)."""
    w = _writer(type(chunk))
    if w is not None:
        try:
            return w[0] + w[1](chunk, by_alias=False, exclude_unset=True, warnings=False).decode() + "}", None
        except Exception:
            pass
    data = _dump_chunk(chunk)
    return _entry_json({"type": type_name(type(chunk)), "data": data}), data


_make_tainter = None  # aco.taint.response_tainter, once looked up


def _chunk_tainter(node_id):
    """taint_wrap(_, node_id) for a stream's chunks; None when there is no
    taint to add."""
    global _make_tainter
    if _make_tainter is not None:
        return _make_tainter(node_id)
    t = _taint()
    if t is None:
        return None
    make = getattr(t, "response_tainter", None)
    if make is None:  # an aco.taint without it (a stand-in)
        return lambda chunk: taint_wrap(chunk, node_id)
    _make_tainter = make
    return make(node_id)


_NOTHING = object()  # a proxy's _aco_held when it holds no chunk
_FIRST = object()  # ... and no chunk has come yet


class _Proxy:
    """Stands in for the SDK's stream object: everything not defined here
    goes to it, and isinstance sees its class (the way wrapt's ObjectProxy
    does it). Iteration hands on the SDK's own chunks as they arrive.

    It also records the stream. Each chunk is written down (_aco_write:
    its dump as JSON text, and the stream text it holds) as it comes,
    before it is tainted: pydantic writes a plain str faster than a
    TaintStr, about which it asks Python two questions that fail. The
    first chunk is the exception, being on the way to the time to first
    chunk: it is held, and written down when the program asks for the next
    one, before the wait for that, or when the stream ends. So the proxy
    holds no chunk but the first, and a long stream costs its JSON text,
    not a pile of objects for the garbage collector to walk over and
    over. The node is recorded once (_aco_finish), when the stream ends,
    is closed, or is garbage-collected unfinished. The proxy is made and
    its first chunk handed on between the program's call and its first
    chunk, which is why one object does both."""

    # Slots for its own fields; a __dict__ for whatever the program sets on
    # its stream, as on the SDK's.
    __slots__ = (
        "_aco_inner", "_aco_it", "_aco_call", "_aco_held", "_aco_entries", "_aco_text",
        "_aco_done", "_aco_edit", "_aco_taint", "__dict__", "__weakref__",
    )

    def __init__(self, inner, call):
        self._aco_inner = inner
        self._aco_it = None
        self._aco_call = call
        self._aco_held = _FIRST  # then the first chunk, until it is written down
        self._aco_entries = []  # the JSON text of each chunk's entry
        self._aco_text = []  # the stream text's pieces; None once stream.text failed
        self._aco_done = False
        self._aco_edit = _StreamEdit(call, call.output_text_edit) if call.output_text_edit is not None else None
        make = _make_tainter
        self._aco_taint = make(call.node_id) if make is not None else _chunk_tainter(call.node_id)

    @property
    def __class__(self):
        return type(self._aco_inner)

    def __getattr__(self, name):
        return getattr(self._aco_inner, name)

    @property
    def response(self):
        # Helpers (openai's ChatCompletionStream, ResponseStream) close the
        # stream through its HTTP response; that must end the recording too.
        return _ClosingResponse(self._aco_inner.response, self)

    def __repr__(self):
        return repr(self._aco_inner)

    def __del__(self):
        try:
            self._aco_finish()
        except Exception:
            pass

    def _aco_add(self, chunk, first):
        """The chunk the program gets: chunk, with any output edit, written
        down (held, if it is the first), tainted."""
        if self._aco_edit is not None:
            try:
                chunk = self._aco_edit.chunk(chunk)
            except Exception:
                _log.log("%s: editing a streamed chunk failed" % self._aco_call.api, exc_info=True)
        if first:
            self._aco_held = chunk
        else:
            self._aco_write(chunk)
        taint = self._aco_taint
        return chunk if taint is None else taint(chunk)

    def _aco_write_held(self):
        chunk = self._aco_held
        self._aco_held = _NOTHING
        if chunk is not _FIRST and chunk is not _NOTHING:
            self._aco_write(chunk)

    def _aco_write(self, chunk):
        """Add chunk's entry and its stream text to the recording."""
        call = self._aco_call
        try:
            entry, data = _chunk_entry(chunk)
            self._aco_entries.append(entry)
        except Exception:
            _log.log("%s: writing down a streamed chunk failed; the stream is recorded without it" % call.api, exc_info=True)
            return
        if self._aco_text is not None:
            try:
                self._aco_text.extend(call._chunk_text(data) if data is not None else call._chunk_fields_text(chunk))
            except Exception as e:
                call._failed("stream.text", e)
                self._aco_text = None

    def _aco_finish(self):
        if self._aco_done:
            return
        self._aco_done = True
        self._aco_write_held()
        call = self._aco_call
        try:
            output = '{"type":%s,"chunks":[%s]}' % (_protocol.dumps(type_name(type(self._aco_inner))), ",".join(self._aco_entries))
            text = "" if self._aco_text is None else "".join(self._aco_text)
            call._record(_protocol.RawJSON(output), text, cached=False)
        except Exception:
            _log.log("%s: recording the stream failed" % call.api, exc_info=True)


class _StreamProxy(_Proxy):
    __slots__ = ()

    def __iter__(self):
        return self

    def __next__(self):
        held = self._aco_held
        if held is not _NOTHING and held is not _FIRST:
            self._aco_write_held()
        if self._aco_it is None:
            self._aco_it = iter(self._aco_inner)
        try:
            chunk = next(self._aco_it)
        except BaseException:
            self._aco_finish()
            raise
        # _aco_add(chunk, held is _FIRST), its common case written out: no edit.
        if self._aco_edit is not None:
            return self._aco_add(chunk, held is _FIRST)
        if held is _FIRST:
            self._aco_held = chunk
        else:
            self._aco_write(chunk)
        taint = self._aco_taint
        return chunk if taint is None else taint(chunk)

    def __enter__(self):
        enter = getattr(self._aco_inner, "__enter__", None)
        if enter is not None:
            enter()
        return self

    def __exit__(self, *exc):
        try:
            leave = getattr(self._aco_inner, "__exit__", None)
            return leave(*exc) if leave is not None else None
        finally:
            self._aco_finish()

    def close(self):
        try:
            return self._aco_inner.close()
        finally:
            self._aco_finish()


class _AsyncStreamProxy(_Proxy):
    __slots__ = ()

    def __aiter__(self):
        return self

    async def __anext__(self):
        held = self._aco_held
        if held is not _NOTHING and held is not _FIRST:
            self._aco_write_held()
        if self._aco_it is None:
            self._aco_it = self._aco_inner.__aiter__()
        try:
            chunk = await self._aco_it.__anext__()
        except BaseException:
            self._aco_finish()
            raise
        return self._aco_add(chunk, held is _FIRST)

    async def __aenter__(self):
        enter = getattr(self._aco_inner, "__aenter__", None)
        if enter is not None:
            await enter()
        return self

    async def __aexit__(self, *exc):
        try:
            leave = getattr(self._aco_inner, "__aexit__", None)
            return (await leave(*exc)) if leave is not None else None
        finally:
            self._aco_finish()

    def close(self):
        # Returns whatever the SDK's close returns (a coroutine for
        # openai's AsyncStream), for the program to await.
        try:
            return self._aco_inner.close()
        finally:
            self._aco_finish()

    def aclose(self):
        try:
            return self._aco_inner.aclose()
        finally:
            self._aco_finish()


class _ClosingResponse:
    def __init__(self, inner, proxy):
        self._aco_inner = inner
        self._aco_proxy = proxy

    def __getattr__(self, name):
        return getattr(self._aco_inner, name)

    def close(self):
        try:
            return self._aco_inner.close()
        finally:
            self._aco_proxy._aco_finish()

    def aclose(self):
        try:
            return self._aco_inner.aclose()
        finally:
            self._aco_proxy._aco_finish()


def _proxy(call, stream):
    if hasattr(type(stream), "__aiter__"):
        return _AsyncStreamProxy(stream, call)
    return _StreamProxy(stream, call)


class _NoResponse:
    """The HTTP response of a replayed stream: there is none to close."""

    def close(self):
        pass

    async def aclose(self):
        pass


class _Replay:
    """A cached stream: the recorded chunks, rebuilt as the SDK's own types
    one by one as the program iterates."""

    response = _NoResponse()

    def __init__(self, call, chunks):
        self._call = call
        self._chunks = chunks
        self._i = 0

    def _next(self):
        if self._i >= len(self._chunks):
            return None
        entry = self._chunks[self._i]
        self._i += 1
        chunk = rebuild_chunk(self._call.sdk_import, entry)
        return taint_wrap(chunk, self._call.node_id)

    def close(self):
        self._i = len(self._chunks)


class _ReplayStream(_Replay):
    def __iter__(self):
        return self

    def __next__(self):
        chunk = self._next()
        if chunk is None:
            raise StopIteration
        return chunk

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _AsyncReplayStream(_Replay):
    def __aiter__(self):
        return self

    async def __anext__(self):
        chunk = self._next()
        if chunk is None:
            raise StopAsyncIteration
        return chunk

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        _Replay.close(self)

    async def close(self):
        _Replay.close(self)

    async def aclose(self):
        _Replay.close(self)


def _replay(call, chunks, is_async=None):
    if is_async is None:
        if call.method["stream"]["shape"] == "manager":
            return _ManagerReplay(chunks)
        is_async = call.is_async
    return (_AsyncReplayStream if is_async else _ReplayStream)(call, chunks)


class _ManagerReplay:
    """A cached stream of shape manager, served once the SDK built its manager."""

    def __init__(self, chunks):
        self.chunks = chunks


class _CachedRaw:
    """What a raw-response call (with_raw_response) gets from the cache:
    parse() returns the recorded response. There was no HTTP exchange, so
    headers are empty and the status is 200."""

    status_code = 200
    retries_taken = 0
    http_response = None
    request_id = None

    def __init__(self, response):
        self._response = response
        self.headers = {}

    def parse(self, *, to=None):
        return self._response


# --- the flow ---------------------------------------------------------------

_positional = {}


def by_keyword(original, args, kwargs):
    """(args, kwargs) with the arguments passed by position moved to the
    keywords they bind to, so the request (what selectors read and the cache
    is keyed on) is the same however the program passed them: mcp's
    call_tool("add", {...}) is call_tool(name="add", arguments={...}).
    Positional-only and *args parameters stay as they are (the call then
    goes unrecorded), as does anything the signature cannot say."""
    if not args:
        return args, kwargs
    names = _positional.get(original)
    if names is None:
        names = ()
        try:
            params = list(inspect.signature(original).parameters.values())[1:]  # self
        except (TypeError, ValueError):
            params = []
        for p in params:
            if p.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD:
                break
            names += (p.name,)
        _positional[original] = names
    if len(args) > len(names) or any(name in kwargs for name in names[: len(args)]):
        return args, kwargs  # the SDK raises its own TypeError for this
    out = dict(zip(names, args))
    out.update(kwargs)
    return (), out



# Node ids named here (a first execution's) are 48 bits, as the server's
# are: a Weyl sequence from a random start, drawn again in each forked
# child, stepping by 2**48 over the golden ratio (odd, so no id repeats in
# 2**48 calls). Each step changes the leading hex digits, which are what
# `aco show` prints and `aco edit` matches by prefix, and two processes share
# an id about as rarely as two random ids do; the next id is one C call
# away, with no random generator's state to bring back into the cache.
_ID_BITS = 48
_ID_MASK = (1 << _ID_BITS) - 1
_ID_STEP = 0x9E3779B97F4B


def _id_counter():
    return itertools.count(int.from_bytes(os.urandom(_ID_BITS // 8), "big"), _ID_STEP)


_node_ids = _id_counter()


def _after_fork():
    global _node_ids
    _node_ids = _id_counter()


os.register_at_fork(after_in_child=_after_fork)


def prepare(method, sdk_import, args, kwargs, is_async=False):
    """Look the call up in the cache. None means: call the SDK unrecorded."""
    if args:
        # The SDK methods take keyword arguments only; let the SDK say so.
        return None
    client = _client.get()
    if client is None:
        return None
    # context.current_run_id(), with the client already in hand.
    run_id = _current_run() or client.run_id
    if not run_id:
        return None
    try:
        request = "".join(_encode_request(kwargs, 0))  # snapshot(kwargs), written out
    except Exception:  # as snapshot() when the encoder cannot (or there is none)
        request = _to_json(kwargs)
    # The gates are read off the program's own arguments, whose keys are the
    # request's (to_json drops only sentinels); a selector that has to be
    # evaluated reads the request as JSON.
    passthrough_gate, raw_gate, stream_gate = method.get("gates", _UNGATED)
    if passthrough_gate is None or (passthrough_gate and not kwargs.keys().isdisjoint(passthrough_gate)):
        reason = _truthy(_as_json(request), method["passthrough"])
        if reason is not None:
            _log.log("%s: passed through unrecorded (%s is set)" % (method["api"], _selector_text(reason)))
            return None
    if type(stream_gate) is str:
        flag = kwargs.get(stream_gate)
        if flag is None or flag is False or flag is True:  # absent, or a plain bool
            streaming = bool(flag)
        else:
            streaming = bool(_as_json(request).get(stream_gate))
    elif stream_gate is None:
        stream = method.get("stream")
        streaming = bool(stream) and (stream["always"] or _truthy(_as_json(request), stream["when"]) is not None)
    else:
        streaming = stream_gate
    is_raw = False
    if raw_gate is None or (raw_gate and not kwargs.keys().isdisjoint(raw_gate)):
        is_raw = _is_raw(_as_json(request), method)
    if streaming and is_raw:
        _log.log("%s: a raw streaming response passes through unrecorded" % method["api"])
        return None
    if run_id in client.fresh:
        # A run's first execution has no recordings: name the node here and
        # spare the program the look-up's round trip.
        return Call(method, sdk_import, client, run_id, kwargs, request, None, "%012x" % (next(_node_ids) & _ID_MASK), None, is_async, streaming, is_raw)
    request = _as_json(request)
    h = input_hash(method["api"], request)
    try:
        answer = client.request({"type": "cache_get", "run_id": run_id, "api": method["api"], "input_hash": h})
    except Exception as e:
        _log.log("%s: cache look-up failed (%s); calling the SDK unrecorded" % (method["api"], e))
        return None
    if not isinstance(answer, dict) or answer.get("type") != "cache_result" or not answer.get("node_id"):
        _log.log("%s: unexpected answer to cache_get: %r" % (method["api"], answer))
        return None
    return Call(method, sdk_import, client, run_id, kwargs, request, h, answer["node_id"], answer, is_async, streaming, is_raw)


def _as_json(request):
    """A snapshot() as JSON values."""
    return _protocol.loads(request) if type(request) is str else request


def _is_raw(request, method):
    raw = method.get("raw_response")
    return bool(raw) and _truthy(request, raw["when"]) is not None


def with_gates(method):
    """method with its "gates", what prepare() asks of its selectors on
    every call worked out once: for the passthrough and the raw_response
    selectors, the request fields they start with (a frozenset), or None
    where one of them starts elsewhere; a request holding none of a gate's
    fields makes its selectors false without evaluating them, which is most
    calls (those selectors read extra_headers), and an empty gate (no
    selectors declared) is never looked at. For streaming: True or
    False when it does not depend on the request, the one request field
    whose truth decides it (stream.when is request.FIELD), or None."""
    raw, stream = method.get("raw_response"), method.get("stream")
    if not stream or stream["always"]:
        stream_gate = bool(stream)
    elif len(stream["when"]) == 1 and len(stream["when"][0]) == 2 and stream["when"][0][0] == "request" and type(stream["when"][0][1]) is str:
        stream_gate = stream["when"][0][1]
    else:
        stream_gate = None
    return dict(method, gates=(_gate(method.get("passthrough") or ()), _gate(raw["when"] if raw else ()), stream_gate))


def _gate(sels):
    fields = set()
    for sel in sels:
        if len(sel) < 2 or sel[0] != "request" or type(sel[1]) is not str:
            return None
        fields.add(sel[1])
    return frozenset(fields)


_UNGATED = (None, None, None)


def _truthy(request, sels):
    """selectors.any_truthy over {"request": request}, the request field a
    selector starts with read directly: these selectors (request.stream,
    request.extra_headers[?...]) run on every call before the request goes
    out, and most find their field absent."""
    for sel in sels:
        if len(sel) >= 2 and sel[0] == "request" and type(sel[1]) is str:
            v = request.get(sel[1])
            if v is None:
                continue  # nothing under an absent or null field
            if len(sel) == 2:
                if v:
                    return sel
                continue
        if any(selectors.values({"request": request}, sel)):
            return sel
    return None


def _selector_text(sel):
    out = sel[0]
    for step in sel[1:]:
        if step is None:
            out += "[*]"
        elif isinstance(step, tuple):
            out += '[?%s=="%s"]' % (step[1], step[2])
        elif isinstance(step, int):
            out += "[%d]" % step
        else:
            out += ".%s" % step
    return out


# A patched method (sync_method, async_method) takes these steps, each
# fail-soft: prepare(), then on a cache hit the cached output (_served), any
# input overwrite (_kwargs), the SDK, and call.finish(). The steps a call
# without a hit takes are written out in it rather than behind helpers: they
# run on every call, and each Python call is time the program waits.


def _prepare_failed(method):
    _log.log("%s: recording failed before the call" % method["api"], exc_info=True)


def _served(call):
    """What a cache hit serves, or None to call the SDK."""
    try:
        return call.cached()
    except Exception:
        _log.log("%s: serving the cached output failed; calling the SDK" % where(call.method), exc_info=True)
        return None


def _kwargs(call, kwargs):
    try:
        return call.call_kwargs()
    except Exception:
        _log.log("%s: applying the input overwrite failed" % call.api, exc_info=True)
        return kwargs


def _finish_failed(call):
    _log.log("%s: recording the response failed; fix the declaration" % where(call.method), exc_info=True)


def _serve_manager(call, manager, served):
    try:
        return call.serve_manager(manager, served.chunks)
    except Exception:
        _log.log("%s: serving a cached stream failed" % where(call.method), exc_info=True)
        return None


def sync_method(method, sdk_import, original, is_async=False):
    """The patched version of original, a sync method. is_async: it belongs
    to the SDK's async client though it is no coroutine function (a
    .stream() returning an async manager), so a replayed stream must be
    async. The patched method is this closure itself, not a wrapper calling
    a function of this module: one Python call fewer on every SDK call."""

    def patched(self, *args, **kwargs):
        if args:
            args, kwargs = by_keyword(original, args, kwargs)
        try:
            call = prepare(method, sdk_import, args, kwargs, is_async)
        except Exception:
            _prepare_failed(method)
            call = None
        if call is None:
            return original(self, *args, **kwargs)
        answer = call.answer
        if answer is not None:
            if answer.get("hit"):
                served = _served(call)
                if isinstance(served, _ManagerReplay):
                    served = _serve_manager(call, original(self, *args, **kwargs), served)
                if served is not None:
                    return served
            if answer.get("input_overwrite") is not None:
                kwargs = _kwargs(call, kwargs)
        result = original(self, *args, **kwargs)
        try:
            return call.finish(result)
        except Exception:
            _finish_failed(call)
            return result

    return patched


def async_method(method, sdk_import, original):
    """The patched version of original, a coroutine function."""

    async def patched(self, *args, **kwargs):
        if args:
            args, kwargs = by_keyword(original, args, kwargs)
        try:
            call = prepare(method, sdk_import, args, kwargs, True)
        except Exception:
            _prepare_failed(method)
            call = None
        if call is None:
            return await original(self, *args, **kwargs)
        answer = call.answer
        if answer is not None:
            if answer.get("hit"):
                served = _served(call)
                if isinstance(served, _ManagerReplay):
                    served = _serve_manager(call, await original(self, *args, **kwargs), served)
                if served is not None:
                    return served
            if answer.get("input_overwrite") is not None:
                kwargs = _kwargs(call, kwargs)
        result = await original(self, *args, **kwargs)
        try:
            return call.finish(result)
        except Exception:
            _finish_failed(call)
            return result

    return patched
