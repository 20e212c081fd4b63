"""Markdown that fits a pull-request comment."""

from __future__ import annotations

from ..graph.paths import render_chain
from ..markers import display


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


MAX_ROWS = 50          # a pull-request comment holds at most 65536 characters


def _where(f) -> str:
    loc = f.location
    if loc is None or not loc.file:
        return ""
    return f"`{_cell(loc.file)}:{loc.line}`" if loc.line else f"`{_cell(loc.file)}`"


def render_check(report) -> str:
    """`iamlint check` as a pull-request comment: what is new first, what was already there folded."""
    m = report.model
    chk = report.check

    def name(arn: str) -> str:
        p = m.principal(arn)
        return display(p.name) if p is not None else arn

    new = [f for f in report.findings if not f.preexisting]
    old = [f for f in report.findings if f.preexisting]
    counts: dict[str, int] = {}
    for f in new:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    head = f"**{len(new)} new finding(s)**" if chk.context else f"**{len(new)} finding(s)**"
    if counts:
        head += " — " + ", ".join(f"{counts[s]} {s}" for s in ("critical", "high", "medium", "low", "info")
                                  if s in counts)
    extra = []
    if old:
        extra.append(f"{len(old)} pre-existing")
    if report.suppressed:
        extra.append(f"{len(report.suppressed)} suppressed")
    out = ["## iamlint check", "", head + (" · " + " · ".join(extra) if extra else ""), "",
           f"<sub>{len(chk.inputs)} file(s) checked" + (f" against {', '.join(chk.context)}" if chk.context else "")
           + "</sub>", ""]

    def table(items) -> list[str]:
        rows = ["| Severity | Rule | Where | Finding |", "|---|---|---|---|"]
        for f in items:
            who = name(f.principal) if f.principal else ""
            detail = (f"**{_cell(who)}**: " if who else "") + _cell(f.title)
            if f.path:
                detail += "<br>`" + _cell(render_chain(list(f.path), name)) + "`"
            detail += "<br>Fix: " + _cell(f.remediation)
            rows.append(f"| {f.severity} | {f.rule_id} | {_where(f)} | {detail} |")
        return rows

    if new:
        shown = new[:MAX_ROWS]
        out += table(shown) + [""]
        if len(new) > len(shown):
            out += [f"... and {len(new) - len(shown)} more: see the SARIF or JSON report.", ""]
    if chk.changes:
        out += ["### What this change adds", ""]
        from ..check import summarize
        out += [f"- {_cell(x)}" for x in summarize(chk.changes, name)]
        out.append("")
    if old:
        out += ["<details><summary>Pre-existing in the deployed account "
                f"({len(old)})</summary>", ""] + table(old[:MAX_ROWS]) + ["", "</details>", ""]
        if len(old) > MAX_ROWS:
            out.insert(-2, f"... and {len(old) - MAX_ROWS} more.")
    if report.suppressed:
        out += [f"<details><summary>Suppressed ({len(report.suppressed)})</summary>", ""]
        for f, e in report.suppressed[:MAX_ROWS]:
            out.append(f"- {f.rule_id} {_where(f)}: {_cell(e.reason)}")
        out += ["", "</details>", ""]
    return "\n".join(out).rstrip() + "\n"


def render(report, style=None) -> str:
    if getattr(report, "check", None) is not None:
        return render_check(report)
    m = report.model

    def name(arn: str) -> str:
        p = m.principal(arn)
        return display(p.name) if p is not None else arn

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
