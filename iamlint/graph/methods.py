"""The escalation method catalog (data in policies/escalation/methods.yaml) and its matchers.

A method names a matcher; each matcher is a small function that, given the builder's context, yields
edges. Every permission question goes through the one Authorizer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..yaml_safe import load_bundled

from ..errors import InputError
from ..paths_data import policies_dir, schema_path


@dataclass(frozen=True)
class ActionSpec:
    actions: tuple[str, ...]        # alternatives ("a|b"): any one suffices
    resource: str                   # binding: {target} {policy} {passed} {new} {existing} {self} {any}
    pattern: str | None = None      # for {new}/{existing}: the ARN pattern of such resources
    context: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Method:
    id: str
    title: str
    category: str
    matcher: str
    actions: tuple[ActionSpec, ...]
    catalog: str | None = None
    kinds: tuple[str, ...] = ()
    service: str | None = None
    requires: str | None = None
    passed_to: str | None = None            # iam:PassedToService when not `service` ("unknown": undocumented)
    also_passes: str | None = None          # a second role passed, one that trusts this service
    inventory: str | None = None
    role_field: str | None = None
    precondition: str | None = None
    assumes: str | None = None
    resource_state: dict | None = None      # {field, values}: an inventory item must be in one of these
    service_linked_role: dict | None = None  # {service, name}: the service's linked role must exist (or be creatable)
    gains: str | None = None
    sources: tuple[str, ...] = ()


def _validate(data: Any, source: str) -> None:
    import json

    import jsonschema

    schema = json.loads(schema_path("methods.schema.json").read_text())
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        ptr = "/" + "/".join(str(p) for p in e.absolute_path)
        raise InputError(e.message, source=source, place=ptr)


def parse_methods(data: Any, source: str) -> list[Method]:
    _validate(data, source)
    out = []
    for m in data["methods"]:
        out.append(Method(
            id=m["id"], title=m["title"], category=m["category"], matcher=m["matcher"],
            actions=tuple(ActionSpec(tuple(a["action"].split("|")), a["resource"], a.get("pattern"),
                                     dict(a.get("context") or {})) for a in m["actions"]),
            catalog=m.get("catalog"), kinds=tuple(m.get("kinds") or ()), service=m.get("service"),
            requires=m.get("requires"), passed_to=m.get("passed_to"), also_passes=m.get("also_passes"),
            inventory=m.get("inventory"), role_field=m.get("role_field"),
            precondition=m.get("precondition"), assumes=m.get("assumes"), gains=m.get("gains"),
            resource_state=m.get("resource_state"), service_linked_role=m.get("service_linked_role"),
            sources=tuple(m.get("sources") or ())))
    ids = [m.id for m in out]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise InputError(f"duplicate method ids: {', '.join(sorted(dup))}", source=source)
    return out


@lru_cache(maxsize=1)
def load_methods() -> tuple[Method, ...]:
    path = policies_dir() / "escalation" / "methods.yaml"
    data = load_bundled(path)
    return tuple(parse_methods(data, str(path)))


def method(method_id: str) -> Method | None:
    for m in load_methods():
        if m.id == method_id:
            return m
    return None
