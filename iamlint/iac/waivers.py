"""Inline suppressions beyond CloudFormation Metadata (which `cloudformation.py` reads):

* a tag on a role or user, in any IaC: key `iamlint:skip:RULE`, value `REASON` optionally followed by
  ` expires=YYYY-MM-DD` (tag values cannot hold `;` or quotes, so the format is this simple);
* a comment in the `.tf` files next to a Terraform plan (plan JSON keeps no comments):
  `# iamlint:skip=RULE reason="why" expires=YYYY-MM-DD` (or `//`), inside a `resource "T" "N" {` block
  or on the lines just before it; it applies to that resource (and to its instances, `T.N[0]`, and to
  the same resource inside modules).

A reason is required; an entry without one is an input error naming the file and the line.
"""

from __future__ import annotations

import os
import re

from ..errors import InputError
from ..model.account import Model
from .cloudformation import parse_date
from .index import Index, Suppression

TAG_PREFIX = "iamlint:skip:"
_EXPIRES = re.compile(r"\s*\bexpires=(\S+)\s*$")
_COMMENT = re.compile(r"(?:#|//)\s*iamlint:skip=([A-Za-z0-9_*-]+)(.*)$")
_REASON = re.compile(r"""\breason=(?:"([^"]*)"|'([^']*)'|(\S+))""")
_RESOURCE = re.compile(r"""^\s*resource\s+"([^"]+)"\s+"([^"]+)"\s*\{""")


def tag_suppressions(model: Model, index: Index) -> None:
    for arn, origin in index.principals.items():
        p = model.principal(arn)
        if p is None:
            continue
        for key, value in sorted(p.tags.items()):
            if not key.startswith(TAG_PREFIX):
                continue
            rule = key[len(TAG_PREFIX):].strip()
            text = str(value or "")
            m = _EXPIRES.search(text)
            expires = parse_date(m.group(1), origin.file, origin.line) if m else None
            reason = (text[:m.start()] if m else text).strip()
            if not rule or not reason:
                raise InputError(f"tag {key} needs a rule id in its key and a reason in its value", origin.file,
                                 f"line {origin.line}" if origin.line else None)
            index.suppress(Suppression(rule, reason, origin.file, origin.resource, origin.line, expires))


def tf_comment_suppressions(tf_path: str, plan_source: str, index: Index, shown: str | None = None) -> int:
    """Read `# iamlint:skip=...` comments of one .tf file into `index`, keyed on the plan's source."""
    shown = shown or tf_path
    try:
        with open(tf_path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return 0
    pending: list[tuple[int, str, str, str | None]] = []
    current: str | None = None
    depth = 0
    n = 0
    for no, line in enumerate(lines, start=1):
        m = _COMMENT.search(line)
        if m:
            rule, rest = m.group(1), m.group(2)
            r = _REASON.search(rest)
            reason = next((g for g in r.groups() if g), "") if r else ""
            if not reason.strip():
                raise InputError(f"iamlint:skip={rule} needs reason=\"...\"", shown, f"line {no}")
            e = re.search(r"\bexpires=(\S+)", rest)
            exp = e.group(1) if e else None
            if current is not None:
                index.suppress(Suppression(rule, reason.strip(), plan_source, current, no,
                                           parse_date(exp, shown, no)))
                n += 1
            else:
                pending.append((no, rule, reason.strip(), exp))
            continue
        code = line.split("#", 1)[0].split("//", 1)[0]
        h = _RESOURCE.match(code)
        if h and current is None:
            current = f"{h.group(1)}.{h.group(2)}"
            for pno, rule, reason, exp in pending:
                index.suppress(Suppression(rule, reason, plan_source, current, pno, parse_date(exp, shown, pno)))
                n += 1
            pending = []
            depth = 0
        if current is not None:
            depth += code.count("{") - code.count("}")
            if depth <= 0:
                current = None
        elif code.strip():
            pending = []         # a comment applies to the next resource only if nothing else comes between
    return n


def tf_files_near(plan_path: str) -> list[str]:
    folder = os.path.dirname(os.path.abspath(plan_path))
    try:
        return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".tf"))
    except OSError:
        return []


def same_resource(written: str, origin_resource: str) -> bool:
    """Does a suppression written for `written` (T.N) cover the resource at `origin_resource`?"""
    if written == origin_resource:
        return True
    bare = re.sub(r"\[[^\]]*\]", "", origin_resource)
    return bare == written or bare.endswith("." + written)
