"""JSON in and out: output at the speed big accounts need, with the standard library's exact text; and the
pieces every JSON reader shares (what is not a JSON value, lone surrogates, JSON pointer tokens).

A 20,000-role report is over 100 MB of indented JSON, and `json.dumps(..., indent=2)` writes it with
the pure-Python encoder (the C one does not indent). orjson writes the same bytes an order of magnitude
faster for ASCII text (a float under 1e-4 is spelled 1.5e-7 rather than 1.5e-07: the same
number); anything it would write differently (non-ASCII text, which `json` escapes) or
refuses (integers over 64 bits, non-string keys, very deep nesting) goes through `json`. Reading stays
with `json`: on account files orjson was no faster here.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Callable, Iterable, Iterator, Mapping

try:
    import orjson
except ImportError:          # pragma: no cover - a declared dependency; the fallback keeps it optional
    orjson = None


def dumps_pretty(obj: Any) -> str:
    """`json.dumps(obj, indent=2)`, the same text (small floats' exponents aside)."""
    if orjson is not None:
        try:
            out = orjson.dumps(obj, option=orjson.OPT_INDENT_2)
            if out.isascii():
                return out.decode("ascii")
        except (TypeError, orjson.JSONEncodeError):
            pass
    return json.dumps(obj, indent=2)


def dumps_pretty_parts(doc: Any, lists: Mapping[str, Iterable[Any]], depth: int, part: int = 2000,
                       enc: Callable[[Any], str] | None = None) -> Iterator[str]:
    """`enc(doc)` (by default `dumps_pretty`) in parts, for a document with long lists: `doc` holds each
    list of `lists` empty, the lists' keys at `depth` (the number of objects around them, the document
    included: "findings" of a JSON report is at 1, "results" of a SARIF run at 3), and `lists` gives their
    items, encoded `part` at a time (enc's text for a list, one level deeper). The parts join to the
    whole document with the items in place, as `enc` writes it at once, byte for byte; a writer can write
    one part while the next is made, and the items are never all in memory. What `enc` raises is raised."""
    enc = enc or dumps_pretty
    text = enc(doc)
    pad = "  " * depth
    # each list's closing bracket: a newline inside a JSON string is written escaped, so the key's own
    # line (at its depth, the list empty) occurs nowhere else
    where = sorted((text.index(f'\n{pad}"{key}": []') + len(pad) + len(key) + 6, key) for key in lists)
    pos = 0
    for at, key in where:
        started = False
        batch: list = []
        for item in itertools.chain(lists[key], (_END,)):
            if item is not _END:
                batch.append(item)
                if len(batch) < part:
                    continue
            if batch:
                # the batch at the list's own depth ({"x": {"x": [...]}} for depth 2): enc indents the
                # items as the whole document has them, and they are cut out as they are
                wrapped: Any = batch
                for _ in range(depth):
                    wrapped = {"x": wrapped}
                body = enc(wrapped)
                items = body[body.index("[\n") + 2:body.rindex("\n" + pad + "]")]
                yield (",\n" if started else text[pos:at] + "\n") + items
                started, batch = True, []
        if started:
            yield "\n" + pad
            pos = at
    yield text[pos:]


_END = object()


def dumps_compact(obj: Any) -> str:
    """`json.dumps(obj, separators=(",", ":"))`, the same text (small floats' exponents aside)."""
    if orjson is not None:
        try:
            out = orjson.dumps(obj)
            if out.isascii():
                return out.decode("ascii")
        except (TypeError, orjson.JSONEncodeError):
            pass
    return json.dumps(obj, separators=(",", ":"))


# ---------------------------------------------------------------- reading

def pointer_token(token: Any) -> str:
    """One JSON pointer reference token (RFC 6901: "~" as "~0", "/" as "~1")."""
    return str(token).replace("~", "~0").replace("/", "~1")


class NotJson(ValueError):
    """A value Python's json reads that JSON has not (NaN, Infinity, -Infinity)."""


def no_constant(word: str):
    """`parse_constant` for json.loads: NaN and Infinity are refused, not read as floats."""
    raise NotJson(f"{word} is not a JSON value")


def lone_surrogate(value: Any, ptr: str = "") -> str | None:
    """The JSON pointer of the first string (or key) holding a lone surrogate, else None."""
    stack = [(value, ptr)]
    while stack:
        v, p = stack.pop()
        if isinstance(v, str):
            if not _encodable(v):
                return p or "/"
        elif isinstance(v, dict):
            for k, x in reversed(list(v.items())):
                if isinstance(k, str) and not _encodable(k):
                    return f"{p}/{pointer_token(k)}"
                stack.append((x, f"{p}/{pointer_token(k)}"))
        elif isinstance(v, list):
            stack.extend((x, f"{p}/{i}") for i, x in reversed(list(enumerate(v))))
    return None


def _encodable(s: str) -> bool:
    try:
        s.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False
