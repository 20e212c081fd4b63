"""Who is calling: the caller's identity levels, for Principal / NotPrincipal matching."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

ACCOUNT_RE = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class Caller:
    """The request's principal.

    kind: user | role | session | federated-user | root | service | federated | anonymous
    `arn` is the ARN (or service name / provider ARN); `role_arn` the role of a session when known.
    """

    kind: str
    arn: str
    account: str | None = None
    role_arn: str | None = None
    role_name: str | None = None
    session_arn: str | None = None
    service_linked: bool = False
    has_boundary: bool = False

    @property
    def is_iam(self) -> bool:
        """An IAM identity whose identity policies apply (not a service, provider or anonymous)."""
        return self.kind in ("user", "role", "session", "federated-user")


@lru_cache(maxsize=4096)
def parse_caller(principal: str, has_boundary: bool = False) -> Caller:
    """The caller a principal string names (a pure function of its arguments, kept for the principals
    that recur request after request; a Caller is immutable, so one serves them all)."""
    p = (principal or "").strip()
    if p in ("", "*", "anonymous"):
        return Caller("anonymous", p or "anonymous")
    if ACCOUNT_RE.match(p):
        return Caller("root", f"arn:aws:iam::{p}:root", account=p)
    if not p.startswith("arn:"):
        if p.endswith(".amazonaws.com") or p.endswith(".amazonaws.com.cn") or "." in p:
            return Caller("service", p)
        return Caller("anonymous", p)
    parts = p.split(":", 5)
    if len(parts) < 6:
        return Caller("anonymous", p)
    _, partition, service, _region, account, resource = parts
    if service == "iam":
        if resource == "root":
            return Caller("root", p, account=account)
        if resource.startswith("user/"):
            return Caller("user", p, account=account, has_boundary=has_boundary)
        if resource.startswith("role/"):
            name = resource.rsplit("/", 1)[-1]
            return Caller("role", p, account=account, role_arn=p, role_name=name,
                          service_linked=resource.startswith("role/aws-service-role/"),
                          has_boundary=has_boundary)
        if resource.startswith(("oidc-provider/", "saml-provider/")):
            return Caller("federated", p, account=account)
    if service == "sts":
        if resource.startswith("assumed-role/"):
            bits = resource.split("/")
            name = bits[1] if len(bits) > 1 else ""
            # a session of a service-linked role (their names all start AWSServiceRoleFor): the
            # session ARN drops the aws-service-role/ path, so the name is what is left (R10)
            return Caller("session", p, account=account, role_name=name, session_arn=p,
                          role_arn=None, has_boundary=has_boundary,
                          service_linked=name.startswith("AWSServiceRoleFor"))
        if resource.startswith("federated-user/"):
            return Caller("federated-user", p, account=account, session_arn=p, has_boundary=has_boundary)
    return Caller("anonymous", p, account=account or None)


def _role_name_of(arn: str) -> tuple[str | None, str | None]:
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("role/"):
        return parts[4], parts[5].rsplit("/", 1)[-1]
    return None, None


def match_aws_value(caller: Caller, value: str) -> str | None:
    """How a Principal {"AWS": value} names the caller: star, account, user, role, session, or None."""
    if value == "*":
        return "star"
    acct = caller.account
    if not caller.is_iam and caller.kind != "root":
        return None
    if acct and (value == acct or value == f"arn:aws:iam::{acct}:root"):
        return "account" if caller.kind != "root" else "user"
    if caller.kind == "user" and value == caller.arn:
        return "user"
    if caller.kind in ("role", "session"):
        if caller.role_arn and value == caller.role_arn:
            return "role"
        if caller.role_arn is None or caller.kind == "session":
            a, n = _role_name_of(value)
            if a == acct and n == caller.role_name and n is not None:
                return "role"
        if caller.session_arn and value == caller.session_arn:
            return "session"
    if caller.kind == "federated-user" and value == caller.session_arn:
        return "session"
    return None


def match_principal(caller: Caller, element: dict[str, tuple[str, ...]]) -> str | None:
    """The strongest way a Principal element names the caller, or None."""
    if "*" in element:
        return "star"
    best = None
    # the strongest grant wins: "*" needs no other policy (R8), a role ARN still needs the boundary
    # and session policy (R3), the account delegates to the identity side (R4)
    order = {"session": 5, "user": 4, "star": 3.5, "role": 3, "account": 1}
    for kind, values in element.items():
        if kind == "AWS":
            for v in values:
                m = match_aws_value(caller, v)
                if m and (best is None or order.get(m, 0) > order.get(best, 0)):
                    best = m
        elif kind == "Service":
            if caller.kind == "service" and any(v == "*" or v.lower() == caller.arn.lower() for v in values):
                return "service"
        elif kind == "Federated":
            if caller.kind == "federated" and any(v == caller.arn or (
                    "/" in caller.arn and v == caller.arn.split("/", 1)[1]) for v in values):
                return "federated"
            if caller.kind == "federated" and any(v == "*" for v in values):
                return "federated"
    return best


def levels(caller: Caller) -> list[str]:
    """The identity levels a NotPrincipal must all list to exempt the caller (account, principal, session)."""
    out = []
    if caller.account:
        out.append("account")
    if caller.kind in ("user", "role", "session", "federated-user", "root"):
        out.append("principal")
    if caller.kind in ("session", "federated-user") and caller.session_arn:
        out.append("session")
    return out


def listed_levels(caller: Caller, element: dict[str, tuple[str, ...]]) -> set[str]:
    """Which of the caller's identity levels a NotPrincipal element lists."""
    found: set[str] = set()
    if "*" in element:
        return {"account", "principal", "session", "service"}
    for kind, values in element.items():
        for v in values:
            if kind == "AWS":
                if v == "*":   # {"AWS": "*"} is the same as "*": everyone, service principals too
                    return {"account", "principal", "session", "service"}
                m = match_aws_value(caller, v)
                if m == "account":
                    found.add("account")
                elif m in ("user", "role"):
                    found.add("principal")
                    if caller.kind == "root":
                        found.add("account")
                elif m == "session":
                    found.add("session")
            elif kind == "Service" and caller.kind == "service" and v.lower() == caller.arn.lower():
                found.add("service")
            elif kind == "Federated" and caller.kind == "federated" and v == caller.arn:
                found.add("service")
    return found
