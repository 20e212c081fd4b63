"""Policy documents, normalized once.

`parse_policy(doc)` accepts every form AWS accepts (Statement as an object or a list, Action/Resource/
Principal as a string or a list, a document as a JSON string or URL-encoded JSON) and returns a
`PolicyDocument` whose statements always hold lists. The original document is kept for evidence.
Anything AWS would refuse raises `PolicyError` with a JSON pointer to the offending element.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..errors import PolicyError
from ..jsonio import NotJson, dumps_compact, lone_surrogate, no_constant
from ..jsonio import pointer_token as _esc

VERSIONS = ("2012-10-17", "2008-10-17")
STATEMENT_KEYS = {
    "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource",
    "Principal", "NotPrincipal", "Condition",
}
PRINCIPAL_KINDS = ("AWS", "Service", "Federated", "CanonicalUser")
SET_QUALIFIERS = ("forallvalues", "foranyvalue")


@dataclass(frozen=True)
class Condition:
    """One (operator, key) pair of a Condition block, e.g. StringEquals aws:SourceAccount [..]."""

    operator: str          # as written, e.g. "ForAnyValue:StringLikeIfExists"
    base: str              # canonical base operator, e.g. "StringLike"
    qualifier: str | None  # "ForAllValues" | "ForAnyValue" | None
    if_exists: bool
    key: str               # as written
    values: tuple[str, ...]

    @property
    def key_lower(self) -> str:
        return self.key.lower()

    def describe(self) -> str:
        vals = ", ".join(self.values)
        return f"{self.operator} {self.key} [{vals}]"

    def to_json(self) -> dict:
        return {"operator": self.operator, "key": self.key, "values": list(self.values)}


@dataclass(frozen=True)
class Statement:
    index: int
    pointer: str                                   # JSON pointer inside the document, e.g. /Statement/2
    effect: str                                    # "Allow" | "Deny"
    sid: str | None = None
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None
    not_resources: tuple[str, ...] | None = None
    principals: dict[str, tuple[str, ...]] | None = None       # {"AWS": (...)}; "*" is {"*": ("*",)}
    not_principals: dict[str, tuple[str, ...]] | None = None
    conditions: tuple[Condition, ...] = ()
    raw: Any = field(default=None, compare=False, repr=False)

    @property
    def is_allow(self) -> bool:
        return self.effect == "Allow"

    def label(self) -> str:
        return f"{self.pointer}" + (f" ({self.sid})" if self.sid else "")


@dataclass(frozen=True)
class PolicyDocument:
    version: str | None
    statements: tuple[Statement, ...]
    id: str | None = None
    original: Any = field(default=None, compare=False, repr=False)

    @property
    def variables_enabled(self) -> bool:
        """Policy variables are substituted only under Version 2012-10-17 (R15)."""
        return self.version == "2012-10-17"

    def to_json(self) -> Any:
        return self.original

    @cached_property
    def allows(self) -> tuple[Statement, ...]:
        """The Allow statements, in order (what the evaluator scans for a grant)."""
        return tuple(st for st in self.statements if st.effect == "Allow")

    @cached_property
    def denies(self) -> tuple[Statement, ...]:
        """The Deny statements, in order."""
        return tuple(st for st in self.statements if st.effect != "Allow")


def frozen_record(cls: type, fields: dict[str, Any]) -> Any:
    """`cls(**fields)` for a frozen dataclass given every one of its fields: the same object, without the
    generated __init__'s one object.__setattr__ per field (1.5 us of the 4 a parsed statement costs)."""
    obj = object.__new__(cls)
    object.__setattr__(obj, "__dict__", fields)
    return obj


# canonical spellings of the condition operators, keyed by lower case
BASE_OPERATORS = {
    op.lower(): op
    for op in (
        "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
        "StringLike", "StringNotLike",
        "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
        "NumericGreaterThan", "NumericGreaterThanEquals",
        "DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals",
        "DateGreaterThan", "DateGreaterThanEquals",
        "Bool", "BinaryEquals", "IpAddress", "NotIpAddress",
        "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Null",
    )
}


def decode_document(value: Any, where: str = "") -> Any:
    """A policy document as AWS APIs and tools hand it over: a dict, JSON text, or URL-encoded JSON text (as
    IAM returns it; `+` for a space, as a form encoder writes it, is read too). A document encoded twice
    (URL-encoded again, or JSON text holding JSON text) is unwrapped: no policy document starts with `%`
    or is a string, so the reading is unambiguous. JSON that is not JSON as AWS writes it (NaN, Infinity,
    a number over Python's digit limit, half a UTF-16 surrogate pair) is a PolicyError."""
    if isinstance(value, (dict, list)):
        return value
    if not isinstance(value, str):
        raise PolicyError(f"policy document must be an object, not {_type(value)}", place=where)
    text = value
    for _layer in range(4):
        text = text.strip()
        if _url_encoded(text):
            plain = urllib.parse.unquote(text)
            if "+" in text and not _url_encoded(plain.strip()) and not _parses(plain):
                plain = urllib.parse.unquote_plus(text)
            text = plain
            continue
        doc = _loads(text, where)
        if isinstance(doc, str):
            text = doc
            continue
        return doc
    raise PolicyError("policy document is encoded more than 4 times over", place=where)


_ENCODED_BRACE = re.compile(r"%(?:25)*7[bB]")       # "{" URL-encoded once or more


def _url_encoded(text: str) -> bool:
    return bool(_ENCODED_BRACE.match(text)) or ("%22" in text and not text.startswith(("{", '"')))


def _parses(text: str) -> bool:
    try:
        json.loads(text)
        return True
    except (ValueError, RecursionError):
        return False


def _loads(text: str, where: str) -> Any:
    try:
        doc = json.loads(text, parse_constant=no_constant)
    except json.JSONDecodeError as exc:
        raise PolicyError(f"policy document is not valid JSON ({exc.msg} at character {exc.pos})",
                          place=where) from None
    except NotJson as exc:
        raise PolicyError(f"policy document is not valid JSON ({exc})", place=where) from None
    except ValueError:          # an integer over Python's digit limit
        raise PolicyError("policy document is not valid JSON (a number too long to read)", place=where) from None
    if "\\u" in text:
        ptr = lone_surrogate(doc)
        if ptr is not None:
            raise PolicyError("a string holds half a UTF-16 surrogate pair (\\ud800-\\udfff alone): not text",
                              place=where + (ptr if ptr != "/" else ""))
    return doc


def _type(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(v), type(v).__name__)


def _all_strings(items: list) -> bool:
    """Every item is a str (or a subclass): what str.join accepts, checked in C."""
    try:
        "".join(items)
    except TypeError:
        return False
    return True


def _strings(value: Any, pointer: str, name: str, allow_empty: bool = False) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        if _all_strings(value):
            if not value and not allow_empty:
                raise PolicyError(f"{name} must not be an empty list", place=pointer)
            return tuple(value)
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise PolicyError(f"{name} entries must be strings, not {_type(item)}", place=f"{pointer}/{i}")
    raise PolicyError(f"{name} must be a string or a list of strings, not {_type(value)}", place=pointer)


def _element(raw: dict, name: str, pointer: str) -> tuple[str, ...]:
    """The statement's `name` element (Action, Resource ...) as `_strings` reads it."""
    value = raw[name]
    if isinstance(value, str):
        return (value,)
    if value and isinstance(value, list) and _all_strings(value):
        return tuple(value)
    return _strings(value, f"{pointer}/{name}", name)


def _principal(value: Any, pointer: str, name: str) -> dict[str, tuple[str, ...]]:
    if value == "*":
        return {"*": ("*",)}
    if isinstance(value, dict):
        if not value:
            raise PolicyError(f"{name} must not be empty", place=pointer)
        out: dict[str, tuple[str, ...]] = {}
        for kind, vals in value.items():
            if kind not in PRINCIPAL_KINDS:
                raise PolicyError(f"unknown {name} type {kind!r} (expected one of {', '.join(PRINCIPAL_KINDS)})",
                                  place=f"{pointer}/{_esc(kind)}")
            out[kind] = _strings(vals, f"{pointer}/{kind}", f"{name}.{kind}")
        return out
    raise PolicyError(f"{name} must be \"*\" or an object, not {_type(value)}", place=pointer)


def _scalar_text(v: Any, pointer: str) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    if isinstance(v, str):
        return v
    raise PolicyError(f"condition values must be strings, numbers or booleans, not {_type(v)}", place=pointer)


def parse_operator(op: str, pointer: str) -> tuple[str, str | None, bool]:
    text = op
    qualifier = None
    if ":" in text:
        prefix, _, rest = text.partition(":")
        if prefix.lower() not in SET_QUALIFIERS:
            raise PolicyError(f"unknown condition operator {op!r}", place=pointer)
        qualifier = "ForAllValues" if prefix.lower() == "forallvalues" else "ForAnyValue"
        text = rest
    if_exists = False
    low = text.lower()
    if low.endswith("ifexists") and low[:-8] in BASE_OPERATORS:
        if_exists = True
        low = low[:-8]
    base = BASE_OPERATORS.get(low)
    if base is None:
        raise PolicyError(f"unknown condition operator {op!r}", place=pointer)
    if base == "Null" and (if_exists or qualifier):
        raise PolicyError(f"condition operator {op!r} is not valid (Null takes no qualifier)", place=pointer)
    return base, qualifier, if_exists


# operators as written -> parse_operator's answer: a few dozen spellings recur in every document
_OPERATORS_READ: dict[str, tuple[str, str | None, bool]] = {}
_OPERATORS_READ_MAX = 4096


def _conditions(value: Any, pointer: str) -> tuple[Condition, ...]:
    if not isinstance(value, dict):
        raise PolicyError(f"Condition must be an object, not {_type(value)}", place=pointer)
    out = []
    for op, block in value.items():
        parsed = _OPERATORS_READ.get(op) if isinstance(op, str) else None
        if parsed is None:
            parsed = parse_operator(op, f"{pointer}/{_esc(op)}")
            if len(_OPERATORS_READ) < _OPERATORS_READ_MAX:
                _OPERATORS_READ[op] = parsed
        base, qualifier, if_exists = parsed
        if not isinstance(block, dict):
            raise PolicyError(f"condition operator {op!r} must map keys to values, not {_type(block)}",
                              place=f"{pointer}/{_esc(op)}")
        for key, vals in block.items():
            if isinstance(vals, str):
                values: tuple[str, ...] = (vals,)
            elif isinstance(vals, list):
                if _all_strings(vals):
                    values = tuple(vals)
                else:
                    key_ptr = f"{pointer}/{_esc(op)}/{_esc(key)}"
                    values = tuple(_scalar_text(v, f"{key_ptr}/{i}") for i, v in enumerate(vals))
            else:
                values = (_scalar_text(vals, f"{pointer}/{_esc(op)}/{_esc(key)}"),)
            out.append(frozen_record(Condition, {"operator": op, "base": base, "qualifier": qualifier,
                                          "if_exists": if_exists, "key": key, "values": values}))
    return tuple(out)


_IDENTITY_KINDS = frozenset(("identity", "boundary", "session"))


def parse_statement(raw: Any, index: int, pointer: str, kind: str) -> Statement:
    if not isinstance(raw, dict):
        raise PolicyError(f"a statement must be an object, not {_type(raw)}", place=pointer)
    if not raw.keys() <= STATEMENT_KEYS:
        for key in raw:
            if key not in STATEMENT_KEYS:
                raise PolicyError(f"unknown statement element {key!r}", place=f"{pointer}/{_esc(key)}")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError("Effect must be \"Allow\" or \"Deny\""
                          + ("" if effect is None else f", not {json.dumps(effect)}"), place=f"{pointer}/Effect")
    has_action, has_not_action = "Action" in raw, "NotAction" in raw
    has_resource, has_not_resource = "Resource" in raw, "NotResource" in raw
    has_principal, has_not_principal = "Principal" in raw, "NotPrincipal" in raw
    if has_action == has_not_action:
        raise PolicyError("a statement needs exactly one of Action or NotAction", place=pointer)
    if has_resource and has_not_resource:
        raise PolicyError("a statement cannot have both Resource and NotResource", place=pointer)
    if has_principal and has_not_principal:
        raise PolicyError("a statement cannot have both Principal and NotPrincipal", place=pointer)
    if kind in _IDENTITY_KINDS:
        if has_principal or has_not_principal:
            which = "Principal" if has_principal else "NotPrincipal"
            raise PolicyError(f"{which} is not allowed in an identity-based policy", place=f"{pointer}/{which}")
        if not has_resource and not has_not_resource:
            raise PolicyError("a statement needs Resource or NotResource", place=pointer)
    if kind in ("resource", "trust") and not has_principal and not has_not_principal:
        raise PolicyError("a resource-based policy statement needs Principal or NotPrincipal", place=pointer)
    if kind == "trust" and has_not_principal:
        raise PolicyError("NotPrincipal is not allowed in a role trust policy", place=f"{pointer}/NotPrincipal")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise PolicyError(f"Sid must be a string, not {_type(sid)}", place=f"{pointer}/Sid")
    return frozen_record(Statement, {
        "index": index,
        "pointer": pointer,
        "effect": effect,
        "sid": sid,
        "actions": _element(raw, "Action", pointer) if has_action else None,
        "not_actions": _element(raw, "NotAction", pointer) if has_not_action else None,
        "resources": _element(raw, "Resource", pointer) if has_resource else None,
        "not_resources": _element(raw, "NotResource", pointer) if has_not_resource else None,
        "principals": (_principal(raw["Principal"], f"{pointer}/Principal", "Principal")
                       if has_principal else None),
        "not_principals": (_principal(raw["NotPrincipal"], f"{pointer}/NotPrincipal", "NotPrincipal")
                           if has_not_principal else None),
        "conditions": _conditions(raw["Condition"], f"{pointer}/Condition") if "Condition" in raw else (),
        "raw": raw,
    })


_DOCUMENT_KEYS = frozenset(("Version", "Statement", "Id"))
_STATEMENT_POINTERS = tuple(f"/Statement/{i}" for i in range(64))


def parse_key(doc: Any, kind: str) -> tuple | None:
    """A key under which `parse_policy(doc, kind)` may be kept: equal exactly for documents of one kind
    written the same (a document given as text by that text; given as JSON by its compact text, in a key
    of its own length so that the two never meet). None for a value with no JSON text."""
    try:
        return (kind, doc) if isinstance(doc, str) else (kind, None, dumps_compact(doc))
    except (TypeError, ValueError):
        return None


def parse_policy(doc: Any, kind: str = "identity", where: str = "") -> PolicyDocument:
    """Normalize a policy document. `kind`: identity, boundary, session, scp, rcp, resource, trust.

    Errors carry a JSON pointer relative to the document, prefixed by `where`.
    """
    try:
        doc = decode_document(doc)
        if not isinstance(doc, dict):
            raise PolicyError(f"policy document must be an object, not {_type(doc)}", place="")
        if not doc.keys() <= _DOCUMENT_KEYS:
            for key in doc:
                if key not in _DOCUMENT_KEYS:
                    raise PolicyError(f"unknown policy element {key!r}", place=f"/{_esc(key)}")
        version = doc.get("Version")
        if version is not None and version not in VERSIONS:
            raise PolicyError(f"Version must be \"2012-10-17\" or \"2008-10-17\", not {json.dumps(version)}",
                              place="/Version")
        if "Statement" not in doc:
            raise PolicyError("policy document has no Statement", place="")
        raw_st = doc["Statement"]
        if isinstance(raw_st, dict):
            statements = (parse_statement(raw_st, 0, "/Statement", kind),)
        elif isinstance(raw_st, list):
            statements = tuple([parse_statement(s, i, _STATEMENT_POINTERS[i] if i < 64 else f"/Statement/{i}", kind)
                                for i, s in enumerate(raw_st)])
        else:
            raise PolicyError(f"Statement must be an object or a list, not {_type(raw_st)}", place="/Statement")
        pid = doc.get("Id")
        if pid is not None and not isinstance(pid, str):
            raise PolicyError(f"Id must be a string, not {_type(pid)}", place="/Id")
    except PolicyError as exc:
        if where:
            raise PolicyError(exc.message, exc.source, where + (exc.place or "")) from None
        raise
    except RecursionError:
        raise PolicyError("policy document is nested too deeply", place=where) from None
    # `allows` and `denies` filled in as their first reading would (a cached_property takes a lock)
    return frozen_record(PolicyDocument, {"version": version, "statements": statements, "id": pid, "original": doc,
                                   "allows": tuple([st for st in statements if st.effect == "Allow"]),
                                   "denies": tuple([st for st in statements if st.effect != "Allow"])})
