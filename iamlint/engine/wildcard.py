"""Wildcard patterns as IAM uses them: `*` any run of characters, `?` exactly one.

A pattern with `*` only is matched by its literal runs (startswith, find, endswith); one with `?`, or
matched ignoring case, by a regular expression compiled once per (pattern, case) and cached. The pattern-to-pattern
questions (`intersects`, `arn_intersects`, `covers`) are pure functions of their strings, cached by them.
"""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=65536)
def _compile(pattern: str, ignore_case: bool) -> re.Pattern:
    parts = []
    for ch in pattern:
        if ch == "*":
            parts.append(".*")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def compiled(pattern: str, ignore_case: bool = False) -> re.Pattern:
    """The pattern's regular expression: `match(pattern, v)` is `compiled(pattern).fullmatch(v) is not None`
    for a pattern with a wildcard."""
    return _compile(pattern, ignore_case)


def has_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


@lru_cache(maxsize=65536)
def _star_runs(pattern: str) -> tuple[str, ...] | None:
    """The literal runs between the `*`s of a pattern that has no `?`; None for one that has."""
    return None if "?" in pattern else tuple(pattern.split("*"))


def runs_match(runs: tuple[str, ...], value: str) -> bool:
    """`value` is the runs in order with anything between them (at least two runs: one `*`). Each middle run
    taken at its first place after the one before leaves the most room to the rest, so this decides."""
    first, last = runs[0], runs[-1]
    pos, end = len(first), len(value) - len(last)
    if end < pos or not value.startswith(first) or not value.endswith(last):
        return False
    for run in runs[1:-1]:
        at = value.find(run, pos, end)
        if at < 0:
            return False
        pos = at + len(run)
    return True


def match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """True when `value` matches the IAM wildcard `pattern`."""
    if pattern == "*":
        return True
    if not has_wildcard(pattern):
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    if not ignore_case:
        runs = _star_runs(pattern)
        if runs is not None:      # no regular expression to compile for a pattern seen once
            return runs_match(runs, value)
    return _compile(pattern, ignore_case).fullmatch(value) is not None


@lru_cache(maxsize=65536)
def _any_exact(patterns: tuple[str, ...]) -> re.Pattern | None:
    """One regular expression for a tuple of patterns (case-sensitive); None when one of them is `*`."""
    if "*" in patterns:
        return None
    return re.compile("|".join(f"(?:{_compile(p, False).pattern})" for p in patterns), re.DOTALL)


def match_any(patterns: tuple[str, ...], value: str) -> bool:
    """Same answer as `any(match(p, value) for p in patterns)`, compiled once per tuple."""
    if not patterns:
        return False
    rx = _any_exact(patterns)
    return rx is None or rx.fullmatch(value) is not None


@lru_cache(maxsize=65536)
def _any_matcher(patterns: tuple[str, ...]) -> tuple[frozenset, tuple[str, ...], tuple]:
    """(the literal patterns, the prefixes of those that are a literal then one final `*`, the others), all
    lower-cased. Nothing is compiled per tuple: a policy seen once costs no regular expression."""
    literal, prefixes, other = set(), [], []
    for p in patterns:
        low = p.lower()
        if not has_wildcard(low):
            literal.add(low)
        elif low[-1] == "*" and not has_wildcard(low[:-1]):
            prefixes.append(low[:-1])
        else:
            other.append(low)
    return frozenset(literal), tuple(prefixes), tuple(other)


def match_any_ci(patterns: tuple[str, ...], value_lower: str) -> bool:
    """True when the lower-cased `value_lower` matches any of `patterns`, ignoring case (action names).
    Same answer as `any(match(p, value, ignore_case=True) for p in patterns)`, compiled once per tuple."""
    literal, prefixes, other = _any_matcher(patterns)
    if value_lower in literal or (prefixes and value_lower.startswith(prefixes)):
        return True
    for low in other:
        if match(low, value_lower):
            return True
    return False


@lru_cache(maxsize=1 << 18)
def intersects(a: str, b: str, ignore_case: bool = False) -> bool:
    """True when some string matches both wildcard patterns `a` and `b`.

    Used where the request names a resource the caller will create and may name freely
    (e.g. `arn:aws:lambda:*:111122223333:function:*`): a grant on any part of that space suffices.
    """
    if ignore_case:
        a, b = a.lower(), b.lower()
    n, m = len(a), len(b)
    # dynamic programming over positions; `*` may consume nothing or one char of the other side
    seen: set[tuple[int, int]] = set()
    stack = [(0, 0)]
    while stack:
        i, j = stack.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == n and j == m:
            return True
        ca = a[i] if i < n else None
        cb = b[j] if j < m else None
        if ca == "*":
            stack.append((i + 1, j))
            if j < m:
                stack.append((i, j + 1))
        if cb == "*":
            stack.append((i, j + 1))
            if i < n:
                stack.append((i + 1, j))
        if ca is not None and cb is not None and ca != "*" and cb != "*":
            if ca == cb or ca == "?" or cb == "?":
                stack.append((i + 1, j + 1))
    return False


@lru_cache(maxsize=1 << 18)
def arn_intersects(a: str, b: str, ignore_case: bool = False) -> bool:
    """`intersects` for ARN patterns: can some real ARN match both? A real ARN has no colon in its first
    five fields (partition, service, region, account), so those are compared field by field and a `*`
    there never spans a colon; the resource part (after the fifth colon) may hold colons. Patterns that
    are not both whole ARNs (`*`, `arn:aws:*`) are compared as plain strings."""
    pa, pb = a.split(":", 5), b.split(":", 5)
    if len(pa) != 6 or len(pb) != 6:
        return intersects(a, b, ignore_case)
    return all(intersects(x, y, ignore_case) for x, y in zip(pa, pb))


def _first_wildcard(pattern: str) -> int:
    """Where the pattern's first `*` or `?` is (its length when it has none)."""
    i, j = pattern.find("*"), pattern.find("?")
    return len(pattern) if i < 0 and j < 0 else min(x for x in (i, j) if x >= 0)


@lru_cache(maxsize=1 << 18)
def covers(general: str, specific: str, ignore_case: bool = False) -> bool:
    """True when every string matching `specific` also matches `general` (sound for `*` in `specific`)."""
    if general == "*":
        return True
    if not has_wildcard(specific):
        return match(general, specific, ignore_case)
    # A `*` in `specific` can stand for anything: only a `*` of `general` may absorb it.
    g = general.lower() if ignore_case else general
    s = specific.lower() if ignore_case else specific
    if "*" in s and "*" not in g:
        return False      # specific names strings of every length, general of one length only
    lit = _first_wildcard(g)
    if lit > _first_wildcard(s) or not s.startswith(g[:lit]):
        return False      # general's literal start must be a start of specific's literal one
    return _covers_search(g, s)


def _covers_search(g: str, s: str) -> bool:
    """`covers` decided by a search over both patterns (what its quick answers must agree with)."""
    n, m = len(g), len(s)
    seen: set[tuple[int, int]] = set()
    stack = [(0, 0)]
    while stack:
        i, j = stack.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == n and j == m:
            return True
        if i < n and g[i] == "*":
            stack.append((i + 1, j))
            if j < m:
                stack.append((i, j + 1))
            continue
        if i < n and j < m:
            if s[j] == "*":
                continue
            if g[i] == "?" or g[i] == s[j] and s[j] != "?":
                stack.append((i + 1, j + 1))
            elif g[i] == "?" and s[j] == "?":
                stack.append((i + 1, j + 1))
    return False
