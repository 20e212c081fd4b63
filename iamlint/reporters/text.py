"""Text for people: aligned, each path drawn as a chain, colour only on a terminal."""

from __future__ import annotations

from ..graph.paths import render_chain
from ..markers import display
from ..output import Style

SEV_STYLE = {"critical": ("bold", "red"), "high": ("red",), "medium": ("yellow",), "low": ("cyan",), "info": ("dim",)}


def render(report, style: Style | None = None) -> str:
    style = style or Style(False)
    m = report.model

    def name(arn: str) -> str:
        p = m.principal(arn)
        return display(p.name) if p is not None else arn

    n_principals = sum(len(a.principals) for a in m.accounts.values())
    chk = getattr(report, "check", None)
    if chk is not None:
        kinds = {}
        for _, k in chk.inputs:
            kinds[k] = kinds.get(k, 0) + 1
        lines = [f"iamlint check: {len(chk.inputs)} file(s) ("
                 + (", ".join(f"{v} {k}" for k, v in sorted(kinds.items())) or "none") + ")"
                 + (f", {len(chk.skipped)} skipped" if chk.skipped else "")
                 + (f", in the context of {', '.join(chk.context)}" if chk.context else "")
                 + f"; {n_principals} principals, {report.graph.edge_count()} edges, {len(report.rules)} rules",
                 ""]
    else:
        lines = [f"iamlint scan: {len(m.accounts)} account(s), {n_principals} principals, "
                 f"{report.graph.edge_count()} edges, {len(report.rules)} rules", ""]
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
    pre = style(" [pre-existing]", "dim") if f.preexisting else ""
    lines.append(f"{sev}  {f.rule_id:<{width}}  {who}: {f.title}{pre}")
    if f.location is not None and f.location.file:
        lines.append(pad + ":".join([f.location.file] + [str(x) for x in (f.location.line, f.location.column) if x]))
    chain = render_chain(list(f.path), name) if f.path else ""
    message = display(f.message) if f.source is not None else ""
    if message:
        # a message that already draws the path ends with it: the chain gets a line of its own
        lines.append(pad + (message[:-len(chain)].rstrip(": ") if chain and message.endswith(chain) else message))
    if chain:
        lines.append(pad + chain)
        for e in f.path:
            if e.potential and e.assumes:
                lines.append(pad + style(f"assumes: {e.assumes}", "dim"))
    if f.conditions:
        lines.append(pad + style("depends on: " + display("; ".join(f.conditions[:3])), "yellow"))
    if f.evidence:
        lines.append(pad + style("evidence: " + display("; ".join(f.evidence[:3])), "dim"))
    lines.append(pad + "fix: " + f.remediation)
    lines.append("")


def _tail(lines, report, name, style) -> None:
    chk = getattr(report, "check", None)
    for e in report.errors:
        lines.append(style("not read: ", "yellow") + f"{e.get('account', '')} {e.get('service', '')} "
                     f"{e.get('operation', '')}: {e.get('error_code', '')} {e.get('message', '')}".strip())
    if chk is not None and chk.changes:
        lines.append(style("What this change adds:", "bold"))
        from ..check import summarize
        for sentence in summarize(chk.changes, name):
            lines.append("  " + sentence)
        lines.append("")
    for f, e in report.suppressed:
        kind = getattr(e, "kind", None)
        where = f" at {f.location.file}:{f.location.line}" if kind and f.location and f.location.line else ""
        lines.append(style(f"suppressed{' (' + kind + ')' if kind else ''}: ", "dim")
                     + f"{f.rule_id} {name(f.principal) if f.principal else ''}{where}"
                     f" ({e.reason}{', until ' + e.expires.isoformat() if e.expires else ''})")
    for e in report.expired_exclusions:
        if getattr(e, "kind", None) == "inline":
            lines.append(style("expired inline suppression: ", "yellow") + f"{e.source}:{e.index} {e.rule} "
                         f"({e.reason}), expired {e.expires.isoformat()}")
            continue
        lines.append(style("expired exclusion: ", "yellow") + f"{e.source} entry {e.index} ({e.reason}), "
                     f"expired {e.expires.isoformat()}")
    for f in (chk.resolved if chk is not None else ()):
        lines.append(style("resolved by this change: ", "green") + f"{f.rule_id} {name(f.principal)}: {f.title}")
    for w in (chk.unused if chk is not None else ()):
        lines.append(style("unused inline suppression: ", "yellow") + f"{w.file}:{w.line} {w.rule} ({w.reason})")
    counts = report.counts()
    summary = ", ".join(f"{counts[s]} {s}" for s in ("critical", "high", "medium", "low", "info") if s in counts)
    pre_n = sum(1 for f in report.findings if f.preexisting)
    lines.append(f"{len(report.findings)} finding(s)" + (f" ({summary})" if summary else "")
                 + (f"; {pre_n} pre-existing" if pre_n else "")
                 + (f"; {len(report.suppressed)} suppressed" if report.suppressed else "")
                 + (f"; {len(report.errors)} input gap(s)" if report.errors else ""))
