"""The agent rules' action sets (policies/agents/actions.yaml), expanded against the action catalog, and
the "every resource of its type" pattern an action is asked about (action-aware: an action that accepts
only `Resource: "*"` is asked about "*")."""

from __future__ import annotations

from functools import lru_cache

from ..yaml_safe import load_bundled

from ..engine import actions as catalog
from ..engine import wildcard
from ..errors import InputError
from ..paths_data import policies_dir


@lru_cache(maxsize=1)
def data() -> dict:
    path = policies_dir() / "agents" / "actions.yaml"
    return load_bundled(path)


@lru_cache(maxsize=None)
def action_set(name: str) -> tuple[str, ...]:
    """Catalog actions of a named set, in the data's order (each wildcard expanded, sorted)."""
    sets = data()["sets"]
    if name not in sets:
        raise InputError(f"unknown action set {name!r} (known: {', '.join(sorted(sets))})",
                         source="policies/agents/actions.yaml", place="/sets")
    out: list[str] = []
    for pattern in sets[name]:
        out.extend(catalog.expand(pattern))
    return tuple(dict.fromkeys(out))


def unknown_entries() -> list[str]:
    """Entries of the data that name no catalog action (a test keeps this empty)."""
    d = data()
    entries = [a for v in d["sets"].values() for a in v] + d["execution_role_probes"] \
        + [a for v in d["execution_role_needs"].values() for a in v]
    return catalog.unknown_actions(entries)


def needs(service_principal: str) -> tuple[str, ...]:
    for k, v in (data().get("execution_role_needs") or {}).items():
        if k.lower() == service_principal.lower():
            return tuple(v or ())
    return ()


def matches_any(patterns, action: str) -> bool:
    return any(wildcard.match(p, action, ignore_case=True) for p in patterns)


def _resource_type(action: str) -> str | None:
    d = catalog.detail(action)
    if not d or not d.get("resourceTypes"):
        return None
    types = d["resourceTypes"]
    for rt in types:
        if rt.get("required"):
            return rt["name"]
    for rt in types:
        if not rt["name"].startswith("accesspoint"):
            return rt["name"]
    return types[0]["name"]


@lru_cache(maxsize=65536)
def every_resource(action: str, account: str) -> str:
    """An ARN pattern naming every resource `action` can act on in `account` ("*" for wildcard-only actions)."""
    rt = _resource_type(action)
    if rt is None:
        return "*"
    service = catalog.split(action)[0]
    fmt = catalog.resource_arn_format(service, rt) or catalog.resource_arn_format(service, rt.lower())
    if not fmt:
        return "*"
    out, i = [], 0
    while i < len(fmt):
        if fmt.startswith("${", i):
            j = fmt.index("}", i)
            var = fmt[i + 2:j]
            out.append({"Partition": "aws", "Account": account}.get(var, "*"))
            i = j + 1
        else:
            out.append(fmt[i])
            i += 1
    text = "".join(out)
    while "**" in text:
        text = text.replace("**", "*")
    return text


def self_resources(model, p, action: str) -> list[str]:
    """The resources of `action` that are the principal itself (its ARN, its groups, its own managed policies)."""
    rt = (_resource_type(action) or "").lower()
    if rt == p.kind.value:
        return [p.arn]
    if rt == "group":
        return list(p.groups)
    if rt == "policy":
        owners = [p] + [g for g in (model.principal(a) for a in p.groups) if g is not None]
        return [a for o in owners for a in o.managed_policies
                if a in model.policies and not model.policies[a].aws_managed]
    return []
