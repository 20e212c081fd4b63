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

import json
from typing import Any

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
