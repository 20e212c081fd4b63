"""The small vocabulary of rule matchers. A matcher is a pure function (rule, ctx) -> findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from ..findings import Finding
from ..graph.build import Graph
from ..graph.paths import paths_to_admin, reach, path_to, render_chain
from ..model.account import Kind


@dataclass
class RuleContext:
    graph: Graph
    config: dict = field(default_factory=dict)
    _cache: dict = field(default_factory=dict)   # per-scan memo shared by matchers (e.g. agent sources)

    @property
    def model(self):
        return self.graph.model

    def name(self, arn: str) -> str:
        p = self.model.principal(arn)
        return p.name if p is not None else arn


def _path_facts(path) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
    potential = any(e.potential for e in path)
    conds = tuple(dict.fromkeys(c for e in path for c in e.conditions))
    evidence = tuple(dict.fromkeys(x for e in path for x in e.evidence))
    return potential, conds, evidence


def escalation_to_admin(rule, ctx: RuleContext) -> Iterable[Finding]:
    g = ctx.graph
    for p in sorted(ctx.model.principals(), key=lambda p: p.arn):
        if p.kind is Kind.GROUP or g.admin.get(p.arn) in ("admin", "iam-write"):
            continue
        paths = paths_to_admin(g, p.arn, limit=1)
        if not paths:
            continue
        path = paths[0]
        potential, conds, evidence = _path_facts(path)
        chain = render_chain(path, ctx.name)
        qual = " (if the resources it assumes exist)" if potential else ""
        qual += " (under conditions)" if conds else ""
        yield Finding(rule.id, rule.severity, rule.title, p.arn,
                      f"{p.name} can reach admin-equivalence in {len(path)} step(s){qual}: {chain}",
                      rule.remediation, tuple(path), evidence, potential=potential, conditions=conds,
                      key=tuple((e.method, e.target) for e in path))


def escalation_to_high_value(rule, ctx: RuleContext) -> Iterable[Finding]:
    g = ctx.graph
    actions = rule.match.get("actions") or []
    holders: dict[str, bool] = {}

    def holds(arn: str) -> bool:
        if arn not in holders:
            p = ctx.model.principal(arn)
            holders[arn] = bool(p is not None and p.kind is not Kind.GROUP and any(
                g.auth.check(arn, a, "*", resource_mode="all").allowed for a in actions))
        return holders[arn]

    for p in sorted(ctx.model.principals(), key=lambda p: p.arn):
        if p.kind is Kind.GROUP or p.arn in g.admin or holds(p.arn):
            continue
        seen = reach(g, p.arn)
        targets = [n for n in seen if n != p.arn and n not in g.admin and holds(n)]
        if not targets:
            continue
        path = path_to(seen, sorted(targets, key=lambda n: (len(path_to(seen, n)), n))[0])
        potential, conds, evidence = _path_facts(path)
        yield Finding(rule.id, rule.severity, rule.title, p.arn,
                      f"{p.name} can reach {ctx.name(path[-1].target)}, which holds {' or '.join(actions)} "
                      f"on every resource: {render_chain(path, ctx.name)}",
                      rule.remediation, tuple(path), evidence, potential=potential, conditions=conds,
                      key=(path[-1].target,))


MATCHERS: dict[str, Callable] = {
    "escalation_to_admin": escalation_to_admin,
    "escalation_to_high_value": escalation_to_high_value,
}


def _register_families() -> None:
    """Matcher families live in their own modules, each exposing a MATCHERS dict."""
    from . import agents, hygiene
    for mod in (hygiene, agents):
        for name, fn in mod.MATCHERS.items():
            if name in MATCHERS:
                raise RuntimeError(f"matcher {name} is defined twice")
            MATCHERS[name] = fn


_register_families()
