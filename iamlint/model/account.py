"""The account model: principals, policies, inventory and organization guardrails.

One model serves every front door (live scan, saved snapshot, authorization details, IaC). Objects
reference each other by ARN. Principals carry a typed `kind`; rules test `p.kind is Kind.ROLE`,
never `':role/' in arn`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterator

from .policy import PolicyDocument


class Kind(str, Enum):
    USER = "user"
    ROLE = "role"
    GROUP = "group"


@dataclass
class InlinePolicy:
    name: str
    document: PolicyDocument


@dataclass
class PolicyVersion:
    version_id: str
    document: PolicyDocument
    is_default: bool
    create_date: str | None = None


@dataclass
class ManagedPolicy:
    arn: str
    name: str
    path: str = "/"
    id: str | None = None
    default_version: str | None = None
    versions: list[PolicyVersion] = field(default_factory=list)
    attachment_count: int | None = None
    boundary_usage_count: int | None = None
    is_attachable: bool = True
    missing: bool = False   # referenced by a principal but absent from the input (R21, R25-7)

    @property
    def aws_managed(self) -> bool:
        return self.arn.split(":")[4:5] == ["aws"]

    @property
    def document(self) -> PolicyDocument | None:
        for v in self.versions:
            if v.is_default:
                return v.document
        return self.versions[0].document if self.versions else None


@dataclass
class Principal:
    arn: str
    name: str
    kind: Kind
    account: str
    id: str | None = None
    path: str = "/"
    create_date: str | None = None
    inline_policies: list[InlinePolicy] = field(default_factory=list)
    managed_policies: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)           # users: group ARNs
    members: list[str] = field(default_factory=list)          # groups: user ARNs
    permissions_boundary: str | None = None
    trust_policy: PolicyDocument | None = None                # roles
    tags: dict[str, str] = field(default_factory=dict)
    max_session_duration: int | None = None
    last_used: dict | None = None
    instance_profiles: list[str] = field(default_factory=list)

    @property
    def service_linked(self) -> bool:
        return self.kind is Kind.ROLE and self.path.startswith("/aws-service-role/")

    @property
    def aws_reserved(self) -> bool:
        return self.kind is Kind.ROLE and self.path.startswith("/aws-reserved/")


@dataclass
class Account:
    id: str
    alias: str | None = None
    principals: dict[str, Principal] = field(default_factory=dict)
    inventory: dict[str, Any] = field(default_factory=dict)
    collection_errors: list[dict] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


@dataclass
class GuardrailPolicy:
    name: str
    document: PolicyDocument
    arn: str | None = None


@dataclass
class Organization:
    id: str | None = None
    management_account: str | None = None
    # account id -> levels root first: [(level name, [policies])]
    scps: dict[str, list[tuple[str, list[GuardrailPolicy]]]] = field(default_factory=dict)
    rcps: dict[str, list[tuple[str, list[GuardrailPolicy]]]] = field(default_factory=dict)


@dataclass
class Model:
    accounts: dict[str, Account] = field(default_factory=dict)
    policies: dict[str, ManagedPolicy] = field(default_factory=dict)
    organization: Organization | None = None

    def principals(self) -> Iterator[Principal]:
        for acct in self.accounts.values():
            yield from acct.principals.values()

    def principal(self, arn: str) -> Principal | None:
        acct = self.accounts.get(arn.split(":")[4] if arn.count(":") >= 5 else "")
        if acct is None:
            return None
        return acct.principals.get(arn)

    def account(self, account_id: str) -> Account:
        acct = self.accounts.get(account_id)
        if acct is None:
            acct = self.accounts[account_id] = Account(account_id)
        return acct

    def find(self, name_or_arn: str) -> Principal | None:
        """A principal by ARN, or by name when the name is unique."""
        p = self.principal(name_or_arn)
        if p is not None:
            return p
        hits = [q for q in self.principals() if q.name == name_or_arn]
        return hits[0] if len(hits) == 1 else None
