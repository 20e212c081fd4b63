"""Batch simulation: `iamlint simulate --cases FILE.jsonl`, policy unit tests for CI.

Each line is one case (see README, "simulate"). The context is the whole request context: a key
that is absent is absent. Each case gives one output line:
{"id", "decision", "error", "explanation", ["expected", "match"]}.
"""

from __future__ import annotations

from typing import Any

from .engine.context import Context
from .engine.evaluate import NamedPolicy, PolicySet, Request, evaluate
from .errors import InputError, PolicyError
from .jsonio import dumps_compact, orjson, pointer_token as _esc
from .model.policy import frozen_record, parse_key, parse_policy

DECISIONS = ("Allowed", "ImplicitlyDenied", "ExplicitlyDenied")


_PARSED: dict[tuple, Any] = {}
_PARSED_MAX = 20000


def _parse(doc: Any, kind: str, where: str):
    """`parse_policy`, kept by the document's exact text: a suite of policy unit tests asks about the same
    few documents case after case. The statements' pointers are relative to the document, so a parse is
    the same whichever case it came from; a document that fails is parsed (and reported) every time."""
    key = parse_key(doc, kind)
    if key is None:
        return parse_policy(doc, kind, where=where)
    hit = _PARSED.get(key)
    if hit is None:
        hit = parse_policy(doc, kind, where=where)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = hit
    return hit


def _named(item: Any, kind: str, where: str, default_name: str, level: str | None = None) -> NamedPolicy:
    if isinstance(item, dict) and "policy" in item and "Statement" not in item:
        name = item.get("name") or default_name
        if not isinstance(name, str):
            raise InputError("a policy name must be a string", place=f"{where}/name")
        doc = _parse(item["policy"], kind, f"{where}/policy")
    else:
        name, doc = default_name, _parse(item, kind, where)
    # NamedPolicy(kind, name, doc, level=level), without its per-field setattr
    return frozen_record(NamedPolicy, {"type": kind, "name": name, "document": doc, "arn": None, "level": level})


def _list(case: dict, key: str) -> list:
    val = case.get(key)
    if val is None:
        return []
    if not isinstance(val, list):
        raise InputError(f"{key} must be a list", place=f"/{key}")
    return val


def _levels(case: dict, key: str, kind: str) -> list[list[NamedPolicy]] | None:
    if key not in case or case[key] is None:
        return None
    raw = case[key]
    if not isinstance(raw, list):
        raise InputError(f"{key} must be a list", place=f"/{key}")
    if not raw:
        return None
    if any(isinstance(x, dict) and "policies" in x and "Statement" not in x for x in raw):
        out = []
        for i, lvl in enumerate(raw):
            if not isinstance(lvl, dict) or "policies" not in lvl:
                raise InputError("a list of levels holds levels only ({\"name\": ..., \"policies\": [...]})",
                                 place=f"/{key}/{i}")
            name = lvl.get("name") or f"level-{i}"
            if not isinstance(name, str):
                raise InputError("a level name must be a string", place=f"/{key}/{i}/name")
            pols = lvl.get("policies")
            if not isinstance(pols, list):
                raise InputError("policies must be a list", place=f"/{key}/{i}/policies")
            out.append([_named(p, kind, f"/{key}/{i}/policies/{j}", f"{name}#{j}", level=name)
                        for j, p in enumerate(pols)])
        return out
    # a plain list of documents: one level holding them all
    return [[_named(p, kind, f"/{key}/{i}", f"{kind}#{i}", level="account") for i, p in enumerate(raw)]]


CASE_KEYS = {"id", "identity_policies", "resource_policy", "permission_boundaries", "scps", "rcps",
             "session_policy", "request", "expected",
             "doc", "description", "rules", "tags"}   # free-form documentation fields
REQUEST_KEYS = {"action", "resource", "resource_account", "principal", "context"}


def build_case(case: Any) -> tuple[PolicySet, Request]:
    if not isinstance(case, dict):
        raise InputError("a case must be a JSON object")
    # a misspelt field would silently drop a policy and turn a policy unit test into a false pass
    if not case.keys() <= CASE_KEYS:
        for key in case:
            if key not in CASE_KEYS:
                raise InputError(f"unknown case field {key!r}", place=f"/{_esc(key)}")
    req = case.get("request")
    if not isinstance(req, dict):
        raise InputError("the case has no request object", place="/request")
    if not req.keys() <= REQUEST_KEYS:
        for key in req:
            if key not in REQUEST_KEYS:
                raise InputError(f"unknown request field {key!r}", place=f"/request/{_esc(key)}")
    expected = case.get("expected")
    if expected is not None:
        if not isinstance(expected, dict) or expected.get("decision") not in DECISIONS:
            raise InputError("expected must be {\"decision\": " + " | ".join(f'\"{d}\"' for d in DECISIONS) + "}",
                             place="/expected/decision" if isinstance(expected, dict) else "/expected")
    for key in ("action", "resource", "principal"):
        if not isinstance(req.get(key), str):
            raise InputError(f"request.{key} must be a string", place=f"/request/{key}")
    ctx_raw = req.get("context") or {}
    if not isinstance(ctx_raw, dict):
        raise InputError("request.context must be an object", place="/request/context")
    for k, v in ctx_raw.items():
        # null (alone or in a list) is no value, as the evaluator reads it (fixtures/semantics regressions)
        if isinstance(v, (dict, list)) and (isinstance(v, dict) or any(isinstance(x, (dict, list)) for x in v)):
            raise InputError("context values must be strings, numbers, booleans or lists of them",
                             place=f"/request/context/{_esc(k)}")
    ra = req.get("resource_account")
    if ra is not None and not isinstance(ra, str):
        raise InputError("request.resource_account must be a string", place="/request/resource_account")
    identity = [_named(p, "identity", f"/identity_policies/{i}", f"identity#{i}")
                for i, p in enumerate(_list(case, "identity_policies"))]
    rp = case.get("resource_policy")
    resource = None
    if rp is not None:
        # the resource policy of a role is its trust policy, which AWS checks more strictly (no
        # NotPrincipal, R13)
        trust = req["action"].lower().startswith("sts:assumerole") and ":role/" in req["resource"]
        resource = _named(rp, "trust" if trust else "resource", "/resource_policy",
                          "trust-policy" if trust else "resource-policy")
    boundaries = [_named(p, "boundary", f"/permission_boundaries/{i}", f"boundary#{i}")
                  for i, p in enumerate(_list(case, "permission_boundaries"))]
    session = None
    if case.get("session_policy") is not None:
        session = _named(case["session_policy"], "session", "/session_policy", "session-policy")
    policies = PolicySet(identity=identity, resource=resource, boundaries=boundaries,
                         scps=_levels(case, "scps", "scp"), rcps=_levels(case, "rcps", "rcp"), session=session,
                         complete=True)
    request = Request(action=req["action"], resource=req["resource"], principal=req["principal"],
                      context=Context(ctx_raw, complete=True), resource_account=ra)
    return policies, request


def run_case(case: Any) -> dict:
    """Evaluate one case; never raises for bad input (the error goes in "error")."""
    cid = case.get("id") if isinstance(case, dict) else None
    try:
        policies, request = build_case(case)
        decision = evaluate(policies, request)
    except (InputError, PolicyError) as exc:
        return {"id": cid, "decision": None, "error": exc.line().removeprefix("<input>: "), "explanation": None}
    out = {"id": cid, "decision": decision.decision, "error": None, "explanation": decision.to_json()}
    expected = case.get("expected") if isinstance(case, dict) else None
    if isinstance(expected, dict) and "decision" in expected:
        out["expected"] = expected["decision"]
        out["match"] = expected["decision"] == decision.decision
    return out


def read_cases(path: str) -> list[tuple[int, Any]]:
    """(line number, parsed case) for each non-blank line; anything that is not a JSON line (bad JSON, NaN,
    a number too long, nesting too deep, bytes that are not UTF-8) raises InputError at its line. A BOM
    before the first line is dropped, as every other input reader does. The cases are all read before
    any is run, so a bad line stops the command before it writes anything."""
    from .loaders.common import read_text
    from .settle import paused, settle

    try:
        text = read_text(path)
    except InputError as exc:
        raise InputError(exc.message.replace("cannot read file", "cannot read cases"), source=path,
                         place=exc.place) from None
    # the parsed cases are kept, and make no cycles: with the collector on, each of its full passes walked
    # every case read so far (two thirds of the reading time for 20,000 cases); its first pass once it is
    # back on still walked them all (a third of what was left), so inside `settled()` (the command, the
    # bench) they are frozen out of it until the block ends
    fast = orjson is not None and b"0" * 19 not in text.encode().translate(_DIGITS)
    with paused():
        cases = [(n, _loads_line(line, path, n, fast)) for n, line in enumerate(text.split("\n"), 1)
                 if line.strip()]
        settle()
    return cases


# every ASCII digit as "0", every other byte as "x": a run of 19 digits (an integer orjson reads as a float
# once it is beyond 64 bits) is 19 zeros
_DIGITS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x78 for b in range(256))


def _loads_line(line: str, path: str, n: int, fast: bool) -> Any:
    """One line as `loads_json` reads it. When `fast` (no number of 19 digits or more in the file), orjson
    reads each line nested less deeply than `json` reads (the brackets counted): there its value is
    `json`'s (a third of the time of the differential suite's cases). What it refuses goes to `loads_json`,
    for its message, or because Python reads it (1e400; half a surrogate pair, refused there)."""
    if fast and line.count("[") + line.count("{") < 500:
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError:
            pass
    from .loaders.common import loads_json
    return loads_json(line, path, place=f"line {n}")


def run_cases(cases: list, emit) -> int:
    """Run every (line, case) of `cases`, `emit` each result as one compact JSON line; the number of cases
    whose expected decision did not match. The command's loop (and the benchmark's)."""
    from .settle import paused
    mismatches = 0
    with paused():   # each case allocates its policies and decision and frees them, without cycles
        for _n, case in cases:
            res = run_case(case)
            if res.get("match") is False:
                mismatches += 1
            emit(dumps_compact(res))
    return mismatches
