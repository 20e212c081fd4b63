"""JSON output at the speed big accounts need, with the standard library's exact text.

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
