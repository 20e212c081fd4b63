"""Findings -> the file, line, column and JSON pointer of the statement or resource that causes them.

In order: the statement the finding's key names (a trust statement, or a statement of an inline or
managed policy); else the first statement of its evidence (and of its path's evidence) that the IaC
wrote; else the resource that defines the principal; else the first principal on its path that the
IaC defines. A finding about something only the deployed account holds keeps no location.
"""

from __future__ import annotations

import dataclasses
import re

from ..findings import Finding, Location
from ..model.account import Model
from ..model.policy import PolicyDocument
from .index import Index, Origin

_SID = re.compile(r"^(.*? /Statement(?:/\d+)?)(?: \([^()]*\))?$")


class Locator:
    def __init__(self, model: Model, index: Index):
        self.model = model
        self.index = index
        self._labels: dict[str, tuple[PolicyDocument, str]] | None = None
        self._attached: dict[tuple[str, str], Origin] = {}     # (principal, label) -> where attached

    # evidence labels, as the evaluator (`identity NAME /Statement/0 (Sid)`) and the hygiene rules
    # (`managed policy ARN /Statement/0`, `role/NAME inline NAME /Statement/0`) write them
    def labels(self) -> dict[str, tuple[PolicyDocument, str]]:
        if self._labels is not None:
            return self._labels
        out: dict[str, tuple[PolicyDocument, str]] = {}
        indexed = self.index.documents

        def put(names: list[str], doc: PolicyDocument | None) -> None:
            if doc is None or id(doc) not in indexed:
                return
            for st in doc.statements:
                for n in names:
                    out.setdefault(f"{n} {st.pointer}", (doc, st.pointer))

        for p in self.model.principals():
            owners = [(p, "")] + [(g, f" (via group {g.name})") for g in
                                  (self.model.principal(a) for a in p.groups) if g is not None]
            for owner, via in owners:
                for ip in owner.inline_policies:
                    put([f"identity {owner.name}/{ip.name}{via}",
                         f"{owner.kind.value}/{owner.name} inline {ip.name}"], ip.document)
                for arn in owner.managed_policies:
                    mp = self.model.policies.get(arn)
                    if mp is not None:
                        put([f"identity {mp.name}{via}", f"managed policy {arn}"], mp.document)
                        att = self.index.attachments.get((owner.arn, arn))
                        if att is not None and mp.document is not None and id(mp.document) not in indexed:
                            # a policy the IaC did not write (AWS managed): point at where it is attached
                            for st in mp.document.statements:
                                for n in (f"identity {mp.name}{via}", f"managed policy {arn}"):
                                    self._attached.setdefault((p.arn, f"{n} {st.pointer}"), att)
            if p.trust_policy is not None:
                put([f"trust {p.name} trust policy", f"role/{p.name} trust policy"], p.trust_policy)
            if p.permissions_boundary:
                mp = self.model.policies.get(p.permissions_boundary)
                if mp is not None:
                    put([f"boundary {mp.name}"], mp.document)
        self._labels = out
        return out

    def _statement(self, doc: PolicyDocument | None, ptr: str) -> tuple[Location, Origin] | None:
        if doc is None:
            return None
        return self.index.statement(doc, ptr)

    def _by_key(self, f: Finding) -> tuple[Location, Origin] | None:
        key = f.key
        p = self.model.principal(f.principal) if f.principal else None
        if p is None or len(key) < 2 or not isinstance(key[1], str) or not key[1].startswith("/Statement"):
            return None
        if key[0] == "trust":
            return self._statement(p.trust_policy, key[1])
        ident = str(key[0])
        if ident.startswith("inline:"):
            name = ident[len("inline:"):]
            doc = next((ip.document for ip in p.inline_policies if ip.name == name), None)
            return self._statement(doc, key[1])
        mp = self.model.policies.get(ident)
        return self._statement(mp.document if mp is not None else None, key[1])

    def _by_evidence(self, evidence, owner: str | None) -> tuple[Location, Origin] | None:
        labels = self.labels()
        for ev in evidence:
            m = _SID.match(str(ev))
            label = m.group(1) if m else str(ev)
            hit = labels.get(label)
            if hit is None and (owner, label) in self._attached:
                o = self._attached[(owner, label)]
                return o.location(), o
            if hit is not None:
                got = self._statement(*hit)
                if got is not None:
                    return got
        return None

    def where(self, f: Finding) -> tuple[Location | None, Origin | None]:
        got = self._by_key(f) or self._by_evidence(f.evidence, f.principal)
        if got is None and f.path:
            for e in f.path:
                got = self._by_evidence(e.evidence, e.source)
                if got is not None:
                    break
        if got is not None:
            return got
        o = self.index.principals.get(f.principal) if f.principal else None
        if o is None:
            for e in f.path:
                o = self.index.principals.get(e.source) or self.index.principals.get(e.target)
                if o is not None:
                    break
        if o is not None:
            return o.location(), o
        return None, None

    def locate(self, findings: list[Finding]) -> tuple[list[Finding], dict[int, Origin]]:
        """-> (findings with locations, {position in the list: origin of the place it points at})."""
        out: list[Finding] = []
        origins: dict[int, Origin] = {}
        for f in findings:
            loc, origin = self.where(f)
            if loc is not None and f.location is None:
                f = dataclasses.replace(f, location=loc)
            if origin is not None:
                origins[len(out)] = origin
            out.append(f)
        return out, origins
