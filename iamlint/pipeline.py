"""The only place the stages are wired: load → model → graph → rules → findings → report."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from .findings import SEVERITY_RANK, Finding
from .graph.build import Builder, Graph
from .model.account import Model
from .rules.load import Rule, all_rules
from .rules.matchers import RuleContext
from .rules.run import Early, default_jobs, run_rules
from .settle import paused, settle, settled

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
    check: object = None                                   # `iamlint check`: a check.CheckInfo

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


def name_agent_sources(findings: list[Finding], ctx: RuleContext) -> list[Finding]:
    """A finding about an agent source itself (e.g. its trust policy) names that source, as the reach
    rules' findings do, so reports group and filter every agent finding alike."""
    if not any(f.source is None and f.principal for f in findings):
        return findings
    from dataclasses import replace

    from .agents.sources import agent_sources
    srcs = agent_sources(ctx)
    return [replace(f, source=f.principal, agent=srcs[f.principal])
            if f.source is None and f.principal in srcs else f for f in findings]


def drop_superseded(findings: list[Finding], rules: list[Rule], covered: dict | None = None) -> list[Finding]:
    """A rule may declare that it refines others (`supersedes` in its data). A finding of a superseded
    rule is dropped when the refining rule reported the same principal and key, or examined that
    principal and key and found it fine (matchers record what they examined in `covered`)."""
    by_rule = {r.id: r.supersedes for r in rules if r.supersedes}
    if not by_rule:
        return findings
    gone = {(old, f.principal, tuple(map(str, f.key))) for f in findings for old in by_rule.get(f.rule_id, ())}
    for rid, seen in (covered or {}).items():
        for old in by_rule.get(rid, ()):
            gone.update((old, principal, tuple(map(str, key))) for principal, key in seen)
    return [f for f in findings if (f.rule_id, f.principal, tuple(map(str, f.key))) not in gone]


def _context(graph: Graph, config: dict | None, now) -> RuleContext:
    ctx = RuleContext(graph, config or {})
    if now is not None:
        ctx._cache["hygiene:now"] = now          # the key iamlint/rules/hygiene.py `_now` memoizes under
    return ctx


def scan(model: Model, *, only: Iterable[str] | None = None, skip: Iterable[str] | None = None,
         rule_dirs: tuple[str, ...] = (), progress: Callable[[str], None] | None = None,
         config: dict | None = None, exclusions: list | None = None, auth=None, now=None,
         jobs: int | None = None) -> Report:
    """`now`: (datetime, words) the reference time of rules that read one, when the caller fixes it for
    several scans (an audit's units); otherwise `now` in the configuration, else the input's latest date.
    `jobs`: 1 runs the rules in this process, 2 in two lanes (a forked child); None decides by size."""
    timings: dict[str, float] = {}
    if config:
        from .config import validate_config
        validate_config(config)
    rules = select_rules(all_rules(rule_dirs), only, skip)
    if jobs is None:
        jobs = default_jobs(model)
    if auth is None:
        from .engine.authorize import Authorizer
        auth = Authorizer(model)
    from .model.clock import parse_time
    if now is not None and now[0] is not None:
        now = (parse_time(now[0]), now[1])       # a naive time read as UTC, as the inputs' are
    fixed = now[0] if now is not None else parse_time((config or {}).get("now"))
    if fixed is not None:   # the time conditions are read against the rules' reference time
        auth.set_reference_time(fixed)
    early = None
    with settled():
        t = time.perf_counter()
        with paused():   # hundreds of thousands of objects and next to no cycles (settle.py)
            builder = Builder(model, auth, progress)
            builder.levels()
            if jobs >= 2:   # rules that read no step run in a child while the steps are built
                early = Early(rules, _context(builder.levels_only(), config, now), jobs)
            try:
                graph = builder.edges()
            except BaseException:
                if early is not None:
                    early.stop()
                raise
        timings["graph"] = time.perf_counter() - t
        settle()
        ctx = _context(graph, config, now)
        if early is not None:   # its memos are in before the rules fork their lanes
            early.collect(ctx)
        t = time.perf_counter()
        findings, rule_times = run_rules(rules, ctx, jobs=jobs, progress=progress, early=early)
        timings.update(rule_times)
        timings["rules"] = time.perf_counter() - t
    findings = drop_superseded(findings, rules, ctx._cache.get("covered"))
    findings = name_agent_sources(findings, ctx)
    findings.sort(key=Finding.sort_key)
    from .suppress import apply
    findings, suppressed, expired = apply(findings, exclusions or [])
    errors = [dict(e, account=a.id) for a in model.accounts.values() for e in a.collection_errors]
    return Report(model, graph, findings, rules, errors, timings, suppressed, expired)
