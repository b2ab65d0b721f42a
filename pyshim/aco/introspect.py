"""What an SDK method looks like, for `aco patchgen`.

Run with the user's own interpreter (the one that has the SDK):

    python -m aco.introspect < {"api": "openai.completions.create"}

and it prints one JSON object: where the method lives on its class (the
class-level target a patch needs) and its async twin, how to build the
SDK's client against another base URL, the signature and its overloads, the
docstring, the return type and its fields (a pydantic model's JSON schema
when there is one), and whether the method streams. An api id is the SDK's
import name followed by the attribute path on its client, so
openai.chat.completions.create is OpenAI().chat.completions.create.

Errors print {"error": {"code": ..., "message": ...}}: "not_installed" when
the SDK does not import, "unknown_api" when the path leads nowhere (with the
names that exist at that point). Standard library only, like the rest of
the shim.
"""

import importlib
import inspect
import json
import sys
import typing

DOC_LIMIT = 4000
SCHEMA_LIMIT = 8000
DUMMY_KEY = "aco-patchgen"


class Problem(Exception):
    def __init__(self, code, message):
        Exception.__init__(self, message)
        self.code = code
        self.message = message


def dotted(obj):
    return "%s.%s" % (obj.__module__, obj.__qualname__)


def make_client(cls, base_root=None):
    """An instance of the SDK client class cls; pointed at base_root (a
    server's scheme://host:port) when given, keeping the default base URL's
    path so the SDK's requests land on the same routes as the real API's."""
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        params = {}
    kwargs = {}
    if "api_key" in params:
        kwargs["api_key"] = DUMMY_KEY
    if base_root is None:
        return cls(**kwargs)
    if "base_url" in params:
        default = str(getattr(cls(**kwargs), "base_url", "") or "")
        kwargs["base_url"] = base_root.rstrip("/") + _url_path(default)
    elif "http_options" in params:
        kwargs["http_options"] = {"base_url": base_root.rstrip("/")}
    else:
        raise Problem("no_base_url", "%s takes neither base_url nor http_options: cannot point it at a test server" % dotted(cls))
    return cls(**kwargs)


def _url_path(url):
    from urllib.parse import urlsplit

    return urlsplit(url).path.rstrip("/")


def walk(obj, path):
    for name in path:
        obj = getattr(obj, name)
    return obj


def _client_classes(mod):
    """Public classes of the SDK module, base classes first (OpenAI before
    its subclass AzureOpenAI)."""
    found = [v for k, v in sorted(vars(mod).items()) if isinstance(v, type) and not k.startswith("_")]
    return sorted(found, key=lambda c: (sum(1 for o in found if o is not c and _subclass(c, o)), c.__name__))


def _subclass(c, o):
    try:
        return issubclass(c, o)
    except TypeError:
        # TypedDicts and protocols refuse class checks.
        return False


def locate(api):
    """(module name, client info, sync function, async function or None)."""
    parts = api.split(".")
    if len(parts) < 2:
        raise Problem("unknown_api", "%r is not an api id (expected the import name and the method's path on the client, e.g. openai.chat.completions.create)" % api)
    hints = []
    for i in range(1, len(parts)):
        name = ".".join(parts[:i])
        try:
            mod = importlib.import_module(name)
        except ImportError as e:
            if i == 1:
                raise Problem("not_installed", "cannot import %s with %s (%s): install the SDK into this interpreter, or set ACO_PYTHON to the one that has it" % (name, sys.executable, e))
            continue
        path = parts[i:]
        found = _find_on_client(mod, path, hints)
        if found is not None:
            return (name,) + found
    detail = "; ".join(hints) if hints else "no client class of the SDK has an attribute %r" % parts[1]
    raise Problem("unknown_api", "unknown api %s: %s" % (api, detail))


def _find_on_client(mod, path, hints):
    for cls in _client_classes(mod):
        if cls.__name__.startswith("Async") or not hasattr(cls, path[0]):
            continue
        try:
            client = make_client(cls)
        except Exception:
            continue
        obj, missing_at = client, None
        for depth, name in enumerate(path):
            if not hasattr(obj, name):
                missing_at = depth
                break
            obj = getattr(obj, name)
        if missing_at is not None:
            have = sorted(n for n in dir(obj) if not n.startswith("_"))
            hints.append("%s has no %s (it has: %s)" % (dotted(cls) + "()." + ".".join(path[:missing_at]) if missing_at else dotted(cls) + "()", path[missing_at], ", ".join(have[:40])))
            continue
        if not callable(obj) or not inspect.ismethod(obj):
            hints.append("%s().%s is not a method" % (dotted(cls), ".".join(path)))
            continue
        info = {"sync": dotted(cls), "async": None, "async_via": None, "path": path}
        afn = None
        twin = getattr(mod, "Async" + cls.__name__, None)
        if isinstance(twin, type):
            try:
                afn = walk(make_client(twin), path)
                info["async"] = dotted(twin)
            except Exception:
                afn = None
        if afn is None and hasattr(client, "aio"):
            # google-genai keeps its async surface under client.aio.
            try:
                afn = walk(client.aio, path)
                info["async_via"] = "aio"
            except Exception:
                afn = None
        return info, obj, afn
    return None


def target_of(bound):
    """The class-level path of a bound method: the class of the resource
    object it is bound to, and its name."""
    return "%s.%s" % (dotted(type(bound.__self__)), bound.__name__)


def distribution_of(module_name):
    from importlib import metadata

    top = module_name.split(".")[0]
    rel = module_name.replace(".", "/")
    names = metadata.packages_distributions().get(top) or []
    for name in names:
        try:
            files = metadata.distribution(name).files or []
        except Exception:
            continue
        if any(str(f).startswith(rel + "/") for f in files):
            return name
    return names[0] if names else top


def project_urls(dist):
    from importlib import metadata

    out = {}
    try:
        md = metadata.metadata(dist)
        for entry in md.get_all("Project-URL") or []:
            label, _, url = entry.partition(",")
            out[label.strip()] = url.strip()
        if md.get("Home-page"):
            out.setdefault("Home-page", md["Home-page"])
    except Exception:
        pass
    return out


def _annotation(a):
    if a is inspect.Parameter.empty:
        return ""
    if isinstance(a, str):
        return a
    return inspect.formatannotation(a)


def params_of(fn):
    out = []
    for p in inspect.signature(fn).parameters.values():
        if p.name == "self":
            continue
        entry = {"name": p.name, "kind": p.kind.name.lower(), "annotation": _annotation(p.annotation), "required": p.default is inspect.Parameter.empty}
        if p.default is not inspect.Parameter.empty:
            entry["default"] = repr(p.default)[:80]
        if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            out.append(entry)
    return out


def _types_in(annotation, seen):
    """Classes named by an annotation, through unions and generics."""
    if isinstance(annotation, type) and annotation not in seen and annotation.__module__ not in ("builtins", "typing"):
        seen.append(annotation)
    origin = typing.get_origin(annotation)
    if isinstance(origin, type) and origin not in seen and origin.__module__ not in ("builtins", "typing", "collections.abc"):
        seen.append(origin)
    for arg in typing.get_args(annotation):
        _types_in(arg, seen)
    return seen


def describe_type(cls):
    entry = {"type": dotted(cls)}
    fields = getattr(cls, "model_fields", None)
    if isinstance(fields, dict):
        entry["fields"] = {k: _annotation(getattr(v, "annotation", None) or inspect.Parameter.empty) for k, v in fields.items()}
    schema = getattr(cls, "model_json_schema", None)
    if callable(schema):
        try:
            text = json.dumps(schema(), sort_keys=True)
            entry["schema"] = text if len(text) <= SCHEMA_LIMIT else text[:SCHEMA_LIMIT] + " ...(cut)"
        except Exception as e:
            entry["schema_error"] = "%s: %s" % (type(e).__name__, e)
    if "fields" not in entry and hasattr(cls, "__iter__"):
        entry["iterable"] = True
    return entry


def return_types(fn):
    annotations = []
    for f in [fn] + list(_overloads(fn)):
        try:
            hints = typing.get_type_hints(f)
        except Exception:
            continue
        if "return" in hints:
            annotations.append(hints["return"])
    seen = []
    for a in annotations:
        _types_in(a, seen)
    return [describe_type(c) for c in seen]


def _overloads(fn):
    get = getattr(typing, "get_overloads", None)
    if get is None:
        return []
    try:
        return get(inspect.unwrap(fn))
    except Exception:
        return []


def introspect(api):
    module, client, bound, abound = locate(api)
    fn = bound.__func__
    dist = distribution_of(module)
    from importlib import metadata

    try:
        version = metadata.version(dist)
    except Exception:
        version = ""
    sig = inspect.signature(fn)
    out = {
        "api": api,
        "import": module,
        "distribution": dist,
        "version": version,
        "project_urls": project_urls(dist),
        "python": sys.executable,
        "python_version": "%d.%d.%d" % sys.version_info[:3],
        "client": client,
        "target": target_of(bound),
        "async_target": target_of(abound) if abound is not None else "",
        "async_is_coroutine": bool(abound is not None and inspect.iscoroutinefunction(inspect.unwrap(abound))),
        "signature": "%s%s" % (fn.__name__, sig),
        "overloads": ["%s%s" % (fn.__name__, inspect.signature(o)) for o in _overloads(fn)],
        "params": params_of(fn),
        "returns": _annotation(sig.return_annotation),
        "return_types": return_types(fn),
        "doc": (inspect.getdoc(fn) or "")[:DOC_LIMIT],
    }
    names = [p["name"] for p in out["params"]]
    text = " ".join([out["returns"]] + out["overloads"])
    out["streams"] = "stream" in names or "Stream" in text or fn.__name__ == "stream"
    out["stream_param"] = "stream" if "stream" in names else ""
    return out


def main():
    try:
        req = json.loads(sys.stdin.read() or "{}")
        out = introspect(req["api"])
    except Problem as p:
        out = {"error": {"code": p.code, "message": p.message}}
    except Exception as e:
        out = {"error": {"code": "internal", "message": "introspection failed: %s: %s" % (type(e).__name__, e)}}
    sys.stdout.write(json.dumps(out, default=str))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
