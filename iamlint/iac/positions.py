"""YAML and JSON with positions: the parsed value plus a side table {json_pointer: (line, column)}.

Lines and columns are 1-based. For a mapping entry the position is the key's (the line a reader looks
at: `AgentRole:`); for a list item, the item's first character. CloudFormation short-form tags (`!Ref`,
`!Sub`, `!GetAtt` ...) become the long form (`{"Ref": ...}`, `{"Fn::Sub": ...}`), exactly as
CloudFormation reads them. Unquoted dates stay strings (`Version: 2012-10-17`), as CloudFormation reads
them. Bad YAML, an unknown tag, a tag on the wrong kind of node and a duplicate key are one `InputError`
naming the file and the line.

JSON is read by a small position-keeping parser (after `json.loads` has validated it, so that JSON
errors are Python's precise ones with line and column).
"""

from __future__ import annotations

import json
import os
import re
from bisect import bisect_right
from typing import Any

import yaml

from ..errors import InputError
from ..jsonio import lone_surrogate
from ..jsonio import pointer_token as esc
from ..loaders.common import loads_json, read_text  # one reader for every input file
from ..yaml_safe import SafeLoader

Positions = dict[str, tuple[int, int]]

# short form -> (long form key, accepted node kinds)
SHORT_FORMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Ref": ("Ref", ("scalar",)),
    "Condition": ("Condition", ("scalar",)),
    "Sub": ("Fn::Sub", ("scalar", "sequence")),
    "GetAtt": ("Fn::GetAtt", ("scalar", "sequence")),
    "Join": ("Fn::Join", ("sequence",)),
    "If": ("Fn::If", ("sequence",)),
    "Select": ("Fn::Select", ("sequence",)),
    "Split": ("Fn::Split", ("sequence",)),
    "FindInMap": ("Fn::FindInMap", ("sequence",)),
    "ImportValue": ("Fn::ImportValue", ("scalar", "sequence", "mapping")),
    "Base64": ("Fn::Base64", ("scalar", "sequence", "mapping")),
    "Cidr": ("Fn::Cidr", ("sequence",)),
    "GetAZs": ("Fn::GetAZs", ("scalar", "mapping")),
    "Equals": ("Fn::Equals", ("sequence",)),
    "And": ("Fn::And", ("sequence",)),
    "Or": ("Fn::Or", ("sequence",)),
    "Not": ("Fn::Not", ("sequence",)),
    "Transform": ("Fn::Transform", ("mapping",)),
    "ToJsonString": ("Fn::ToJsonString", ("scalar", "sequence", "mapping")),
    "Length": ("Fn::Length", ("scalar", "sequence", "mapping")),
}

_STD = "tag:yaml.org,2002:"
# values built from one YAML document at most, beyond what its text could hold without aliases (aliases
# re-use nodes: `[*a, *a, ...]` nested a few levels deep expands to billions of values; a value takes at least
# a character or two, so a document without aliases never comes near 4 values per character)
MIN_YAML_VALUES = 100_000
_STD_TAGS = {"str", "int", "float", "bool", "null", "map", "seq", "binary", "timestamp", "merge", "value"}
_KIND = {yaml.ScalarNode: "scalar", yaml.SequenceNode: "sequence", yaml.MappingNode: "mapping"}
_KIND_TEXT = {"scalar": "a value", "sequence": "a list", "mapping": "a mapping"}


class PositionLoader(SafeLoader):
    """A SafeLoader that composes the node tree, then builds the value and the positions from it."""

    def __init__(self, stream, source: str = "<input>"):
        super().__init__(stream)
        self.source = source
        self.positions: Positions = {}
        self.budget = self.max_values = MIN_YAML_VALUES + 4 * len(stream if isinstance(stream, str) else "")

    # -------------------------------------------------------------- entry point
    def load_with_positions(self) -> tuple[Any, Positions]:
        try:
            node = self.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = exc.problem or exc.context or "invalid YAML"
            if exc.context and exc.problem and "document" in exc.problem:
                # "expected a single document in the stream" + "but found another document"
                problem = "a file holds one YAML document; a second one starts here (---)"
            raise InputError(f"invalid YAML: {problem}", self.source,
                             f"line {mark.line + 1}" if mark else None) from None
        except RecursionError:
            raise InputError("YAML is nested too deeply", self.source) from None
        except yaml.YAMLError as exc:
            raise InputError(f"invalid YAML: {exc}", self.source) from None
        finally:
            self.dispose()
        if node is None:
            return None, {"": (1, 1)}
        try:
            value = self._value(node, "", (node.start_mark.line + 1, node.start_mark.column + 1))
        except RecursionError:
            raise InputError("YAML is nested too deeply", self.source) from None
        except yaml.MarkedYAMLError as exc:        # e.g. a tag no safe loader constructs (!!python/object)
            mark = exc.problem_mark or exc.context_mark
            raise InputError(f"invalid YAML: {exc.problem or exc.context or 'cannot read a value'}", self.source,
                             f"line {mark.line + 1}" if mark else None) from None
        return value, self.positions

    # -------------------------------------------------------------- nodes
    def _fail(self, node, message: str) -> InputError:
        return InputError(message, self.source, f"line {node.start_mark.line + 1}")

    def _value(self, node, ptr: str, pos: tuple[int, int]) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise self._fail(node, f"YAML aliases expand to more than {self.max_values} values "
                                   "(an alias bomb?)")
        self.positions.setdefault(ptr, pos)
        tag = node.tag or ""
        if tag.startswith(_STD) and tag[len(_STD):] not in _STD_TAGS:
            raise self._fail(node, f"unsupported YAML tag !!{tag[len(_STD):]}")
        if tag.startswith("!") and not tag.startswith("!!"):
            name = tag[1:]
            if name not in SHORT_FORMS:
                raise self._fail(node, f"unknown intrinsic function tag !{name}")
            long, kinds = SHORT_FORMS[name]
            kind = _KIND[type(node)]
            if kind not in kinds:
                raise self._fail(node, f"!{name} takes {' or '.join(_KIND_TEXT[k] for k in kinds)}, "
                                       f"not {_KIND_TEXT[kind]}")
            inner_ptr = f"{ptr}/{esc(long)}"
            self.positions.setdefault(inner_ptr, pos)
            if isinstance(node, yaml.ScalarNode) and name == "GetAtt":
                text = node.value
                if "." not in text:
                    raise self._fail(node, f"!GetAtt {text!r} must be LogicalId.Attribute")
                a, b = text.split(".", 1)
                return {long: [a, b]}
            return {long: self._plain(node, inner_ptr, pos, untagged=True)}
        return self._plain(node, ptr, pos)

    def _plain(self, node, ptr: str, pos: tuple[int, int], untagged: bool = False) -> Any:
        if isinstance(node, yaml.ScalarNode):
            tag = node.tag
            if untagged:
                # the content of a short-form tag is resolved as the untagged node would be
                tag = self.resolve(yaml.ScalarNode, node.value, (node.style is None, False))
            if tag in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary") or tag.startswith("!"):
                return node.value
            return self.construct_object(yaml.ScalarNode(tag, node.value, node.start_mark, node.end_mark,
                                                         node.style), deep=True)
        if isinstance(node, yaml.SequenceNode):
            return [self._value(item, f"{ptr}/{i}", (item.start_mark.line + 1, item.start_mark.column + 1))
                    for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            own = sum(1 for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge")
            self.flatten_mapping(node)
            # flatten_mapping puts the merged (`<<: *anchor`) pairs first: a key written in the mapping
            # itself overrides a merged one (YAML merge keys), only a key written twice is a duplicate
            merged = len(node.value) - own
            from_merge: set = set()
            out: dict = {}
            for n, (key_node, val_node) in enumerate(node.value):
                if not isinstance(key_node, yaml.ScalarNode) or (key_node.tag or "").startswith("!") and \
                        not key_node.tag.startswith("!!"):
                    raise self._fail(key_node, "mapping keys must be plain values")
                key = self._plain(key_node, ptr, pos)
                if not isinstance(key, str):
                    key = key_node.value
                if key in out and key not in from_merge:
                    raise self._fail(key_node, f"duplicate key {key!r}")
                if n < merged:
                    from_merge.add(key)
                else:
                    from_merge.discard(key)
                    out.pop(key, None)          # keep the written key's place in the order
                kpos = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                out[key] = self._value(val_node, f"{ptr}/{esc(key)}", kpos)
            return out
        raise self._fail(node, "unsupported YAML node")


# unquoted dates stay strings (CloudFormation reads `Version: 2012-10-17` as text)
PositionLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text: str, source: str) -> tuple[Any, Positions]:
    try:
        loader = PositionLoader(text, source)
    except yaml.reader.ReaderError as exc:      # a control character: refused before parsing starts
        line = text[:exc.position].count("\n") + 1
        raise InputError(f"invalid YAML: character #x{exc.character:04x} is not allowed", source,
                         f"line {line}") from None
    value, positions = loader.load_with_positions()
    if _SURROGATE_ESCAPE.search(text):
        ptr = lone_surrogate(value)
        if ptr is not None:
            pos = position(positions, "" if ptr == "/" else ptr)
            raise InputError("a string holds half a UTF-16 surrogate pair (\\ud800-\\udfff alone): not text", source,
                             f"line {pos[0]}" if pos else ptr)
    return value, positions


_SURROGATE_ESCAPE = re.compile(r"\\(?:u|U0000)[dD][89a-fA-F]")


# ------------------------------------------------------------------ JSON

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?")


class _JsonPositions:
    """A JSON reader for text that `json.loads` has accepted; records where every value starts."""

    def __init__(self, text: str):
        self.text = text
        self.lines = [0] + [m.end() for m in re.finditer(r"\n", text)]
        self.positions: Positions = {}

    def pos(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self.lines, offset)
        return line, offset - self.lines[line - 1] + 1

    def ws(self, i: int) -> int:
        return _WS.match(self.text, i).end()

    def value(self, i: int, ptr: str, at: int | None) -> tuple[Any, int]:
        text = self.text
        i = self.ws(i)
        self.positions.setdefault(ptr, self.pos(at if at is not None else i))
        c = text[i]
        if c == "{":
            out: dict = {}
            i = self.ws(i + 1)
            if text[i] == "}":
                return out, i + 1
            while True:
                i = self.ws(i)
                kstart = i
                key, i = json.decoder.scanstring(text, i + 1)
                if key in out:
                    line, col = self.pos(kstart)
                    raise _JsonProblem(f"duplicate key {key!r}", line, col)
                i = self.ws(i) + 1          # ':'
                out[key], i = self.value(i, f"{ptr}/{esc(key)}", kstart)
                i = self.ws(i)
                if text[i] == ",":
                    i += 1
                    continue
                return out, i + 1
        if c == "[":
            arr: list = []
            i = self.ws(i + 1)
            if text[i] == "]":
                return arr, i + 1
            while True:
                item, i = self.value(i, f"{ptr}/{len(arr)}", None)
                arr.append(item)
                i = self.ws(i)
                if text[i] == ",":
                    i += 1
                    continue
                return arr, i + 1
        if c == '"':
            return json.decoder.scanstring(text, i + 1)
        if text.startswith("true", i):
            return True, i + 4
        if text.startswith("false", i):
            return False, i + 5
        if text.startswith("null", i):
            return None, i + 4
        m = _NUMBER.match(text, i)
        if m is None:           # NaN, Infinity, -Infinity: json.loads takes them, JSON does not
            line, col = self.pos(i)
            word = re.match(r"-?[A-Za-z]+", text[i:i + 12])
            raise _JsonProblem(f"{word.group(0) if word else text[i]!r} is not a JSON value", line, col)
        num = m.group(0)
        return (float(num) if (m.group(1) or m.group(2)) else int(num)), m.end()


class _JsonProblem(Exception):
    def __init__(self, message: str, line: int, col: int):
        super().__init__(message)
        self.message, self.line, self.col = message, line, col


def load_json(text: str, source: str) -> tuple[Any, Positions]:
    loads_json(text, source)      # Python's precise errors; NaN, over-long numbers, lone surrogates refused
    parser = _JsonPositions(text)
    try:
        value, _ = parser.value(0, "", None)
    except RecursionError:
        raise InputError("JSON is nested too deeply", source) from None
    except _JsonProblem as exc:
        raise InputError(f"invalid JSON: {exc.message}", source, f"line {exc.line} column {exc.col}") from None
    return value, parser.positions


# ------------------------------------------------------------------ files

def looks_like_json(text: str) -> bool:
    s = text.lstrip()
    return s.startswith("{") or s.startswith("[")


def load_text(text: str, source: str) -> tuple[Any, Positions]:
    """JSON when it looks like JSON (an object or a list) and is not named .yaml, YAML otherwise."""
    if looks_like_json(text) and not source.lower().endswith((".yaml", ".yml")):
        return load_json(text, source)
    try:
        return load_yaml(text, source)
    except InputError:
        if not looks_like_json(text):
            raise
        # JSON in a file named .yaml (CloudFormation reads either, by content): JSON that YAML refuses
        # (tab indentation) is still JSON; when it is not JSON either, the YAML error is the one to show
        try:
            return load_json(text, source)
        except InputError:
            pass
        raise


_UTF16_32 = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
             (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def read_input(path: str, source: str) -> str:
    """An input file's text, errors naming it as findings do (`source`). UTF-8 (a BOM is dropped); UTF-16 and
    UTF-32 with a BOM are read too (Windows PowerShell's `terraform show -json plan > plan.json` writes
    UTF-16). Bytes that are not UTF-8 are one error naming the line."""
    try:
        return read_text(path)
    except InputError as exc:
        if "not UTF-8" not in exc.message:
            raise InputError(exc.message, source, exc.place) from None
    with open(path, "rb") as fh:
        raw = fh.read()
    for bom, codec in _UTF16_32:
        if raw.startswith(bom):
            try:
                return raw[len(bom):].decode(codec)
            except UnicodeDecodeError as exc:
                raise InputError(f"file starts with a {codec.upper()} byte order mark but is not {codec.upper()} "
                                 f"text (byte {exc.start + len(bom)})", source) from None
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError(f"file is not UTF-8 text (byte 0x{raw[exc.start]:02x}; save it as UTF-8)", source,
                         f"line {line} column {col}") from None
    raise InputError("file is not UTF-8 text", source)


def load_file(path: str) -> tuple[Any, Positions]:
    return load_text(read_text(path), path)


def position(positions: Positions, ptr: str) -> tuple[int, int] | None:
    """The position of `ptr`, or of its nearest ancestor that has one."""
    p = ptr
    while True:
        if p in positions:
            return positions[p]
        if not p:
            return None
        p = p.rsplit("/", 1)[0]


def display_path(path: str) -> str:
    """A path as findings show it: relative to the working directory when under it, POSIX separators."""
    ap = os.path.abspath(path)
    try:
        rel = os.path.relpath(ap, os.getcwd())
    except ValueError:
        rel = ap
    if rel == ".." or rel.startswith(".." + os.sep):
        rel = ap
    return rel.replace(os.sep, "/")
