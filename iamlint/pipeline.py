"""The only place the stages are wired: load → model → graph → rules → findings → report."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from .findings import SEVERITY_RANK, Finding
from .graph.build import Graph, build_graph
from .model.account import Model
from .rules.load import Rule, all_rules
from .rules.matchers import MATCHERS, RuleContext

SCHEMA_VERSION = 1


@dataclass
class Report:
    model: Model
    graph: Graph
    findings: list[Finding]
    rules: list[Rule]
    errors: list[dict] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    suppressed: list = field(default_factory=list)        # [(Finding, Exclusion)]
    expired_exclusions: list = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {}
        for f in self.findings:
            out[f.severity] = out.get(f.severity, 0) + 1
        return out

    def worst_at_or_above(self, severity: str) -> bool:
        limit = SEVERITY_RANK[severity]
        return any(SEVERITY_RANK[f.severity] <= limit for f in self.findings)


def select_rules(rules: list[Rule], only: Iterable[str] | None, skip: Iterable[str] | None) -> list[Rule]:
    from .errors import UsageError

    known = {r.id for r in rules}
    only = [x.strip() for s in (only or []) for x in s.split(",") if x.strip()]
    skip = [x.strip() for s in (skip or []) for x in s.split(",") if x.strip()]
    for rid in only + skip:
        if rid not in known and not any(r.id.startswith(rid) for r in rules):
            raise UsageError(f"unknown rule id {rid!r} (see `iamlint rules`)")
    out = [r for r in rules if not only or any(r.id.startswith(o) for o in only)]
    return [r for r in out if not any(r.id.startswith(s) for s in skip)]


def scan(model: Model, *, only: Iterable[str] | None = None, skip: Iterable[str] | None = None,
         rule_dirs: tuple[str, ...] = (), progress: Callable[[str], None] | None = None,
         config: dict | None = None, exclusions: list | None = None, auth=None) -> Report:
    timings: dict[str, float] = {}
    t = time.perf_counter()
    graph = build_graph(model, auth, progress=progress)
    timings["graph"] = time.perf_counter() - t
    rules = select_rules(all_rules(rule_dirs), only, skip)
    ctx = RuleContext(graph, config or {})
    findings: list[Finding] = []
    t = time.perf_counter()
    for rule in rules:
        if progress:
            progress(f"rules: {rule.id}")
        findings.extend(MATCHERS[rule.match["matcher"]](rule, ctx))
    timings["rules"] = time.perf_counter() - t
    findings.sort(key=Finding.sort_key)
    from .suppress import apply
    findings, suppressed, expired = apply(findings, exclusions or [])
    errors = [dict(e, account=a.id) for a in model.accounts.values() for e in a.collection_errors]
    return Report(model, graph, findings, rules, errors, timings, suppressed, expired)
