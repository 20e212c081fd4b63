"""The request context: condition keys and their values.

A context is either *complete* (a key that is absent is absent: the request is fully known, as in
`simulate`) or *partial* (keys not given are unknown: static analysis, where conditions on them make
the answer conditional). Key names are case-insensitive.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping


class _Unknown:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()
_NONE: frozenset = frozenset()


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v) if isinstance(v, float) else str(v)
    return str(v)


_NO_RANGES: dict = {}
TIME_KEYS = frozenset(("aws:currenttime", "aws:epochtime", "aws:tokenissuetime"))


class Context:
    __slots__ = ("values", "complete", "absent", "ranges")

    def __init__(self, values: Mapping[str, Any] | None = None, complete: bool = True,
                 absent: Iterable[str] = (), ranges: Mapping[str, tuple] | None = None):
        self.values: dict[str, tuple[str, ...]] = {}
        self.complete = complete
        # keys known to be absent even in a partial context (e.g. aws:username for a role session)
        self.absent = frozenset(k.lower() for k in absent) if absent else _NONE
        # keys known to be present with one value in a span of time: (earliest, latest, the operator
        # families that read the key) in epoch seconds, either end None when unbounded (aws:CurrentTime:
        # at or after the reference time); a date comparison is decided when it holds, or fails, across
        # the whole span (conditions.py `_over_span`)
        self.ranges = {k.lower(): v for k, v in ranges.items()} if ranges else _NO_RANGES
        if values:
            own = self.values
            for key, val in values.items():
                if type(val) is str:      # the common case, as `set` files it
                    own[key.lower()] = (val,)
                else:
                    self.set(key, val)

    def set(self, key: str, val: Any) -> None:
        if val is None:
            return
        if isinstance(val, (list, tuple)):
            self.values[key.lower()] = tuple(_text(v) for v in val if v is not None)
        else:
            self.values[key.lower()] = (_text(val),)

    def lookup(self, key: str):
        """The key's values (a tuple), None when absent, or UNKNOWN."""
        k = key.lower()
        vals = self.values.get(k)
        if vals is not None:
            return vals
        if self.complete or k in self.absent:
            return None
        return UNKNOWN

    def merged(self, other: Mapping[str, Any] | None, complete: bool | None = None) -> "Context":
        out = Context(complete=self.complete if complete is None else complete, absent=self.absent)
        out.values = dict(self.values)
        # the spans are read from one reference time: a time the request gives replaces them all (a request
        # made in 2019 holds a token issued before then)
        out.ranges = self.ranges if not self.ranges or not other or not any(
            k.lower() in TIME_KEYS for k in other) else _NO_RANGES
        for key, val in (other or {}).items():
            out.set(key, val)
        return out

    def to_json(self) -> dict:
        return {k: list(v) if len(v) != 1 else v[0] for k, v in sorted(self.values.items())}
