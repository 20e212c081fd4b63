"""What the IaC loaders remember beside the model: where each principal and statement was written.

The model stays the one model (`iamlint.model.account`); this side table maps principals (by ARN) and
policy documents (by identity) to their file, line, column and JSON pointer, and holds the inline
suppressions found in the sources.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from ..findings import Location
from ..model.policy import PolicyDocument

DEFAULT_ACCOUNT = "000000000000"


@dataclass
class Options:
    """How deploy-time values are known: nothing is assumed that is not given here."""

    account: str = DEFAULT_ACCOUNT
    region: str | None = None
    partition: str = "aws"
    stack_name: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Origin:
    """The resource (or file) a principal or policy comes from."""

    file: str
    resource: str = ""                 # CloudFormation logical id, Terraform address, "" for a whole file
    line: int | None = None
    column: int | None = None
    pointer: str | None = None
    kind: str = "cloudformation"       # cloudformation | terraform | policy | account
    condition: str | None = None       # the resource exists only if this (undecided) condition is true

    def location(self) -> Location:
        return Location(self.file, self.line, self.column, self.pointer)


@dataclass(frozen=True)
class Suppression:
    rule: str
    reason: str
    file: str
    resource: str
    line: int | None = None
    expires: _dt.date | None = None

    def active(self, today: _dt.date) -> bool:
        return self.expires is None or self.expires >= today


@dataclass
class Index:
    principals: dict[str, Origin] = field(default_factory=dict)
    documents: dict[int, tuple[PolicyDocument, Origin, str, dict]] = field(default_factory=dict)
    suppressions: dict[tuple[str, str], list[Suppression]] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)      # principals the IaC defines or changes
    files: list[tuple[str, str]] = field(default_factory=list)   # (display path, kind)
    notes: list[str] = field(default_factory=list)
    attachments: dict[tuple[str, str], Origin] = field(default_factory=dict)  # (principal, policy ARN) -> where

    def attachment(self, principal: str, policy: str, origin: Origin) -> None:
        """Remember where a managed policy was attached to a principal (e.g. a ManagedPolicyArns entry)."""
        self.attachments[(principal, policy)] = origin        # a later definition wins, as for principals

    def principal(self, arn: str, origin: Origin) -> None:
        self.principals[arn] = origin
        self.touched.add(arn)

    def document(self, doc: PolicyDocument | None, origin: Origin, pointer: str,
                 statements: dict[str, tuple[int, int] | None] | None) -> None:
        """Remember where `doc` (parsed from `pointer` in origin.file) and its statements were written."""
        if doc is not None:
            self.documents[id(doc)] = (doc, origin, pointer, dict(statements or {}))

    def statement(self, doc: PolicyDocument, stmt_pointer: str) -> tuple[Location, Origin] | None:
        hit = self.documents.get(id(doc))
        if hit is None or hit[0] is not doc:
            return None
        _, origin, pointer, stmts = hit
        pos = stmts.get(stmt_pointer)
        if pos is None:
            return Location(origin.file, origin.line, origin.column, origin.pointer), origin
        return Location(origin.file, pos[0], pos[1], f"{pointer}{stmt_pointer}"), origin

    def suppress(self, s: Suppression) -> None:
        self.suppressions.setdefault((s.file, s.resource), []).append(s)


def gap(model: Any, account: str, source: str, code: str, message: str) -> None:
    """An input gap, reported with the findings (never silently dropped)."""
    model.account(account).collection_errors.append({
        "service": "iac", "operation": source, "region": None, "error_code": code, "message": message})
