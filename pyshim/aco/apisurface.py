"""The API surface of patched SDK methods, read from source with ``ast``.

``aco apiwatch`` downloads two releases of an SDK, unpacks them, and runs this
file (as a script, with any Python 3.9+) once per release to learn what the
declarations in ``patches/`` rely on: the signature of every target, the
public methods beside it, and whether the response fields the selectors read
still exist. Nothing is installed or imported: a release may need another
Python, other dependencies, or be broken, and a watcher must still read it.

Request (JSON on stdin)::

    {"root": "/tmp/openai-3.58.0",           # the directory holding the top-level package
     "targets": ["openai.resources.responses.Responses.create", ...],
     "types": {"openai.types.responses.Response": [["output", "content", "text"], ...]}}

Reply (JSON on stdout): ``{"targets": {path: target}, "types": {path: type}}``
where a target is ``{"found", "where", "kind", "is_async", "params",
"returns", "overloads", "methods", "moved_to", "error"}`` and a type is
``{"found", "where", "paths": [{"path", "status", "at"}]}`` with status
``ok`` (every field exists), ``missing`` (field ``path[at]`` exists in no
class the annotation names) or ``unknown`` (the annotation at ``at`` names
no class this reader can follow, such as ``Dict[str, object]``).
"""

import ast
import json
import os
import sys

# Resolution follows re-exports and base classes; real SDKs need a handful of
# hops, and a bound keeps a cyclic re-export from recursing forever.
_MAX_DEPTH = 25


class _Sources:
    """Modules of one unpacked release, parsed on demand."""

    def __init__(self, root):
        self.root = root
        self._trees = {}

    def file_of(self, module):
        base = os.path.join(self.root, *module.split("."))
        for cand in (base + ".py", os.path.join(base, "__init__.py"), base + ".pyi", os.path.join(base, "__init__.pyi")):
            if os.path.isfile(cand):
                return cand
        return None

    def is_package(self, module):
        f = self.file_of(module)
        return f is not None and os.path.basename(f).startswith("__init__.")

    def tree(self, module):
        if module in self._trees:
            return self._trees[module]
        tree = None
        f = self.file_of(module)
        if f is not None:
            try:
                with open(f, "rb") as fh:
                    tree = ast.parse(fh.read(), filename=f)
            except (SyntaxError, ValueError, OSError):
                tree = None
        self._trees[module] = tree
        return tree

    def where(self, module, node):
        f = self.file_of(module) or module
        return "%s:%d" % (os.path.relpath(f, self.root).replace(os.sep, "/"), getattr(node, "lineno", 0))

    def modules_under(self, package):
        top = os.path.join(self.root, *package.split("."))
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            rel = os.path.relpath(dirpath, self.root).replace(os.sep, ".")
            for name in sorted(filenames):
                if not name.endswith(".py"):
                    continue
                stem = name[:-3]
                yield rel if stem == "__init__" else rel + "." + stem


def _top_statements(body):
    """Module-level statements, including those under if/try (TYPE_CHECKING
    blocks, import fallbacks), where SDKs put their re-exports."""
    for stmt in body:
        if isinstance(stmt, ast.If):
            yield from _top_statements(stmt.body)
            yield from _top_statements(stmt.orelse)
        elif isinstance(stmt, ast.Try):
            yield from _top_statements(stmt.body)
            for h in stmt.handlers:
                yield from _top_statements(h.body)
            yield from _top_statements(stmt.orelse)
            yield from _top_statements(stmt.finalbody)
        else:
            yield stmt


def _absolute(module, is_package, level, name):
    if level == 0:
        return name
    parts = module.split(".")
    if not is_package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    if name:
        parts.append(name)
    return ".".join(parts)


class _Resolver:
    def __init__(self, sources):
        self.src = sources

    # A resolved name is one of ("module", module), ("class", module, node),
    # ("func", module, node) or ("alias", module, expr): an assignment whose
    # value is a type expression (Union[...], Annotated[...]).

    def lookup(self, module, name, depth=0):
        if depth > _MAX_DEPTH:
            return None
        tree = self.src.tree(module)
        found = None
        if tree is not None:
            for stmt in _top_statements(tree.body):
                r = self._binding(module, stmt, name, depth)
                if r is not None:
                    found = r  # the last binding wins, as when Python runs the module
        if found is None and self.src.file_of(module + "." + name):
            found = ("module", module + "." + name)
        if found is None and self.src.is_package(module):
            # Packages that export lazily (a __getattr__ over a table of
            # strings) bind the name nowhere; its submodules define it.
            for sub in sorted(self._submodules(module)):
                r = self._binding_in(sub, name, depth + 1)
                if r is not None and r[0] == "class":
                    return r
        return found

    def _binding_in(self, module, name, depth):
        tree = self.src.tree(module)
        if tree is None:
            return None
        found = None
        for stmt in _top_statements(tree.body):
            if isinstance(stmt, ast.ClassDef) and stmt.name == name:
                found = ("class", module, stmt)
        return found

    def _submodules(self, package):
        d = os.path.dirname(self.src.file_of(package))
        for name in os.listdir(d):
            if name.endswith(".py") and name != "__init__.py":
                yield package + "." + name[:-3]

    def _binding(self, module, stmt, name, depth):
        if isinstance(stmt, ast.ClassDef) and stmt.name == name:
            return ("class", module, stmt)
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == name:
            return ("func", module, stmt)
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
            return self._value(module, stmt.value, depth)
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == name and stmt.value is not None:
            return self._value(module, stmt.value, depth)
        if isinstance(stmt, ast.ImportFrom):
            src = _absolute(module, self.src.is_package(module), stmt.level, stmt.module)
            for alias in stmt.names:
                if alias.name == "*":
                    if src != module:
                        r = self.lookup(src, name, depth + 1)
                        if r is not None:
                            return r
                elif (alias.asname or alias.name) == name:
                    if self.src.file_of(src + "." + alias.name):
                        return ("module", src + "." + alias.name)
                    return self.lookup(src, alias.name, depth + 1)
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname == name:
                    return ("module", alias.name)
        return None

    def _value(self, module, value, depth):
        # A plain rename (Foo = Bar) is Bar; anything else is kept as an
        # expression for the type reader to walk.
        if isinstance(value, (ast.Name, ast.Attribute)):
            r = self.expr(module, value, depth + 1)
            if r is not None:
                return r
        return ("alias", module, value)

    def expr(self, module, node, depth=0):
        """Resolves a Name or dotted Attribute as written in module."""
        if isinstance(node, ast.Name):
            return self.lookup(module, node.id, depth + 1)
        if isinstance(node, ast.Attribute):
            base = self.expr(module, node.value, depth + 1)
            return self.member(base, node.attr, depth + 1)
        return None

    def member(self, base, name, depth=0):
        if base is None or depth > _MAX_DEPTH:
            return None
        if base[0] == "module":
            if self.src.file_of(base[1] + "." + name):
                return ("module", base[1] + "." + name)
            return self.lookup(base[1], name, depth + 1)
        if base[0] == "class":
            for owner_module, cls in self.mro(base[1], base[2]):
                r = _class_member(owner_module, cls, name)
                if r is not None:
                    return r
        return None

    def dotted(self, path):
        parts = path.split(".")
        cur = ("module", parts[0]) if self.src.file_of(parts[0]) else None
        for part in parts[1:]:
            cur = self.member(cur, part)
            if cur is None:
                return None
        return cur

    def mro(self, module, cls, depth=0):
        """The class, then its bases found in this release, depth first (close
        enough to the C3 order for reading which definition wins)."""
        out = [(module, cls)]
        if depth > _MAX_DEPTH:
            return out
        for b in cls.bases:
            if isinstance(b, ast.Subscript):  # Generic[T], SyncAPIResource[...]
                b = b.value
            r = self.expr(module, b, depth + 1)
            if r is not None and r[0] == "class":
                for pair in self.mro(r[1], r[2], depth + 1):
                    if pair not in out:
                        out.append(pair)
        return out


def _is_overload(fn):
    for d in fn.decorator_list:
        if (isinstance(d, ast.Name) and d.id == "overload") or (isinstance(d, ast.Attribute) and d.attr == "overload"):
            return True
    return False


def _class_member(module, cls, name):
    defs = []
    other = None
    for stmt in cls.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == name:
            defs.append(stmt)
        elif isinstance(stmt, ast.ClassDef) and stmt.name == name:
            other = ("class", module, stmt)
        elif isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
            other = ("attribute", module, stmt)
    if defs:
        impl = [d for d in defs if not _is_overload(d)]
        fn = (impl or defs)[-1]
        return ("method", module, fn, len(defs) - len(impl))
    return other


def _unparse(node):
    if node is None:
        return None
    try:
        return ast.unparse(node)
    except Exception:  # an exotic node on an old Python: the text is informational
        return "?"


def _params(fn):
    a = fn.args
    out = []
    positional = list(a.posonlyargs) + list(a.args)
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    for i, arg in enumerate(positional):
        kind = "positional_only" if i < len(a.posonlyargs) else "positional_or_keyword"
        out.append(_param(arg, kind, defaults[i]))
    if a.vararg is not None:
        out.append(_param(a.vararg, "var_positional", None))
    for arg, d in zip(a.kwonlyargs, a.kw_defaults):
        out.append(_param(arg, "keyword_only", d))
    if a.kwarg is not None:
        out.append(_param(a.kwarg, "var_keyword", None))
    return out


def _param(arg, kind, default):
    return {
        "name": arg.arg,
        "kind": kind,
        "has_default": default is not None,
        "default": _unparse(default),
        "annotation": _unparse(arg.annotation) or "",
    }


def _public_methods(cls):
    names = set()
    for stmt in cls.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and not stmt.name.startswith("_"):
            names.add(stmt.name)
    return sorted(names)


def _target(res, path):
    out = {"found": False, "where": "", "kind": "", "is_async": False, "params": [], "returns": "",
           "overloads": 0, "methods": [], "moved_to": [], "error": ""}
    try:
        r = res.dotted(path)
    except RecursionError:
        r = None
        out["error"] = "re-exports too deep to follow"
    if r is None:
        out["moved_to"] = _find_elsewhere(res, path)
        return out
    out["found"] = True
    out["where"] = res.src.where(r[1], r[2]) if len(r) > 2 else ""
    if r[0] in ("method", "func"):
        fn = r[2]
        out["kind"] = "method" if r[0] == "method" else "function"
        out["is_async"] = isinstance(fn, ast.AsyncFunctionDef)
        out["params"] = _params(fn)
        out["returns"] = _unparse(fn.returns) or ""
        out["overloads"] = r[3] if r[0] == "method" else 0
        owner = res.dotted(path.rsplit(".", 1)[0])
        if owner is not None and owner[0] == "class":
            out["methods"] = _public_methods(owner[2])
    else:
        # Found, but not as a def: an assignment (a wrapper built at class
        # creation), a class or a module. Its signature cannot be read.
        out["kind"] = {"attribute": "attribute", "class": "class", "module": "module", "alias": "attribute"}[r[0]]
    return out


def _find_elsewhere(res, path):
    """Where a missing Class.method (or function) is defined now, if
    anywhere in the release: the usual shape of a move."""
    parts = path.split(".")
    if len(parts) < 3 or not res.src.file_of(parts[0]):
        return []
    cls_name, meth = parts[-2], parts[-1]
    hits = []
    for module in res.src.modules_under(parts[0]):
        tree = res.src.tree(module)
        if tree is None:
            continue
        for stmt in tree.body:
            if isinstance(stmt, ast.ClassDef) and stmt.name == cls_name and _class_member(module, stmt, meth):
                hits.append(module + "." + cls_name + "." + meth)
        if len(hits) >= 5:
            break
    return hits


def _fields(res, module, cls):
    """The annotated fields of a class and its bases found in the release,
    as name -> (module, annotation)."""
    fields = {}
    for owner_module, c in reversed(res.mro(module, cls)):
        for stmt in c.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                if "ClassVar" in (_unparse(stmt.annotation) or ""):
                    continue
                fields[stmt.target.id] = (owner_module, stmt.annotation)
    return fields


def _classes_in(res, module, expr, depth=0, seen=None):
    """The classes a type expression names (through aliases, unions,
    Optional, List, Annotated, string forward references)."""
    seen = set() if seen is None else seen
    out = []
    if expr is None or depth > _MAX_DEPTH:
        return out
    for node in ast.walk(expr):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                inner = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                continue  # a Literal["..."] value, not a forward reference
            if isinstance(inner, (ast.Name, ast.Attribute, ast.Subscript, ast.BinOp)):
                out.extend(_classes_in(res, module, inner, depth + 1, seen))
            continue
        if not isinstance(node, (ast.Name, ast.Attribute)):
            continue
        r = res.expr(module, node)
        if r is None:
            continue
        key = (r[0], r[1], getattr(r[2], "lineno", 0) if len(r) > 2 else 0)
        if key in seen:
            continue
        seen.add(key)
        if r[0] == "class":
            out.append((r[1], r[2]))
        elif r[0] == "alias":
            out.extend(_classes_in(res, r[1], r[2], depth + 1, seen))
    return out


def _type(res, path, field_paths):
    out = {"found": False, "where": "", "paths": []}
    r = res.dotted(path)
    if r is None or r[0] != "class":
        for p in field_paths:
            out["paths"].append({"path": p, "status": "missing", "at": 0})
        return out
    out["found"] = True
    out["where"] = res.src.where(r[1], r[2])
    for p in field_paths:
        classes = [(r[1], r[2])]
        status, at = "ok", len(p)
        for i, field in enumerate(p):
            if not classes:
                status, at = "unknown", i
                break
            nxt = []
            hit = False
            for module, cls in classes:
                f = _fields(res, module, cls).get(field)
                if f is not None:
                    hit = True
                    for c in _classes_in(res, f[0], f[1]):
                        if c not in nxt:
                            nxt.append(c)
            if not hit:
                status, at = "missing", i
                break
            classes = nxt
        out["paths"].append({"path": p, "status": status, "at": at})
    return out


def surface(request):
    res = _Resolver(_Sources(request["root"]))
    return {
        "targets": {t: _target(res, t) for t in request.get("targets", [])},
        "types": {t: _type(res, t, ps) for t, ps in sorted(request.get("types", {}).items())},
    }


def main():
    request = json.load(sys.stdin)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 5000))
    json.dump(surface(request), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
