"""JSON findings (schema: iamlint/schemas/findings.schema.json)."""

from __future__ import annotations


from .. import __version__
from ..pipeline import SCHEMA_VERSION
from ..jsonio import dumps_pretty


def document(report) -> dict:
    m = report.model
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": f"iamlint {__version__}",
        "summary": {"accounts": sorted(m.accounts), "principals": sum(len(a.principals) for a in m.accounts.values()),
                    "edges": report.graph.edge_count(), "findings": len(report.findings), "suppressed": len(report.suppressed),
                    "by_severity": report.counts(), "rules": [r.id for r in report.rules]},
        "findings": [f.to_json() for f in report.findings],
        "suppressed": [dict(f.to_json(), suppressed_by=e.to_json()) for f, e in report.suppressed],
        "expired_exclusions": [e.to_json() for e in report.expired_exclusions],
        "errors": report.errors,
    }


def render(report, style=None) -> str:
    doc = document(report)
    chk = getattr(report, "check", None)
    if chk is not None:
        def name(arn: str) -> str:
            p = report.model.principal(arn)
            return p.name if p is not None else arn
        doc["check"] = chk.to_json(name)
    return dumps_pretty(doc)
