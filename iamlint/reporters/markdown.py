"""Markdown that fits a pull-request comment."""

from __future__ import annotations

from ..graph.paths import render_chain


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(report, style=None) -> str:
    m = report.model

    def name(arn: str) -> str:
        p = m.principal(arn)
        return p.name if p is not None else arn

    counts = report.counts()
    out = ["## iamlint", "",
           f"**{len(report.findings)} finding(s)**" + (" — " + ", ".join(f"{v} {k}" for k, v in counts.items())
                                                       if counts else ""), ""]
    if report.findings:
        out += ["| Severity | Rule | Principal | Finding |", "|---|---|---|---|"]
        for f in report.findings:
            who = name(f.principal) if f.principal else (f.location.file if f.location else "")
            detail = f.title
            if f.source:
                detail += f"<br>agent source: {_cell(name(f.source))}"
            if f.path:
                detail += "<br>`" + _cell(render_chain(list(f.path), name)) + "`"
            out.append(f"| {f.severity} | {f.rule_id} | {_cell(who)} | {_cell(detail)} |")
    return "\n".join(out) + "\n"
