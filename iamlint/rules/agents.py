"""Agent blast-radius matchers (the AGT rule family).

Every matcher works on the agent-reachable set (iamlint/agents/reach.py): the agent sources and what
they can become through the permission graph. Every finding names its agent source (`source`, and
`agent` with the kind and reasons) and carries the path from it (empty for a source itself).
Every permission question is asked of the one evaluator (`ctx.graph.auth.check`), which applies
explicit denies, boundaries and SCPs. A Conditional answer, or a path through conditional or potential
steps, gives a finding one severity lower that names the conditions: never dropped, never certain.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, replace
from typing import Iterable

from ..agents.actionsets import action_set, every_resource, matches_any, needs, self_resources
from ..agents.actionsets import data as action_data
from ..agents.reach import Reach, agent_reach
from ..agents.sources import agent_settings, agent_sources, is_human_role
from ..engine import actions as catalog
from ..engine import wildcard
from ..findings import Finding
from ..engine.evaluate import EXPLICIT, IMPLICIT, Decision
from ..graph.build import ADMIN_PROBES, IAM_WRITE_PROBES, _Prefilter, is_hub, probe_resource
from ..graph.edges import Edge, merge
from ..graph.methods import method as method_of
from ..graph.paths import collapse
from ..model.account import Kind, Principal
from ..model.clock import parse_time as _parse_time
from .hygiene import _now, _probe_evidence, _short, lower, ref_label, sorted_principals

ADMIN = ("admin", "iam-write")
_NO_GRANT = Decision(IMPLICIT, reason="no identity policy statement allows the action")


# ---------------------------------------------------------------- shared

def _reached(ctx) -> tuple[Reach, list[Principal]]:
    hit = ctx._cache.get("agents:reached")
    if hit is None:
        r = agent_reach(ctx)
        hit = ctx._cache["agents:reached"] = (r, [_principal(ctx, a) for a in r.principals(ctx.model)])
    return hit


def _where(ctx, r: Reach, p: Principal) -> str:
    src = r.source_of(p.arn)
    if src is None or src.arn == p.arn:
        return f"agent source {_name(ctx, p.arn)}"
    return f"{_name(ctx, p.arn)} (reachable from agent source {_name(ctx, src.arn)} in {len(r.path(p.arn))} step(s))"


def _emit(rule, ctx, r: Reach, p: Principal, what: str, severity: str, *, evidence=(), conditions=(),
          extra: Iterable[Edge] = (), key: tuple = (), potential: bool = False, undecided: bool = False) -> Finding:
    """One finding about reachable principal `p`: path from its source (+ `extra` steps), severity one
    lower when anything it rests on is undecided (`undecided`, conditions here or on the path) or assumed;
    one level in all, however many of those there are."""
    path = collapse(r.path(p.arn) + list(extra))
    src = r.source_of(p.arn)
    potential = potential or any(e.potential for e in path)
    conds = tuple(dict.fromkeys(tuple(conditions) + tuple(c for e in path for c in e.conditions)))
    if potential or conds or undecided:
        severity = lower(severity)
    msg = f"{_where(ctx, r, p)} {what}"
    return Finding(rule.id, severity, rule.title, p.arn, msg, rule.remediation, tuple(path),
                   tuple(dict.fromkeys(evidence)), source=src.arn if src else None, potential=potential,
                   conditions=conds, key=key, agent=src)


def _labels(p: Principal, d) -> list[str]:
    return [ref_label(p, ref) for ref in d.allowed_by]


def _pending(d) -> list[str]:
    return [pc.describe() for pc in d.conditions]


def _scoping_only(d, scoping: list[str]) -> bool:
    keys = {pc.condition.key.lower() for pc in d.conditions}
    return bool(keys) and all(any(wildcard.match(s, k, ignore_case=True) for s in scoping) for k in keys)


def _principal(ctx, arn: str) -> Principal | None:
    """`ctx.model.principal`, memoized per scan (the rules ask it millions of times at 20,000 roles)."""
    memo = ctx._cache.setdefault("agents:principal", {})
    try:
        return memo[arn]
    except KeyError:
        p = memo[arn] = ctx.model.principal(arn)
        return p


def _name(ctx, arn: str) -> str:
    """`ctx.name`, memoized per scan."""
    memo = ctx._cache.setdefault("agents:names", {})
    n = memo.get(arn)
    if n is None:
        n = memo[arn] = ctx.name(arn)
    return n


def _prefilter(ctx) -> _Prefilter:
    """The graph's action prefilter, over the actions the agent rules ask about: a principal's identity
    Allow statements are matched against them once, and each answer is a set lookup."""
    pre = ctx._cache.get("agents:prefilter")
    if pre is None:
        universe = [a for name in action_data()["sets"] for a in action_set(name)]
        universe += list(ADMIN_PROBES) + list(IAM_WRITE_PROBES) + list(action_data()["execution_role_probes"])
        universe += ["iam:PassRole", "sts:AssumeRole"]
        pre = ctx._cache["agents:prefilter"] = _Prefilter(ctx.graph.auth, universe)
    return pre


def _maybe(ctx, p: Principal, actions: tuple[str, ...], everywhere: bool = False) -> tuple[str, ...]:
    """The actions of `actions` (in order) that some identity Allow statement of `p` names: for the rest
    `_check` answers "no identity policy statement allows the action" without asking the evaluator. With
    `everywhere`, only those it names on a pattern that may cover every resource of the action in p's
    account (`_Prefilter.known_everywhere`): asked on all of them (mode "all"), the rest are denied."""
    pre = _prefilter(ctx)
    known = ctx._cache.setdefault("agents:maybe-known", {})
    ok = known.get(actions)
    if ok is None:
        ok = known[actions] = all(a.lower() in pre._known for a in actions)
    if not ok:
        return tuple(a for a in actions if pre.may(p, a))
    allowed = pre.known_everywhere(p) if everywhere else pre._known_allowed(p)
    memo = ctx._cache.setdefault("agents:maybe", {})
    key = (allowed, actions)
    hit = memo.get(key)
    if hit is None:
        hit = memo[key] = tuple(a for a in actions if a.lower() in allowed)
    return hit


def _check(ctx, arn: str, action: str, resource: str, mode: str = "exact"):
    """The evaluator's decision, memoized per scan: several AGT rules ask the same questions."""
    memo = ctx._cache.setdefault("agents:checks", {})
    key = (arn, action, resource, mode)
    d = memo.get(key)
    if d is None:
        pre = _prefilter(ctx)
        p = _principal(ctx, arn)
        if p is not None and not pre.may(p, action):
            d = _NO_GRANT     # no identity statement allows the action at all (the graph's prefilter)
        else:
            d = ctx.graph.auth.check(arn, action, resource, resource_mode=mode)
        memo[key] = d
    return d


def _uncertain(path) -> int:
    return sum(1 for e in path if e.potential or e.conditional)


def _level(ctx, arn: str) -> str | None:
    return ctx.graph.admin.get(arn)


@dataclass(frozen=True)
class _Step:
    """One step out of a principal; a way through a hub node stays two edges until it is drawn, so that
    "may do X to every role" grants cost actors + roles, not actors x roles."""

    first: Edge | None      # the step into a hub, when the way goes through one
    last: Edge

    @property
    def target(self) -> str:
        return self.last.target

    @property
    def method(self) -> str:
        return (self.first or self.last).method

    @property
    def uncertain(self) -> tuple[bool, bool]:
        f = self.first
        return (self.last.potential or bool(f and f.potential), self.last.conditional or bool(f and f.conditional))

    def edge(self) -> Edge:
        return merge(self.first, self.last) if self.first else self.last


def _out_edges(ctx, arn: str) -> dict[tuple[bool, str | None], list[tuple[int, Edge]]]:
    """The edges out of `arn` by (tool, method category), each with its place among them (memoized: the
    step rules each read a few kinds of the edges out of every reachable principal)."""
    memo = ctx._cache.setdefault("agents:out-edges", {})
    hit = memo.get(arn)
    if hit is None:
        hit = memo[arn] = {}
        cats = ctx._cache.setdefault("agents:categories", {})
        for i, e in enumerate(ctx.graph.edges_from(arn)):
            if e.method not in cats:
                cats[e.method] = _category(e)
            hit.setdefault((e.tool, cats[e.method]), []).append((i, e))
    return hit


def _hub_classes(ctx, hub: str) -> list[list[Edge]]:
    """The hub's targets by class of the same answer to the step rules (admin level, probe actions and
    the step's uncertainty), the first two of each by (target, method). A principal steps through a hub
    to the first target of each class that is not itself: what it gains through a hub is then decided in
    hubs x classes, not hubs x targets."""
    memo = ctx._cache.setdefault("agents:hub-classes", {})
    if hub not in memo:
        firsts: dict = {}
        for e2 in sorted(ctx.graph.edges_from(hub), key=lambda x: (x.target, x.method)):
            if _principal(ctx, e2.target) is None:
                continue
            key = (_level(ctx, e2.target), _probes(ctx, e2.target), e2.potential, e2.conditional)
            members = firsts.setdefault(key, [])
            if len(members) < 2:
                members.append(e2)
        memo[hub] = list(firsts.values())
    return memo[hub]


def _category(e: Edge) -> str | None:
    m = method_of(e.method)
    return m.category if m else None


def _allow_covers(ctx, p: Principal, d, pattern: str) -> bool:
    """Do the identity (and boundary) Allow statements behind decision `d` name every resource of `pattern`?"""
    ps = ctx.graph.auth.policy_set(p)
    pols = {(np.type, np.name): np for np in list(ps.identity) + list(ps.boundaries)}
    seen: dict[str, bool] = {}
    for ref in d.allowed_by:
        np = pols.get((ref.policy_type, ref.policy))
        if np is None:
            continue
        st = next((x for x in np.document.statements if x.pointer == ref.pointer), None)
        ok = st is not None and st.resources is not None and any(wildcard.covers(r, pattern) for r in st.resources)
        seen[ref.policy_type] = seen.get(ref.policy_type, False) or ok
    return seen.get("identity", False) and seen.get("boundary", True)


def _set_hits(ctx, p: Principal, actions: tuple[str, ...], scoping: list[str], mode: str = "all"):
    """(certain hits, conditional hits, hits except what a Deny protects, evidence, conditions) of
    `actions` on every resource of their type. A function of the principal's policies alone (no step of
    the graph), memoized per scan: the early lane may have computed it already (`early_set_hits`)."""
    key = (p.arn, actions, tuple(scoping), mode)
    memo = ctx._cache.setdefault("agents:set-hits", {})
    hit = memo.get(key)
    if hit is None:
        hit = memo[key] = _set_hits_of(ctx, p, actions, scoping, mode)
    return hit


def early_set_hits(rules, ctx, stop) -> None:
    """The early lane's share of the action-set rules (rules/run.py): their `_set_hits` for every user
    and role that is not admin-equivalent, as the rule asks it (`any_resource`: also on some resources
    where nothing holds on all), in the order the rules will ask, until `stop()`. Which of them an agent
    reaches is known only once the steps are built."""
    principals = sorted((p for p in ctx.model.principals()
                         if p.kind is not Kind.GROUP and not p.service_linked and _level(ctx, p.arn) not in ADMIN),
                        key=lambda p: p.arn)
    for rule in rules:
        actions = action_set(rule.match["set"])
        scoping = rule.match.get("scoping_keys", [])
        for i, p in enumerate(principals):
            if not i % 32 and stop():
                return
            certain, maybe, carved, _, _ = _set_hits(ctx, p, actions, scoping)
            if not (certain or maybe or carved) and rule.match.get("any_resource"):
                _set_hits(ctx, p, actions, scoping, mode="some")


def _set_hits_of(ctx, p: Principal, actions: tuple[str, ...], scoping: list[str], mode: str):
    certain, maybe, carved, ev, conds = [], [], [], [], []
    # the others: no identity statement allows them (on every resource, for mode "all"): never possible,
    # nor carved out by a Deny (that needs an Allow naming every resource)
    for a in _maybe(ctx, p, tuple(actions), everywhere=mode == "all"):
        if a.lower() == "sts:getfederationtoken" and p.kind is not Kind.USER:
            continue   # only users can call it
        pattern = every_resource(a, p.account)
        d = _check(ctx, p.arn, a, pattern, mode)
        if not d.possible:
            if mode == "all" and d.decision == EXPLICIT:
                # an explicit Deny protects part of the resources: the Allow may still name all of them
                d2 = _check(ctx, p.arn, a, pattern, "some")
                if d2.allowed and _allow_covers(ctx, p, d2, pattern):
                    carved.append(a)
                    ev.extend(_labels(p, d2))
                    ev.extend(ref.label() for ref in d.denied_by)
            continue
        if d.allowed:
            certain.append(a)
        elif _scoping_only(d, scoping):
            continue   # scoped by resource tags or the like: the fix the rule asks for
        else:
            maybe.append(a)
            conds.extend(_pending(d))
        ev.extend(_labels(p, d))
    return certain, maybe, carved, ev, conds


SET_WHAT = {"destructive": "may destroy data or infrastructure",
            "backup": "may delete backups or turn recovery protections off",
            "defense_evasion": "may stop or tamper with logging and detection",
            "credential_minting": "may mint new long-lived or foreign credentials",
            "secret_read": "may read secrets"}


# ---------------------------------------------------------------- AGT001 admin

def agent_admin(rule, ctx) -> Iterable[Finding]:
    r, reached = _reached(ctx)
    for p in reached:
        lvl = _level(ctx, p.arn)
        if lvl not in ("admin", "iam-write", "conditional"):
            continue
        probes = ADMIN_PROBES if lvl != "iam-write" else IAM_WRITE_PROBES
        ev, conds, possible = _probe_evidence(ctx, p.arn, probes)
        if lvl == "conditional":
            ev, conds, possible = _probe_evidence(ctx, p.arn, IAM_WRITE_PROBES)
            if not possible:
                continue
        what = {"admin": "is an administrator (every action on every resource)",
                "iam-write": "is admin-equivalent (full IAM write: it can grant itself anything)",
                "conditional": "is admin-equivalent under conditions"}[lvl]
        yield _emit(rule, ctx, r, p, what + f", granted by {_short(ev, 2) or 'its identity policies'}",
                    rule.severity, evidence=ev, conditions=conds, key=("admin",))


# ---------------------------------------------------------------- AGT002 IAM write / self-modification

def agent_iam_write(rule, ctx) -> Iterable[Finding]:
    r, reached = _reached(ctx)
    for p in reached:
        if _level(ctx, p.arn) in ADMIN:
            continue   # AGT001
        scopes: dict[str, list[str]] = {"itself": [], "every": [], "some": []}
        ev, conds, certain = [], [], set()
        for a in _maybe(ctx, p, action_set("iam_write")):
            tries = [("itself", res, "exact") for res in self_resources(ctx.model, p, a)]
            tries += [("every", every_resource(a, p.account), "all"), ("some", every_resource(a, p.account), "some")]
            for scope, res, mode in tries:
                d = _check(ctx, p.arn, a, res, mode)
                if d.possible:
                    scopes[scope].append(a)
                    ev.extend(_labels(p, d))
                    if d.allowed:
                        certain.add(scope)
                    else:
                        conds.extend(_pending(d))
                    break
        if not any(scopes.values()):
            continue
        worst = "itself" if scopes["itself"] else "every" if scopes["every"] else "some"
        sev = rule.severity if worst in ("itself", "every") else lower(rule.severity)
        parts = []
        if scopes["itself"]:
            parts.append(f"its own permissions ({_short(scopes['itself'], 3)})")
        if scopes["every"]:
            parts.append(f"every {('role, user or policy')} of the account ({_short(scopes['every'], 3)})")
        if scopes["some"]:
            parts.append(f"some IAM resources ({_short(scopes['some'], 3)})")
        yield _emit(rule, ctx, r, p, "may change IAM: " + "; ".join(parts), sev, evidence=ev,
                    conditions=() if worst in certain else conds, key=("iam-write",))


# ---------------------------------------------------------------- AGT003 / AGT004 / AGT005: graph steps

def _probes(ctx, arn: str) -> frozenset:
    memo = ctx._cache.setdefault("agents:probes", {})
    if arn not in memo:
        p = _principal(ctx, arn)
        probes = ADMIN_PROBES if p is None else _maybe(ctx, p, ADMIN_PROBES)
        acct = p.account if p is not None else arn.split(":")[4]
        memo[arn] = frozenset(a for a in probes if _check(ctx, arn, a, probe_resource(a, acct), "all").possible)
    return memo[arn]


def _stronger(ctx, p: Principal, target: str) -> list[str]:
    """Probe actions `target` may do on every resource and `p` may not (what p gains by becoming it)."""
    t = _principal(ctx, target)
    if t is None or t.kind is Kind.GROUP:
        return []
    memo = ctx._cache.setdefault("agents:stronger", {})
    key = (_probes(ctx, target), _probes(ctx, p.arn))
    hit = memo.get(key)
    if hit is None:
        extra = key[0] - key[1]
        hit = memo[key] = [a for a in ADMIN_PROBES if a in extra]
    return list(hit)


def _gain(ctx, p: Principal, target: str) -> tuple[bool, list[str]]:
    """(target is an administrator, what `p` gains by becoming `target`: ["*"] for an administrator)."""
    if _level(ctx, target) in ADMIN:
        return True, ["*"]
    return False, _stronger(ctx, p, target)


def _hub_gains(ctx, hub: str, p: Principal) -> list[tuple[Edge, bool, list[str]]]:
    """(last edge, admin, gain) of each class of `hub` (its first target that is not `p`) with a gain, in
    class order. Memoized per (hub, p's probe actions, p when it is one of the class heads): what p gains
    depends on nothing else, so the principals that share a hub share the answer."""
    classes = _hub_classes(ctx, hub)
    heads = ctx._cache.setdefault("agents:hub-heads", {})
    if hub not in heads:
        heads[hub] = frozenset(x.target for members in classes for x in members)
    excl = p.arn if p.arn in heads[hub] else None
    memo = ctx._cache.setdefault("agents:hub-gains", {})
    key = (hub, _probes(ctx, p.arn), excl)
    hit = memo.get(key)
    if hit is None:
        hit = []
        for members in classes:
            last = next((x for x in members if x.target != excl), None)
            if last is None or last.target == p.arn or _principal(ctx, last.target) is None:
                continue
            adm, gain = _gain(ctx, p, last.target)
            if gain:
                hit.append((last, adm, gain))
        memo[key] = hit
    return hit


def _step_rule(rule, ctx, categories: tuple[str, ...], tool: bool):
    """(p, reach, [(admin, step, gain)]) for each reachable principal that is not itself an administrator
    and may step (through edges of these categories) into a target it gains something by becoming;
    the steps sorted by target and method (one step per class of a hub's targets: _hub_classes)."""
    r, reached = _reached(ctx)
    for p in reached:
        if _level(ctx, p.arn) in ADMIN:
            continue   # already everything: AGT001
        index = _out_edges(ctx, p.arn)
        groups = [index[k] for k in dict.fromkeys((tool, c) for c in categories) if k in index]
        if not groups:
            continue
        edges = groups[0] if len(groups) == 1 else sorted(x for g in groups for x in g)
        scored = []
        for _, e in edges:
            if is_hub(e.target):
                scored += [(adm, _Step(e, last), gain) for last, adm, gain in _hub_gains(ctx, e.target, p)]
            elif e.target != p.arn and _principal(ctx, e.target) is not None:
                adm, gain = _gain(ctx, p, e.target)
                if gain:
                    scored.append((adm, _Step(None, e), gain))
        if scored:
            scored.sort(key=lambda x: (x[1].target, x[1].method))
            yield p, r, scored


def agent_passrole(rule, ctx) -> Iterable[Finding]:
    """AGT003: PassRole + a create action (the graph's new-passrole methods) into a stronger role; else
    PassRole on every role with no iam:PassedToService condition (medium)."""
    found = set()
    for p, r, scored in _step_rule(rule, ctx, ("new-passrole",), False):
        found.add(p.arn)
        admin = [e for a, e, _ in scored if a]
        best = min(admin or [e for _, e, _ in scored], key=lambda st: st.uncertain).edge()
        targets = list(dict.fromkeys(f"{_name(ctx, e.target)} ({e.method})" for _, e, _ in scored))
        sev = rule.severity if admin else lower(rule.severity)
        what = (f"may pass {'an administrator role' if admin else 'a stronger role'} to new compute it creates: "
                f"{_short(targets, 4)}")
        yield _emit(rule, ctx, r, p, what, sev, evidence=best.evidence, extra=[best], key=("passrole",),
                    potential=best.potential)
    r, reached = _reached(ctx)
    for p in reached:
        if p.arn in found or _level(ctx, p.arn) in ADMIN:
            continue
        d = _check(ctx, p.arn, "iam:PassRole", f"arn:aws:iam::{p.account}:role/*", "all")
        if d.allowed:
            yield _emit(rule, ctx, r, p, "may pass every role of its account to any service (no "
                        "iam:PassedToService condition); no stronger role is passable to a create action it "
                        "holds today", lower(rule.severity, 2), evidence=_labels(p, d), key=("passrole",))


def agent_exec_into(rule, ctx) -> Iterable[Finding]:
    """AGT004: run code or commands in existing compute that runs as a stronger role."""
    for p, r, scored in _step_rule(rule, ctx, ("existing-passrole",), False):
        admin = [e for a, e, _ in scored if a]
        best = min(admin or [e for _, e, _ in scored], key=lambda st: st.uncertain).edge()
        targets = list(dict.fromkeys(f"{_name(ctx, e.target)} ({e.method})" for _, e, _ in scored))
        sev = rule.severity if admin else lower(rule.severity)
        gains = "" if admin else f", gaining {_short(scored[0][2], 3)}"
        yield _emit(rule, ctx, r, p, f"may run code as an existing stronger role: {_short(targets, 4)}{gains}",
                    sev, evidence=best.evidence, extra=[best], key=("exec",), potential=best.potential)


def _tool_power(ctx, t: Principal) -> list[str]:
    """IAM-write and destructive actions a tool's role may do on some resource (memoized per role)."""
    memo = ctx._cache.setdefault("agents:tool-power", {})
    if t.arn not in memo:
        memo[t.arn] = [a for a in _maybe(ctx, t, action_set("iam_write") + action_set("destructive"))
                       if _check(ctx, t.arn, a, every_resource(a, t.account), "some").possible]
    return memo[t.arn]


def _tool_hit(ctx, arn: str) -> tuple[int, str] | None:
    """(rank, what) of invoking a tool that runs as `arn`: 0 an administrator, 1 it may write IAM or
    destroy; None when it is no principal or holds neither (memoized per target)."""
    memo = ctx._cache.setdefault("agents:tool-hit", {})
    if arn in memo:
        return memo[arn]
    t = _principal(ctx, arn)
    out = None
    if t is not None:
        if _level(ctx, arn) in ADMIN:
            out = (0, "an administrator")
        else:
            power = _tool_power(ctx, t)
            if power:
                out = (1, f"may {_short(power, 3)}")
    memo[arn] = out
    return out


def _hub_tool_hits(ctx, hub: str) -> list[tuple]:
    """(rank, target, j, last edge, what) for each out-edge j of `hub` into a privileged tool role."""
    memo = ctx._cache.setdefault("agents:hub-tool-hits", {})
    if hub not in memo:
        out = []
        for j, last in enumerate(ctx.graph.edges_from(hub)):
            hit = _tool_hit(ctx, last.target)
            if hit is not None:
                out.append((hit[0], last.target, j, last, hit[1]))
        memo[hub] = out
    return memo[hub]


def _hub_tool_stream(ctx, hub: str, potential: bool, conditional: bool) -> list[tuple]:
    """The hub's tool hits as AGT005 orders them for a step into the hub with these uncertainties:
    (rank, (potential, conditional), target, j, last edge, what), sorted (computed once per hub)."""
    memo = ctx._cache.setdefault("agents:hub-tool-stream", {})
    key = (hub, potential, conditional)
    if key not in memo:
        memo[key] = sorted(((rank, (last.potential or potential, last.conditional or conditional), target, j,
                             last, what) for rank, target, j, last, what in _hub_tool_hits(ctx, hub)),
                           key=lambda x: x[:4])
    return memo[key]


def _hub_tool_names(ctx, sig: tuple) -> tuple[dict, dict]:
    """For the hubs (and step methods) a principal invokes tools through: how many hits name each tool
    text, and each target's texts (to take the principal's own out). Shared by principals of one `sig`."""
    memo = ctx._cache.setdefault("agents:hub-tool-names", {})
    if sig not in memo:
        counts: dict[str, int] = {}
        by_target: dict[str, list[str]] = {}
        for hub, method in sig:
            for _, target, _, _, what in _hub_tool_hits(ctx, hub):
                text = f"{_name(ctx, target)} ({method}: {what})"
                counts[text] = counts.get(text, 0) + 1
                by_target.setdefault(target, []).append(text)
        memo[sig] = (counts, by_target)
    return memo[sig]


def _via_hub(stream: list[tuple], first: Edge, i: int):
    for rank, unc, target, j, last, what in stream:
        yield rank, unc, target, first.method, i, j, first, last, what


def agent_tool_privileged(rule, ctx) -> Iterable[Finding]:
    """AGT005: invoke a tool (Lambda, state machine) whose role is admin, or may write IAM or destroy.

    Every step to a tool target is ranked (administrator first, then certain before uncertain steps, then
    by target and method, then in the order the steps come out of the principal). A shared hub (e.g. "may
    invoke every function") is ranked once per hub, not once per principal that reaches it: a principal
    merges its hubs' ranked lists lazily, reads the first few, and counts the distinct tools from counts
    shared by principals with the same hubs."""
    r, reached = _reached(ctx)
    for p in reached:
        streams = []
        hub_sig = []
        direct: list[tuple] = []
        index = _out_edges(ctx, p.arn)
        tools = [x for k, g in index.items() if k[0] for x in g]
        if len(tools) > 1:
            tools.sort(key=lambda x: x[0])
        for i, e in tools:    # i: the edge's place among p's out-edges (the order of the steps)
            if is_hub(e.target):
                stream = _hub_tool_stream(ctx, e.target, e.potential, e.conditional)
                if stream:
                    streams.append(_via_hub(stream, e, i))
                    hub_sig.append((e.target, e.method))
            elif e.target != p.arn:
                hit = _tool_hit(ctx, e.target)
                if hit is not None:
                    direct.append((hit[0], (e.potential, e.conditional), e.target, e.method, i, 0, None, e, hit[1]))
        if direct:
            streams.append(iter(sorted(direct, key=lambda x: x[:6])))
        if not streams:
            continue
        best = None
        first: list[str] = []
        seen_text: set[str] = set()
        for rank, _, target, method, _, _, f, last, what in heapq.merge(*streams, key=lambda x: x[:6]):
            if target == p.arn:
                continue
            if best is None:
                best = (rank, _Step(f, last))
            text = f"{_name(ctx, target)} ({method}: {what})"
            if text not in seen_text:
                seen_text.add(text)
                first.append(text)
                if len(first) > 3:
                    break
        if best is None:
            continue
        # the number of distinct tool texts over every hit but those naming p itself
        counts, by_target = _hub_tool_names(ctx, tuple(hub_sig))
        gone: dict[str, int] = {}
        for text in by_target.get(p.arn, ()):
            gone[text] = gone.get(text, 0) + 1
        left = {text for text, n in gone.items() if counts[text] == n}
        n_tools = len(counts) - len(left)
        extra_texts = {f"{_name(ctx, x[2])} ({x[3]}: {x[8]})" for x in direct}
        n_tools += sum(1 for text in extra_texts if text not in counts or text in left)
        rank, step = best
        edge = step.edge()
        sev = rule.severity if rank == 0 else lower(rule.severity)
        shown = ", ".join(first[:3]) + (f" and {n_tools - 3} more" if n_tools > 3 else "")
        yield _emit(rule, ctx, r, p, f"may invoke tools that run as privileged roles, with inputs it controls: "
                    f"{shown}", sev, evidence=edge.evidence, extra=[edge], key=("tool",),
                    potential=edge.potential)


# ---------------------------------------------------------------- AGT006/7/8/22/25: action sets

def agent_action_set(rule, ctx) -> Iterable[Finding]:
    name = rule.match["set"]
    scoping = rule.match.get("scoping_keys", [])
    actions = action_set(name)
    r, reached = _reached(ctx)
    for p in reached:
        if _level(ctx, p.arn) in ADMIN:
            continue   # AGT001 says more
        certain, maybe, carved, ev, conds = _set_hits(ctx, p, actions, scoping)
        scope = "on every resource of their type"
        if not (certain or maybe or carved) and rule.match.get("any_resource"):
            certain, maybe, carved, ev, conds = _set_hits(ctx, p, actions, scoping, mode="some")
            scope = "on some resources"
        if not (certain or maybe or carved):
            continue
        hits = certain + maybe + carved
        sev = rule.severity
        if scope == "on some resources":
            sev = lower(sev)
        what = f"{SET_WHAT.get(name, 'may ' + name)} {scope}: {_short(hits, 5)}"
        notes = []
        if maybe and certain:
            notes.append(f"{len(maybe)} under conditions")
        if carved:
            notes.append(f"{_short(carved, 2)} on every resource except those an explicit Deny protects")
        if notes:
            what += f" ({'; '.join(notes)})"
        prod = {str(a) for a in (ctx.config.get("agent_rules") or {}).get("production_accounts") or ()}
        if rule.match.get("production_raises") and p.account in prod:
            sev = lower(sev, -1)
            what += f" in production account {p.account}"
        yield _emit(rule, ctx, r, p, what, sev, evidence=ev, conditions=conds if not certain else (),
                    key=(name,), undecided=not certain)


# ---------------------------------------------------------------- AGT009 no boundary

def agent_no_boundary(rule, ctx) -> Iterable[Finding]:
    r, _ = _reached(ctx)
    for arn in sorted(agent_sources(ctx)):
        p = _principal(ctx, arn)
        if p is None or p.permissions_boundary or p.kind is Kind.GROUP:
            continue
        risky = [a for a in _maybe(ctx, p, action_set("iam_write") + ("iam:PassRole",))
                 if _check(ctx, p.arn, a, every_resource(a, p.account), "some").possible]
        sev = lower(rule.severity, -1) if risky else rule.severity
        extra = f"; it may {_short(risky, 3)}, so it could grant itself more" if risky else ""
        yield _emit(rule, ctx, r, p, f"has no permissions boundary{extra}", sev, key=("boundary",))


# ---------------------------------------------------------------- AGT019 chain into a human role

def agent_chain_to_human(rule, ctx) -> Iterable[Finding]:
    """AGT019: an agent-reachable role chains (sts:AssumeRole) into a human / break-glass role (high), or
    into a role with strictly more permissions than the one it chains from (medium)."""
    cfg = agent_settings(ctx)
    r, reached = _reached(ctx)
    for p in reached:
        if p.kind is not Kind.ROLE or r.origin.get(p.arn) == p.arn:
            continue
        path = r.path(p.arn)
        if not path or path[-1].method != "sts-assume-role":
            continue
        why = is_human_role(p, cfg)
        if why:
            note = " and is an administrator" if _level(ctx, p.arn) in ADMIN else ""
            yield _emit(rule, ctx, r, p, f"is a human / break-glass role ({why}){note}, and the agent can chain "
                        f"into it", rule.severity, key=("human",))
            continue
        prev = _principal(ctx, path[-1].source)
        if prev is None or prev.kind is Kind.GROUP or _level(ctx, p.arn) in ADMIN:
            continue   # an administrator reached: AGT001
        gain = _stronger(ctx, prev, p.arn)
        lose = _stronger(ctx, p, prev.arn)
        if gain and not lose:
            yield _emit(rule, ctx, r, p, f"holds strictly more than {_name(ctx, prev.arn)}, which chains into it (it adds "
                        f"{_short(gain, 3)})", lower(rule.severity), key=("stronger",))


# ---------------------------------------------------------------- AGT020 operator inheritance

def operator_inheritance(rule, ctx) -> Iterable[Finding]:
    r, reached = _reached(ctx)
    ops = [s for s in agent_sources(ctx).values() if s.kind == "operator"]
    for src in sorted(ops, key=lambda s: s.arn):
        p = _principal(ctx, src.arn)
        mine = [q for q in reached if r.origin.get(q.arn) == src.arn]
        admin = [q for q in mine if _level(ctx, q.arn) in ADMIN]
        if admin:
            q = sorted(admin, key=lambda q: (_uncertain(r.path(q.arn)), len(r.path(q.arn)), q.arn))[0]
            what = ("is an administrator" if q is p else f"can become administrator {_name(ctx, q.arn)}")
            path = r.path(q.arn)
        else:
            found = None
            for q in sorted(mine, key=lambda q: (_uncertain(r.path(q.arn)), len(r.path(q.arn)), q.arn)):
                certain, maybe, carved, _, _ = _set_hits(ctx, q, action_set("destructive"), ["aws:ResourceTag/*"])
                if certain or maybe or carved:
                    found = (q, certain + maybe + carved)
                    break
            if found is None:
                continue
            q, acts = found
            what = (f"may destroy on every resource ({_short(acts, 3)})" if q is p
                    else f"can become {_name(ctx, q.arn)}, which may destroy on every resource ({_short(acts, 3)})")
            path = r.path(q.arn)
        yield _emit(rule, ctx, r, p, f"{what}; the local agent tools it runs inherit all of it (app-level "
                    f"guardrails such as supervised modes or MCP deny lists are not enforced by IAM)",
                    rule.severity, extra=path, key=("operator",))


# ---------------------------------------------------------------- AGT021 long-lived keys

def agent_user_keys(rule, ctx) -> Iterable[Finding]:
    limit = int(((ctx.config.get("agent_rules") or {}).get("key_age_days")) or rule.match.get("key_age_days", 90))
    r, _ = _reached(ctx)
    for arn in sorted(agent_sources(ctx)):
        p = _principal(ctx, arn)
        if p is None or p.kind is not Kind.USER:
            continue
        acct = ctx.model.accounts.get(p.account)
        users = ((acct.inventory if acct else {}) or {}).get("users")
        info = users.get(p.arn) if isinstance(users, dict) else None
        if info is None:
            yield _emit(rule, ctx, r, p, "is an IAM user, so it signs in with long-lived credentials if it "
                        "has any; the input has no credential inventory, so whether it has active access "
                        "keys is unknown", "low", key=("keys",))
            continue
        active = [k for k in info.get("access_keys") or [] if str(k.get("status", "")).lower() == "active"]
        if not active:
            continue
        now, _ = _now(ctx)      # `now` in the configuration, else the latest date in the input (deterministic)
        ages = [(now - t).days for t in (_parse_time(k.get("create_date")) for k in active)
                if t is not None and now is not None]
        old = [a for a in ages if a > limit]
        sev = lower(rule.severity, -1) if old else rule.severity
        age = (f", the oldest {max(ages)} days old" if ages else ", of unknown age")
        yield _emit(rule, ctx, r, p, f"has {len(active)} active access key(s){age}; an agent should use a role "
                    f"(OIDC federation or a service role) with short sessions instead", sev,
                    evidence=(f"user/{p.name} access keys",), key=("keys",))


# ---------------------------------------------------------------- AGT024 over-broad execution role

def agent_execution_role_overbroad(rule, ctx) -> Iterable[Finding]:
    cfg = agent_settings(ctx)
    r, _ = _reached(ctx)
    for arn, src in sorted(agent_sources(ctx).items()):
        p = _principal(ctx, arn)
        if p is None or p.kind is not Kind.ROLE or p.arn not in ctx.graph.g:
            continue
        services = sorted({e.source for e in ctx.graph.edges_into(p.arn, ("service-trust",))
                           if matches_any(cfg["service_principals"], e.source)})
        if not services:
            continue
        allowed_needs = [n for s in services for n in needs(s)]
        if _level(ctx, p.arn) in ADMIN:
            yield _emit(rule, ctx, r, p, f"is an administrator, far beyond what {', '.join(services)} needs",
                        "critical", key=("overbroad",))
            continue
        broad, ev, conds = [], [], []
        for a in action_data()["execution_role_probes"]:
            d = _check(ctx, p.arn, a, every_resource(a, p.account), "all")
            if d.possible:
                broad.append(a)
                ev.extend(_labels(p, d))
                conds.extend(_pending(d))
        beyond = []
        for pol in ctx.graph.auth.policy_set(p).identity:
            for st in pol.document.statements:
                if not st.is_allow or st.actions is None:
                    continue
                for pat in st.actions:
                    extra = [a for a in (catalog.expand(pat) if pat != "*" else ("iam:PassRole",))
                             if not matches_any(allowed_needs, a)]
                    if extra and _check(ctx, p.arn, extra[0], every_resource(extra[0], p.account),
                                        "some").possible:
                        beyond.append(pat)
        beyond = list(dict.fromkeys(beyond))
        if not broad and not beyond:
            continue
        parts = []
        if broad:
            parts.append(f"may {_short(broad, 4)} on every resource of their type")
        if beyond:
            parts.append(f"grants {_short(beyond, 4)} beyond the documented needs of {', '.join(services)}")
        sev = rule.severity if broad else lower(rule.severity)
        yield _emit(rule, ctx, r, p, "; ".join(parts) + " (anything running in the agent can read the role's "
                    "credentials)", sev, evidence=ev, conditions=conds, key=("overbroad",))


# ---------------------------------------------------------------- AGT028 long sessions

def agent_long_session(rule, ctx) -> Iterable[Finding]:
    limit = int(((ctx.config.get("agent_rules") or {}).get("max_session_seconds"))
                or rule.match.get("max_seconds", 3600))
    r, _ = _reached(ctx)
    for arn in sorted(agent_sources(ctx)):
        p = _principal(ctx, arn)
        if p is None or p.kind is not Kind.ROLE or not p.max_session_duration or p.max_session_duration <= limit:
            continue
        yield _emit(rule, ctx, r, p, f"allows sessions of {p.max_session_duration} s (MaxSessionDuration), over "
                    f"the {limit} s an agent session should need", rule.severity,
                    evidence=(f"role/{p.name} MaxSessionDuration",), key=("session",))


# ---------------------------------------------------------------- AGT010 no Deny guardrail

GUARDRAIL_SETS = ("destructive", "backup", "defense_evasion")


def _deny_named(d) -> bool:
    """Does decision `d` rest on a Deny statement (applied, or pending on a condition such as
    aws:ViaAWSMCPService)?"""
    return d.decision == EXPLICIT or any(pc.statement.effect == "Deny" for pc in d.conditions)


def agent_no_deny_guardrail(rule, ctx) -> Iterable[Finding]:
    """AGT010: an agent source may run actions of the destructive / backup / defense-evasion sets on every
    resource of their type, and no explicit Deny (identity, boundary, supplied SCP) names them."""
    sets = rule.match.get("sets") or GUARDRAIL_SETS
    r, _ = _reached(ctx)
    for arn in sorted(agent_sources(ctx)):
        p = _principal(ctx, arn)
        if p is None or p.kind is Kind.GROUP or p.arn not in ctx.graph.g:
            continue
        open_sets: dict[str, list[str]] = {}
        ev, conds, certain = [], [], False
        for name in sets:
            for a in _maybe(ctx, p, action_set(name)):
                d = _check(ctx, p.arn, a, every_resource(a, p.account), "all")
                if not d.possible or _deny_named(d):
                    continue
                open_sets.setdefault(name, []).append(a)
                ev.extend(_labels(p, d))
                if d.allowed:
                    certain = True
                else:
                    conds.extend(_pending(d))
        if not open_sets:
            continue
        parts = [f"{name.replace('_', '-')} ({_short(acts, 3)})" for name, acts in open_sets.items()]
        scope = "on every resource of their type" if certain else \
            f"on every resource of their type where {_short(list(dict.fromkeys(conds)), 2)} hold"
        what = (f"may run actions no explicit Deny (identity policy, boundary or supplied SCP) covers, {scope}: "
                f"{'; '.join(parts)}; uncovered sets: "
                f"{', '.join(n.replace('_', '-') for n in open_sets)}")
        yield _emit(rule, ctx, r, p, what, rule.severity, evidence=ev, conditions=() if certain else conds,
                    key=("no-deny",))


# ---------------------------------------------------------------- AGT023 broad AgentCore / Bedrock grants

def _all_possible(ctx, p: Principal, probes) -> tuple[bool, bool, list[str], list[str]]:
    """(every probe possible on every resource, every one certain, evidence, conditions)."""
    ev, conds, certain = [], [], True
    for a in probes:
        d = _check(ctx, p.arn, a, every_resource(a, p.account), "all")
        if not d.possible:
            return False, False, [], []
        ev.extend(_labels(p, d))
        if not d.allowed:
            certain = False
            conds.extend(_pending(d))
    return True, certain, ev, conds


def _human_or_ci(ctx, p: Principal, src, cfg) -> str | None:
    if src is not None and src.kind in ("ci-oidc", "ci-agent"):
        return "CI role"
    if src is not None and src.kind == "operator":
        return "declared operator"
    if src is not None:
        return None            # an agent principal: AGT024 / AGT006-AGT025 speak about it
    if p.kind is Kind.USER:
        return "IAM user"
    if p.aws_reserved or is_human_role(p, cfg):
        return "human role"
    return None


def agentcore_broad_managed(rule, ctx) -> Iterable[Finding]:
    """AGT023: full AgentCore rights on a non-admin human or CI principal; full Bedrock rights on an agent
    execution role. Decided by what the evaluator allows; the managed policy is named in the evidence."""
    cfg = agent_settings(ctx)
    sources = agent_sources(ctx)
    r, _ = _reached(ctx)
    human_probes = rule.match["human_probes"]
    agent_probes = rule.match["agent_role_probes"]
    for p in sorted_principals(ctx):
        if p.kind is Kind.GROUP or p.service_linked or _level(ctx, p.arn) in ADMIN or p.arn not in ctx.graph.g:
            continue
        src = sources.get(p.arn)
        who = _human_or_ci(ctx, p, src, cfg)
        if who:
            ok, certain, ev, conds = _all_possible(ctx, p, human_probes)
            if ok:
                what = (f"({who}) holds full Bedrock AgentCore rights (BedrockAgentCoreFullAccess or "
                        f"bedrock-agentcore:*): it may {_short(human_probes, 3)} on every runtime and workload "
                        f"identity, i.e. run commands inside any agent runtime and mint tokens for any user")
                f = _emit(rule, ctx, r, p, what, rule.severity, evidence=ev,
                          conditions=() if certain else conds, key=("agentcore",))
                if src is None:    # not an agent principal: no agent source to name
                    f = replace(f, message=f"{_name(ctx, p.arn)} {what}")
                yield f
                continue
        if src is not None and src.kind == "agent-service" and p.kind is Kind.ROLE:
            ok, certain, ev, conds = _all_possible(ctx, p, agent_probes)
            if ok:
                yield _emit(rule, ctx, r, p, f"holds full Amazon Bedrock rights (AmazonBedrockFullAccess or "
                            f"bedrock:*): it may {_short(agent_probes, 3)} on every resource, far beyond invoking "
                            f"models", rule.severity, evidence=ev, conditions=() if certain else conds,
                            key=("bedrock-full",))


# ---------------------------------------------------------------- AGT027 no source identity

ATTRIBUTION_KEYS = ("sts:sourceidentity", "aws:requesttag/*", "aws:tagkeys", "sts:transitivetagkeys")


def _hub_assumers(ctx, hubs: tuple[str, ...]) -> tuple[str, ...]:
    """The users and roles (sorted, once each) whose steps lead into any of these hubs (memoized: an
    "assume any role of the account" hub is shared by every role that trusts the account)."""
    memo = ctx._cache.setdefault("agents:hub-assumers", {})
    if hubs not in memo:
        out = set()
        for hub in hubs:
            for e in ctx.graph.edges_into(hub):
                q = _principal(ctx, e.source)
                if q is not None and q.kind is not Kind.GROUP:
                    out.add(e.source)
        memo[hubs] = tuple(sorted(out))
    return memo[hubs]


def _assumers(ctx, role: str) -> tuple[str, ...]:
    """The users and roles that may assume `role` with sts:AssumeRole, hubs resolved, sorted."""
    direct, hubs = set(), set()
    for e in ctx.graph.edges_into(role, ("sts-assume-role",)):
        src = e.source
        if is_hub(src):
            hubs.add(src)
        else:
            q = _principal(ctx, src)
            if q is not None and q.kind is not Kind.GROUP:
                direct.add(src)
    base = _hub_assumers(ctx, tuple(sorted(hubs)))
    if not direct:
        return base
    return tuple(sorted(direct.union(base)))


_HUMAN_KINDS = ("IAM user", "human role", "declared operator")


def _callers(ctx, role: str, sources: dict, cfg: dict) -> tuple[list[str], list[str]]:
    """(assumers of `role` but itself, the human ones among them), both sorted. The lists of a role that
    only hubs lead into are shared with the other roles behind the same hubs (read only)."""
    all_ = _assumers(ctx, role)
    memo = ctx._cache.setdefault("agents:callers", {})
    hit = memo.get(id(all_))
    if hit is None or hit[0] is not all_:
        humans = [c for c in all_ if _human_kind(ctx, c, sources, cfg) in _HUMAN_KINDS]
        hit = (all_, frozenset(all_), list(all_), humans)
        if len(all_) > 8:
            memo[id(all_)] = hit      # all_ kept in the entry, so its id stays its own
    _, members, callers, humans = hit
    if role in members:
        return [c for c in callers if c != role], [c for c in humans if c != role]
    return callers, humans


def _short_names(ctx, arns: list[str], n: int) -> str:
    """`_short` of the principals' names, naming only the first `n`."""
    head = ", ".join(_name(ctx, a) for a in arns[:n])
    return head + (f" and {len(arns) - n} more" if len(arns) > n else "")


def _human_kind(ctx, arn: str, sources: dict, cfg: dict) -> str | None:
    """`_human_or_ci` of a principal by ARN, memoized per scan."""
    memo = ctx._cache.setdefault("agents:human-or-ci", {})
    if arn not in memo:
        memo[arn] = _human_or_ci(ctx, _principal(ctx, arn), sources.get(arn), cfg)
    return memo[arn]


def agent_no_source_identity(rule, ctx) -> Iterable[Finding]:
    """AGT027: an agent-reachable role that humans assume to run agent tools, or that several principals
    share, whose trust does not require sts:SourceIdentity or session tags (asked of the evaluator)."""
    cfg = agent_settings(ctx)
    sources = agent_sources(ctx)
    r, reached = _reached(ctx)
    for p in reached:
        if p.kind is not Kind.ROLE:
            continue
        callers, humans = _callers(ctx, p.arn, sources, cfg)
        if not humans and len(callers) < 2:
            continue
        path = r.path(p.arn)
        prev = path[-1].source if path else None
        pick = humans or callers     # ask as the principal the agent's path comes from, when it is one of them
        c = prev if prev in pick else pick[0]
        d = _check(ctx, c, "sts:AssumeRole", p.arn)
        if not d.possible:
            continue
        keys = {pc.condition.key.lower() for pc in d.conditions if pc.statement.effect == "Allow"}
        if any(wildcard.match(k, key, ignore_case=True) for k in ATTRIBUTION_KEYS for key in keys):
            continue   # the trust asks for a source identity or session tags
        who = (f"is assumed by humans ({_short_names(ctx, humans, 3)})" if humans
               else f"is shared by {len(callers)} principals ({_short_names(ctx, callers, 3)})")
        yield _emit(rule, ctx, r, p, f"{who}, and its trust does not require sts:SourceIdentity or session tags: "
                    f"CloudTrail cannot tell which person or agent acted through it", rule.severity,
                    evidence=_labels(_principal(ctx, c), d) or (f"role/{p.name} trust policy",),
                    conditions=_pending(d), key=("source-identity",))


# ---------------------------------------------------------------- AGT031 DevOps Agent elevated role

def devops_agent_elevated(rule, ctx) -> Iterable[Finding]:
    """AGT031: a role trusted by the AWS DevOps Agent that may change things (or has the managed
    AIDevOpsAgentActionsPolicy): the agent can apply changes, not only recommend them."""
    from .agents_trust import _write_rights
    principals = {s.lower() for s in rule.match["service_principals"]}
    marker = rule.match["managed_policy"]
    r, _ = _reached(ctx)
    for p in sorted_principals(ctx):
        if p.kind is not Kind.ROLE or p.arn not in ctx.graph.g:
            continue
        trusted = [e for e in ctx.graph.edges_into(p.arn, ("service-trust",)) if e.source.lower() in principals]
        if not trusted:
            continue
        attached = [a for a in p.managed_policies if a.rsplit("/", 1)[-1] == marker]
        writes = _write_rights(ctx, p)
        if not attached and not writes:
            continue
        risky = [a for a in action_set("iam_write") + action_set("destructive")
                 if _check(ctx, p.arn, a, every_resource(a, p.account), "some").possible]
        sev = rule.severity if (risky or _level(ctx, p.arn) in ADMIN) else "info"
        parts = []
        if attached:
            parts.append(f"has {marker} attached")
        if writes:
            parts.append(f"may {_short(writes, 3)}")
        if risky:
            parts.append(f"including IAM writes or destruction ({_short(risky, 3)})")
        what = (f"is an AWS DevOps Agent elevated role: it {', '.join(parts)}; the agent can apply changes, "
                f"not only recommend them (review who may trigger it and what it may change)")
        # the trust's own source conditions (aws:SourceAccount ...) are how it should be: not a doubt
        yield _emit(rule, ctx, r, p, what, sev, evidence=[f"role/{p.name} trust policy"] + attached,
                    key=("devops-elevated",))


# ---------------------------------------------------------------- AGT015 / AGT032: what an agent may write

WRITE_LEVELS = ("write", "permissions management", "tagging")


def _granted_actions(ctx, p: Principal, *, writes_only: bool, limit: int = 400, stop_after: int | None = None):
    """(action, decision) for catalog actions the principal's Allow statements name and the evaluator
    allows (or allows under conditions) on some resource; wildcards expanded, `limit` actions asked."""
    memo = ctx._cache.setdefault("agents:granted", {})
    key = (p.arn, writes_only, limit, stop_after)
    if key in memo:
        return memo[key]
    out, asked, seen = [], 0, set()
    for pol in ctx.graph.auth.policy_set(p).identity:
        for st in pol.document.statements:
            if not st.is_allow or st.actions is None:
                continue
            for pat in st.actions:
                for a in catalog.expand(pat):
                    if a in seen or asked >= limit:
                        continue
                    seen.add(a)
                    if writes_only and (catalog.access_level(a) or "").lower() not in WRITE_LEVELS:
                        continue
                    asked += 1
                    d = _check(ctx, p.arn, a, every_resource(a, p.account), "some")
                    if d.possible:
                        out.append((a, d))
                        if stop_after and sum(1 for _, x in out if x.allowed) >= stop_after:
                            asked = limit    # enough certain grants seen
    memo[key] = out
    return out


def ci_agent_role_overbroad(rule, ctx) -> Iterable[Finding]:
    """AGT015: a CI role whose OIDC subject marks an AI-agent workflow holds more than the agent needs."""
    needs_ = rule.match.get("agent_needs") or ()
    r, _ = _reached(ctx)
    for arn, src in sorted(agent_sources(ctx).items()):
        p = _principal(ctx, arn)
        if src.kind != "ci-agent" or p is None or p.kind is not Kind.ROLE:
            continue
        if _level(ctx, p.arn) in ADMIN:
            yield _emit(rule, ctx, r, p, "runs an AI agent in CI and is an administrator", "critical",
                        key=("ci-agent",))
            continue
        extra = [(a, d) for a, d in _granted_actions(ctx, p, writes_only=False) if not matches_any(needs_, a)]
        if not extra:
            continue
        writes = [(a, d) for a, d in extra if (catalog.access_level(a) or "").lower() in WRITE_LEVELS]
        shown = writes or extra
        certain = any(d.allowed for _, d in shown)
        ev = [lbl for _, d in shown[:5] for lbl in _labels(p, d)]
        conds = [] if certain else [c for _, d in shown[:5] for c in _pending(d)]
        kind = "write action(s)" if writes else "read action(s)"
        sev = rule.severity if writes else lower(rule.severity)
        yield _emit(rule, ctx, r, p, f"runs an AI agent in CI (its job holds the role's credentials) and may "
                    f"{_short([a for a, _ in shown], 4)} ({len(shown)} {kind} beyond what the agent needs: "
                    f"{_short(needs_, 3)})", sev, evidence=ev, conditions=conds, key=("ci-agent",))


def agent_iam_implied_scope(rule, ctx) -> Iterable[Finding]:
    """AGT032 (report): the Agentic AI Security Scoping Matrix level IAM implies for each agent source:
    read-only -> Scope 1; writes only under conditions (an approval or context gate visible in IAM) ->
    Scope 2; writes allowed outright -> Scope 3 (autonomous: nothing in IAM waits for a human).
    A report, so opt-in: `agent_rules: {scope_report: true}` in the configuration."""
    if not (ctx.config.get("agent_rules") or {}).get("scope_report"):
        return
    r, _ = _reached(ctx)
    for arn, src in sorted(agent_sources(ctx).items()):
        p = _principal(ctx, arn)
        if p is None or p.kind is Kind.GROUP or p.arn not in ctx.graph.g:
            continue
        if _level(ctx, p.arn) in ADMIN:
            writes = [("*", None)]
            certain = [("*", None)]
        else:
            writes = _granted_actions(ctx, p, writes_only=True, stop_after=3)
            certain = [(a, d) for a, d in writes if d.allowed]
        reach = len([q for q, o in r.origin.items() if o == arn and q != arn and _principal(ctx, q)])
        via = f"; it reaches {reach} other principal(s), counted in their own findings" if reach else ""
        if not writes:
            what = "implies Scope 1 (read-only) of the Agentic AI Security Scoping Matrix: no write allowed"
        elif certain:
            what = (f"implies Scope 3 (autonomous) of the Agentic AI Security Scoping Matrix: it may write with no "
                    f"approval or context condition visible in IAM ({_short([a for a, _ in certain], 3)})")
        else:
            what = (f"implies Scope 2 of the Agentic AI Security Scoping Matrix: it may write only under conditions "
                    f"({_short([a for a, _ in writes], 3)}; {_short(sorted({c.condition.key for _, d in writes for c in d.conditions}), 3)})")
        f = _emit(rule, ctx, r, p, what + via, rule.severity, key=("scope",))
        yield replace(f, severity=rule.severity, conditions=())    # a report line: not a doubt about it


MATCHERS: dict = {
    "agent_admin": agent_admin,
    "agent_iam_write": agent_iam_write,
    "agent_passrole": agent_passrole,
    "agent_exec_into": agent_exec_into,
    "agent_tool_privileged": agent_tool_privileged,
    "agent_action_set": agent_action_set,
    "agent_no_boundary": agent_no_boundary,
    "agent_chain_to_human": agent_chain_to_human,
    "operator_inheritance": operator_inheritance,
    "agent_user_keys": agent_user_keys,
    "agent_execution_role_overbroad": agent_execution_role_overbroad,
    "agent_long_session": agent_long_session,
    "agent_no_deny_guardrail": agent_no_deny_guardrail,
    "agentcore_broad_managed": agentcore_broad_managed,
    "agent_no_source_identity": agent_no_source_identity,
    "devops_agent_elevated": devops_agent_elevated,
    "ci_agent_role_overbroad": ci_agent_role_overbroad,
    "agent_iam_implied_scope": agent_iam_implied_scope,
}
