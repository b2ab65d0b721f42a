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
- calls with ``*args``/``**kwargs``: the interpreter's error messages for a bad
  unpacking name the callee, and through a helper they would name the helper;
- builtins that must keep identity or see the caller's frame (KEEP), callees
  that look at their caller's frame (FRAME_SENSITIVE), and calls to names the
  module binds to its own or its package's functions, classes and modules;
- decorators, annotations (they become strings under ``from __future__ import
  annotations``) and ``match`` patterns.
"""

import ast
import re

# Part of the cache key: bump it whenever a change here or in helpers changes
# what rewritten code does, or caches made by the old version would be used.
REWRITER_VERSION = "3"

HELPERS_MODULE = "aco.rewrite.helpers"
# Not an identifier, so no source can read or shadow it; the leading
# underscore keeps it out of ``from module import *``.
HELPERS_NAME = "_@aco"

MARKER = "aco: no-rewrite"
_MARKER_RE = re.compile(r"#\s*aco:\s*no-rewrite\b")
_MARKER_LINES = 20

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


def has_opt_out(source):
    """Whether the marker comment ``# aco: no-rewrite`` is in the first lines."""
    if isinstance(source, bytes):
        source = source[:4096].decode("latin-1")
    for i, line in enumerate(source.splitlines()):
        if i >= _MARKER_LINES:
            break
        if _MARKER_RE.search(line):
            return True
    return False


def rewrite(source, filename, *, is_user_module=None):
    """Parse source (str) and return the rewritten module tree, ready for
    compile(tree, filename, "exec", dont_inherit=True). Raises SyntaxError as
    compile would. is_user_module(dotted_name) tells whether an absolutely
    imported module is the user's own code (calls into it are left alone);
    without it only relative imports count as the user's."""
    tree = ast.parse(source, filename)
    return rewrite_tree(tree, is_user_module=is_user_module)


def rewrite_tree(tree, *, is_user_module=None):
    """Rewrite a parsed module in place and return it."""
    own = _own_names(tree, is_user_module or (lambda name: False))
    t = _Rewriter(own)
    tree.body = [t.visit(stmt) for stmt in tree.body]
    if t.used:
        _insert_import(tree)
    return ast.fix_missing_locations(tree)


def compile_rewritten(source, filename, *, is_user_module=None):
    """rewrite then compile the way importlib compiles a source file."""
    tree = rewrite(source, filename, is_user_module=is_user_module)
    return compile(tree, filename, "exec", dont_inherit=True)


def _own_names(tree, is_user_module):
    """Names the module binds to its own code: functions and classes it
    defines (at any depth; a shadowing name is rare and only costs a helper
    call), relative imports, and imports of the user's modules."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level or (node.module and _safe(is_user_module, node.module)):
                for a in node.names:
                    if a.name != "*":
                        names.add(a.asname or a.name)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if _safe(is_user_module, a.name):
                    names.add(a.asname or a.name.partition(".")[0])
    return frozenset(names)


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


class _Rewriter(ast.NodeTransformer):
    def __init__(self, own):
        self.own = own
        self.used = False

    def _helper(self, name, loc):
        self.used = True
        fn = ast.Attribute(value=ast.Name(id=HELPERS_NAME, ctx=ast.Load()), attr=name, ctx=ast.Load())
        ast.copy_location(fn.value, loc)
        return ast.copy_location(fn, loc)

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
        node.body = self._visit_list(node.body)
        return node

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def visit_Lambda(self, node):
        node.args = self.visit(node.args)
        node.body = self.visit(node.body)
        return node

    def visit_ClassDef(self, node):
        node.bases = self._visit_list(node.bases)
        node.keywords = self._visit_list(node.keywords)
        node.body = self._visit_list(node.body)
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
            if func.value.id in self.own or func.value.id in _SELF_NAMES:
                return node
        if _last_name(func) in FRAME_SENSITIVE:
            return node
        if not node.args and not node.keywords and isinstance(func, ast.Attribute) and func.attr in _WHOLE_READS:
            inner = ast.copy_location(ast.Call(func=self._helper("reading", node), args=[func], keywords=[]), node)
            return ast.copy_location(ast.Call(func=inner, args=[], keywords=[]), node)
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            return node
        if all(_trivially_plain(a) for a in node.args) and all(_trivially_plain(k.value) for k in node.keywords):
            return node
        # f(a, k=b)  ->  _@aco.prep(f, a, k=b)()
        name = "prep%d" % len(node.args) if not node.keywords and len(node.args) <= 3 else "prep"
        inner = ast.Call(func=self._helper(name, node), args=[func] + node.args, keywords=node.keywords)
        ast.copy_location(inner, node)
        call = ast.copy_location(ast.Call(func=inner, args=[], keywords=[]), node)
        gens = [a for a in node.args + [k.value for k in node.keywords] if isinstance(a, ast.GeneratorExp)]
        if not gens:
            return call
        # f(e for x in xs)  ->  after(mark(), f(seen(e) for x in xs)): what
        # the callee drew from the generator is noted as it is drawn, and the
        # result tainted once the call returns, with no frame of ours around
        # the call or the generator (a generator cannot be looked into
        # before the call without consuming it).
        for g in gens:
            g.elt = ast.copy_location(ast.Call(func=self._helper("seen", g.elt), args=[g.elt], keywords=[]), g.elt)
        mark = ast.copy_location(ast.Call(func=self._helper("mark", node), args=[], keywords=[]), node)
        return ast.copy_location(ast.Call(func=self._helper("after", node), args=[mark, call], keywords=[]), node)

    def visit_JoinedStr(self, node):
        values = []
        fmt = self._format_string(node, values, depth=0)
        if fmt is None or not values:
            # Nothing formatted, or nesting str.format cannot say: keep the
            # f-string (its parts are still rewritten).
            self.generic_visit(node)
            return node
        values = [self.visit(v) for v in values]
        const = ast.copy_location(ast.Constant(value=fmt), node)
        call = ast.Call(func=self._helper("fstring", node), args=[const] + values, keywords=[])
        return ast.copy_location(call, node)

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
            node.right = ast.copy_location(call, node.right)
        return node
