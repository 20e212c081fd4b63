"""The one finding type, with a stable fingerprint that survives reordering and line moves."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from json.encoder import encode_basestring_ascii

SEVERITIES = ("critical", "high", "medium", "low", "info")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class Location:
    file: str
    line: int | None = None
    column: int | None = None
    pointer: str | None = None

    def to_json(self) -> dict:
        return {"file": self.file, "line": self.line, "column": self.column, "pointer": self.pointer}


def fingerprint_of(rule_id: str, principal: str | None, file: str | None, key) -> str:
    """A finding's stable identity: the first 32 hex digits of the SHA-256 of
    `json.dumps({"rule": rule_id, "principal": principal, "file": file, "key": [str(k) for k in key]},
    sort_keys=True)`, that text written out directly (the same bytes; tests/test_fingerprint.py holds
    them to it): baselines, exclusions and audit history key on it."""
    keys = ", ".join([_json_text(str(k)) for k in key])
    text = (f'{{"file": {_json_text(file)}, "key": [{keys}], "principal": {_json_text(principal)}, '
            f'"rule": {_json_text(rule_id)}}}')
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _json_text(s: str | None) -> str:
    return "null" if s is None else encode_basestring_ascii(s)


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: str
    title: str
    principal: str | None
    message: str
    remediation: str
    path: tuple = ()                       # Edge objects
    evidence: tuple[str, ...] = ()
    location: Location | None = None
    source: str | None = None              # the agent source, when the finding is about agent reach
    potential: bool = False                # relies on resources the input does not show
    conditions: tuple[str, ...] = ()
    key: tuple = field(default=(), compare=False)   # what identifies it beyond rule+principal
    preexisting: bool = False              # `check --context`: the deployed account alone already has it
    agent: object = field(default=None, compare=False)   # the AgentSource (kind, reasons) behind `source`

    def __post_init__(self):
        # a message is one line in every report, whatever a name or an action in the input holds
        # (a YAML block scalar leaves a newline in an action)
        if not self.message.isprintable():
            from .errors import one_line
            object.__setattr__(self, "message", one_line(self.message))

    @cached_property   # asked by the sort and by every reporter: hashed once
    def fingerprint(self) -> str:
        return fingerprint_of(self.rule_id, self.principal, self.location.file if self.location else None,
                              self.key)

    def sort_key(self):
        return (SEVERITY_RANK.get(self.severity, 9), self.rule_id, self.principal or "",
                self.location.file if self.location else "", self.fingerprint)

    def to_json(self) -> dict:
        out = {
            "rule_id": self.rule_id, "severity": self.severity, "title": self.title,
            "principal": self.principal, "message": self.message,
            "path": [e.to_json() for e in self.path], "evidence": list(self.evidence),
            "remediation": self.remediation, "fingerprint": self.fingerprint,
            "source": self.source, "potential": self.potential, "conditions": list(self.conditions),
            "location": self.location.to_json() if self.location else None,
        }
        if self.preexisting:
            out["preexisting"] = True
        if self.agent is not None:
            out["agent_source"] = self.agent.to_json()
        return out
