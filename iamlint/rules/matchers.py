"""The small vocabulary of rule matchers. A matcher is a pure function (rule, ctx) -> findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from ..findings import Finding
from ..graph.build import Graph, identity_allows, is_hub, probe_resource
from ..graph.paths import admin_sinks, follow, path_to, reach, render_chain, toward
from ..markers import display
from ..model.account import Kind
from .hygiene import lower, sorted_principals


@dataclass
class RuleContext:
    graph: Graph
    config: dict = field(default_factory=dict)
    _cache: dict = field(default_factory=dict)   # per-scan memo shared by matchers (e.g. agent sources)

    @property
    def model(self):
        return self.graph.model

    def name(self, arn: str) -> str:
        """The principal's name as people read it (a value known only at deploy time shown readably)."""
        p = self.model.principal(arn)
        return display(p.name) if p is not None else arn


def _path_facts(path) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
    potential = any(e.potential for e in path)
    conds = tuple(dict.fromkeys(c for e in path for c in e.conditions))
    evidence = tuple(dict.fromkeys(x for e in path for x in e.evidence))
    return potential, conds, evidence


def _undecided(severity: str, conds) -> str:
    """A path that rests on conditions no static reading decides is one severity lower (as IAM101 and the
    agent rules); a potential step (a resource the input does not show) keeps it, and says so."""
    return lower(severity) if conds else severity


def admin_routes(ctx: RuleContext):
    """(sinks, certain next-steps, all next-steps) toward admin-equivalence, computed once per scan."""
    if "admin_routes" not in ctx._cache:
        sinks = admin_sinks(ctx.graph)
        ctx._cache["admin_routes"] = (sinks, toward(ctx.graph, sinks, True), toward(ctx.graph, sinks, False))
    return ctx._cache["admin_routes"]


def admin_path(ctx: RuleContext, arn: str) -> list:
    """The preferred way from `arn` to admin-equivalence ([] when none): certain steps first."""
    sinks, certain, anyway = admin_routes(ctx)
    for nxt in (certain, anyway):
        if arn in nxt:
            path = follow(nxt, sinks, arn)
            if path:
                return path
    return []


def escalation_to_admin(rule, ctx: RuleContext) -> Iterable[Finding]:
    g = ctx.graph
    for p in sorted_principals(ctx):
        if p.kind is Kind.GROUP or g.admin.get(p.arn) in ("admin", "iam-write"):
            continue
        path = admin_path(ctx, p.arn)
        if not path:
            continue
        potential, conds, evidence = _path_facts(path)
        chain = render_chain(path, ctx.name)
        qual = " (if the resources it assumes exist)" if potential else ""
        qual += " (under conditions)" if conds else ""
        yield Finding(rule.id, _undecided(rule.severity, conds), rule.title, p.arn,
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
                identity_allows(g.auth, p, a, everywhere=True)
                and g.auth.check(arn, a, probe_resource(a, p.account), resource_mode="all").allowed
                for a in actions))
        return holders[arn]

    sinks = {n: None for n in g.g.nodes if not is_hub(n) and n not in g.admin and holds(n)}
    certain, anyway = toward(g, sinks, True), toward(g, sinks, False)
    for p in sorted_principals(ctx):
        if p.kind is Kind.GROUP or p.arn in g.admin or holds(p.arn):
            continue
        nxt = certain if p.arn in certain else anyway
        if p.arn not in nxt:
            continue
        path = follow(nxt, {}, p.arn)
        if not path:
            continue
        potential, conds, evidence = _path_facts(path)
        yield Finding(rule.id, _undecided(rule.severity, conds), rule.title, p.arn,
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
    from . import agents, agents_trust, hygiene
    for mod in (hygiene, agents, agents_trust):
        for name, fn in mod.MATCHERS.items():
            if name in MATCHERS:
                raise RuntimeError(f"matcher {name} is defined twice")
            MATCHERS[name] = fn


_register_families()
