"""Walks the selectors of the generated declarations over JSON documents.

A selector is a tuple: its root ("request", "response" or "chunk"), then
steps: a str is a field of an object, an int an element of a list (negative
from the end), None every element of a list, and a tuple ("?", key, value)
keeps the value it meets only if that is an object whose key holds value (a
filter: chunk[?type=="response.output_text.delta"]). A step that does not fit the value it meets
(a field of a list, an index out of range) finds nothing; it is not an
error, so one selector can cover requests of several shapes. The grammar and
its rendering are in patches/README.md.
"""


def places(docs, selector):
    """Every (container, key) the selector reaches in docs, a dict of roots."""
    root = selector[0]
    if root not in docs:
        return []
    found = [(docs, root)]
    for step in selector[1:]:
        nxt = []
        for container, key in found:
            value = container[key]
            if step is None:
                if isinstance(value, list):
                    nxt.extend((value, i) for i in range(len(value)))
            elif isinstance(step, str):
                if isinstance(value, dict) and step in value:
                    nxt.append((value, step))
            elif isinstance(step, tuple):
                if isinstance(value, dict) and value.get(step[1]) == step[2]:
                    nxt.append((container, key))
            elif isinstance(value, list) and -len(value) <= step < len(value):
                nxt.append((value, step % len(value)))
        found = nxt
    return found


def values(docs, selector):
    # Field and filter steps are walked directly: most selectors
    # (request.stream, response.model, a stream's chunk[?type=="..."].delta.text)
    # are made of those only or miss at one, and they run on every call
    # before the request goes out, or on every streamed chunk. One with an
    # index or every-element step (request.messages[*].content) is walked
    # from its root by its field_walk, which finds what places() does, in
    # the same order, without making a (container, key) pair per value.
    value = docs
    for step in selector:
        t = type(step)
        if t is str:
            if not isinstance(value, dict) or step not in value:
                return []
            value = value[step]
        elif t is tuple:
            if not isinstance(value, dict) or value.get(step[1]) != step[2]:
                return []
        else:
            return fields(docs[selector[0]], selector)
    return [value]


def fields(root, selector):
    """values() over a live pydantic model rather than its dump: selector's
    steps after its root walked from root, where a field step reads what a
    dict holds under its key or a model holds as that field (in its
    __dict__, or as a pydantic extra), so it finds what dump(root) holds
    there. (A field the API left unset holds its default, where the dump,
    of the set fields, has nothing: None for the text fields of the SDKs'.)
    A streamed chunk's text is read this way, on every chunk, while its
    dump goes straight to JSON text: by a walk made once per selector
    (field_walk), one function per step, since a generic walk interpreting
    the steps costs five times the bytecode of the equivalent attribute
    reads."""
    out = []
    walk = _walks.get(selector)
    if walk is None:
        walk = _walks[selector] = field_walk(selector)
    walk(root, out)
    return out


_walks = {}  # selector -> field_walk(selector)


def field_walk(selector):
    """A function (root, out) that appends to out what fields(root, selector) finds."""
    walk = None  # the last step appends what it finds
    for step in reversed(selector[1:]):
        t = type(step)
        if t is str:
            walk = _field_step(step, walk)
        elif t is tuple:
            walk = _filter_step(step[1], step[2], walk)
        elif step is None:
            walk = _each_step(walk)
        else:
            walk = _index_step(step, walk)
    return walk if walk is not None else _append


def _append(value, out):
    out.append(value)


_ABSENT = object()
_NOT_OBJECT = object()
_kinds = {}  # type -> _DICT, _MODEL or 0: how a field step reads its values
_DICT, _MODEL = 1, 2


def _kind(t):
    k = _DICT if issubclass(t, dict) else _MODEL if hasattr(t, "__pydantic_serializer__") else 0
    _kinds[t] = k
    return k


def _held(value, name):
    """What value holds under name, as its dump would: _ABSENT when it
    lacks it, _NOT_OBJECT when its dump is not an object."""
    t = type(value)
    k = _DICT if t is dict else _kinds.get(t)
    if k is None:
        k = _kind(t)
    if k == _DICT:
        return value.get(name, _ABSENT)
    if k == 0:
        return _NOT_OBJECT
    held = value.__dict__.get(name, _ABSENT)
    if held is _ABSENT:
        extra = getattr(value, "__pydantic_extra__", None)
        if extra:
            return extra.get(name, _ABSENT)
    return held


def _field_step(name, nxt):
    def walk(value, out):
        t = type(value)
        if t is dict:  # _held(value, name), its common cases written out
            held = value.get(name, _ABSENT)
        elif _kinds.get(t) == _MODEL:
            held = value.__dict__.get(name, _ABSENT)
            if held is _ABSENT:
                held = _held(value, name)
        else:
            held = _held(value, name)
        if held is _ABSENT or held is _NOT_OBJECT:
            return
        if nxt is None:
            out.append(held)
        else:
            nxt(held, out)

    return walk


def _filter_step(name, want, nxt):
    def walk(value, out):
        held = _held(value, name)
        if held is _NOT_OBJECT or (None if held is _ABSENT else held) != want:
            return
        if nxt is None:
            out.append(value)
        else:
            nxt(value, out)

    return walk


def _each_step(nxt):
    def walk(value, out):
        if isinstance(value, (list, tuple)):
            if nxt is None:
                out.extend(value)
            else:
                for item in value:
                    nxt(item, out)

    return walk


def _index_step(index, nxt):
    def walk(value, out):
        if isinstance(value, (list, tuple)) and -len(value) <= index < len(value):
            if nxt is None:
                out.append(value[index])
            else:
                nxt(value[index], out)

    return walk


def field_texts(value):
    """_texts() of a value fields() found: its parts may be models too."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        out = []
        for part in value:
            if isinstance(part, str):
                out.append(part)
                continue
            if isinstance(part, dict):
                text = part.get("text")
            else:
                text = _held(part, "text")
            if isinstance(text, str):
                out.append(text)
        return out
    return []


def _texts(value):
    # A content field is a string or a list of parts; parts carry their text
    # under "text" (OpenAI's {"type": "text", "text": ...} and its kin).
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        out = []
        for part in value:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                out.append(part["text"])
        return out
    return []


def text(docs, selectors):
    """Every non-empty string the selectors find, in order, joined by
    newlines. Empty ones are skipped: set_text empties the places after the
    first, and they must not add blank lines to the text read back."""
    out = []
    for selector in selectors:
        for value in values(docs, selector):
            out.extend(t for t in _texts(value) if t)
    return "\n".join(out)


def strings(docs, selectors):
    """Every non-empty string the selectors find, in order, each once."""
    out = []
    for selector in selectors:
        for value in values(docs, selector):
            if isinstance(value, str) and value and value not in out:
                out.append(value)
    return out


def first_string(docs, selectors):
    for selector in selectors:
        for value in values(docs, selector):
            if isinstance(value, str):
                return value
    return ""


def any_truthy(docs, selectors):
    """The first selector that finds a truthy value, or None."""
    for selector in selectors:
        if any(values(docs, selector)):
            return selector
    return None


def _settable(value):
    if value is None or isinstance(value, str):
        return True
    return isinstance(value, list) and any(isinstance(p, dict) and isinstance(p.get("text"), str) for p in value)


def _replace(value, new):
    if isinstance(value, list):
        out, placed = [], False
        for part in value:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                part = dict(part, text="" if placed else new)
                placed = True
            out.append(part)
        return out
    return new


def set_text(docs, selectors, new):
    """Write new through the first selector that finds a place for text, in
    place. The first place gets the text and the others become empty, so the
    text read back with the same selector is exactly new. Returns whether a
    place was found. Only strings, nulls and lists of text parts are places:
    anything else (a list of messages, an object) would lose data."""
    for selector in selectors:
        found = [(c, k) for c, k in places(docs, selector) if _settable(c[k])]
        if not found:
            continue
        for i, (container, key) in enumerate(found):
            container[key] = _replace(container[key], new if i == 0 else "")
        return True
    return False
