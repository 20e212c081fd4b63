"""Shared by every loader: read a JSON file with clear errors, and typed field access by pointer."""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

from ..errors import InputError, PolicyError
from ..jsonio import NotJson, lone_surrogate, no_constant
from ..jsonio import pointer_token as esc
from ..model.policy import PolicyDocument, parse_key, parse_policy

MAX_INPUT_BYTES = int(os.environ.get("IAMLINT_MAX_INPUT_BYTES", str(2 * 1024 ** 3)))


def read_text(path: str) -> str:
    """A UTF-8 text file (a BOM is dropped), refused over the input size limit; problems are one InputError.
    A pipe (`--input <(aws iam get-account-authorization-details)`) is read too, up to the same limit."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", source=path) from None
    if size > MAX_INPUT_BYTES:
        raise _too_big(path, size)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", source=path) from None
    if len(raw) > MAX_INPUT_BYTES:        # a pipe or a file that grew: its size said nothing
        raise _too_big(path, None)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise InputError(f"file is not UTF-8 text (byte {exc.start}: 0x{raw[exc.start]:02x})", source=path,
                         place=f"line {line}") from None


def _too_big(path: str, size: int | None) -> InputError:
    what = f"file is {size} bytes, over" if size is not None else "input is over"
    return InputError(f"{what} the {MAX_INPUT_BYTES}-byte input limit (set IAMLINT_MAX_INPUT_BYTES to raise it)",
                      source=path)


def read_json(path: str) -> Any:
    """Parse a JSON file; any problem is one InputError naming the file and the line."""
    return loads_json(read_text(path), path)


# a JSON string (skipped), or the token looked for outside strings
_STRING = r'"(?:[^"\\]|\\.)*"'
_CONSTANT = re.compile(_STRING + r"|(-?Infinity|NaN)")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _place_of(text: str, rx: re.Pattern) -> str | None:
    for m in rx.finditer(text):
        if m.group(1) is not None:
            line = text.count("\n", 0, m.start(1)) + 1
            return f"line {line} column {m.start(1) - (text.rfind(chr(10), 0, m.start(1)) + 1) + 1}"
    return None


def loads_json(text: str, source: str, place: str | None = None) -> Any:
    """`json.loads` for input files: one InputError naming `source` and the line for anything that is not
    JSON as AWS writes it: a syntax error, NaN or Infinity (Python reads them, JSON has no such value), a
    number too long to read, nesting too deep, or a string holding half a UTF-16 surrogate pair (`"\\ud800"`,
    which no UTF-8 output can hold). `place` (e.g. "line 3") replaces the line in the text for one-line
    inputs such as a JSON-lines file."""
    try:
        data = json.loads(text, parse_constant=no_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", source=source,
                         place=place or f"line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise InputError("JSON is nested too deeply", source=source, place=place) from None
    except NotJson as exc:
        raise InputError(f"invalid JSON: {exc}", source=source,
                         place=place or _place_of(text, _CONSTANT)) from None
    except ValueError as exc:            # Python's limit on the digits of an integer
        digits = sys.get_int_max_str_digits() or 4300
        where = _place_of(text, re.compile(_STRING + r"|(-?\d{%d,})" % (digits + 1)))
        raise InputError(f"invalid JSON: a number with more than {digits} digits",
                         source=source, place=place or where) from None
    if _SURROGATE_ESCAPE.search(text):
        ptr = lone_surrogate(data)
        if ptr is not None:
            raise InputError("a string holds half a UTF-16 surrogate pair (\\ud800-\\udfff alone): not text",
                             source=source, place=(place + " " + ptr) if place else ptr)
    return data


def read_yaml(path: str) -> Any:
    """Parse a YAML file (safe loading: no tags that build objects); problems are one InputError with the line."""
    import yaml

    from ..yaml_safe import safe_load

    text = read_text(path)
    try:
        return safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"invalid YAML: {getattr(exc, 'problem', None) or exc}", source=path,
                         place=f"line {mark.line + 1}" if mark else None) from None
    except RecursionError:
        raise InputError("YAML is nested too deeply", source=path) from None


class Reader:
    """Typed access to a parsed document, raising InputError(source, pointer) on a wrong shape."""

    def __init__(self, source: str):
        self.source = source
        # parsed documents by kind and exact text: a file repeats a few trust policies thousands of times
        # (4,468 distinct among 20,000 roles generated), and a parse is immutable, so equal texts share one
        self._parsed: dict[tuple, PolicyDocument] = {}

    def fail(self, ptr: str, message: str) -> InputError:
        return InputError(message, source=self.source, place=ptr or "/")

    def obj(self, value: Any, ptr: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(ptr, f"expected an object, found {type_name(value)}")
        return value

    def lst(self, parent: dict, key: str, ptr: str, required: bool = False) -> list:
        if key not in parent or parent[key] is None:
            if required:
                raise self.fail(ptr, f"missing {key}")
            return []
        val = parent[key]
        if not isinstance(val, list):
            raise self.fail(f"{ptr}/{esc(key)}", f"{key} must be a list, found {type_name(val)}")
        return val

    def str(self, parent: dict, key: str, ptr: str, required: bool = True, default: str | None = None) -> str | None:
        if key not in parent or parent[key] is None:
            if required:
                raise self.fail(ptr, f"missing {key}")
            return default
        val = parent[key]
        if not isinstance(val, str):
            raise self.fail(f"{ptr}/{esc(key)}", f"{key} must be a string, found {type_name(val)}")
        return val

    def int(self, parent: dict, key: str, ptr: str) -> int | None:
        val = parent.get(key)
        if val is None:
            return None
        if isinstance(val, bool) or not isinstance(val, int):
            raise self.fail(f"{ptr}/{esc(key)}", f"{key} must be a whole number, found {type_name(val)}")
        return val

    def flag(self, parent: dict, key: str, ptr: str, default: bool) -> bool:
        """A boolean field ("false" as text would read as true)."""
        val = parent.get(key)
        if val is None:
            return default
        if not isinstance(val, bool):
            raise self.fail(f"{ptr}/{esc(key)}", f"{key} must be true or false, found {type_name(val)}")
        return val

    def policy(self, value: Any, ptr: str, kind: str) -> PolicyDocument:
        key = parse_key(value, kind)
        hit = self._parsed.get(key) if key is not None else None
        if hit is not None:
            return hit
        try:
            doc = parse_policy(value, kind)
        except PolicyError as exc:
            raise PolicyError(exc.message, self.source, ptr + (exc.place or "")) from None
        if key is not None:
            self._parsed[key] = doc
        return doc

    def arn(self, parent: dict, key: str, ptr: str, required: bool = True) -> str | None:
        val = self.str(parent, key, ptr, required)
        if val is not None and (not val.startswith("arn:") or val.count(":") < 5):
            raise self.fail(f"{ptr}/{esc(key)}", f"{key} is not an ARN: {val[:80]!r}")
        return val


def type_name(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(v), type(v).__name__)


def account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def tags_of(r: Reader, item: dict, ptr: str) -> dict[str, str]:
    raw = item.get("Tags")
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    if not isinstance(raw, list):
        raise r.fail(f"{ptr}/Tags", f"Tags must be a list, found {type_name(raw)}")
    out = {}
    for i, t in enumerate(raw):
        t = r.obj(t, f"{ptr}/Tags/{i}")
        out[r.str(t, "Key", f"{ptr}/Tags/{i}")] = r.str(t, "Value", f"{ptr}/Tags/{i}", required=False, default="")
    return out


_PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):(user|role|group)/.+$", re.S)


def principal_arn(r: Reader, value: str, ptr: str, kind: str) -> str:
    """`value`, checked to be the ARN of an IAM `kind` (user, role, group) in a 12-digit account: a user's
    ARN in a role's place (or an account id that is not one) would put it where nothing finds it."""
    m = _PRINCIPAL_ARN.match(value)
    if m is None or m.group(2) != kind:
        raise r.fail(ptr, f"{value[:120]!r} is not the ARN of an IAM {kind} "
                          f"(arn:aws:iam::<12-digit account>:{kind}/<name>)")
    return value


class Batch:
    """What loading several files into one model settles once the last one is read: a principal given twice
    (the same account in two files) is an error naming both places, not a silent overwrite; a group or a
    managed policy that one file names and another defines (paginated authorization details, one account
    per file with shared AWS managed policies) is found before anything is reported missing."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[str, str]] = {}         # principal ARN -> (source, pointer)
        self.members: list[tuple[Any, list[tuple[str, str]], str]] = []   # (user, [(group name, ptr)], source)
        self.group_arns: list[tuple[Any, list[tuple[str, str]], str]] = []  # (user, [(group ARN, ptr)], source)

    def principal(self, r: Reader, arn: str, ptr: str, model: Any) -> None:
        """Note where `arn` is given. In another file: an error naming both. Twice in one file (which AWS never
        writes; bench/generate.py does): the later entry replaces the earlier, as before, and the account's
        collection errors say so (DuplicatePrincipal), so the replaced entry is not lost silently."""
        if arn in self.seen:
            src, first = self.seen[arn]
            if src != r.source:
                raise r.fail(ptr, f"{arn} is in the input twice (also at {src}: {first}): give each principal, "
                                  "and each account, once")
            model.account(account_of(arn)).collection_errors.append({
                "service": "iam", "operation": "GetAccountAuthorizationDetails", "region": None,
                "error_code": "DuplicatePrincipal",
                "message": f"{r.source}: {ptr}: {arn} is also at {first}; the later entry replaces the earlier"})
        self.seen[arn] = (r.source, ptr)

    def source_of(self, arn: str, default: str) -> str:
        return self.seen.get(arn, (default, ""))[0]
