"""The AST rewrite that lets taint flow through code aco cannot wrap.

A pure function from source to a module tree: string building (f-strings,
``"..." % args``) and calls that may leave the user's code go through the
helpers in aco.rewrite.helpers, which the rewritten module imports under a
name no source can spell (``_@aco``).

What the rewrite promises is that the program cannot tell: every new node
takes the position of the node it replaces (tracebacks point at the same lines
and columns), no new names appear in any function's locals, and on untainted
values a rewritten call runs with no helper frame between caller and callee
(``prep`` hands back a functools.partial that the caller's frame calls), so
warnings' stacklevel, logging's caller, ``sys._getframe`` users and tracebacks
see what plain python shows.

Left alone, on purpose:
- ``+``/``+=``: a tainted str is a str subclass whose ``__add__``/``__radd__``
  carry its origins, and python tries a subclass's reflected method first, so
  ``"a" + t`` is tainted without help; routing every ``+`` through a helper
  would slow integer arithmetic and add a frame to ``"n: " + 3``'s traceback.
- calls with no arguments, or only constant ones: nothing to untaint and no
  origins to add;
- methods of lists, dicts and sets that a name is only ever bound to (by a
  display or comprehension): they keep their arguments as they are, so the
  helper would hand the call back untouched anyway (``rows.append(x)``,
  ``counts.get(w, 0)``, the commonest calls in loops);
- calls with ``*args``/``**kwargs``: the interpreter's error messages for a bad
  unpacking name the callee, and through a helper they would name the helper;
- builtins that must keep identity or see the caller's frame (KEEP), callees
  that look at their caller's frame (FRAME_SENSITIVE), and calls to names the
  module binds to its own or its package's functions, classes and modules;
- decorators, annotations (they become strings under ``from __future__ import
  annotations``) and ``match`` patterns.
"""

import ast

# The cache key's version and the opt-out marker live in the package, which
# the hook and the cache read without importing this module.
from aco.rewrite import MARKER, REWRITER_VERSION, has_opt_out  # noqa: F401

HELPERS_MODULE = "aco.rewrite.helpers"
# Not an identifier, so no source can read or shadow it; the leading
# underscore keeps it out of ``from module import *``.
HELPERS_NAME = "_@aco"


KEEP = frozenset(
    {
        # see or change the calling frame
        "super",
        "locals",
        "globals",
        "vars",
        "dir",
        "eval",
        "exec",
        "compile",
        "__import__",
        "breakpoint",
        # identity, type and attribute plumbing
        "isinstance",
        "issubclass",
        "type",
        "id",
        "hash",
        "callable",
        "hasattr",
        "getattr",
        "setattr",
        "delattr",
        "object",
        "property",
        "staticmethod",
        "classmethod",
        # iteration protocol: results are iterators, which are never tainted
        "iter",
        "next",
        "aiter",
        "anext",
        "range",
        "enumerate",
        "zip",
        "reversed",
        "map",
        "filter",
        # conversions: a taint wrapper's own __str__/__repr__/__format__
        # decide what they return. int() and float() are not here: their
        # result is always a plain number (CPython makes an exact int of
        # whatever __int__ returns), so int(answer) must be re-tainted.
        "str",
        "repr",
        "ascii",
        "format",
        # no result worth tainting
        "len",
        "print",
        "open",
        "bool",
        "memoryview",
    }
)

# Callees that find "their caller" by walking frames, matched by the called
# name's last part; a taint helper frame (on the tainted path) would be taken
# for the caller.
FRAME_SENSITIVE = frozenset(
    {
        "warn",
        "warn_explicit",
        "_getframe",
        "currentframe",
        "stack",
        "getouterframes",
        "getframeinfo",
        "extract_stack",
        "print_stack",
        "format_stack",
        "findCaller",
        "debug",
        "info",
        "warning",
        "error",
        "exception",
        "critical",
        "fatal",
        "log",
        "namedtuple",
        "NamedTuple",
        "TypedDict",
        "TypeVar",
        "ParamSpec",
        "TypeVarTuple",
        "NewType",
        "Enum",
        "IntEnum",
        "StrEnum",
        "Flag",
        "IntFlag",
        "make_dataclass",
    }
)

# Methods that read a whole file when called without arguments: rewritten to
# ``reading(x.read)()``, so that text written into the file with taint (by
# this run or an earlier one) comes back tainted.
_WHOLE_READS = frozenset({"read", "readlines", "read_text", "read_bytes"})

# Receivers whose methods are the module's own code in all but odd cases.
_SELF_NAMES = frozenset({"self", "cls"})


def rewrite(source, filename, *, is_user_module=None):
    """Parse source (str) and return the rewritten module tree, ready for
    compile(tree, filename, "exec", dont_inherit=True). Raises SyntaxError as
    compile would. is_user_module(dotted_name) tells whether an absolutely
    imported module is the user's own code (calls into it are left alone);
    without it only relative imports count as the user's."""
    tree = ast.parse(source, filename)
    return rewrite_tree(tree, is_user_module=is_user_module)


def rewrite_tree(tree, *, is_user_module=None):
    """Rewrite a parsed module in place and return it. Every node it makes
    takes its position from the node it replaces, so no pass over the whole
    tree to fill in locations is needed."""
    own = _own_names(tree, is_user_module or (lambda name: False))
    t = _Rewriter(own, _rebound_anywhere(tree))
    t.scopes.append(_Scope(tree.body, (), False))
    body = tree.body
    for i, stmt in enumerate(body):
        body[i] = t.visit(stmt)
    if t.used:
        _insert_import(tree)
    return tree


def compile_rewritten(source, filename, *, is_user_module=None):
    """rewrite then compile the way importlib compiles a source file."""
    tree = rewrite(source, filename, is_user_module=is_user_module)
    return compile(tree, filename, "exec", dont_inherit=True)


def _own_names(tree, is_user_module):
    """Names the module binds to its own code: functions and classes it
    defines (at any depth; a shadowing name is rare and only costs a helper
    call), relative imports, and imports of the user's modules. All of them
    are statements, and statements only nest in statements, so expressions
    (most of the tree) are not walked."""
    names = set()
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        t = type(node)
        if t is ast.FunctionDef or t is ast.AsyncFunctionDef or t is ast.ClassDef:
            names.add(node.name)
        elif t is ast.ImportFrom:
            if node.level or (node.module and _safe(is_user_module, node.module)):
                for a in node.names:
                    if a.name != "*":
                        names.add(a.asname or a.name)
            continue
        elif t is ast.Import:
            for a in node.names:
                if _safe(is_user_module, a.name):
                    names.add(a.asname or a.name.partition(".")[0])
            continue
        for field in _STMT_LISTS.get(t, ()):
            stack.extend(getattr(node, field))
    return frozenset(names)


def _stmt_lists():
    """Per statement type, its fields that hold statements (or handlers and
    match cases, which hold statements)."""
    out = {}
    for name in dir(ast):
        cls = getattr(ast, name)
        if isinstance(cls, type) and issubclass(cls, (ast.stmt, ast.excepthandler, ast.match_case)):
            fields = tuple(f for f in ("body", "orelse", "finalbody", "handlers", "cases") if f in cls._fields)
            if fields:
                out[cls] = fields
    return out


_STMT_LISTS = _stmt_lists()


def _safe(pred, name):
    try:
        return bool(pred(name))
    except Exception:
        return False


def _insert_import(tree):
    """Put the helpers' import after the docstring and any ``from __future__``
    import, which must stay first."""
    body = tree.body
    i = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        if isinstance(body[0].value.value, str):
            i = 1
    while i < len(body) and isinstance(body[i], ast.ImportFrom) and body[i].module == "__future__":
        i += 1
    # On the line of the statement it precedes, so no line of the file gains
    # a statement it does not have.
    lineno = body[i].lineno if i < len(body) else 1
    imp = ast.Import(names=[ast.alias(name=HELPERS_MODULE, asname=HELPERS_NAME)])
    imp.lineno = imp.end_lineno = lineno
    imp.col_offset = imp.end_col_offset = 0
    for a in imp.names:
        ast.copy_location(a, imp)
    body.insert(i, imp)


def _trivially_plain(node):
    """Expressions whose value cannot carry taint."""
    if isinstance(node, (ast.Constant, ast.Lambda)):
        return True
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(_trivially_plain(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _trivially_plain(k) for k in node.keys) and all(
            _trivially_plain(v) for v in node.values
        )
    if isinstance(node, ast.Name):
        return node.id in _SELF_NAMES or node.id in ("None", "True", "False")
    return False


def _last_name(func):
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _escape(text):
    return text.replace("{", "{{").replace("}", "}}")


_CONVERSIONS = {-1: "", ord("s"): "!s", ord("r"): "!r", ord("a"): "!a"}


# Methods of list, dict and set. Bound to an exact list, dict or set they
# keep their arguments as they are (helpers.prep hands such calls back
# untouched), and what they return was stored as it was. fromkeys is not
# here: through an instance it is the class's, and makes a new dict.
_CONTAINER_METHODS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "remove",
        "index",
        "count",
        "pop",
        "popitem",
        "clear",
        "copy",
        "reverse",
        "sort",
        "get",
        "setdefault",
        "update",
        "keys",
        "values",
        "items",
        "add",
        "discard",
        "difference_update",
        "intersection_update",
        "symmetric_difference_update",
        "union",
        "intersection",
        "difference",
        "symmetric_difference",
        "issubset",
        "issuperset",
        "isdisjoint",
    }
)

_CONTAINER_VALUES = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)
# list(), dict(), set(): a new container too, while the builtins are not
# shadowed (asked where the name is read; set() has no display).
_CONTAINER_TYPES = frozenset({"list", "dict", "set"})


def _new_container(value):
    """0 when value is not a new list, dict or set; 1 for a display or
    comprehension; 2 for a call of the builtin list, dict or set."""
    if isinstance(value, _CONTAINER_VALUES):
        return 1
    if (
        type(value) is ast.Call
        and type(value.func) is ast.Name
        and value.func.id in _CONTAINER_TYPES
        and not value.args
        and not value.keywords
    ):
        return 2
    return 0


def _rebound_anywhere(tree):
    """Names some function declares global or nonlocal: it may rebind them
    to anything, so they are never taken for containers."""
    names = set()
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        t = type(node)
        if t is ast.Global or t is ast.Nonlocal:
            names.update(node.names)
            continue
        for field in _STMT_LISTS.get(t, ()):
            stack.extend(getattr(node, field))
    return names


def _params(args):
    names = [a.arg for a in args.posonlyargs]
    names.extend(a.arg for a in args.args)
    names.extend(a.arg for a in args.kwonlyargs)
    if args.vararg:
        names.append(args.vararg.arg)
    if args.kwarg:
        names.append(args.kwarg.arg)
    return names


def _bindings(nodes, params):
    """The names a scope (its statements, or a lambda's body) binds, those
    of them bound only ever to a new list, dict or set (by a display, a
    comprehension or an empty list()/dict()/set(), or kept by an augmented
    assignment), and which of those rely on list, dict or set being the
    builtins. Nested scopes'
    bodies are not entered; comprehensions are, so their targets count
    against a name (conservative: it only keeps a helper call)."""
    bound = set(params)
    bad = set(params)
    good = set()
    by_call = set()
    star = False
    stack = list(nodes)
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        node = pop()
        t = type(node)
        if t is ast.Name:
            if type(node.ctx) is not ast.Load:
                bound.add(node.id)
                bad.add(node.id)
            continue
        if t is ast.Constant:
            continue
        if t is ast.Assign:
            container = _new_container(node.value)
            for target in node.targets:
                if container and type(target) is ast.Name:
                    bound.add(target.id)
                    good.add(target.id)
                    if container == 2:
                        by_call.add(target.id)
                else:
                    push(target)
            push(node.value)
            continue
        if t is ast.AnnAssign or t is ast.AugAssign:
            target, value = node.target, node.value
            if type(target) is ast.Name:
                bound.add(target.id)
                if t is ast.AnnAssign and value is not None:
                    container = _new_container(value)
                    (good if container else bad).add(target.id)
                    if container == 2:
                        by_call.add(target.id)
            else:
                push(target)
            if value is not None:
                push(value)
            continue
        if t is ast.FunctionDef or t is ast.AsyncFunctionDef or t is ast.ClassDef:
            bound.add(node.name)
            bad.add(node.name)
            extend(node.decorator_list)
            if t is ast.ClassDef:
                extend(node.bases)
                extend(k.value for k in node.keywords)
            else:
                extend(node.args.defaults)
                extend(d for d in node.args.kw_defaults if d is not None)
            continue
        if t is ast.Lambda:
            extend(node.args.defaults)
            extend(d for d in node.args.kw_defaults if d is not None)
            continue
        if t is ast.Import or t is ast.ImportFrom:
            for a in node.names:
                if a.name == "*":
                    star = True
                    continue
                name = a.asname or (a.name.partition(".")[0] if t is ast.Import else a.name)
                bound.add(name)
                bad.add(name)
            continue
        if t is ast.Global or t is ast.Nonlocal:
            bound.update(node.names)
            bad.update(node.names)
            continue
        name = None
        if t is ast.ExceptHandler or t is ast.MatchAs or t is ast.MatchStar:
            name = node.name
        elif t is ast.MatchMapping:
            name = node.rest
        if name:
            bound.add(name)
            bad.add(name)
        for field in node._fields:
            v = getattr(node, field, None)
            if type(v) is list:
                for item in v:
                    if isinstance(item, ast.AST):
                        push(item)
            elif isinstance(v, ast.AST):
                push(v)
    containers = frozenset() if star else frozenset(good - bad)
    return bound, containers, by_call & containers


class _Scope:
    """A module, function, lambda or class body; what it binds is worked out
    on the first question, as most scopes are never asked."""

    __slots__ = ("nodes", "params", "is_class", "_answer")

    def __init__(self, nodes, params, is_class):
        self.nodes = nodes
        self.params = params
        self.is_class = is_class
        self._answer = None

    def bindings(self):
        if self._answer is None:
            self._answer = _bindings(self.nodes, self.params)
        return self._answer


def _at(new, old):
    """new, at old's place in the source."""
    new.lineno = old.lineno
    new.col_offset = old.col_offset
    new.end_lineno = old.end_lineno
    new.end_col_offset = old.end_col_offset
    return new


def _leaves():
    """Node types with nothing inside that the rewrite could change."""
    out = {ast.Name, ast.Constant, ast.Pass, ast.Break, ast.Continue, ast.Global, ast.Nonlocal}
    out.update({ast.Import, ast.ImportFrom, ast.alias})
    kinds = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)
    for name in dir(ast):
        cls = getattr(ast, name)
        if isinstance(cls, type) and issubclass(cls, kinds):
            out.add(cls)
    return frozenset(out)


_LEAVES = _leaves()
_AST = ast.AST


class _Rewriter(ast.NodeTransformer):
    def __init__(self, own, rebound=()):
        self.own = own
        self.rebound = rebound
        self.used = False
        self.scopes = []

    # NodeTransformer's visit and generic_visit, without the per-node method
    # name lookup and without descending into names, constants and operators:
    # most of a tree, and nothing there is rewritten. No visitor here drops a
    # node or returns several, so lists are changed in place.

    def visit(self, node):
        method = _METHODS.get(type(node))
        if method is None:
            return self.generic_visit(node)
        return method(self, node)

    def generic_visit(self, node):
        for field in node._fields:
            v = getattr(node, field, None)
            if type(v) is list:
                for i, item in enumerate(v):
                    if isinstance(item, _AST) and type(item) not in _LEAVES:
                        new = self.visit(item)
                        if new is not item:
                            v[i] = new
            elif isinstance(v, _AST) and type(v) not in _LEAVES:
                new = self.visit(v)
                if new is not v:
                    setattr(node, field, new)
        return node

    def _helper(self, name, loc):
        self.used = True
        value = _at(ast.Name(id=HELPERS_NAME, ctx=ast.Load()), loc)
        return _at(ast.Attribute(value=value, attr=name, ctx=ast.Load()), loc)

    def _is_container(self, name):
        """Whether name, read here, is always an exact list, dict or set."""
        if name in self.rebound:
            return False
        scopes = self.scopes
        innermost = len(scopes) - 1
        for i in range(innermost, -1, -1):
            scope = scopes[i]
            if scope.is_class:
                # Class bodies are rare homes for loops; a name bound there
                # (or read from a method, which skips the class) stays a call.
                if i == innermost and name in scope.bindings()[0]:
                    return False
                continue
            bound, containers, by_call = scope.bindings()
            if name in bound:
                return name in containers and (name not in by_call or not self._shadowed(i))
        return False

    def _shadowed(self, i):
        """Whether list, dict or set may not be the builtins in scope i."""
        if not _CONTAINER_TYPES.isdisjoint(self.rebound):
            return True
        for scope in self.scopes[: i + 1]:
            if not scope.is_class and not _CONTAINER_TYPES.isdisjoint(scope.bindings()[0]):
                return True
        return False

    # --- places left alone --------------------------------------------------

    def _visit_list(self, nodes):
        return [self.visit(n) for n in nodes]

    def _visit_opt(self, node):
        return None if node is None else self.visit(node)

    def visit_arguments(self, node):
        # Defaults run; annotations stay as written.
        node.defaults = self._visit_list(node.defaults)
        node.kw_defaults = [self._visit_opt(d) for d in node.kw_defaults]
        return node

    def _visit_function(self, node):
        node.args = self.visit(node.args)
        self.scopes.append(_Scope(node.body, _params(node.args), False))
        node.body = self._visit_list(node.body)
        self.scopes.pop()
        return node

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def visit_Lambda(self, node):
        node.args = self.visit(node.args)
        self.scopes.append(_Scope((node.body,), _params(node.args), False))
        node.body = self.visit(node.body)
        self.scopes.pop()
        return node

    def visit_ClassDef(self, node):
        node.bases = self._visit_list(node.bases)
        node.keywords = self._visit_list(node.keywords)
        self.scopes.append(_Scope(node.body, (), True))
        node.body = self._visit_list(node.body)
        self.scopes.pop()
        return node

    def visit_AnnAssign(self, node):
        node.target = self.visit(node.target)
        node.value = self._visit_opt(node.value)
        return node

    def visit_match_case(self, node):
        node.guard = self._visit_opt(node.guard)
        node.body = self._visit_list(node.body)
        return node

    # --- rewrites -----------------------------------------------------------

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Name) and (func.id in KEEP or func.id in self.own):
            return node
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            receiver = func.value.id
            if receiver in self.own or receiver in _SELF_NAMES:
                return node
            if func.attr in _CONTAINER_METHODS and self._is_container(receiver):
                return node
        if _last_name(func) in FRAME_SENSITIVE:
            return node
        if not node.args and not node.keywords and isinstance(func, ast.Attribute) and func.attr in _WHOLE_READS:
            inner = _at(ast.Call(func=self._helper("reading", node), args=[func], keywords=[]), node)
            return _at(ast.Call(func=inner, args=[], keywords=[]), node)
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            return node
        if all(_trivially_plain(a) for a in node.args) and all(_trivially_plain(k.value) for k in node.keywords):
            return node
        # f(a, k=b)  ->  _@aco.prep(f, a, k=b)()
        name = "prep%d" % len(node.args) if not node.keywords and len(node.args) <= 3 else "prep"
        inner = _at(ast.Call(func=self._helper(name, node), args=[func] + node.args, keywords=node.keywords), node)
        call = _at(ast.Call(func=inner, args=[], keywords=[]), node)
        gens = [a for a in node.args + [k.value for k in node.keywords] if isinstance(a, ast.GeneratorExp)]
        if not gens:
            return call
        # f(e for x in xs)  ->  after(mark(), f(seen(e) for x in xs)): what
        # the callee drew from the generator is noted as it is drawn, and the
        # result tainted once the call returns, with no frame of ours around
        # the call or the generator (a generator cannot be looked into
        # before the call without consuming it).
        for g in gens:
            g.elt = _at(ast.Call(func=self._helper("seen", g.elt), args=[g.elt], keywords=[]), g.elt)
        mark = _at(ast.Call(func=self._helper("mark", node), args=[], keywords=[]), node)
        return _at(ast.Call(func=self._helper("after", node), args=[mark, call], keywords=[]), node)

    def visit_JoinedStr(self, node):
        values = []
        fmt = self._format_string(node, values, depth=0)
        if fmt is None or not values:
            # Nothing formatted, or nesting str.format cannot say: keep the
            # f-string (its parts are still rewritten).
            self.generic_visit(node)
            return node
        values = [self.visit(v) for v in values]
        const = _at(ast.Constant(value=fmt), node)
        name = "fstring%d" % len(values) if len(values) <= 3 else "fstring"
        call = ast.Call(func=self._helper(name, node), args=[const] + values, keywords=[])
        return _at(call, node)

    def _format_string(self, node, values, depth):
        """The str.format template equivalent to a JoinedStr, appending the
        expressions it formats to values in evaluation order; None when
        str.format cannot express it (it allows one level of nested fields in
        a spec, f-strings two)."""
        out = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                out.append(_escape(part.value))
                continue
            if not isinstance(part, ast.FormattedValue) or depth > 1:
                return None
            if depth == 1 and part.format_spec is not None:
                return None
            index = len(values)
            values.append(part.value)
            field = "{%d%s" % (index, _CONVERSIONS.get(part.conversion, ""))
            if part.conversion not in _CONVERSIONS:
                return None
            if part.format_spec is not None:
                spec = self._format_string(part.format_spec, values, depth + 1)
                if spec is None:
                    return None
                field += ":" + spec
            out.append(field + "}")
        return "".join(out)

    def visit_BinOp(self, node):
        self.generic_visit(node)
        # Only a literal format: `i % n` on numbers is left as it is, and a
        # str-subclass left operand would swallow the marker object.
        if (
            isinstance(node.op, ast.Mod)
            and isinstance(node.left, ast.Constant)
            and type(node.left.value) is str
            and not _trivially_plain(node.right)
        ):
            call = ast.Call(func=self._helper("modargs", node.right), args=[node.right], keywords=[])
            node.right = _at(call, node.right)
        return node


# type -> visitor, for _Rewriter.visit.
_METHODS = {}
for _name in dir(ast):
    _cls = getattr(ast, _name)
    _method = getattr(_Rewriter, "visit_" + _name, None)
    if isinstance(_cls, type) and issubclass(_cls, ast.AST) and _method is not None:
        _METHODS[_cls] = _method
del _name, _cls, _method
