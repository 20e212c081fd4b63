"""Values known only at deploy time, and policy documents that contain them.

A value the linter cannot know (a parameter without a default, an import, a known-after-apply
attribute, `Fn::If` on a condition that depends on one) is never guessed. It becomes a *marker*
string, `${iamlint:unresolved:WHAT}` (e.g. `${iamlint:unresolved:Ref:TrustedAccount}`), or, for an
`Fn::If` whose condition is undecided, an `Alternatives` value holding both branches.

Before a policy document reaches the one parser and the one evaluator, `build_policy` rewrites every
statement that depends on such a value so that the evaluator answers **Conditional** for exactly the
requests the value could decide, and keeps the certain part certain:

* the statement is split: the part that does not depend on the value (the entries of `Action`,
  `Resource`, `Principal` that hold no marker) stays as written; the rest becomes a *widened* copy;
* widening replaces each marker in `Action`/`Resource` by `*`, a `Principal` entry with a marker by
  `"*"`, drops marker entries of `NotAction`/`NotResource`/`NotPrincipal`, drops condition entries whose
  key or values hold a marker, and expands `Effect` and `Fn::If` alternatives into one copy per branch;
* every widened copy gets one extra condition per unknown value,
  `StringEquals {"iamlint:unresolved:WHAT": "decided at deploy time"}`, on a key no request context
  holds, so the evaluator's three-valued logic makes any decision that needs the copy Conditional and
  names the value it depends on. An Allow is never silently granted or refused, a Deny never silently
  applied or ignored.

A document that is entirely unknown (e.g. `!ImportValue`) becomes one widened Allow `*` on `*`
(`Principal: "*"` for trust and resource policies): anything is possible, nothing is certain.

Statement pointers stay those of the template (`/Statement/2`), so evidence and locations point at
the statement the author wrote.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import InputError, PolicyError
from ..jsonio import no_constant
from ..markers import MARKER_RE, display  # noqa: F401  (display: as the IaC modules and tests name it)
from ..model.policy import PolicyDocument, parse_policy
from .positions import Positions, esc, position

MARKER_KEY = "iamlint:unresolved:"
MARKER_VALUE = "decided at deploy time"
MAX_VARIANTS = 16


class _NoValue:
    __slots__ = ()

    def __repr__(self) -> str:
        return "AWS::NoValue"


NOVALUE = _NoValue()


@dataclass(frozen=True)
class Alternatives:
    """The value of an `Fn::If` whose condition cannot be decided before deployment."""

    condition: str
    branches: tuple

    @property
    def name(self) -> str:
        return f"If:{self.condition}"


def _no_duplicates(pairs: list) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def loads_policy(text: str) -> Any:
    """A policy document written as JSON text. A key written twice is an error (json.loads keeps the last,
    which would silently drop e.g. a first `Statement`); so are NaN and Infinity. Raises ValueError."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=no_constant)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:
        raise json.JSONDecodeError(str(exc), text, 0) from None


def marker(what: str) -> str:
    return "${iamlint:unresolved:" + what.replace("}", ")") + "}"


def markers_in(value: Any) -> list[str]:
    """Names of the unknown values inside `value` (deep), in order of appearance."""
    out: list[str] = []

    def walk(v):
        if isinstance(v, str):
            out.extend(MARKER_RE.findall(v))
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(k)
                walk(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        elif isinstance(v, Alternatives):
            out.append(v.name)
    walk(value)
    return list(dict.fromkeys(out))


def has_marker(value: Any) -> bool:
    return bool(markers_in(value))


def collapse(value: Any) -> Any:
    """Alternatives replaced by their common value, or a marker when the branches differ (deep)."""
    if isinstance(value, Alternatives):
        branches = [collapse(b) for b in value.branches]
        if all(b == branches[0] for b in branches[1:]) and branches[0] is not NOVALUE:
            return branches[0]
        return marker(value.name)
    if isinstance(value, dict):
        return {k: collapse(v) for k, v in value.items() if v is not NOVALUE}
    if isinstance(value, list):
        return [collapse(v) for v in value if v is not NOVALUE]
    return value


def _count(value: Any) -> int:
    if isinstance(value, Alternatives):
        return sum(_count(b) for b in value.branches)
    n = 1
    if isinstance(value, dict):
        for v in value.values():
            n *= _count(v)
    elif isinstance(value, list):
        for v in value:
            n *= _count(v)
    return min(n, 10 ** 6)


def variants(value: Any) -> list[tuple[Any, tuple[str, ...]]]:
    """Every way the Alternatives inside `value` can turn out: [(plain value, (condition names))].
    NOVALUE stands for "absent". Beyond MAX_VARIANTS, alternatives collapse to markers."""
    if _count(value) > MAX_VARIANTS:
        return [(collapse(value), ())]

    def go(v) -> list[tuple[Any, tuple[str, ...]]]:
        if isinstance(v, Alternatives):
            return [(x, tuple(dict.fromkeys((v.name,) + t))) for b in v.branches for x, t in go(b)]
        if isinstance(v, dict):
            acc: list[tuple[dict, tuple[str, ...]]] = [({}, ())]
            for k, x in v.items():
                nxt = []
                for part, tags in go(x):
                    for d, t in acc:
                        d2 = dict(d)
                        if part is not NOVALUE:
                            d2[k] = part
                        nxt.append((d2, tuple(dict.fromkeys(t + tags))))
                acc = nxt
            return acc
        if isinstance(v, list):
            acc2: list[tuple[list, tuple[str, ...]]] = [([], ())]
            for x in v:
                nxt2 = []
                for part, tags in go(x):
                    for lst, t in acc2:
                        nxt2.append((lst + ([] if part is NOVALUE else [part]), tuple(dict.fromkeys(t + tags))))
                acc2 = nxt2
            return acc2
        return [(v, ())]
    return go(value)


# ------------------------------------------------------------------ statements

def _as_list(v: Any) -> list:
    return v if isinstance(v, list) else [v]


def _widen_positive(v: Any) -> Any:
    """Action / Resource: each marker becomes `*` (a superset of whatever the value turns out to be)."""
    if isinstance(v, list):
        return [MARKER_RE.sub("*", x) if isinstance(x, str) else x for x in v]
    if isinstance(v, str):
        return MARKER_RE.sub("*", v)
    return v


def _certain_part(st: dict) -> dict | None:
    """The statement restricted to its entries that hold no marker, when that is a sound statement."""
    out = dict(st)
    for key in ("Action", "Resource"):
        if key in st and has_marker(st[key]):
            keep = [x for x in _as_list(st[key]) if not has_marker(x)]
            if not keep:
                return None
            out[key] = keep
    if "Principal" in st and has_marker(st["Principal"]):
        p = st["Principal"]
        if not isinstance(p, dict):
            return None
        newp = {}
        for kind, vals in p.items():
            if has_marker(kind):
                continue
            keep = [x for x in _as_list(vals) if not has_marker(x)]
            if keep:
                newp[kind] = keep
        if not newp:
            return None
        out["Principal"] = newp
    return out


def _widened(st: dict, names: list[str]) -> list[dict]:
    out = dict(st)
    for key in ("Action", "Resource"):
        if key in out and has_marker(out[key]):
            out[key] = _widen_positive(out[key])
    for key, pos in (("NotAction", "Action"), ("NotResource", "Resource")):
        if key in out and has_marker(out[key]):
            keep = [x for x in _as_list(out[key]) if not has_marker(x)]
            if keep:
                out[key] = keep
            else:
                del out[key]
                out[pos] = "*"
    if "Principal" in out and has_marker(out["Principal"]):
        out["Principal"] = "*"
    if "NotPrincipal" in out and has_marker(out["NotPrincipal"]):
        np_ = out["NotPrincipal"]
        newp = {}
        if isinstance(np_, dict):
            for kind, vals in np_.items():
                if has_marker(kind):
                    continue
                keep = [x for x in _as_list(vals) if not has_marker(x)]
                if keep:
                    newp[kind] = keep
        if newp:
            out["NotPrincipal"] = newp
        else:
            del out["NotPrincipal"]
            out["Principal"] = "*"
    cond = out.get("Condition")
    if cond is not None and has_marker(cond):
        newc: dict = {}
        if isinstance(cond, dict):
            for op, block in cond.items():
                if has_marker(op) or not isinstance(block, dict):
                    continue
                nb = {k: v for k, v in block.items() if not has_marker(k) and not has_marker(v)}
                if nb:
                    newc[op] = nb
        cond = newc
    cond = copy.deepcopy(cond) if isinstance(cond, dict) else {}
    eq = cond.get("StringEquals")
    if not isinstance(eq, dict):
        eq = cond["StringEquals"] = {}
    for n in names:
        eq[MARKER_KEY + n] = MARKER_VALUE
    out["Condition"] = cond
    if "Sid" in out and isinstance(out["Sid"], str):
        out["Sid"] = MARKER_RE.sub("", out["Sid"]) or None
        if out["Sid"] is None:
            del out["Sid"]
    if has_marker(out.get("Effect")):
        return [dict(out, Effect="Allow"), dict(out, Effect="Deny")]
    return [out]


def split_statement(st: Any, tags: tuple[str, ...] = ()) -> list[Any]:
    """One written statement -> the statements the evaluator sees (see the module docstring)."""
    if not isinstance(st, dict):
        return [st]                                   # the parser reports the wrong type
    names = list(dict.fromkeys(list(tags) + markers_in({k: v for k, v in st.items() if k != "Sid"})))
    if not names:
        if "Sid" in st and has_marker(st["Sid"]):
            st = dict(st, Sid=MARKER_RE.sub("", st["Sid"]))
        return [st]
    out = []
    only_positive = not tags and not any(
        has_marker(st.get(k)) for k in ("Effect", "NotAction", "NotResource", "NotPrincipal", "Condition"))
    if only_positive:
        certain = _certain_part(st)
        if certain is not None:
            if "Sid" in certain and has_marker(certain["Sid"]):
                certain["Sid"] = MARKER_RE.sub("", certain["Sid"])
            out.append(certain)
    out.extend(_widened(st, names))
    return out


def unknown_document(kind: str, what: str) -> dict:
    st: dict = {"Effect": "Allow", "Action": "*", "Resource": "*",
                "Condition": {"StringEquals": {MARKER_KEY + what: MARKER_VALUE}}}
    if kind in ("trust", "resource"):
        st["Principal"] = "*"
        if kind == "trust":
            del st["Resource"]
    return {"Version": "2012-10-17", "Statement": [st]}


# ------------------------------------------------------------------ documents

Resolve = Callable[[Any, str], Any]


def _identity(value: Any, ptr: str) -> Any:
    return value


def build_policy(raw: Any, kind: str, source: str, ptr: str, positions: Positions | None = None,
                 resolve: Resolve = _identity, tags: tuple[str, ...] = ()
                 ) -> tuple[PolicyDocument, dict[str, tuple[int, int] | None]]:
    """A written policy document (intrinsics not yet resolved, or plain) -> (parsed document, the
    position of each statement pointer). Statements are resolved one by one, so that their pointers stay
    the template's. `tags` names unknown values every statement depends on (e.g. the undecided condition
    of the resource that attaches the policy). Errors are one InputError naming the file and the line."""
    positions = positions or {}
    extra = tuple(tags)

    def fail(rel: str, message: str) -> InputError:
        pos = position(positions, ptr + rel)
        return InputError(message + (f" (at {ptr + rel})" if rel else ""), source,
                          f"line {pos[0]}" if pos else (ptr + rel or "/"))

    if isinstance(raw, dict) and not _is_intrinsic(raw):
        docs = [(raw, (), True)]
    else:
        value = resolve(raw, ptr)
        if isinstance(value, str):
            if has_marker(value):
                raw, value = unknown_document(kind, markers_in(value)[0]), None
                return build_policy(raw, kind, source, ptr, positions, tags=extra)
            try:
                value = loads_policy(value)
            except RecursionError:
                raise fail("", "policy document is nested too deeply") from None
            except json.JSONDecodeError as exc:
                raise fail("", f"policy document is not valid JSON ({exc.msg})") from None
            return build_policy(value, kind, source, ptr, positions, tags=extra)
        docs = [(d, t, False) for d, t in (variants(value) if isinstance(value, Alternatives) else [(value, ())])]
    statements: list[tuple[Any, tuple[str, ...], str]] = []     # (statement, tags, written pointer)
    version: Any = None
    pid: Any = None
    for doc, tags, by_parts in docs:
        if doc is NOVALUE:
            continue
        if not isinstance(doc, dict):
            raise fail("", f"a policy document must be an object, not {_type(doc)}")
        head = {k: v for k, v in doc.items() if k != "Statement"}
        head = collapse(resolve(head, ptr) if by_parts else head)
        unknown = [k for k in head if k not in ("Version", "Id")]
        if unknown:
            raise fail(f"/{esc(unknown[0])}", f"unknown policy element {unknown[0]!r}")
        if "Version" in head:
            if has_marker(head["Version"]):
                raise fail("/Version", "Version must be the literal 2012-10-17 or 2008-10-17")
            version = head["Version"]
        pid = head.get("Id", pid)
        if "Statement" not in doc:
            raise fail("", "policy document has no Statement")
        st = doc["Statement"]
        items: list[tuple[Any, str, tuple[str, ...]]] = []
        if by_parts and isinstance(st, list):
            items = [(resolve(item, f"{ptr}/Statement/{j}"), f"/Statement/{j}", ()) for j, item in enumerate(st)]
        elif by_parts and isinstance(st, dict) and not _is_intrinsic(st):
            items = [(resolve(st, f"{ptr}/Statement"), "/Statement", ())]
        else:
            v = resolve(st, f"{ptr}/Statement") if by_parts else st
            for whole, t0 in (variants(v) if isinstance(v, Alternatives) else [(v, ())]):
                if isinstance(whole, list):
                    items.extend((item, "/Statement" if by_parts else f"/Statement/{j}", t0)
                                 for j, item in enumerate(whole))
                elif whole is not NOVALUE:
                    items.append((whole, "/Statement", t0))
        for value, optr, t0 in items:
            for x, t in _statement_variants(value, kind):
                statements.append((x, tuple(dict.fromkeys(tags + t0 + t)), optr))
    final: list[Any] = []
    origin: list[tuple[int, str]] = []
    for st, tags, optr in statements:
        last = optr.rsplit("/", 1)[1]
        oidx = int(last) if last.isdigit() else 0
        for piece in split_statement(collapse(st), tuple(dict.fromkeys(extra + tags))):
            final.append(piece)
            origin.append((oidx, optr))
    out: dict = {}
    if version is not None:
        out["Version"] = version
    if pid is not None:
        out["Id"] = pid
    out["Statement"] = final
    return _parse(out, kind, fail, origin, positions, ptr)


def _statement_variants(v: Any, kind: str) -> list[tuple[Any, tuple[str, ...]]]:
    if v is NOVALUE:
        return []
    if isinstance(v, str) and has_marker(v):
        # a statement known only at deploy time
        return [(unknown_document(kind, markers_in(v)[0])["Statement"][0], ())]
    return [(x, t) for x, t in variants(v) if x is not NOVALUE]


def _is_intrinsic(d: dict) -> bool:
    if len(d) != 1:
        return False
    k = str(next(iter(d)))
    return k == "Ref" or k.startswith("Fn::")


def _type(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(v), type(v).__name__)


_SPACE = re.compile(r"\s|[\x00-\x1f\x7f]")


def _no_spaced_actions(doc: dict, parsed: PolicyDocument, fail, origin: list[tuple[int, str]]) -> None:
    """An action written with whitespace in it, most often the line break a YAML block scalar (`Action: |`)
    keeps at its end, is refused with its line. No action name holds whitespace: IAM refuses a string with
    leading whitespace outright ("JSON strings must not have leading spaces") and any other such entry names
    an action no request has, so the statement would not do what it says. (Authorization details and
    snapshots are what AWS accepted, and are read as they are.)"""
    for i, st in enumerate(parsed.statements):
        for field_name, values in (("Action", st.actions), ("NotAction", st.not_actions)):
            for j, a in enumerate(values or ()):
                if not _SPACE.search(a):
                    continue
                written = doc["Statement"][i].get(field_name)
                rel = (origin[i][1] if i < len(origin) else f"/Statement/{i}") + f"/{field_name}" + \
                    (f"/{j}" if isinstance(written, list) else "")
                hint = " (a YAML block scalar `|` keeps its line break: write `|-` or a plain value)" \
                    if a.rstrip(" ").endswith("\n") else ""
                raise fail(rel, f"{field_name} {json.dumps(a)} holds whitespace, which no AWS action name "
                                f"does{hint}")


def _parse(doc: dict, kind: str, fail, origin: list[tuple[int, str]], positions: Positions,
           ptr: str) -> tuple[PolicyDocument, dict[str, tuple[int, int] | None]]:
    try:
        parsed = parse_policy(doc, kind)
    except PolicyError as exc:
        place = exc.place or ""
        m = re.match(r"^/Statement/(\d+)(.*)$", place)
        if m and int(m.group(1)) < len(origin):
            rel = origin[int(m.group(1))][1] + m.group(2)
        else:
            rel = place
        raise fail(rel, exc.message) from None
    _no_spaced_actions(doc, parsed, fail, origin)
    stmts = []
    where: dict[str, tuple[int, int] | None] = {}
    for i, st in enumerate(parsed.statements):
        oidx, optr = origin[i] if i < len(origin) else (i, f"/Statement/{i}")
        stmts.append(dataclasses.replace(st, index=oidx, pointer=optr))
        where[optr] = position(positions, ptr + optr)
    return PolicyDocument(parsed.version, tuple(stmts), parsed.id, original=doc), where
