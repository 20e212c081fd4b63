"""SARIF 2.1.0 for code scanning (GitHub, Azure DevOps, any SARIF viewer).

One run; the driver lists every rule that ran. Every result has a physicalLocation, because GitHub
code scanning drops results without one: IaC findings point at their file/line/column, account findings
point at the input file(s) the principal's account was read from (line 1) and name the principal in a
logicalLocation. Output is deterministic: no timestamps, no absolute paths of the machine when the
input lies under the working directory.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path, PurePosixPath
from typing import Iterator
from urllib.parse import quote

from .. import __version__
from ..graph.paths import render_chain
from ..markers import display
from ..jsonio import dumps_pretty_parts

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://iamlint.dev"
FINGERPRINT_KEY = "iamlintFingerprint/v1"
SRCROOT = "%SRCROOT%"

SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
PRECISION = {"escalation": "high", "agent": "high", "hygiene": "very-high"}

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")   # two letters at least: C:\ is a path, not a scheme


def artifact_location(path: str, cwd: str | None = None) -> dict:
    """An input path as a SARIF artifactLocation: relative to %SRCROOT% (the working directory) when it can
    be, a file: URI when it lies elsewhere, unchanged when it already is a URI (e.g. a live-scan source)."""
    if _SCHEME.match(path) and not os.path.exists(path):
        return {"uri": path}
    cwd = os.path.abspath(cwd or os.getcwd())
    p = path.replace("\\", "/") if os.sep == "\\" else path
    if os.path.isabs(p):
        absolute = os.path.normpath(p)
        try:
            rel = os.path.relpath(absolute, cwd)
        except ValueError:      # another drive on Windows
            rel = None
        if rel is None or rel == ".." or rel.startswith(".." + os.sep):
            return {"uri": Path(absolute).as_uri()}
        p = rel
    rel = str(PurePosixPath(*Path(os.path.normpath(p)).parts)) if p else "."
    return {"uri": quote(rel, safe="/-._~"), "uriBaseId": SRCROOT}


def _rule_name(title: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in re.findall(r"[A-Za-z0-9]+", title)) or "Rule"


def _rule_descriptor(rule) -> dict:
    refs = list(rule.references)
    text = rule.remediation + ("\n\nReferences:\n" + "\n".join(f"- {r}" for r in refs) if refs else "")
    md = f"**Remediation.** {rule.remediation}"
    if refs:
        md += "\n\n**References**\n\n" + "\n".join(f"- <{r}>" for r in refs)
    out = {
        "id": rule.id,
        "name": _rule_name(rule.title),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale or rule.title},
        "help": {"text": text, "markdown": md},
        "defaultConfiguration": {"level": LEVEL.get(rule.severity, "warning")},
        "properties": {
            "security-severity": SECURITY_SEVERITY.get(rule.severity, "0.0"),
            "tags": list(dict.fromkeys(["security", rule.family, *rule.tags])),
            "precision": PRECISION.get(rule.family, "high"),
            "problem.severity": "error" if rule.severity in ("critical", "high") else
                                ("warning" if rule.severity == "medium" else "recommendation"),
            "severity": rule.severity,
        },
    }
    if refs:
        out["helpUri"] = refs[0]
    return out


def _account_of(arn: str | None) -> str | None:
    if arn and arn.startswith("arn:") and arn.count(":") >= 5:
        return arn.split(":")[4] or None
    return None


class _Builder:
    def __init__(self, report, cwd: str | None = None):
        self.report = report
        self.model = report.model
        self.cwd = cwd
        self._artifacts: dict[str, dict] = {}     # artifact_location by path: every result of a file has it
        self._principals: dict[str, object] = {}  # model.principal by ARN

    def artifact(self, path: str) -> dict:
        hit = self._artifacts.get(path)
        if hit is None:
            hit = self._artifacts[path] = artifact_location(path, self.cwd)
        return dict(hit)

    def principal(self, arn: str):
        try:
            return self._principals[arn]
        except KeyError:
            p = self._principals[arn] = self.model.principal(arn)
            return p

    def name(self, arn: str) -> str:
        p = self.principal(arn)
        return display(p.name) if p is not None else arn

    def sources_for(self, principal: str | None) -> list[str]:
        acct = self.model.accounts.get(_account_of(principal) or "")
        if acct is not None and acct.sources:
            return list(dict.fromkeys(acct.sources))
        # a principal outside every loaded account (or none): the inputs of all accounts
        return list(dict.fromkeys(s for a in sorted(self.model.accounts) for s in self.model.accounts[a].sources))

    def logical(self, arn: str) -> dict:
        p = self.principal(arn)
        out = {"fullyQualifiedName": arn, "name": p.name if p is not None else arn, "kind": "resource"}
        return out

    def locations(self, f) -> tuple[list[dict], list[dict]]:
        logical = [self.logical(f.principal)] if f.principal else []
        if f.location is not None:
            region = {}
            if f.location.line:
                region["startLine"] = int(f.location.line)
                if f.location.column:
                    region["startColumn"] = int(f.location.column)
            phys = {"artifactLocation": self.artifact(f.location.file)}
            if region:
                phys["region"] = region
            loc = {"physicalLocation": phys}
            if logical:
                loc["logicalLocations"] = logical
            if f.location.pointer:
                loc["properties"] = {"pointer": f.location.pointer}
            return [loc], []
        files = self.sources_for(f.principal)
        if not files:
            return ([{"logicalLocations": logical}] if logical else []), []
        locs = [{"physicalLocation": {"artifactLocation": self.artifact(s), "region": {"startLine": 1}}}
                for s in files]
        if logical:
            locs[0]["logicalLocations"] = logical
        related = [dict(loc, id=i, message={"text": "also read from this input"})
                   for i, loc in enumerate(locs[1:], start=1)]
        return locs[:1], related

    def result(self, f, rule_index: dict[str, int], suppressed_by=None) -> dict:
        chain = render_chain(list(f.path), self.name) if f.path else ""
        text = f.message
        if chain and chain not in text:
            text += f" Path: {chain}"
        if f.potential:
            assumes = [e.assumes for e in f.path if e.potential and e.assumes]
            if assumes:
                text += " Assumes: " + "; ".join(dict.fromkeys(assumes)) + "."
        if f.conditions:
            text += " Depends on: " + "; ".join(f.conditions) + "."
        text = display(text)            # for people: the properties below keep the raw values
        locs, related = self.locations(f)
        props = {
            "severity": f.severity,
            "principal": f.principal,
            "principalName": self.name(f.principal) if f.principal else None,
            "source": f.source,
            "potential": f.potential,
            "conditions": list(f.conditions),
            "evidence": list(f.evidence),
            "remediation": f.remediation,
            "chain": chain,
            "path": [dict(e.to_json(), step=i + 1, sourceName=self.name(e.source), targetName=self.name(e.target))
                     for i, e in enumerate(f.path)],
        }
        out = {"ruleId": f.rule_id}
        if f.rule_id in rule_index:
            out["ruleIndex"] = rule_index[f.rule_id]
        out.update({
            "level": LEVEL.get(f.severity, "warning"),
            "message": {"text": text},
            "locations": locs,
            "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
            "properties": props,
        })
        if related:
            out["relatedLocations"] = related
        if f.preexisting:
            props["preexisting"] = True
        chk = getattr(self.report, "check", None)
        if chk is not None and (chk.context or chk.baseline):
            # compared with the deployed account (--context) or a baseline: new, or already there
            kind = getattr(suppressed_by, "kind", None)
            out["baselineState"] = "unchanged" if (f.preexisting or kind == "baseline") else "new"
        if suppressed_by is not None:
            e = suppressed_by
            just = e.reason + (f" (until {e.expires.isoformat()})" if e.expires else "")
            kind = getattr(e, "kind", None)
            where = {"file": e.source, "line": e.index} if kind == "inline" else {"file": e.source, "entry": e.index}
            out["suppressions"] = [{"kind": "inSource" if kind == "inline" else "external", "status": "accepted",
                                    "justification": just, "properties": {"exclusion": e.to_json(), **where}}]
        return out

    def notifications(self) -> list[dict]:
        out = []
        for err in self.report.errors:
            text = " ".join(str(err.get(k) or "") for k in ("service", "operation", "error_code", "message")).strip()
            out.append({"level": "warning", "message": {"text": f"not read ({err.get('account', '')}): {text}"},
                        "descriptor": {"id": "input-gap"}, "properties": {k: err[k] for k in sorted(err)}})
        for e in self.report.expired_exclusions:
            out.append({"level": "warning",
                        "message": {"text": f"expired exclusion: {e.source} entry {e.index} ({e.reason}), "
                                            f"expired {e.expires.isoformat() if e.expires else ''}"},
                        "descriptor": {"id": "expired-exclusion"}})
        return out

    def results(self) -> Iterator[dict]:
        """The run's results, in order (after `document`, which decides which findings are shown)."""
        shown, rule_index = self._results
        for f in shown:
            yield self.result(f, rule_index)
        for f, e in self.report.suppressed:
            yield self.result(f, rule_index, e)

    def document(self, with_results: bool = True) -> dict:
        report = self.report
        rules = list(report.rules)
        known = {r.id for r in rules}
        descriptors = [_rule_descriptor(r) for r in rules]
        # findings of a rule that is not in the run's list (should not happen): a minimal descriptor
        for f in list(report.findings) + [f for f, _ in report.suppressed]:
            if f.rule_id not in known:
                known.add(f.rule_id)
                descriptors.append({"id": f.rule_id, "name": _rule_name(f.title), "shortDescription": {"text": f.title},
                                    "defaultConfiguration": {"level": LEVEL.get(f.severity, "warning")},
                                    "properties": {"security-severity": SECURITY_SEVERITY.get(f.severity, "0.0"),
                                                   "tags": ["security"]}})
        rule_index = {d["id"]: i for i, d in enumerate(descriptors)}
        chk = getattr(report, "check", None)
        shown = list(report.findings)
        if chk is not None:
            # `check`: code scanning is about code; what only the deployed account holds (no file, already
            # there before the change) stays out of the results and is counted in the run's properties
            shown = [f for f in shown if f.location is not None or not f.preexisting]
        self._results = (shown, rule_index)
        results = list(self.results()) if with_results else []
        invocation = {"executionSuccessful": True}
        notes = self.notifications()
        if notes:
            invocation["toolExecutionNotifications"] = notes
        m = self.model
        run = {
            "tool": {"driver": {"name": "iamlint", "version": __version__, "semanticVersion": __version__,
                                "informationUri": INFORMATION_URI, "rules": descriptors}},
            "invocations": [invocation],
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {
                "accounts": sorted(m.accounts),
                "principals": sum(len(a.principals) for a in m.accounts.values()),
                "edges": report.graph.edge_count(),
                "bySeverity": report.counts(),
            },
        }
        if chk is not None:
            run["automationDetails"] = {"id": "iamlint/check/"}
            run["properties"]["preexistingOutsideCode"] = len(report.findings) - len(shown)
            run["properties"]["inputs"] = [{"file": s, "kind": k} for s, k in chk.inputs]
            from ..check import summarize
            run["properties"]["changes"] = summarize(chk.changes, self.name)
        return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def _builder(report, cwd: str | None) -> "_Builder":
    chk = getattr(report, "check", None)
    if cwd is None and chk is not None:
        cwd = chk.base_dir        # `check`: URIs relative to the repository root (or --base-dir)
    return _Builder(report, cwd)


def document(report, cwd: str | None = None) -> dict:
    return _builder(report, cwd).document()


def render(report, style=None) -> str:
    return "".join(render_parts(report, style))


# results dumped per part
PART = 2000


def render_parts(report, style=None) -> Iterator[str]:
    """`render`'s text in parts, the results `PART` at a time (iamlint/output.py `emit_parts`); the parts
    join to the whole document dumped at once."""
    b = _builder(report, None)
    return dumps_pretty_parts(b.document(with_results=False), {"results": b.results()}, 3, PART)
