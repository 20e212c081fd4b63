"""Shared by every loader: read a JSON file with clear errors, and typed field access by pointer."""

from __future__ import annotations

import json
import os
from typing import Any

from ..errors import InputError, PolicyError
from ..model.policy import PolicyDocument, parse_policy

MAX_INPUT_BYTES = int(os.environ.get("IAMLINT_MAX_INPUT_BYTES", str(2 * 1024 ** 3)))


def esc(token: Any) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def read_text(path: str) -> str:
    """A UTF-8 text file (a BOM is dropped), refused over the input size limit; problems are one InputError."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", source=path) from None
    if size > MAX_INPUT_BYTES:
        raise InputError(f"file is {size} bytes, over the {MAX_INPUT_BYTES}-byte input limit "
                         "(set IAMLINT_MAX_INPUT_BYTES to raise it)", source=path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", source=path) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"file is not UTF-8 text (byte {exc.start})", source=path) from None


def read_json(path: str) -> Any:
    """Parse a JSON file; any problem is one InputError naming the file and the line."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", source=path,
                         place=f"line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise InputError("JSON is nested too deeply", source=path) from None


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

    def policy(self, value: Any, ptr: str, kind: str) -> PolicyDocument:
        try:
            return parse_policy(value, kind)
        except PolicyError as exc:
            raise PolicyError(exc.message, self.source, ptr + (exc.place or "")) from None

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
