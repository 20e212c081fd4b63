"""Condition operators and policy variables, three-valued.

Every operator is one row of `OPERATORS`: its family, whether it is negated, and how one context value
compares with one policy value. The missing-key, `...IfExists`, `ForAllValues:` and `ForAnyValue:` rules
are written once in `evaluate_condition` (iam-semantics.md R14). A key the context does not know gives
MAYBE, never a guess.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from datetime import datetime, timezone
from functools import lru_cache
from typing import Callable

from ..model.policy import Condition
from . import wildcard
from .context import UNKNOWN, Context

YES, NO, MAYBE = 1, 0, 2


# ---------------------------------------------------------------- value parsing

_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


@lru_cache(maxsize=8192)
def _number(text: str) -> float | None:
    # a decimal number; not Python's wider float() syntax ("1_000", "inf", "nan", " 5")
    return float(text) if _NUMBER_RE.match(text) else None


_DATE_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?(Z|[+-]\d{2}:?\d{2})?$")


@lru_cache(maxsize=8192)
def _date(text: str) -> float | None:
    t = text
    if re.fullmatch(r"\d+", t):   # epoch seconds (an integer)
        return float(t)
    m = _DATE_RE.match(t)
    if not m:
        return None
    y, mo, d, h, mi, s, frac, tz = m.groups()
    try:
        dt = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0),
                      int((frac or "0")[:6].ljust(6, "0")), tzinfo=timezone.utc)
    except ValueError:
        return None
    offset = 0
    if tz and tz != "Z":
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return dt.timestamp() - offset


@lru_cache(maxsize=8192)
def _network(text: str):
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


@lru_cache(maxsize=8192)
def _address(text: str):
    # a request's address is one address (aws:SourceIp); anything else equals nothing
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _ip_in(ctx_value: str, policy_value: str) -> bool:
    net = _network(policy_value)
    addr = _address(ctx_value)
    if net is None or addr is None:
        return False
    return addr.version == net.version and addr in net


def _arn_parts(text: str) -> list[str] | None:
    parts = text.split(":", 5)
    return parts if len(parts) == 6 else None


def _arn_like(ctx_value: str, policy_value: str) -> bool:
    if policy_value == "*":
        return True
    cp, pp = _arn_parts(ctx_value), _arn_parts(policy_value)
    if cp is None or pp is None:
        return False
    return all(wildcard.match(p, c) for p, c in zip(pp, cp))


def _num_cmp(op: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def cmp(c: str, p: str) -> bool:
        a, b = _number(c), _number(p)
        return a is not None and b is not None and op(a, b)
    return cmp


def _date_cmp(op: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def cmp(c: str, p: str) -> bool:
        a, b = _date(c), _date(p)
        return a is not None and b is not None and op(a, b)
    return cmp


def _bool_eq(c: str, p: str) -> bool:
    return c.lower() == p.lower() and c.lower() in ("true", "false")


def _binary_eq(c: str, p: str) -> bool:
    if c == p:
        return True
    try:
        return base64.b64decode(c, validate=True) == base64.b64decode(p, validate=True)
    except (ValueError, TypeError):
        return False


def _str_eq(c: str, p: str) -> bool:
    return c == p


def _str_eq_ci(c: str, p: str) -> bool:
    return c.lower() == p.lower()


def _str_like(c: str, p: str) -> bool:
    return wildcard.match(p, c)


# family, negated, compare(context_value, policy_value); `glob` families treat * and ? in policy values
OPERATORS: dict[str, tuple[str, bool, Callable[[str, str], bool]]] = {
    "StringEquals": ("String", False, _str_eq),
    "StringNotEquals": ("String", True, _str_eq),
    "StringEqualsIgnoreCase": ("String", False, _str_eq_ci),
    "StringNotEqualsIgnoreCase": ("String", True, _str_eq_ci),
    "StringLike": ("String", False, _str_like),
    "StringNotLike": ("String", True, _str_like),
    "NumericEquals": ("Numeric", False, _num_cmp(lambda a, b: a == b)),
    "NumericNotEquals": ("Numeric", True, _num_cmp(lambda a, b: a == b)),
    "NumericLessThan": ("Numeric", False, _num_cmp(lambda a, b: a < b)),
    "NumericLessThanEquals": ("Numeric", False, _num_cmp(lambda a, b: a <= b)),
    "NumericGreaterThan": ("Numeric", False, _num_cmp(lambda a, b: a > b)),
    "NumericGreaterThanEquals": ("Numeric", False, _num_cmp(lambda a, b: a >= b)),
    "DateEquals": ("Date", False, _date_cmp(lambda a, b: a == b)),
    "DateNotEquals": ("Date", True, _date_cmp(lambda a, b: a == b)),
    "DateLessThan": ("Date", False, _date_cmp(lambda a, b: a < b)),
    "DateLessThanEquals": ("Date", False, _date_cmp(lambda a, b: a <= b)),
    "DateGreaterThan": ("Date", False, _date_cmp(lambda a, b: a > b)),
    "DateGreaterThanEquals": ("Date", False, _date_cmp(lambda a, b: a >= b)),
    "Bool": ("Bool", False, _bool_eq),
    "BinaryEquals": ("Binary", False, _binary_eq),
    "IpAddress": ("IpAddress", False, _ip_in),
    "NotIpAddress": ("IpAddress", True, _ip_in),
    "ArnEquals": ("Arn", False, _arn_like),
    "ArnLike": ("Arn", False, _arn_like),
    "ArnNotEquals": ("Arn", True, _arn_like),
    "ArnNotLike": ("Arn", True, _arn_like),
}

# families whose values may hold policy variables (R15)
VARIABLE_FAMILIES = {"String", "Arn"}
# operators whose policy values are wildcard patterns (a substituted value must stay literal)
GLOB_OPERATORS = {"StringLike", "StringNotLike", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"}


# ---------------------------------------------------------------- policy variables

_VAR_RE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT_RE = re.compile(r"^\s*([^,\s]+)\s*,\s*'([^']*)'\s*$")


class Unresolved(Exception):
    """A variable whose key the (partial) context does not know."""

    def __init__(self, key: str):
        self.key = key


def substitute(text: str, ctx: Context, glob: bool) -> list[str] | None:
    """Replace `${...}` in a policy value.

    Returns the possible results: plain strings when `glob` is False, regular-expression sources
    (to full-match) when `glob` is True, so that substituted values and `${*}` escapes stay literal.
    Returns None when a variable is absent and has no default (the value matches nothing).
    Raises Unresolved when the context does not know a key.
    """
    pieces = substituted(text, ctx)
    if pieces is None:
        return None
    if glob:
        return [_source(alt) for alt in pieces]
    return ["".join(t for t, _ in alt) for alt in pieces]


def substituted(text: str, ctx: Context) -> list[list[tuple[str, bool]]] | None:
    """`substitute`'s results before they are written out: each a list of (text, is_literal), the
    substituted values (and `${*}` escapes) literal, the policy's own text not."""
    pieces: list[list[tuple[str, bool]]] = [[]]  # alternatives, each a list of (text, is_literal)
    pos = 0
    for m in _VAR_RE.finditer(text):
        if m.start() > pos:
            for alt in pieces:
                alt.append((text[pos:m.start()], False))
        inner = m.group(1)
        if inner in ("*", "?", "$"):
            choices = [inner]
        else:
            dm = _DEFAULT_RE.match(inner)
            key, default = (dm.group(1), dm.group(2)) if dm else (inner.strip(), None)
            vals = ctx.lookup(key)
            if vals is UNKNOWN:
                raise Unresolved(key)
            if not vals or len(vals) > 1:
                # absent, or a multivalued key, which AWS never substitutes (UG, single-valued vs
                # multivalued context keys): the default if there is one, else no value
                if default is None:
                    return None
                choices = [default]
            else:
                choices = list(vals)
        pieces = [alt + [(c, True)] for alt in pieces for c in choices][:64]
        pos = m.end()
    for alt in pieces:
        alt.append((text[pos:], False))
    return pieces


def _source(alt: list[tuple[str, bool]]) -> str:
    return "".join(re.escape(t) if lit else _glob_source(t) for t, lit in alt)


def glob_fullmatch(alt: list[tuple[str, bool]], value: str) -> bool:
    """`_regex(_source(alt)).fullmatch(value) is not None` (one of `substituted`'s results as a wildcard
    pattern), without compiling a regular expression when the policy's own text has no `?`: the
    substituted values differ from request to request, so each such expression was compiled once."""
    runs = [""]
    for t, lit in alt:
        if lit:
            runs[-1] += t
        elif "?" in t:
            return _regex(_source(alt)).fullmatch(value) is not None
        else:
            first, *rest = t.split("*")
            runs[-1] += first
            runs.extend(rest)
    if len(runs) == 1:
        return runs[0] == value
    return wildcard.runs_match(tuple(runs), value)


def _glob_source(text: str) -> str:
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)


@lru_cache(maxsize=16384)
def _regex(source: str) -> re.Pattern:
    return re.compile(source, re.DOTALL)


# ---------------------------------------------------------------- evaluation

def _policy_values(cond: Condition, ctx: Context, variables: bool, family: str) -> list[tuple[str, bool]]:
    """Policy values as (value, is_regex). Raises Unresolved."""
    out: list[tuple[str, bool]] = []
    glob = cond.base in GLOB_OPERATORS
    for v in cond.values:
        if variables and family == "Arn" and "${" in v:
            out.extend(_arn_values(v, ctx))
        elif variables and family in VARIABLE_FAMILIES and "${" in v:
            subs = substitute(v, ctx, glob and cond.base.startswith("String"))
            if subs is None:
                continue
            out.extend((s, glob and cond.base.startswith("String")) for s in subs)
        else:
            out.append((v, False))
    return out


def _arn_segments(template: str) -> list[str]:
    """A policy ARN split into its six colon-separated parts, never inside a `${...}` variable."""
    parts, cur, i = [], "", 0
    while i < len(template):
        if template.startswith("${", i):
            j = template.find("}", i)
            j = len(template) - 1 if j < 0 else j
            cur += template[i:j + 1]
            i = j + 1
            continue
        if template[i] == ":" and len(parts) < 5:
            parts.append(cur)
            cur = ""
        else:
            cur += template[i]
        i += 1
    parts.append(cur)
    return parts


def _arn_values(template: str, ctx: Context) -> list:
    """An Arn-operator value holding variables, as per-part regular expressions: the substituted
    text and `${*}` stay literal, the policy's own `*` and `?` stay wildcards within their part."""
    segs = _arn_segments(template)
    if len(segs) != 6:
        return []
    alts: list[tuple[str, ...]] = [()]
    for seg in segs:
        subs = substitute(seg, ctx, glob=True) if "${" in seg else [_glob_source(seg)]
        if subs is None:
            return []
        alts = [a + (x,) for a in alts for x in subs][:64]
    return [(a, "arn") for a in alts]


def _pair(compare, c: str, p, is_regex) -> bool:
    if is_regex == "arn":
        parts = c.split(":", 5)
        return len(parts) == 6 and all(_regex(rx).fullmatch(part) is not None for rx, part in zip(p, parts))
    if is_regex:
        return _regex(p).fullmatch(c) is not None
    return compare(c, p)


def evaluate_condition(cond: Condition, ctx: Context, variables: bool = True) -> int:
    """YES, NO or MAYBE for one (operator, key, values) entry."""
    vals = ctx.lookup(cond.key)
    if vals is UNKNOWN:
        span = ctx.ranges.get(cond.key.lower()) if ctx.ranges else None
        return MAYBE if span is None else _over_span(cond, span)
    if cond.base == "Null":
        present = bool(vals)
        results = []
        for p in cond.values:
            pl = p.lower()
            if pl == "true":
                results.append(not present)
            elif pl == "false":
                results.append(present)
        return YES if any(results) else NO
    family, negated, compare = OPERATORS[cond.base]
    if not vals:
        if cond.if_exists:
            return YES
        if cond.qualifier == "ForAllValues":
            return YES
        if cond.qualifier == "ForAnyValue":
            return NO
        return YES if negated else NO
    try:
        policy_values = _policy_values(cond, ctx, variables, family)
    except Unresolved:
        return MAYBE

    def one(c: str) -> bool:
        hit = any(_pair(compare, c, p, rx) for p, rx in policy_values)
        return (not hit) if negated else hit

    if cond.qualifier == "ForAllValues":
        return YES if all(one(c) for c in vals) else NO
    if cond.qualifier == "ForAnyValue":
        return YES if any(one(c) for c in vals) else NO
    if negated:
        hit = any(_pair(compare, c, p, rx) for c in vals for p, rx in policy_values)
        return NO if hit else YES
    return YES if any(one(c) for c in vals) else NO


def _over_span(cond: Condition, span: tuple) -> int:
    """A condition on a key present with one value somewhere in `span`: (earliest, latest, the operator
    families that read it), times in epoch seconds, None unbounded. YES when it holds for every value of
    the span, NO when for none, else MAYBE. Date operators are decided (Numeric ones too for a key in epoch
    seconds, aws:EpochTime); `Null` by the key's presence; any other operator, or a policy value that is
    no date or number, stays undecided. A qualifier or IfExists changes nothing for a key present with one
    value."""
    if cond.base == "Null":
        return YES if any(p.lower() == "false" for p in cond.values) else NO
    family, negated, _ = OPERATORS[cond.base]
    if family not in span[2]:
        return MAYBE
    if family == "Date" and any(p.isdigit() and len(p) < 10 or " " in p for p in cond.values):
        return MAYBE   # "2027", "20270101": a year or a basic-format date as much as epoch seconds; "a b": unsure
    read = _date if family == "Date" else _number
    points = [read(p) for p in cond.values]
    if not points or any(x is None for x in points):
        return MAYBE
    lo = float("-inf") if span[0] is None else span[0]
    hi = float("inf") if span[1] is None else span[1]
    op = cond.base.removeprefix(family)
    if op in ("LessThan", "LessThanEquals"):          # holds below the largest value
        top = max(points)
        every = hi < top if op == "LessThan" else hi <= top
        none = lo >= top if op == "LessThan" else lo > top
    elif op in ("GreaterThan", "GreaterThanEquals"):  # holds above the smallest value
        bottom = min(points)
        every = lo > bottom if op == "GreaterThan" else lo >= bottom
        none = hi <= bottom if op == "GreaterThan" else hi < bottom
    else:                                             # Equals / NotEquals: single instants
        inside = any(lo <= x <= hi for x in points)
        every = lo == hi and inside
        none = not inside
        if negated:
            every, none = none, every
    return YES if every else NO if none else MAYBE


def evaluate_conditions(conditions, ctx: Context, variables: bool = True) -> tuple[int, tuple[Condition, ...]]:
    """AND over a statement's conditions: (YES|NO|MAYBE, the conditions that were undecided)."""
    if not conditions:
        return YES, ()
    pending = []
    for cond in conditions:
        r = evaluate_condition(cond, ctx, variables)
        if r == NO:
            return NO, ()
        if r == MAYBE:
            pending.append(cond)
    return (MAYBE, tuple(pending)) if pending else (YES, ())
