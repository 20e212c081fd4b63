"""Model → networkx MultiDiGraph of who can become whom, every edge decided by the one Authorizer.

Nodes are principal ARNs (users, roles, groups) and the outside entry points that can act on roles:
AWS service principals, OIDC/SAML providers, other accounts (`arn:aws:iam::ACCT:root`) and `*`.
Edge attribute `edge` holds an `Edge`. "act-as" edges mean the source can obtain the target's
permissions; `rewrite` edges mean the source can rewrite the target's permissions (gaining them
whenever it can also act as the target; a self-loop is self-escalation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

import networkx as nx

from ..engine import wildcard
from ..engine.authorize import Authorizer
from ..engine.evaluate import Decision
from ..model.account import Kind, Model, Principal
from .edges import Edge, EdgeBuilder
from .methods import ActionSpec, Method, load_methods

ADMIN_PROBES = ("iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:CreateAccessKey", "iam:PassRole",
                "sts:AssumeRole", "ec2:RunInstances", "s3:DeleteBucket", "s3:GetObject", "lambda:CreateFunction",
                "kms:Decrypt", "secretsmanager:GetSecretValue", "dynamodb:DeleteTable", "organizations:LeaveOrganization",
                "cloudtrail:StopLogging", "rds:DeleteDBCluster")
IAM_WRITE_PROBES = ("iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:PutUserPolicy", "iam:AttachUserPolicy",
                    "iam:CreatePolicyVersion", "iam:UpdateAssumeRolePolicy", "iam:CreateAccessKey", "iam:PassRole",
                    "iam:CreateRole")


@dataclass
class Graph:
    model: Model
    auth: Authorizer
    g: nx.MultiDiGraph
    admin: dict[str, str] = field(default_factory=dict)   # node -> "admin" | "iam-write" | "conditional"

    def edges_from(self, node: str) -> Iterable[Edge]:
        for _, _, data in self.g.out_edges(node, data=True):
            yield data["edge"]


def _account_root(acct: str) -> str:
    return f"arn:aws:iam::{acct}:root"


class _Prefilter:
    """Can a principal's identity policies allow an action at all? Cheap, action-only, cached."""

    def __init__(self, auth: Authorizer, universe: Iterable[str] = ()):
        self.auth = auth
        self._cache: dict[tuple[str, str], bool] = {}
        # the actions the builder asks about, by service: each distinct Action list of a statement is
        # matched against them once, and a principal's answers become one set (statements are shared)
        self.universe: dict[str, tuple[str, ...]] = {}
        for a in sorted({x.lower() for x in universe if not wildcard.has_wildcard(x)}):
            svc = a.split(":", 1)[0]
            self.universe[svc] = self.universe.get(svc, ()) + (a,)
        self._known = {a for acts in self.universe.values() for a in acts}
        self._by_patterns: dict[tuple, frozenset] = {}
        self._by_principal: dict[str, frozenset] = {}

    def _allowed_by(self, patterns: tuple[str, ...], negated: bool) -> frozenset:
        key = (patterns, negated)
        hit = self._by_patterns.get(key)
        if hit is None:
            if negated:
                hit = frozenset(a for a in self._known if not wildcard.match_any_ci(patterns, a))
            else:
                out = set()
                for pat in patterns:
                    svc = pat.split(":", 1)[0].lower()
                    if wildcard.has_wildcard(svc):
                        cands = self._known
                    else:
                        cands = self.universe.get(svc, ())
                    out.update(a for a in cands if wildcard.match(pat, a, ignore_case=True))
                hit = frozenset(out)
            self._by_patterns[key] = hit
        return hit

    def _known_allowed(self, p: Principal) -> frozenset:
        hit = self._by_principal.get(p.arn)
        if hit is None:
            out: set[str] = set()
            for pol in self.auth.policy_set(p).identity:
                for st in pol.document.statements:
                    if st.is_allow:
                        out |= self._allowed_by(st.actions if st.actions is not None else st.not_actions,
                                                st.actions is None)
            hit = self._by_principal[p.arn] = frozenset(out)
        return hit

    def may(self, p: Principal, action: str) -> bool:
        a = action.lower()
        if a in self._known:
            return a in self._known_allowed(p)
        key = (p.arn, action)
        hit = self._cache.get(key)
        if hit is None:
            a = action.lower()
            hit = False
            for pol in self.auth.policy_set(p).identity:
                for st in pol.document.statements:
                    if not st.is_allow:
                        continue
                    if st.actions is not None:
                        ok = wildcard.match_any_ci(st.actions, a)
                    else:
                        ok = not wildcard.match_any_ci(st.not_actions, a)
                    if ok:
                        hit = True
                        break
                if hit:
                    break
            self._cache[key] = hit
        return hit


def allow_patterns(auth: Authorizer, p: Principal, action: str) -> list[str] | None:
    """Resource patterns of the actor's Allow statements for `action`; None when any resource may match
    (NotResource, a variable, or NotAction)."""
    a = action.lower()
    out: list[str] = []
    for pol in auth.policy_set(p).identity:
        for st in pol.document.statements:
            if not st.is_allow:
                continue
            if st.actions is not None:
                if not wildcard.match_any_ci(st.actions, a):
                    continue
            elif wildcard.match_any_ci(st.not_actions, a):
                continue
            if st.resources is None:
                return None
            for r in st.resources:
                if "${" in r:
                    return None
                out.append(r)
    return out


def _could_match(patterns: list[str] | None, arn: str) -> bool:
    return patterns is None or any(wildcard.match(x, arn) for x in patterns)


HUB = "hub:"


def is_hub(node: str) -> bool:
    return node.startswith(HUB)


class Builder:
    def __init__(self, model: Model, auth: Authorizer | None = None,
                 progress: Callable[[str], None] | None = None):
        self.model = model
        self.auth = auth or Authorizer(model)
        self.g = nx.MultiDiGraph()
        self.pre = _Prefilter(self.auth, ["sts:AssumeRole", "iam:PassRole", "iam:AddUserToGroup",
                                          "iam:UpdateAssumeRolePolicy"]
                              + [a for m in load_methods() for s in m.actions for a in s.actions])
        self.progress = progress
        self.service_roles: dict[str, list[tuple[Principal, Decision]]] = {}
        self.profile_role: dict[str, str] = {}
        self.actors = [p for p in model.principals() if p.kind is not Kind.GROUP]
        self._hubs_done: set[str] = set()                       # hubs whose out-edges are in place
        self._group_cache: dict = {}                            # _classes: groups by (patterns, items)
        self._mine: dict = {}                                   # pass_role: candidates by (service, account)

    # -------------------------------------------------------------- helpers
    def add(self, e: Edge) -> None:
        for n in (e.source, e.target):
            if n not in self.g:
                self.g.add_node(n, kind=_external_kind(n), label=n)
        self.g.add_edge(e.source, e.target, key=e.method, edge=e)

    def check(self, p: Principal | str, action: str, resource: str, mode: str = "exact",
              context: dict | None = None) -> Decision:
        arn = p.arn if isinstance(p, Principal) else p
        return self.auth.check(arn, action, resource, context, resource_mode=mode)

    def check_spec(self, actor: Principal, spec: ActionSpec, binding: dict[str, str],
                   eb: EdgeBuilder) -> bool:
        """Any alternative action of `spec` allowed on its bound resource (records evidence)."""
        res = spec.resource
        mode = "exact"
        if res == "{new}" or (res == "{existing}" and "existing" not in binding):
            resource = (spec.pattern or "*").replace("{account}", actor.account)
            mode = "some"
        elif res == "{any}":
            resource = "*"
        else:
            resource = binding.get(res.strip("{}"), "*")
        for action in spec.actions:
            if not self.pre.may(actor, action):
                continue
            d = self.check(actor, action, resource, mode, spec.context or None)
            if d.possible:
                eb.add(action, resource, d)
                return True
        return False

    # -------------------------------------------------------------- build
    def build(self) -> Graph:
        for p in self.model.principals():
            self.g.add_node(p.arn, kind=p.kind.value, account=p.account, label=p.name)
            for ip in p.instance_profiles:
                self.profile_role[ip] = p.arn
        for p in self.model.principals():
            if p.kind is Kind.USER:
                for garn in p.groups:
                    self.add(Edge(p.arn, garn, "group-membership", evidence=(f"user {p.name} is a member",)))
        methods = load_methods()
        by_matcher: dict[str, list[Method]] = {}
        for m in methods:
            by_matcher.setdefault(m.matcher, []).append(m)
        self._say("graph: admin-equivalent principals")
        self.admin: dict[str, str] = {}
        for p in self.model.principals():
            level = admin_level(self.auth, p)
            if level:
                self.admin[p.arn] = level
        # an admin needs no escalation edges of its own (it already holds everything)
        self.actors = [p for p in self.actors if self.admin.get(p.arn) not in ("admin", "iam-write")]
        self._say("graph: trust policies")
        self.trust_edges(by_matcher)
        self._say("graph: IAM escalation")
        for m in by_matcher.get("policy_rewrite", []) + by_matcher.get("policy_version_rollback", []):
            self.policy_rewrite(m)
        for m in by_matcher.get("boundary_removal", []) + by_matcher.get("deny_removal", []):
            self.restriction_removal(m)
        for m in by_matcher.get("add_to_group", []):
            self.add_to_group(m)
        for m in by_matcher.get("user_credentials", []):
            self.user_credentials(m)
        for m in by_matcher.get("update_trust", []):
            self.update_trust(m)
        self._say("graph: compute that runs as a role")
        for m in by_matcher.get("pass_role", []):
            self.pass_role(m)
        for m in by_matcher.get("existing_resource", []):
            self.existing_resource(m)
        return Graph(self.model, self.auth, self.g, dict(self.admin))

    def _say(self, msg: str) -> None:
        if self.progress:
            self.progress(msg)

    # -------------------------------------------------------------- trust
    def _broad(self, p: Principal, action: str, account: str, context: dict | None = None) -> Decision | None:
        """The decision when `p` may do `action` on every role of `account` (unconditionally), else None."""
        d = self.check(p, action, f"arn:aws:iam::{account}:role/*", "all", context)
        return d if d.allowed else None

    def _uniform(self, p: Principal, action: str, pattern: str) -> bool:
        """Does every statement that may apply to `p` doing `action` (identity, boundary, SCP) match
        either every resource of `pattern` or none of them? Then one decision on `pattern` (mode "all")
        is the decision for each of those resources, and one edge to a hub can stand for all of them."""
        ps = self.auth.policy_set(p)
        a = action.lower()
        pols = list(ps.identity) + list(ps.boundaries) + [q for lvl in (ps.scps or ()) for q in lvl]
        for pol in pols:
            for st in pol.document.statements:
                if st.actions is not None:
                    if not wildcard.match_any_ci(st.actions, a):
                        continue
                elif wildcard.match_any_ci(st.not_actions, a):
                    continue
                pats = st.resources if st.resources is not None else st.not_resources
                if pats is None:
                    continue
                if any("${" in x for x in pats):
                    return False
                if any(wildcard.covers(x, pattern) for x in pats):
                    continue
                if any(wildcard.intersects(x, pattern) for x in pats):
                    return False
        return True

    def _classes(self, p: Principal, action: str, items: list, context: dict | None = None, key=None):
        """`items` ((principal, extra) pairs, all of p's account) grouped by which resource patterns of p's
        statements for `action` (identity, boundary, SCP) name them, with one decision per group: the
        evaluator reads a resource only through those patterns, so every member gets the same answer.
        [(label, decision, members)] for the groups where the action is possible; None when a pattern
        holds a policy variable (then each target is checked on its own)."""
        ps = self.auth.policy_set(p)
        a = action.lower()
        pats: list[str] = []
        for pol in list(ps.identity) + list(ps.boundaries) + [q for lvl in (ps.scps or ()) for q in lvl]:
            for st in pol.document.statements:
                if st.actions is not None:
                    if not wildcard.match_any_ci(st.actions, a):
                        continue
                elif wildcard.match_any_ci(st.not_actions, a):
                    continue
                rs = st.resources if st.resources is not None else st.not_resources
                if rs is None:
                    continue
                if any("${" in x for x in rs):
                    return None
                pats.extend(rs)
        pats = list(dict.fromkeys(pats))
        # the grouping depends only on the patterns and the items: shared by every actor with the same
        # patterns (e.g. the same managed policy) when the caller names its items with `key`
        cache = self._group_cache
        gkey = (tuple(pats), key) if key is not None else None
        groups = cache.get(gkey) if gkey is not None else None
        if groups is None:
            groups = {}
            for it in items:
                groups.setdefault(tuple(wildcard.match(x, it[0].arn) for x in pats), []).append(it)
            if gkey is not None:
                cache[gkey] = groups
        out = []
        for sig, members in groups.items():
            d = self.check(p, action, members[0][0].arn, context=context)
            if d.possible:
                label = "|".join(x for x, hit in zip(pats, sig) if hit)
                rest = "|".join(x for x, hit in zip(pats, sig) if not hit)
                out.append((label + (f" except {rest}" if rest else ""), d, members))
        return out

    def trust_edges(self, by_matcher: dict[str, list[Method]]) -> None:
        assumers_by_account: dict[str, list[Principal]] = {}
        for p in (q for q in self.model.principals() if q.kind is not Kind.GROUP):
            if self.pre.may(p, "sts:AssumeRole"):
                assumers_by_account.setdefault(p.account, []).append(p)
        all_assumers = [p for ps in assumers_by_account.values() for p in ps]
        patterns = {p.arn: allow_patterns(self.auth, p, "sts:AssumeRole") for p in all_assumers}
        # principals that may call sts:AssumeRole on every role of their account: one edge to a hub
        broad: dict[str, set[str]] = {}
        for acct, ps in assumers_by_account.items():
            hub = f"{HUB}assume-any-role-trusting-the-account@{acct}"
            for p in ps:
                d = self._broad(p, "sts:AssumeRole", acct)
                if d is not None:
                    eb = EdgeBuilder()
                    eb.add("sts:AssumeRole", f"arn:aws:iam::{acct}:role/*", d)
                    self.add(eb.edge(p.arn, hub, "sts-assume-role"))
                    broad.setdefault(acct, set()).add(p.arn)
        # assumers whose wildcard AssumeRole grants (e.g. role/payments-*) each give every role they name
        # the same identity-side answer: one edge to a hub per pattern; the hub reaches the roles of the
        # pattern whose trust admits the whole account alike (linear, not assumers x roles)
        phubs: dict[str, list[tuple[str, str]]] = {}
        members: dict[str, set[str]] = {}
        for p in all_assumers:
            pats = patterns[p.arn]
            wild = [x for x in dict.fromkeys(pats or ()) if wildcard.has_wildcard(x)]
            if p.arn in broad.get(p.account, ()) or pats is None or not wild or \
                    not all(self._uniform(p, "sts:AssumeRole", x) for x in wild):
                continue
            for x in wild:
                hub = f"{HUB}sts-assume-role@{p.account}:{x}"
                if hub not in members:
                    members[hub] = set()
                    phubs.setdefault(p.account, []).append((x, hub))
                members[hub].add(p.arn)
                d = self.check(p, "sts:AssumeRole", x, "all")
                if d.possible:
                    eb = EdgeBuilder()
                    eb.add("sts:AssumeRole", x, d)
                    self.add(eb.edge(p.arn, hub, "sts-assume-role"))
        # index the assumers by what their AssumeRole grants can name: literal role ARNs, or anything
        exact: dict[str, list[Principal]] = {}
        fuzzy: dict[str, list[Principal]] = {}
        for p in all_assumers:
            pats = patterns[p.arn]
            if pats is not None and not any(wildcard.has_wildcard(x) for x in pats):
                for x in pats:
                    exact.setdefault(x, []).append(p)
            else:
                fuzzy.setdefault(p.account, []).append(p)
        for role in self.model.principals():
            if role.kind is not Kind.ROLE or role.trust_policy is None:
                continue
            callers: dict[str, Principal | None] = {}
            services: set[str] = set()
            federated: set[tuple[str, str]] = set()
            wide: set[str] = set()          # accounts whose principals the trust admits as a whole
            named: set[str] = set()
            for st in role.trust_policy.statements:
                if not st.is_allow or st.principals is None:
                    continue
                for kind, values in st.principals.items():
                    for v in values:
                        if kind == "*" or (kind == "AWS" and v == "*"):
                            callers["*"] = None
                            wide.update(self.model.accounts)
                        elif kind == "AWS":
                            acct = v if re.fullmatch(r"\d{12}", v) else (v.split(":")[4] if v.count(":") >= 5 else "")
                            if v == acct or v.endswith(":root"):
                                if acct in self.model.accounts:
                                    wide.add(acct)
                                else:
                                    callers.setdefault(_account_root(acct), None)
                            else:
                                named.add(v)
                                p = self.model.principal(v)
                                if p is not None:
                                    callers.setdefault(p.arn, p)
                                elif v.startswith("arn:") and v.split(":")[4] not in self.model.accounts:
                                    callers.setdefault(v, None)
                        elif kind == "Service":
                            services.add(v)
                        elif kind == "Federated":
                            action = ("sts:AssumeRoleWithSAML" if ":saml-provider/" in v
                                      else "sts:AssumeRoleWithWebIdentity")
                            federated.add((v, action))
            for acct in wide:
                for p in exact.get(role.arn, ()):
                    if p.account == acct:
                        callers.setdefault(p.arn, p)
                for p in fuzzy.get(acct, ()):
                    callers.setdefault(p.arn, p)
            simple = role.account in wide and _simple_account_trust(role)
            hub_users = broad.get(role.account, set()) if simple else set()
            if simple and hub_users:
                d = self.check(f"arn:aws:iam::{role.account}:root", "sts:AssumeRole", role.arn)
                eb = EdgeBuilder()
                eb.add("sts:AssumeRole", role.arn, d)
                self.add(eb.edge(f"{HUB}assume-any-role-trusting-the-account@{role.account}", role.arn,
                                 "sts-assume-role"))
            covered: set[str] = set()
            root_d = None
            for x, hub in (phubs.get(role.account, ()) if simple else ()):
                if wildcard.match(x, role.arn):
                    if root_d is None:
                        root_d = self.check(f"arn:aws:iam::{role.account}:root", "sts:AssumeRole", role.arn)
                    if root_d.possible:
                        eb = EdgeBuilder()
                        eb.add("sts:AssumeRole", role.arn, root_d)
                        self.add(eb.edge(hub, role.arn, "sts-assume-role"))
                    covered |= members[hub]
            for arn, p in callers.items():
                if p is not None and arn not in named and (
                        arn in hub_users or arn in covered or not _could_match(patterns.get(arn), role.arn)):
                    # reached through the hub, or its AssumeRole grants cannot name this role (a trust
                    # that names the caller's ARN needs no identity grant (R4): such callers are checked)
                    continue
                d = self.check(p if p is not None else arn, "sts:AssumeRole", role.arn)
                if d.possible:
                    eb = EdgeBuilder()
                    eb.add("sts:AssumeRole", role.arn, d)
                    self.add(eb.edge(arn, role.arn, "sts-assume-role"))
            for svc in services:
                d = self.check(svc, "sts:AssumeRole", role.arn)
                if d.possible:
                    eb = EdgeBuilder()
                    eb.add("sts:AssumeRole", role.arn, d)
                    self.add(eb.edge(svc, role.arn, "service-trust"))
                    self.service_roles.setdefault(svc.lower(), []).append((role, d))
            for prov, action in federated:
                d = self.check(prov, action, role.arn)
                if d.possible:
                    eb = EdgeBuilder()
                    eb.add(action, role.arn, d)
                    mid = "sts-assume-role-with-saml" if "SAML" in action else "sts-assume-role-with-web-identity"
                    self.add(eb.edge(prov, role.arn, mid))

    # -------------------------------------------------------------- IAM writes
    def _targets(self, actor: Principal, kinds: tuple[str, ...]) -> list[Principal]:
        """Principals whose rewrite matters: the actor, its groups, and the roles it can assume."""
        out = [actor] + [g for g in (self.model.principal(a) for a in actor.groups) if g is not None]
        seen = {p.arn for p in out}
        for _, t in self.g.out_edges(actor.arn):
            # a hub stands for the pairs it replaces: the roles behind it are assumable too
            for t2 in ([t2 for _, t2 in self.g.out_edges(t)] if is_hub(t) else [t]):
                tp = self.model.principal(t2)
                if tp is not None and t2 not in seen:
                    seen.add(t2)
                    out.append(tp)
        return [t for t in out if t.kind.value in kinds and not t.service_linked and not t.aws_reserved]

    def policy_rewrite(self, m: Method) -> None:
        for actor in self.actors:
            if not any(self.pre.may(actor, a) for s in m.actions for a in s.actions):
                continue
            for t in self._targets(actor, m.kinds or ("user", "role", "group")):
                if m.actions[0].resource == "{policy}":
                    for parn in t.managed_policies:
                        pol = self.model.policies.get(parn)
                        if pol is None or pol.aws_managed:
                            continue   # AWS-managed policies cannot be versioned (R20)
                        if m.matcher == "policy_version_rollback":
                            older = [v for v in pol.versions if not v.is_default]
                            if not older:
                                continue
                        eb = EdgeBuilder()
                        if self.check_spec(actor, m.actions[0], {"policy": parn, "target": t.arn}, eb):
                            self.add(eb.edge(actor.arn, t.arn, m.id, rewrite=m.matcher == "policy_rewrite",
                                             assumes=None if m.matcher == "policy_rewrite" else
                                             f"an older version of {pol.name} grants more"))
                else:
                    eb = EdgeBuilder()
                    if all(self.check_spec(actor, s, {"target": t.arn}, eb) for s in m.actions):
                        self.add(eb.edge(actor.arn, t.arn, m.id, rewrite=True))

    def restriction_removal(self, m: Method) -> None:
        for actor in self.actors:
            if not any(self.pre.may(actor, a) for s in m.actions for a in s.actions):
                continue
            for t in self._targets(actor, m.kinds or ("user", "role")):
                if m.matcher == "boundary_removal" and not t.permissions_boundary:
                    continue
                if m.matcher == "deny_removal" and not _has_identity_deny(self.auth, t):
                    continue
                eb = EdgeBuilder()
                if all(self.check_spec(actor, s, {"target": t.arn}, eb) for s in m.actions):
                    freed = admin_level(self.auth, t, drop_boundary=m.matcher == "boundary_removal",
                                        drop_denies=m.matcher == "deny_removal")
                    if freed:
                        self.add(eb.edge(actor.arn, t.arn, m.id, rewrite=True))

    def add_to_group(self, m: Method) -> None:
        groups = [p for p in self.model.principals() if p.kind is Kind.GROUP]
        for actor in self.actors:
            if actor.kind is not Kind.USER or not self.pre.may(actor, "iam:AddUserToGroup"):
                continue
            for grp in groups:
                if grp.account != actor.account or grp.arn in actor.groups:
                    continue
                eb = EdgeBuilder()
                if self.check_spec(actor, m.actions[0], {"target": grp.arn}, eb):
                    self.add(eb.edge(actor.arn, grp.arn, m.id))

    def user_credentials(self, m: Method) -> None:
        users = [p for p in self.model.principals() if p.kind is Kind.USER]
        for actor in self.actors:
            if not any(self.pre.may(actor, a) for a in m.actions[0].actions):
                continue
            spec = m.actions[0]
            classes = None
            if len(spec.actions) == 1 and spec.resource == "{target}" and not spec.context:
                mine = self._mine.get(("users", actor.account))
                if mine is None:
                    mine = self._mine[("users", actor.account)] = [(u, None) for u in users
                                                                   if u.account == actor.account]
                classes = self._classes(actor, spec.actions[0], mine, None, key=("users", actor.account))
            if classes is not None:
                # users that get the same answer go through one hub per group, shared by every actor
                # with the same grants (e.g. user/*): linear, not actors x users
                for label, d, members in classes:
                    group = [u for u, _ in members if u.arn != actor.arn or len(members) > 1]
                    hub = f"{HUB}{m.id}@{actor.account}:{label}"
                    if len(members) > 1:
                        eb = EdgeBuilder()
                        eb.add(spec.actions[0], label, d)
                        self.add(eb.edge(actor.arn, hub, m.id))
                        if hub in self._hubs_done:
                            continue
                        self._hubs_done.add(hub)
                    for u in group:
                        ok, potential, assumes = _user_precondition(self.model, u, m.precondition)
                        if not ok:
                            continue
                        eb = EdgeBuilder()
                        if len(members) > 1:
                            self.add(Edge(hub, u.arn, m.id, (spec.actions[0],), (u.arn,), potential=potential,
                                          assumes=assumes))
                        else:
                            eb.add(spec.actions[0], u.arn, d)
                            self.add(eb.edge(actor.arn, u.arn, m.id, potential=potential, assumes=assumes))
                continue
            for u in users:
                if u.arn == actor.arn or u.account != actor.account:
                    continue
                eb = EdgeBuilder()
                if not self.check_spec(actor, m.actions[0], {"target": u.arn}, eb):
                    continue
                ok, potential, assumes = _user_precondition(self.model, u, m.precondition)
                if ok:
                    self.add(eb.edge(actor.arn, u.arn, m.id, potential=potential, assumes=assumes))

    def update_trust(self, m: Method) -> None:
        roles = [p for p in self.model.principals() if p.kind is Kind.ROLE
                 and not p.service_linked and not p.aws_reserved]
        hubs_done: set[str] = set()
        for actor in self.actors:
            if not self.pre.may(actor, "iam:UpdateAssumeRolePolicy"):
                continue
            every = f"arn:aws:iam::{actor.account}:role/*"
            if self._uniform(actor, m.actions[0].actions[0], every):
                # the same answer for every role of the account: one edge to the method's hub
                eb = EdgeBuilder()
                d = self.check(actor, m.actions[0].actions[0], every, "all")
                if not d.possible:
                    continue
                eb.add(m.actions[0].actions[0], every, d)
                hub = f"{HUB}{m.id}@{actor.account}"
                self.add(eb.edge(actor.arn, hub, m.id))
                if hub not in hubs_done:
                    hubs_done.add(hub)
                    for r in roles:
                        if r.account == actor.account:
                            self.add(Edge(hub, r.arn, m.id, (m.actions[0].actions[0],), (r.arn,)))
                continue
            for r in roles:
                if r.arn == actor.arn or r.account != actor.account:
                    continue
                eb = EdgeBuilder()
                if self.check_spec(actor, m.actions[0], {"target": r.arn}, eb):
                    self.add(eb.edge(actor.arn, r.arn, m.id))

    # -------------------------------------------------------------- compute
    def pass_role(self, m: Method) -> None:
        candidates = self.service_roles.get((m.service or "").lower(), [])
        if not candidates:
            return
        ctx = {"iam:PassedToService": m.service}
        hubs_done: set[str] = set()
        for actor in self.actors:
            if not self.pre.may(actor, "iam:PassRole"):
                continue
            if not all(any(self.pre.may(actor, a) for a in s.actions) for s in m.actions):
                continue
            base = EdgeBuilder()
            if not all(self.check_spec(actor, s, {}, base) for s in m.actions):
                continue
            broad = self._broad(actor, "iam:PassRole", actor.account, ctx)
            every = f"arn:aws:iam::{actor.account}:role/*"
            if broad is None and self._uniform(actor, "iam:PassRole", every):
                # the same answer for every role (e.g. PassRole on * under a condition): decide once
                d = self.check(actor, "iam:PassRole", every, "all", ctx)
                if not d.possible:
                    continue
                broad = d
            hub = f"{HUB}{m.id}@{actor.account}"
            if broad is not None:
                # may pass every role of the account to the service: one edge to the method's hub
                eb = base.copy()
                eb.add("iam:PassRole", f"arn:aws:iam::{actor.account}:role/*", broad)
                self.add(eb.edge(actor.arn, hub, m.id))
                if hub not in hubs_done:
                    hubs_done.add(hub)
                    for role, trust_d in candidates:
                        if role.account != actor.account:
                            continue
                        potential, assumes = self._requires(m, role)
                        eb = EdgeBuilder(["iam:PassRole"], [role.arn])
                        eb.add(f"{m.service} trust", role.arn, trust_d)
                        self.add(eb.edge(hub, role.arn, m.id, potential=potential, assumes=assumes))
                continue
            mine = self._mine.get((m.service, actor.account))
            if mine is None:
                mine = self._mine[(m.service, actor.account)] = [(r, t) for r, t in candidates
                                                                  if r.account == actor.account]
            classes = self._classes(actor, "iam:PassRole", mine, ctx, key=("pass", m.service, actor.account))
            if classes is not None:
                # roles that get the same answer go through one hub per group (e.g. role/service/*, or
                # * except role/admin-*), shared by every actor with the same grants: linear, not pairs
                for label, d, members in classes:
                    if len(members) == 1:
                        role, trust_d = members[0]
                        if role.arn != actor.arn:
                            potential, assumes = self._requires(m, role)
                            eb = base.copy()
                            eb.add("iam:PassRole", role.arn, d)
                            eb.add(f"{m.service} trust", role.arn, trust_d)
                            self.add(eb.edge(actor.arn, role.arn, m.id, potential=potential, assumes=assumes))
                        continue
                    hub = f"{HUB}{m.id}@{actor.account}:{label}"
                    eb = base.copy()
                    eb.add("iam:PassRole", label, d)
                    self.add(eb.edge(actor.arn, hub, m.id))
                    if hub not in hubs_done:
                        hubs_done.add(hub)
                        for role, trust_d in members:
                            potential, assumes = self._requires(m, role)
                            teb = EdgeBuilder(["iam:PassRole"], [role.arn])
                            teb.add(f"{m.service} trust", role.arn, trust_d)
                            self.add(teb.edge(hub, role.arn, m.id, potential=potential, assumes=assumes))
                continue
            pats = allow_patterns(self.auth, actor, "iam:PassRole")
            for role, trust_d in candidates:
                if role.arn == actor.arn or role.account != actor.account or not _could_match(pats, role.arn):
                    continue
                d = self.check(actor, "iam:PassRole", role.arn, context=ctx)
                if not d.possible:
                    continue
                potential, assumes = self._requires(m, role)
                eb = base.copy()
                eb.add("iam:PassRole", role.arn, d)
                eb.add(f"{m.service} trust", role.arn, trust_d)
                self.add(eb.edge(actor.arn, role.arn, m.id, potential=potential, assumes=assumes))

    def _requires(self, m: Method, role: Principal) -> tuple[bool, str | None]:
        if m.requires == "instance_profile" and not role.instance_profiles:
            return True, f"an instance profile for {role.name} (none in the input)"
        return False, None

    def existing_resource(self, m: Method) -> None:
        spec = m.actions[0]
        for actor in self.actors:
            if not any(self.pre.may(actor, a) for a in spec.actions):
                continue
            acct = self.model.accounts.get(actor.account)
            inv = (acct.inventory if acct else {}) or {}
            if m.inventory in inv:
                for item in inv.get(m.inventory) or []:
                    role_arn = _role_of(item, m.role_field, self.profile_role)
                    if not role_arn or role_arn == actor.arn or not item.get("arn"):
                        continue
                    eb = EdgeBuilder()
                    if self.check_spec(actor, spec, {"existing": item["arn"]}, eb):
                        self.add(eb.edge(actor.arn, role_arn, m.id))
            else:
                # no inventory of this resource type: every role the service can run is a potential
                # target. The targets are the same for every actor of the account: one edge to the
                # method's hub, and the hub's edges to the roles once (linear, not actors x roles)
                eb0 = EdgeBuilder()
                if not self.check_spec(actor, spec, {}, eb0):
                    continue
                assumes = f"{m.assumes} (the input has no {m.inventory} inventory)"
                hub = f"{HUB}{m.id}@{actor.account}"
                self.add(eb0.edge(actor.arn, hub, m.id, potential=True, assumes=assumes))
                if hub in self._hubs_done:
                    continue
                self._hubs_done.add(hub)
                for role, _ in self.service_roles.get((m.service or "").lower(), []):
                    if role.account != actor.account:
                        continue
                    if m.requires == "instance_profile" and not role.instance_profiles:
                        continue
                    self.add(Edge(hub, role.arn, m.id, potential=True, assumes=assumes))


# condition keys the evaluator's default context fills from the calling principal (Authorizer.default_context)
CALLER_KEYS = ("aws:principalarn", "aws:principalaccount", "aws:principalorgid", "aws:principalorgpaths",
               "aws:principaltype", "aws:principalisawsservice", "aws:username", "aws:userid", "aws:principaltag/")


def _caller_independent(st) -> bool:
    """Conditions whose answer is the same for every caller of an account: no key the evaluator fills
    from the caller (those stay unknown alike for all, e.g. aws:MultiFactorAuthPresent), no variable."""
    return all(not c.key_lower.startswith(CALLER_KEYS) and not any("${" in v for v in c.values)
               for c in st.conditions)


def _simple_account_trust(role: Principal) -> bool:
    """A trust whose account-wide grant does not depend on who calls: no Deny, no condition that reads
    the caller."""
    for st in role.trust_policy.statements:
        if not st.is_allow:
            return False
        if st.conditions and not _caller_independent(st) and st.principals and ("*" in st.principals or any(
                v == "*" or v.endswith(":root") or re.fullmatch(r"\d{12}", v) for v in st.principals.get("AWS", ()))):
            return False
    return True


def _role_of(item: dict, field_name: str | None, profile_role: dict[str, str]) -> str | None:
    if field_name == "role" and "instance_profile_arn" in item:
        return profile_role.get(item.get("instance_profile_arn") or "")
    val = item.get(field_name or "role")
    return val if isinstance(val, str) and ":role/" in val else None


def _user_precondition(model: Model, u: Principal, pre: str | None) -> tuple[bool, bool, str | None]:
    acct = model.accounts.get(u.account)
    users = ((acct.inventory if acct else {}) or {}).get("users")
    info = users.get(u.arn) if isinstance(users, dict) else None
    if pre is None:
        return True, False, None
    if info is None:
        what = {"fewer_than_two_keys": "fewer than two access keys",
                "no_login_profile": "no console password", "has_login_profile": "a console password"}[pre]
        return True, True, f"{u.name} has {what} (the input has no credential inventory)"
    if pre == "fewer_than_two_keys":
        return len(info.get("access_keys") or []) < 2, False, None
    if pre == "no_login_profile":
        return not info.get("login_profile"), False, None
    return bool(info.get("login_profile")), False, None


def _has_identity_deny(auth: Authorizer, p: Principal) -> bool:
    return any(not st.is_allow for pol in auth.policy_set(p).identity for st in pol.document.statements)


def admin_level(auth: Authorizer, p: Principal, drop_boundary: bool = False, drop_denies: bool = False) -> str | None:
    """'admin' (effective * on *), 'iam-write' (full IAM write: admin in one step), 'conditional', or None."""
    if p.kind is Kind.GROUP:
        return _group_admin(auth, p)
    saved = None
    if drop_boundary or drop_denies:
        from ..engine.evaluate import NamedPolicy, PolicySet
        from ..model.policy import PolicyDocument
        saved = auth._sets.get(p.arn)
        base = auth.policy_set(p)
        ident = base.identity
        if drop_denies:
            ident = [NamedPolicy(n.type, n.name, PolicyDocument(n.document.version,
                                 tuple(s for s in n.document.statements if s.is_allow)), n.arn) for n in ident]
        auth._sets[p.arn] = PolicySet(identity=ident, boundaries=[] if drop_boundary else base.boundaries,
                                      scps=base.scps)
    try:
        def probe(actions):
            worst = "yes"
            for a in actions:
                if not identity_allows(auth, p, a, everywhere=True):
                    return None
                d = auth.check(p.arn, a, "*", resource_mode="all")
                if d.decision == "Conditional":
                    worst = "conditional"
                elif not d.allowed:
                    return None
            return worst
        full = probe(ADMIN_PROBES)
        if full == "yes":
            return "admin"
        iam = probe(IAM_WRITE_PROBES)
        if iam == "yes":
            return "iam-write"
        if full == "conditional" or iam == "conditional":
            return "conditional"
        return None
    finally:
        if saved is not None or drop_boundary or drop_denies:
            if saved is None:
                auth._sets.pop(p.arn, None)
            else:
                auth._sets[p.arn] = saved


def identity_allows(auth: Authorizer, p: Principal, action: str, everywhere: bool = False) -> bool:
    """Does some Allow statement of p's identity policies name `action` (with `everywhere`: on a resource
    pattern that can cover every resource: all `*`, a variable, or NotResource)? When none does, p cannot be
    allowed it on "*" (no resource policy applies there): a cheap test before asking the evaluator."""
    a = action.lower()
    for pol in auth.policy_set(p).identity:
        for st in pol.document.statements:
            if st.is_allow and (wildcard.match_any_ci(st.actions, a) if st.actions is not None
                                else not wildcard.match_any_ci(st.not_actions, a)):
                if not everywhere or st.resources is None or any(
                        not x.strip("*") or "${" in x for x in st.resources):
                    return True
    return False


def _group_admin(auth: Authorizer, g: Principal) -> str | None:
    from ..engine.context import Context
    from ..engine.evaluate import PolicySet, Request, evaluate
    ps = PolicySet(identity=auth.identity_policies(g))
    member = f"arn:aws:iam::{g.account}:user/iamlint-group-probe"
    for a in ADMIN_PROBES:
        d = evaluate(ps, Request(a, "*", member, Context(complete=False), resource_mode="all"))
        if not d.allowed:
            return None
    return "admin"


def _external_kind(node: str) -> str:
    if node == "*":
        return "anyone"
    if is_hub(node):
        return "hub"
    if node.endswith(":root"):
        return "account"
    if ":oidc-provider/" in node or ":saml-provider/" in node:
        return "provider"
    if not node.startswith("arn:"):
        return "service"
    return "principal"


def build_graph(model: Model, auth: Authorizer | None = None, progress=None) -> Graph:
    return Builder(model, auth, progress).build()
