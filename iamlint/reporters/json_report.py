"""JSON findings (schema: iamlint/schemas/findings.schema.json)."""

from __future__ import annotations

from typing import Iterator

from .. import __version__
from ..pipeline import SCHEMA_VERSION
from ..jsonio import dumps_pretty_parts


def document(report, with_findings: bool = True) -> dict:
    m = report.model
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": f"iamlint {__version__}",
        "summary": {"accounts": sorted(m.accounts), "principals": sum(len(a.principals) for a in m.accounts.values()),
                    "edges": report.graph.edge_count(), "findings": len(report.findings), "suppressed": len(report.suppressed),
                    "by_severity": report.counts(), "rules": [r.id for r in report.rules]},
        "findings": [f.to_json() for f in report.findings] if with_findings else [],
        "suppressed": [dict(f.to_json(), suppressed_by=e.to_json()) for f, e in report.suppressed],
        "expired_exclusions": [e.to_json() for e in report.expired_exclusions],
        "errors": report.errors,
    }


def render(report, style=None) -> str:
    return "".join(render_parts(report, style))


# findings dumped per part (a part of a 20,000-role report is a few MB)
PART = 2000


def render_parts(report, style=None) -> Iterator[str]:
    """`render`'s text in parts, the findings `PART` at a time: a writer can write one part while the next
    is made (iamlint/output.py `emit_parts`); the parts join to the whole document dumped at once."""
    doc = document(report, with_findings=False)
    chk = getattr(report, "check", None)
    if chk is not None:
        def name(arn: str) -> str:
            p = report.model.principal(arn)
            return p.name if p is not None else arn
        doc["check"] = chk.to_json(name)
    return dumps_pretty_parts(doc, {"findings": (f.to_json() for f in report.findings)}, 1, PART)
