"""Text for people: aligned, each path drawn as a chain, colour only on a terminal."""

from __future__ import annotations

from ..graph.paths import render_chain
from ..output import Style

SEV_STYLE = {"critical": ("bold", "red"), "high": ("red",), "medium": ("yellow",), "low": ("cyan",), "info": ("dim",)}


def render(report, style: Style | None = None) -> str:
    style = style or Style(False)
    m = report.model

    def name(arn: str) -> str:
        p = m.principal(arn)
        return p.name if p is not None else arn

    n_principals = sum(len(a.principals) for a in m.accounts.values())
    lines = [f"iamlint scan: {len(m.accounts)} account(s), {n_principals} principals, "
             f"{report.graph.g.number_of_edges()} edges, {len(report.rules)} rules", ""]
    width = max([len(f.rule_id) for f in report.findings] + [6])
    pad = " " * (8 + 2 + width + 2)
    groups = _by_source(report.findings)
    for src, agent, findings in groups:
        if src is not None:
            lines.append(style(f"agent source: {name(src)}", "bold") + f"  ({_describe(agent)})")
            lines.append("")
        elif len(groups) > 1:
            lines.append(style("not about agent reach", "bold"))
            lines.append("")
        for f in findings:
            _finding(lines, f, name, style, width, pad)
    _tail(lines, report, name, style)
    return "\n".join(lines)


def _by_source(findings):
    """[(source ARN or None, AgentSource, findings)]: agent sources first, worst finding first."""
    from ..findings import SEVERITY_RANK
    groups: dict = {}
    for f in findings:
        groups.setdefault(f.source, (f.agent, []))[1].append(f)
    order = sorted((k for k in groups if k is not None),
                   key=lambda k: (min(SEVERITY_RANK[f.severity] for f in groups[k][1]), k))
    out = [(k, groups[k][0], groups[k][1]) for k in order]
    if None in groups:
        out.append((None, None, groups[None][1]))
    return out


def _describe(agent) -> str:
    if agent is None:
        return "agent source"
    from ..agents.sources import KIND_LABEL
    return f"{KIND_LABEL.get(agent.kind, agent.kind)}: {'; '.join(agent.reasons)}"


def _finding(lines, f, name, style, width, pad) -> None:
    sev = style(f"{f.severity.upper():<8}", *SEV_STYLE.get(f.severity, ()))
    who = name(f.principal) if f.principal else (f.location.file if f.location else "")
    lines.append(f"{sev}  {f.rule_id:<{width}}  {who}: {f.title}")
    if f.source is not None:
        lines.append(pad + f.message)
    if f.path:
        lines.append(pad + render_chain(list(f.path), name))
        for e in f.path:
            if e.potential and e.assumes:
                lines.append(pad + style(f"assumes: {e.assumes}", "dim"))
    if f.conditions:
        lines.append(pad + style("depends on: " + "; ".join(f.conditions[:3]), "yellow"))
    if f.evidence:
        lines.append(pad + style("evidence: " + "; ".join(f.evidence[:3]), "dim"))
    lines.append(pad + "fix: " + f.remediation)
    lines.append("")


def _tail(lines, report, name, style) -> None:
    for e in report.errors:
        lines.append(style("not read: ", "yellow") + f"{e.get('account', '')} {e.get('service', '')} "
                     f"{e.get('operation', '')}: {e.get('error_code', '')} {e.get('message', '')}".strip())
    for f, e in report.suppressed:
        lines.append(style("suppressed: ", "dim") + f"{f.rule_id} {name(f.principal) if f.principal else ''}"
                     f" ({e.reason}{', until ' + e.expires.isoformat() if e.expires else ''})")
    for e in report.expired_exclusions:
        lines.append(style("expired exclusion: ", "yellow") + f"{e.source} entry {e.index} ({e.reason}), "
                     f"expired {e.expires.isoformat()}")
    counts = report.counts()
    summary = ", ".join(f"{counts[s]} {s}" for s in ("critical", "high", "medium", "low", "info") if s in counts)
    lines.append(f"{len(report.findings)} finding(s)" + (f" ({summary})" if summary else "")
                 + (f"; {len(report.suppressed)} suppressed" if report.suppressed else "")
                 + (f"; {len(report.errors)} input gap(s)" if report.errors else ""))
