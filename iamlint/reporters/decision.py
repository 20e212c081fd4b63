"""Text rendering of one decision (`iamlint can`)."""

from __future__ import annotations

from ..engine.evaluate import ALLOWED, CONDITIONAL, EXPLICIT, Decision
from ..output import Style

COLOURS = {ALLOWED: "green", CONDITIONAL: "yellow", EXPLICIT: "red"}


def render_decision(principal: str, action: str, resource: str, d: Decision, style: Style) -> str:
    lines = [f"{style(d.decision, 'bold', COLOURS.get(d.decision, 'red'))}  {principal}",
             f"  {'action':<10} {action}", f"  {'resource':<10} {resource}", f"  {'why':<10} {d.reason}"]
    for label, refs in (("allowed by", d.allowed_by), ("denied by", d.denied_by)):
        for ref in refs:
            lines.append(f"  {label:<10} {ref.label()}")
            label = ""
    if d.conditions:
        lines.append("  undecided conditions (give them with --context key=value):")
        for p in d.conditions:
            lines.append(f"    - {p.describe()}")
    for w in d.warnings:
        lines.append(f"  {style('warning', 'yellow')}: {w}")
    return "\n".join(lines)
