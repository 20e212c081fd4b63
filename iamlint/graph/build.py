"""Model → networkx MultiDiGraph of who can become whom, every edge decided by the one Authorizer.

Nodes are principal ARNs (users, roles, groups) and the outside entry points that can act on roles:
AWS service principals, OIDC/SAML providers, other accounts (`arn:aws:iam::ACCT:root`) and `*`.
Edge attribute `edge` holds an `Edge`. "act-as" edges mean the source can obtain the target's
permissions; `rewrite` edges mean the source can rewrite the target's permissions (gaining them
whenever it can also act as the target; a self-loop is self-escalation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Callable, Iterable

import networkx as nx

from ..engine import wildcard
from ..engine.authorize import Authorizer, _account_of
from ..engine.evaluate import Decision
from ..loaders.inventory import gap as inventory_gap
from ..loaders.inventory import is_complete, known_items
from ..model.account import Kind, Model, Principal
from ..settle import paused
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
    # principals that would not be admin-equivalent even holding an admin policy (boundary, SCP or Deny):
    # rewriting them, or their joining an admin group, is no way to admin
    capped: dict[str, str] = field(default_factory=dict)
    # rewrite hub -> the principals its grant names (the builder knows them; paths need not rescan)
    hub_members: dict[str, frozenset] = field(default_factory=dict)

    def edge_count(self) -> int:
        """`g.number_of_edges()`, counted over the adjacency (networkx sums every node's degree through its
        views: a fifth of a second at 20,000 roles, asked by every report)."""
        return sum(len(keyed) for nbrs in self.g._succ.values() for keyed in nbrs.values())

    def edges_from(self, node: str) -> Iterable[Edge]:
        """The edges out of `node`, in the graph's order (networkx's `out_edges(node, data=True)` order),
        read from its adjacency: walks over every edge of a big graph spent several times the walk itself
        in networkx's edge views."""
        for keyed in self.g._succ[node].values():
            for data in keyed.values():
                yield data["edge"]

    def edges_into(self, node: str, methods: tuple[str, ...] | None = None) -> Iterable[Edge]:
        """The edges into `node`, in the graph's order (`in_edges(node, data=True)`); with `methods`, only
        the edges of those methods (the graph keys each edge by its method: looked up, not scanned)."""
        if methods is None:
            for keyed in self.g._pred[node].values():
                for data in keyed.values():
                    yield data["edge"]
            return
        for keyed in self.g._pred[node].values():
            for m in methods:
                data = keyed.get(m)
                if data is not None:
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
        self._interned: dict[frozenset, frozenset] = {}
        self._by_doc: dict[int, tuple] = {}                    # _doc_allowed: (document, answer)
        self._everywhere: dict[str, frozenset] = {}           # known_everywhere, by principal
        self._wide: dict[tuple, tuple] = {}                   # _doc_everywhere: (document, answer)

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
            hit = self._by_principal[p.arn] = self._union(
                self._doc_allowed(pol.document) for pol in self.auth.policy_set(p).identity)
        return hit

    def _union(self, answers: Iterable[frozenset]) -> frozenset:
        """A principal's answer from its documents'. Equal answers are kept as one object: principals with
        the same grants form one class (Builder.able decides each class once)."""
        fs = frozenset().union(*answers)
        return self._interned.setdefault(fs, fs)

    def _statement_actions(self, st) -> frozenset:
        return self._allowed_by(st.actions if st.actions is not None else st.not_actions, st.actions is None)

    def _doc_allowed(self, doc) -> frozenset:
        """The known actions some Allow statement of `doc` names (per document: a managed policy is read
        once however many principals hold it). Keyed by the object, which the memo keeps alive."""
        hit = self._by_doc.get(id(doc))
        if hit is None:
            hit = self._by_doc[id(doc)] = (doc, frozenset().union(*map(self._statement_actions, doc.allows)))
        return hit[1]

    def known_everywhere(self, p: Principal) -> frozenset:
        """The known actions that some identity Allow statement of `p` names on a resource pattern that may
        cover every resource the action acts on in p's account (`every_resource`): a pattern covering it,
        a policy variable, or NotResource. For any other action, a request on every resource (mode "all")
        finds no identity grant: the evaluator would say no without a statement to cite."""
        hit = self._everywhere.get(p.arn)
        if hit is None:
            hit = self._everywhere[p.arn] = self._union(
                self._doc_everywhere(pol.document, p.account) for pol in self.auth.policy_set(p).identity)
        return hit

    def _doc_everywhere(self, doc, account: str) -> frozenset:
        key = (id(doc), account)
        hit = self._wide.get(key)
        if hit is None:
            from ..agents.actionsets import every_resource
            out: set[str] = set()
            for st in doc.allows:
                acts = self._statement_actions(st)
                if st.resources is None or any("${" in x or not x.strip("*") for x in st.resources):
                    out |= acts
                else:
                    out.update(a for a in acts
                               if any(wildcard.covers(x, every_resource(a, account)) for x in st.resources))
            hit = self._wide[key] = (doc, frozenset(out))
        return hit[1]

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
    return document_allow_patterns((pol.document for pol in auth.policy_set(p).identity), action)


def document_allow_patterns(docs, action: str) -> list[str] | None:
    """Resource patterns of the Allow statements for `action` in these documents; None when any resource
    may match (NotResource, a variable, or NotAction)."""
    a = action.lower()
    out: list[str] = []
    for doc in docs:
        for st in doc.statements:
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


def _tuple(xs: list[str] | None) -> tuple[str, ...] | None:
    return None if xs is None else tuple(xs)


def could_match(patterns, arn: str) -> bool:
    """Can grants with these resource patterns (None: any resource) name `arn`?"""
    return patterns is None or wildcard.match_any(tuple(patterns), arn)


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
        self._passable_memo: dict[str, list[tuple[Principal, Decision]]] = {}
        self.profile_role: dict[str, str] = {}
        self.actors = [p for p in model.principals() if p.kind is not Kind.GROUP]
        self._pools: dict[tuple[str, str], list[Principal]] = {}
        self._pattern_cache: dict[tuple, list[Principal]] = {}
        self._hubs_done: set[str] = set()                       # hubs whose out-edges are in place
        self._group_cache: dict = {}                            # _classes: groups by (patterns, items)
        self._mine: dict = {}                                   # pass_role: candidates by (service, account)
        self._decisions: dict = {}                              # check: decision by class of resource
        self._sig_patterns: dict = {}                           # check: patterns by (caller, action, account)
        self.hub_members: dict[str, frozenset] = {}             # rewrite hub -> principals it names
        self._rollback: dict = {}                               # policy_rewrite: admin version by (target, policy)
        self._cmp_pools: dict = {}                              # _matching: customer-managed policies by pool
        self._able_classes: tuple | None = None                 # able: (actors, allowed-action class -> indices)
        self._method_edges: dict[str, dict] = {}                # add: (source, target) of each method's edges
        self._roles_by_name: dict | None = None                 # _session_role: roles by (account, name)

    # -------------------------------------------------------------- helpers
    def add(self, e: Edge) -> None:
        for n in (e.source, e.target):
            if n not in self.g:
                self.g.add_node(n, kind=_external_kind(n), label=n)
        self.g.add_edge(e.source, e.target, key=e.method, edge=e)
        self._method_edges.setdefault(e.method, {})[(e.source, e.target)] = None

    def check(self, p: Principal | str, action: str, resource: str, mode: str = "exact",
              context: dict | None = None) -> Decision:
        arn = p.arn if isinstance(p, Principal) else p
        key = self._class_key(arn, action, resource, mode, context)
        if key is None:
            return self.auth.check(arn, action, resource, context, resource_mode=mode)
        d = self._decisions.get(key)
        if d is None:
            d = self._decisions[key] = self.auth.check(arn, action, resource, context, resource_mode=mode)
        return d

    def _class_key(self, arn: str, action: str, resource: str, mode: str, context: dict | None) -> tuple | None:
        """Resources that must get the same decision for this caller and action share a key: the evaluator
        reads an exact resource ARN only through the Resource/NotResource patterns of the statements that
        may apply (identity, boundary, SCP, and the RCPs of the resource's account), the resource's account,
        and whether it is a service-linked role or a KMS key. None (decide on its own) when a resource
        policy applies (role trust) or a pattern holds a policy variable."""
        if mode != "exact" or self.auth.resource_policy(action, resource) is not None:
            return None
        a = action.lower()
        racct = _account_of(resource)
        pk = (arn, a, racct)
        pats = self._sig_patterns.get(pk, False)
        if pats is False:
            p = self.model.principal(arn)
            pats = None
            if p is not None:
                rcps = self.auth._guardrails(self.model.organization.rcps, racct, "rcp") \
                    if self.model.organization is not None and racct else None
                found = [x for rs in self._patterns_for(p, a, extra=[q for lvl in (rcps or ()) for q in lvl])
                         for x in rs]
                if not any("${" in x for x in found):
                    pats = tuple(dict.fromkeys(found))
            self._sig_patterns[pk] = pats
        if pats is None:
            return None
        ctx = tuple(sorted((k, repr(v)) for k, v in context.items())) if context else ()
        return (pk, ctx, ":role/aws-service-role/" in resource, a.startswith("kms:") and ":key/" in resource,
                tuple(wildcard.match(x, resource) for x in pats))

    def able(self, *groups: Iterable[str]) -> list[Principal]:
        """The actors whose identity policies allow at least one action of every group (the prefilter, as
        set operations over each actor's allowed actions: one pass per method, not one call per pair)."""
        sets = [frozenset(a.lower() for a in g) for g in groups]
        if not all(s <= self.pre._known for s in sets):
            return [p for p in self.actors if all(any(self.pre.may(p, a) for a in s) for s in sets)]
        # the actors by class of allowed actions (each class decided once), in actor order
        actors = self.actors
        if self._able_classes is None or self._able_classes[0] is not actors:
            known = self.pre._known_allowed
            classes: dict[frozenset, list[int]] = {}
            for i, p in enumerate(actors):
                classes.setdefault(known(p), []).append(i)
            self._able_classes = (actors, classes)
        hits = [i for k, idx in self._able_classes[1].items() if all(not k.isdisjoint(s) for s in sets)
                for i in idx]
        hits.sort()
        return [actors[i] for i in hits]

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
        target = self.model.principal(resource) if res == "{target}" else None
        context = _bind_context(spec.context, binding)
        for action in spec.actions:
            if not self.pre.may(actor, action) or (target is not None and not _fits_kind(action, target)):
                continue
            d = self.check(actor, action, resource, mode, context)
            if d.possible:
                eb.add(action, resource, d)
                return True
        return False

    # -------------------------------------------------------------- build
    def build(self) -> Graph:
        self.levels()
        return self.edges()

    def levels(self) -> None:
        """The first phase: nodes, group memberships, and each principal's admin level and cap."""
        for p in self.model.principals():
            self.g.add_node(p.arn, kind=p.kind.value, account=p.account, label=p.name)
            for ip in p.instance_profiles:
                self.profile_role[ip] = p.arn
        for acct in self.model.accounts.values():
            for ip in (acct.inventory or {}).get("instance_profiles") or []:
                if isinstance(ip, dict) and ip.get("arn") and ip.get("roles"):
                    self.profile_role.setdefault(ip["arn"], ip["roles"][0])
        for p in self.model.principals():
            if p.kind is Kind.USER:
                for garn in p.groups:
                    self.add(Edge(p.arn, garn, "group-membership", evidence=(f"user {p.name} is a member",)))
        self._say("graph: admin-equivalent principals")
        self.admin: dict[str, str] = {}
        # both of admin_level's probe lists start with the same action, and it answers None when no Allow
        # statement names it: the prefilter (no statement admits it at all) tells so without a scan
        first = ADMIN_PROBES[0].lower()
        shortcut = first == IAM_WRITE_PROBES[0].lower() and first in self.pre._known
        for p in self.model.principals():
            if shortcut and p.kind is not Kind.GROUP and first not in self.pre._known_allowed(p):
                continue
            level = admin_level(self.auth, p)
            if level:
                self.admin[p.arn] = level
        self.capped = self._capped()
        # an admin needs no escalation edges of its own (it already holds everything)
        self.actors = [p for p in self.actors if self.admin.get(p.arn) not in ("admin", "iam-write")]

    def levels_only(self) -> Graph:
        """After `levels`: the graph as far as rules that read no step can see it (the model, the evaluator,
        the admin levels and caps); its `g` refuses every use, so such a rule cannot read steps unseen."""
        return Graph(self.model, self.auth, _NoSteps(), dict(self.admin), dict(self.capped), {})

    def edges(self) -> Graph:
        """The second phase: every step (trust, IAM escalation, compute that runs as a role)."""
        by_matcher: dict[str, list[Method]] = {}
        for m in load_methods():
            by_matcher.setdefault(m.matcher, []).append(m)
        self._say("graph: trust policies")
        self.trust_edges(by_matcher)
        self._say("graph: IAM escalation")
        for m in by_matcher.get("policy_rewrite", []) + by_matcher.get("policy_version_rollback", []):
            self.policy_rewrite(m)
        for m in by_matcher.get("boundary_removal", []) + by_matcher.get("deny_removal", []):
            self.restriction_removal(m)
        for m in by_matcher.get("create_principal", []):
            self.create_principal(m)
        for m in by_matcher.get("add_to_group", []):
            self.add_to_group(m)
        for m in by_matcher.get("user_credentials", []):
            self.user_credentials(m)
        for m in by_matcher.get("update_trust", []):
            self.update_trust(m)
        self._say("graph: compute that runs as a role")
        for m in by_matcher.get("pass_role", []):
            self.pass_role(m)
            self._service_linked_gate(m)
        for m in by_matcher.get("identity_pool_roles", []):
            self.identity_pool_roles(m)
        for m in by_matcher.get("identity_center", []):
            self.identity_center(m)
        for m in by_matcher.get("existing_resource", []):
            self.existing_resource(m)
            self._service_linked_gate(m)
        for m in by_matcher.get("tool_invoke", []):     # agent tools: marked `tool`, not act-as
            self.existing_resource(m, tool=True)
        return Graph(self.model, self.auth, self.g, dict(self.admin), dict(self.capped), self.hub_members)

    def _service_linked_gate(self, m: Method) -> None:
        """A method whose service acts through its service-linked role (Auto Scaling, catalog D3): the role
        must exist in the actor's account, or the actor must be allowed iam:CreateServiceLinkedRole for the
        service (AWS then creates it on the first call). Neither shown: each step of the actor is potential
        and says what it assumes (an input without the role, e.g. IaC, may not list it)."""
        slr = m.service_linked_role
        if not slr:
            return
        svc, name = slr["service"], slr["name"]
        exists: dict[str, bool] = {}
        for u, v in list(self._method_edges.get(m.id, ())):
            data = self.g.edges[u, v, m.id]
            e = data["edge"]
            actor = self.model.principal(u) if not is_hub(u) else None
            if actor is None:
                continue
            acct = actor.account
            if acct not in exists:
                exists[acct] = any(p.service_linked and p.path.startswith(f"/aws-service-role/{svc}/")
                                   for p in self.model.accounts[acct].principals.values()) \
                    if acct in self.model.accounts else False
            if exists[acct]:
                continue
            slr_arn = f"arn:aws:iam::{acct}:role/aws-service-role/{svc}/{name}"
            d = self.check(actor, "iam:CreateServiceLinkedRole", slr_arn, context={"iam:AWSServiceName": svc})
            if d.possible:
                labels, described, keys = d.evidence_parts
                e = replace(e, actions=e.actions + ("iam:CreateServiceLinkedRole",),
                            resources=e.resources + (slr_arn,), evidence=_unique_t(e.evidence + labels),
                            conditions=_unique_t(e.conditions + described),
                            condition_keys=_unique_t(e.condition_keys + keys))
            else:
                held = f"the service-linked role {name} exists (not in the input; no iam:CreateServiceLinkedRole)"
                e = replace(e, potential=True, assumes=f"{e.assumes}; {held}" if e.assumes else held)
            data["edge"] = e

    def _capped(self) -> dict[str, str]:
        """Users and roles that an admin policy would not make admin-equivalent: checked only where a
        boundary, an SCP or an identity Deny could cap them (the rest are never capped)."""
        out: dict[str, str] = {}
        cache: dict[tuple, bool] = {}
        for p in self.model.principals():
            if p.kind is Kind.GROUP or self.admin.get(p.arn) in ("admin", "iam-write"):
                continue
            ps = self.auth.policy_set(p)
            why = [w for w, on in (("its permissions boundary", bool(p.permissions_boundary)),
                                   ("an SCP", bool(ps.scps)), ("an identity Deny", _has_identity_deny(self.auth, p)))
                   if on]
            if not why:
                continue
            key = _cap_class(self.auth, p)
            capped = cache.get(key) if key is not None else None
            if capped is None:
                # "conditional" (admin under some condition values, e.g. a boundary missing from the input)
                # is no cap: the way stays, and the rewrite step carries the same undecided conditions
                capped = admin_level(self.auth, p, extra=_admin_document()) is None
                if key is not None:
                    cache[key] = capped
            if capped:
                out[p.arn] = " or ".join(why)
        return out

    def _scp_caps(self, acct: str) -> bool:
        """Would the account's SCPs cap a new principal holding an admin policy?"""
        org = self.model.organization
        if org is None or acct not in org.scps:
            return False
        from ..engine.evaluate import NamedPolicy, PolicySet, Request, evaluate
        from ..engine.context import Context
        ps = PolicySet(identity=[NamedPolicy("identity", "admin policy", _admin_document())],
                       scps=self.auth._guardrails(org.scps, acct, "scp"))
        probe = f"arn:aws:iam::{acct}:role/iamlint-new-principal-probe"
        return not all(evaluate(ps, Request(a, probe_resource(a, acct), probe, Context(complete=False),
                                            resource_mode="all")).allowed for a in ADMIN_PROBES)

    def _say(self, msg: str) -> None:
        if self.progress:
            self.progress(msg)

    # -------------------------------------------------------------- trust
    def _broad(self, p: Principal, action: str, account: str, context: dict | None = None) -> Decision | None:
        """The decision when `p` may do `action` on every role of `account` (unconditionally), else None."""
        d = self.check(p, action, f"arn:aws:iam::{account}:role/*", "all", context)
        return d if d.allowed else None

    def _patterns_for(self, p: Principal, action: str, extra: list | None = None):
        """The Resource (or NotResource) patterns of every statement that may apply to `p` doing `action`:
        identity, boundary and SCP statements (and `extra` policies) whose Action / NotAction admits it."""
        ps = self.auth.policy_set(p)
        a = action.lower()
        for pol in list(ps.identity) + list(ps.boundaries) + [q for lvl in (ps.scps or ()) for q in lvl] + (extra or []):
            for st in pol.document.statements:
                if st.actions is not None:
                    if not wildcard.match_any_ci(st.actions, a):
                        continue
                elif wildcard.match_any_ci(st.not_actions, a):
                    continue
                pats = st.resources if st.resources is not None else st.not_resources
                if pats is not None:
                    yield pats

    def _uniform(self, p: Principal, action: str, pattern: str) -> bool:
        """Does every statement that may apply to `p` doing `action` (identity, boundary, SCP) match
        either every resource of `pattern` or none of them? Then one decision on `pattern` (mode "all")
        is the decision for each of those resources, and one edge to a hub can stand for all of them."""
        for pats in self._patterns_for(p, action):
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
        pats = self._resource_patterns(p, (action,))
        if pats is None:
            return None
        out = []
        for label, members in self._grouped(pats, items, key):
            d = self.check(p, action, members[0][0].arn, context=context)
            if d.possible:
                out.append((label, d, members))
        return out

    def _resource_patterns(self, p: Principal, actions) -> list[str] | None:
        """The resource patterns of p's statements for any of `actions` (identity, boundary, SCP), each
        once; None when one holds a policy variable."""
        pats: list[str] = []
        for action in actions:
            for rs in self._patterns_for(p, action):
                if any("${" in x for x in rs):
                    return None
                pats.extend(rs)
        return list(dict.fromkeys(pats))

    def _grouped(self, pats: list[str], items: list, key) -> list[tuple[str, list]]:
        """(label, members) of `items` grouped by which of `pats` name them; the label names the patterns
        that do ("a|b except c"). The grouping depends only on the patterns and the items: shared by every
        actor with the same patterns (e.g. the same managed policy) when the caller names its items with
        `key`."""
        gkey = (tuple(pats), key) if key is not None else None
        groups = self._group_cache.get(gkey) if gkey is not None else None
        if groups is None:
            groups = {}
            for it in items:
                groups.setdefault(tuple(wildcard.match(x, it[0].arn) for x in pats), []).append(it)
            labelled = []
            for sig, members in groups.items():
                label = "|".join(x for x, hit in zip(pats, sig) if hit)
                rest = "|".join(x for x, hit in zip(pats, sig) if not hit)
                labelled.append((label + (f" except {rest}" if rest else ""), members))
            groups = labelled
            if gkey is not None:
                self._group_cache[gkey] = groups
        return groups

    def _spec_classes(self, p: Principal, specs, items: list, key=None):
        """`_classes` for a method whose every action names the target ({target}, no context): `items`
        grouped by the resource patterns of all its actions at once, and per group the answers of
        `check_spec` for its first member, which every member shares. [(label, EdgeBuilder, members)] for
        the groups where every action is possible; None when a pattern holds a policy variable."""
        pats = self._resource_patterns(p, [a for spec in specs for a in spec.actions])
        if pats is None:
            return None
        out = []
        for label, members in self._grouped(pats, items, key):
            eb = EdgeBuilder()
            if all(self.check_spec(p, spec, {"target": members[0][0].arn}, eb) for spec in specs):
                out.append((label, eb, members))
        return out

    def trust_edges(self, by_matcher: dict[str, list[Method]]) -> None:
        assumers_by_account: dict[str, list[Principal]] = {}
        for p in (q for q in self.model.principals() if q.kind is not Kind.GROUP):
            if self.pre.may(p, "sts:AssumeRole"):
                assumers_by_account.setdefault(p.account, []).append(p)
        all_assumers = [p for ps in assumers_by_account.values() for p in ps]
        patterns = {p.arn: _tuple(allow_patterns(self.auth, p, "sts:AssumeRole")) for p in all_assumers}
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
                # the hub reaches roles of p's own account only: ask about the pattern there (a pattern
                # like arn:aws:iam::*:role/adm* read as is names another account, where the trust is unknown)
                d = self.check(p, "sts:AssumeRole", _in_account(x, p.account), "all")
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
            star: list = []                 # statements that admit "*"
            sessions: list = []             # (role, session ARN): a session of a role of the model named
            for st in role.trust_policy.statements:
                if not st.is_allow or st.principals is None:
                    continue
                for kind, values in st.principals.items():
                    for v in values:
                        if kind == "*" or (kind == "AWS" and v == "*"):
                            callers["*"] = None
                            wide.update(self.model.accounts)
                            star.append(st)
                        elif kind == "AWS":
                            acct = v if re.fullmatch(r"\d{12}", v) else (v.split(":")[4] if v.count(":") >= 5 else "")
                            if v == acct or v.endswith(":root"):
                                if acct in self.model.accounts:
                                    wide.add(acct)
                                else:
                                    callers.setdefault(_account_root(acct), None)
                            elif (holder := self._session_role(v)) is not None:
                                sessions.append((holder, v))
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
            # the assumers of the accounts the trust admits as a whole; those the loop below would pass
            # over (reached through a hub, or grants that cannot name this role) are left out here already
            for acct in wide:
                for p in exact.get(role.arn, ()):
                    if p.account == acct:
                        callers.setdefault(p.arn, p)
                for p in fuzzy.get(acct, ()):
                    arn = p.arn
                    if arn in named or not (arn in hub_users or arn in covered
                                            or not could_match(patterns[arn], role.arn)):
                        callers.setdefault(arn, p)
            # R8: "*" admits the principals of the role's own account with no identity grant at all
            for p in self._star_callers(role, star):
                if p.arn not in callers:
                    named.add(p.arn)
                    callers[p.arn] = p
            for arn, p in callers.items():
                if p is not None and arn not in named and (
                        arn in hub_users or arn in covered or not could_match(patterns.get(arn), role.arn)):
                    # reached through the hub, or its AssumeRole grants cannot name this role (a trust
                    # that names the caller's ARN needs no identity grant (R4): such callers are checked)
                    continue
                d = self.check(p if p is not None else arn, "sts:AssumeRole", role.arn)
                if d.possible:
                    eb = EdgeBuilder()
                    eb.add("sts:AssumeRole", role.arn, d)
                    self.add(eb.edge(arn, role.arn, "sts-assume-role"))
            for holder, arn in sessions:
                # R3: a trust naming a role session lets that session in with no identity grant; its name
                # is the one picked when the role was assumed, so the step assumes that name was picked
                if self.g.has_edge(holder.arn, role.arn, "sts-assume-role"):
                    continue
                d = self.auth.check(holder.arn, "sts:AssumeRole", role.arn, session=arn)
                if d.possible:
                    eb = EdgeBuilder()
                    eb.add("sts:AssumeRole", role.arn, d)
                    self.add(eb.edge(holder.arn, role.arn, "sts-assume-role", potential=True,
                                     assumes=f"a session of {holder.name} named {arn.rsplit('/', 1)[-1]} (the "
                                             f"name is picked when the role is assumed)"))
            for svc in services:
                d = self.check(svc, "sts:AssumeRole", role.arn)
                if d.possible:
                    eb = EdgeBuilder()
                    eb.add("sts:AssumeRole", role.arn, d)
                    self.add(eb.edge(svc, role.arn, "service-trust"))
                    self.service_roles.setdefault(svc.lower(), []).append((role, d))
            for prov, action in federated:
                # a web identity issuer named by its domain (accounts.google.com, graph.facebook.com,
                # cognito-identity.amazonaws.com) is no IAM provider resource: it is asked as an issuer
                # of that name, and drawn under its own name
                caller = prov if prov.startswith("arn:") else f"arn:aws:iam::{role.account}:oidc-provider/{prov}"
                d = self.check(caller, action, role.arn)
                if d.possible:
                    eb = EdgeBuilder()
                    eb.add(action, role.arn, d)
                    mid = "sts-assume-role-with-saml" if "SAML" in action else "sts-assume-role-with-web-identity"
                    self.add(eb.edge(prov, role.arn, mid))
                    if caller != prov:
                        self.g.nodes[prov]["kind"] = "provider"

    def _session_role(self, arn: str) -> Principal | None:
        """The role of the model whose session `arn` names (arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION,
        the role looked up by name in its account: a session ARN leaves the path out), unless the session
        name is not the caller's to pick (a service-linked role's)."""
        parts = arn.split(":", 5)
        if len(parts) < 6 or parts[2] != "sts" or not parts[5].startswith("assumed-role/"):
            return None
        bits = parts[5].split("/")
        acct = self.model.accounts.get(parts[4])
        if len(bits) != 3 or acct is None:
            return None
        if self._roles_by_name is None:
            self._roles_by_name = {(p.account, p.name): p for p in self.model.principals() if p.kind is Kind.ROLE}
        role = self._roles_by_name.get((parts[4], bits[1]))
        return role if role is not None and not role.service_linked else None

    # -------------------------------------------------------------- IAM writes
    def _star_callers(self, role: Principal, star: list) -> list[Principal]:
        """The principals of the role's account that a trust admitting "*" may let in without any identity
        grant (R8). When every such statement pins aws:PrincipalArn to literal patterns, only the principals
        those name; otherwise every user and role of the account (each is then checked)."""
        if not star:
            return []
        pats: list[str] | None = []
        for st in star:
            pins = [c for c in st.conditions if c.key_lower == "aws:principalarn" and not c.if_exists
                    and c.qualifier is None and c.base in ("ArnEquals", "ArnLike", "StringEquals", "StringLike")
                    and not any("${" in v for v in c.values)]
            if not pins:
                pats = None
                break
            pats.extend(pins[0].values)
        acct = self.model.accounts.get(role.account)
        if acct is None:
            return []
        out = []
        for p in acct.principals.values():
            if p.kind is Kind.GROUP or p.arn == role.arn:
                continue
            if pats is None or any(wildcard.match(x, p.arn) for x in pats):
                out.append(p)
        return out

    def _rewritable(self, p: Principal) -> bool:
        return not p.service_linked and not p.aws_reserved   # R20: these cannot be edited

    def _pool(self, acct: str, kind: str, tag: str = "all") -> list[Principal]:
        """Rewritable principals of one kind in one account; tag "boundary" / "deny": only those with a
        permissions boundary / an identity Deny (what restriction removal can free)."""
        key = (tag, acct, kind)
        if key not in self._pools:
            a = self.model.accounts.get(acct)
            keep = {"all": lambda p: True, "boundary": lambda p: bool(p.permissions_boundary),
                    "deny": lambda p: _has_identity_deny(self.auth, p)}[tag]
            self._pools[key] = [p for p in (a.principals.values() if a else ())
                                if p.kind.value == kind and self._rewritable(p) and keep(p)]
        return self._pools[key]

    def _grant_patterns(self, actor: Principal, actions: Iterable[str]) -> list[str] | None:
        """Resource patterns of the actor's Allow statements for any of `actions`; None: any resource."""
        pats: list[str] = []
        for a in actions:
            if self.pre.may(actor, a):
                got = allow_patterns(self.auth, actor, a)
                if got is None:
                    return None
                pats.extend(got)
        return list(dict.fromkeys(pats))

    def _matching(self, pat: str, acct: str, kinds: tuple[str, ...], tag: str, via: str) -> list[Principal]:
        """Principals a grant pattern names (via "arn": by their ARN; via "policy": by an attached
        customer-managed policy); an index lookup for a literal ARN, one scan per distinct pattern (cached)."""
        key = (tag, via, acct, kinds, pat)
        hit = self._pattern_cache.get(key)
        if hit is None:
            pool = [p for k in kinds for p in self._pool(acct, k, tag)]
            if via == "policy":
                # the pool's customer-managed policies, each with the positions in the pool of the
                # principals holding it (listed once per pool), each matched once against the pattern
                pk = (tag, acct, kinds)
                where = self._cmp_pools.get(pk)
                if where is None:
                    where = self._cmp_pools[pk] = {}
                    for i, p in enumerate(pool):
                        for x in dict.fromkeys(p.managed_policies):
                            if _cmp(self.model, x):
                                where.setdefault(x, []).append(i)
                idx = sorted({i for x, ids in where.items() if wildcard.match(pat, x) for i in ids})
                hit = [pool[i] for i in idx]
            elif not wildcard.has_wildcard(pat):
                hit = [p for p in pool if p.arn == pat]
            else:
                rx = wildcard.compiled(pat)
                hit = [p for p in pool if rx.fullmatch(p.arn) is not None]
            self._pattern_cache[key] = hit
        return hit

    def _own(self, actor: Principal, kinds: tuple[str, ...]) -> list[Principal]:
        """The actor and its groups: rewriting them is self-escalation, always one explicit edge."""
        out = [actor] + [g for g in (self.model.principal(a) for a in actor.groups) if g is not None]
        return [t for t in out if t.kind.value in kinds and self._rewritable(t)]

    def _targets(self, actor: Principal, m: Method, kinds: tuple[str, ...], tag: str = "all",
                 hubs: bool = True) -> list[Principal]:
        """Principals whose rewrite matters: the actor, its groups, and every principal of `kinds` in its
        account that its grants can name, wherever it sits (reaching it is the paths' business: a rewrite
        counts once its target is reached, through a chain, a hub, new compute or a rewritten trust).
        A grant pattern allowed on everything it names becomes one rewrite edge to a hub that stands for
        those principals (paths resolve it), so the edges grow with the grants, not grants x principals."""
        spec = m.actions[0]
        via = "policy" if spec.resource == "{policy}" else "arn"
        out = {t.arn: t for t in self._own(actor, kinds)}
        pats = self._grant_patterns(actor, spec.actions)
        if pats is None:
            for k in kinds:
                for q in self._pool(actor.account, k, tag):
                    out.setdefault(q.arn, q)
            return list(out.values())
        for pat in pats:
            hit = self._matching(pat, actor.account, kinds, tag, via)
            if not hit or not self._possible_on(actor, spec, pat):
                continue
            if hubs and len(hit) > 1 and self._rewrite_hub(actor, m, kinds, pat, via, hit):
                continue
            for q in hit:
                out.setdefault(q.arn, q)
        return list(out.values())

    def _possible_on(self, actor: Principal, spec: ActionSpec, pat: str) -> bool:
        """Could one of the spec's actions be allowed on some resource that `pat` names? When not (an
        unconditional Deny in a boundary, an SCP or an identity policy covers all of it), no principal the
        pattern names is a target: one decision instead of one per principal."""
        return any(self.pre.may(actor, a) and self.check(actor, a, pat, "some", spec.context or None).possible
                   for a in spec.actions)

    def _rewrite_hub(self, actor: Principal, m: Method, kinds: tuple[str, ...], pat: str, via: str,
                     hit: list[Principal]) -> bool:
        """One rewrite edge actor -> hub when the grant allows the method on every resource `pat` names."""
        spec = m.actions[0]
        eb = EdgeBuilder()
        for a in spec.actions:
            if not self.pre.may(actor, a):
                continue
            d = self.check(actor, a, pat, "all", spec.context or None)
            if d.allowed:
                eb.add(a, pat, d)
                break
        else:
            return False
        hub = f"{HUB}rewrite {'/'.join(kinds)} {'with a policy ' if via == 'policy' else ''}matching {pat}@{actor.account}"
        self.add(eb.edge(actor.arn, hub, m.id, rewrite=True))
        self.g.nodes[hub].update(account=actor.account, covers=",".join(kinds), pattern=pat, via=via)
        if hub not in self.hub_members:
            self.hub_members[hub] = frozenset(q.arn for q in hit)
        return True

    def policy_rewrite(self, m: Method) -> None:
        kinds = m.kinds or ("user", "role", "group")
        actions = [a for s in m.actions for a in s.actions]
        by_policy = m.actions[0].resource == "{policy}"
        rollback = m.matcher == "policy_version_rollback"
        for actor in self.able(actions):
            for t in self._targets(actor, m, kinds, hubs=not rollback):
                if by_policy:
                    for parn in t.managed_policies:
                        pol = self.model.policies.get(parn)
                        if pol is None or pol.aws_managed:
                            continue   # AWS-managed policies cannot be versioned (R20)
                        eb = EdgeBuilder()
                        if rollback:
                            # only a non-default version that makes the target admin-equivalent counts
                            v = self._admin_version(t, parn, pol)
                            if v is None:
                                continue
                            eb.evidence.append(f"{pol.name} version {v.version_id} (not the default) "
                                               "grants admin-equivalence")
                        if self.check_spec(actor, m.actions[0], {"policy": parn, "target": t.arn}, eb):
                            self.add(eb.edge(actor.arn, t.arn, m.id, rewrite=True))
                            break
                else:
                    eb = EdgeBuilder()
                    if all(self.check_spec(actor, s, {"target": t.arn}, eb) for s in m.actions):
                        self.add(eb.edge(actor.arn, t.arn, m.id, rewrite=True))

    def _admin_version(self, t: Principal, parn: str, pol):
        """The first non-default version of `pol` that makes `t` admin-equivalent as its default (or None),
        decided once per target and policy, whichever actor may roll it back."""
        key = (t.arn, parn)
        if key not in self._rollback:
            # admin_level (of a user or role) answers None when no identity statement names its first probe
            # everywhere: with `pol` swapped, that is known from the target's other policies and the version
            first = ADMIN_PROBES[0].lower()
            quick = t.kind is not Kind.GROUP and first == IAM_WRITE_PROBES[0].lower()
            others = quick and any(_document_allows(n.document, first, everywhere=True)
                                   for n in self.auth.policy_set(t).identity if n.arn != parn)
            self._rollback[key] = next((v for v in pol.versions if not v.is_default and not (
                quick and not others and not _document_allows(v.document, first, everywhere=True))
                and admin_level(self.auth, t, replace={parn: v.document}) in ("admin", "iam-write")), None)
        return self._rollback[key]

    def restriction_removal(self, m: Method) -> None:
        kinds = m.kinds or ("user", "role")
        tag = "boundary" if m.matcher == "boundary_removal" else "deny"
        for actor in self.able([a for s in m.actions for a in s.actions]):
            # only principals with a boundary / a Deny qualify, and each is checked for what removal frees
            for t in self._targets(actor, m, kinds, tag, hubs=False):
                if tag == "boundary" and not t.permissions_boundary:
                    continue
                if tag == "deny":
                    # only the target's own policies that hold a Deny, each by the call that removes it
                    eb = EdgeBuilder()
                    gone = self._removable_denies(actor, t, m.actions[0].actions, eb)
                    if gone and admin_level(self.auth, t, remove=gone):
                        self.add(eb.edge(actor.arn, t.arn, m.id, rewrite=True))
                    continue
                eb = EdgeBuilder()
                if all(self.check_spec(actor, s, {"target": t.arn}, eb) for s in m.actions):
                    if admin_level(self.auth, t, drop_boundary=True):
                        self.add(eb.edge(actor.arn, t.arn, m.id, rewrite=True))

    def _removable_denies(self, actor: Principal, t: Principal, allowed: Iterable[str],
                          eb: EdgeBuilder) -> set[tuple[str, str | None]]:
        """(name, arn) of the target's own identity policies that hold a Deny and that the actor may remove:
        an inline one by Delete<Kind>Policy, a managed one by Detach<Kind>Policy (iam:PolicyARN set).
        A Deny inherited from a group, a boundary or an SCP is not removed this way."""
        kind = t.kind.value.capitalize()
        allowed = {a.lower() for a in allowed}
        out: set[tuple[str, str | None]] = set()

        def has_deny(doc) -> bool:
            return doc is not None and any(not st.is_allow for st in doc.statements)

        def may(action: str, ctx: dict | None) -> bool:
            if action.lower() not in allowed or not self.pre.may(actor, action):
                return False
            d = self.check(actor, action, t.arn, context=ctx)
            if d.possible:
                eb.add(action, t.arn, d)
            return d.possible

        for ip in t.inline_policies:
            if has_deny(ip.document) and may(f"iam:Delete{kind}Policy", None):
                out.add((f"{t.name}/{ip.name}", None))
        for arn in t.managed_policies:
            pol = self.model.policies.get(arn)
            if pol is not None and has_deny(pol.document) and may(f"iam:Detach{kind}Policy", {"iam:PolicyARN": arn}):
                out.add((pol.name, arn))
        return out

    def create_principal(self, m: Method) -> None:
        """Create a principal of one's own (a role trusting the actor, a user with a key) and give it admin:
        admin-equivalence in one step, drawn as a rewrite of the actor itself (catalog A10, PMapper)."""
        for actor in self.able(*(s.actions for s in m.actions)):
            if self._scp_caps(actor.account):
                continue   # the new principal would be held back by the same SCPs
            # every step acts on the same new principal: a name pattern qualifies when it lies inside a
            # grant of every step (a CreateRole on role/tmp-* and an attach on role/app-* is no way);
            # the evaluator then decides each step on it (denies, conditions, boundaries, SCPs)
            grants: list[list[str] | None] = []
            for st in m.actions:
                space = (st.pattern or "*").replace("{account}", actor.account)
                pats: list[str] | None = []
                for a in st.actions:
                    if self.pre.may(actor, a):
                        got = allow_patterns(self.auth, actor, a)
                        pats = None if got is None or pats is None else pats + [
                            x for x in got if wildcard.arn_intersects(x, space, ignore_case=True)]
                grants.append(pats)
            names = [x for g in grants if g is not None for x in g]
            if any(g is None for g in grants) or not names:
                names.append((m.actions[0].pattern or "*").replace("{account}", actor.account))
            for name in dict.fromkeys(names):
                if not all(g is None or any(wildcard.covers(x, name, ignore_case=True) for x in g) for g in grants):
                    continue
                eb = EdgeBuilder()
                if all(self.check_spec(actor, ActionSpec(st.actions, "{new}", name, st.context), {}, eb)
                       for st in m.actions):
                    self.add(eb.edge(actor.arn, actor.arn, m.id, rewrite=True))
                    break

    def add_to_group(self, m: Method) -> None:
        groups = [p for p in self.model.principals() if p.kind is Kind.GROUP]
        for actor in self.able(["iam:AddUserToGroup"]):
            if actor.kind is not Kind.USER:
                continue
            for grp in groups:
                if grp.account != actor.account or grp.arn in actor.groups:
                    continue
                eb = EdgeBuilder()
                if self.check_spec(actor, m.actions[0], {"target": grp.arn}, eb):
                    self.add(eb.edge(actor.arn, grp.arn, m.id))

    def user_credentials(self, m: Method) -> None:
        users = [p for p in self.model.principals() if p.kind is Kind.USER]
        # every action names the target user, none reads a context: the users split into classes that get
        # the same answers (`_spec_classes`), decided once per class, not once per actor and user
        by_class = all(s.resource == "{target}" and not s.context for s in m.actions)
        for actor in self.able(*(s.actions for s in m.actions)):
            classes = None
            if by_class:
                mine = self._mine.get(("users", actor.account))
                if mine is None:
                    mine = self._mine[("users", actor.account)] = [(u, None) for u in users
                                                                   if u.account == actor.account]
                classes = self._spec_classes(actor, m.actions, mine, key=("users", actor.account))
            if classes is not None:
                # users that get the same answer go through one hub per group, shared by every actor
                # with the same grants (e.g. user/*): linear, not actors x users
                for label, eb, members in classes:
                    group = [u for u, _ in members if u.arn != actor.arn or len(members) > 1]
                    hub = f"{HUB}{m.id}@{actor.account}:{label}"
                    actions = tuple(eb.actions)
                    if len(members) > 1:
                        via = eb.copy()
                        via.resources = [label] * len(via.actions)
                        self.add(via.edge(actor.arn, hub, m.id))
                        if hub in self._hubs_done:
                            continue
                        self._hubs_done.add(hub)
                    for u in group:
                        ok, potential, assumes = _user_precondition(self.model, u, m.precondition)
                        if not ok:
                            continue
                        if len(members) > 1:
                            self.add(Edge(hub, u.arn, m.id, actions, (u.arn,) * len(actions), potential=potential,
                                          assumes=assumes))
                        else:
                            self.add(eb.edge(actor.arn, u.arn, m.id, potential=potential, assumes=assumes))
                continue
            for u in users:
                if u.arn == actor.arn or u.account != actor.account:
                    continue
                eb = EdgeBuilder()
                if not all(self.check_spec(actor, s, {"target": u.arn}, eb) for s in m.actions):
                    continue
                ok, potential, assumes = _user_precondition(self.model, u, m.precondition)
                if ok:
                    self.add(eb.edge(actor.arn, u.arn, m.id, potential=potential, assumes=assumes))

    def update_trust(self, m: Method) -> None:
        roles = [p for p in self.model.principals() if p.kind is Kind.ROLE
                 and not p.service_linked and not p.aws_reserved]
        hubs_done: set[str] = set()
        for actor in self.able(["iam:UpdateAssumeRolePolicy"]):
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
        candidates = self._passable(m.service)
        if not candidates:
            return
        ctx = _passed_to(m)
        hubs_done: set[str] = set()
        for actor in self.able(["iam:PassRole"], *(s.actions for s in m.actions)):
            base = EdgeBuilder()
            if not all(self.check_spec(actor, s, {}, base) for s in m.actions):
                continue
            if m.also_passes and not self._also_pass(actor, m.also_passes, base):
                continue
            if _passed_keys(m) & {k.lower() for k in base.keys}:
                # a grant conditioned on a key the service sets to the passed role (cloudformation:RoleArn):
                # the other actions are decided per role, so no hub is shared (without such a condition
                # the answer is the same for every role: the hubs below)
                for role, trust_d in candidates:
                    if role.arn == actor.arn or role.account != actor.account:
                        continue
                    d = self.check(actor, "iam:PassRole", role.arn, context=ctx)
                    eb = EdgeBuilder()
                    if d.possible and all(self.check_spec(actor, s, {"passed": role.arn}, eb) for s in m.actions):
                        self._pass_edge(actor, m, eb, role, trust_d, d)
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
                        if potential is None:
                            continue
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
                            self._pass_edge(actor, m, base, role, trust_d, d)
                        continue
                    hub = f"{HUB}{m.id}@{actor.account}:{label}"
                    eb = base.copy()
                    eb.add("iam:PassRole", label, d)
                    self.add(eb.edge(actor.arn, hub, m.id))
                    if hub not in hubs_done:
                        hubs_done.add(hub)
                        for role, trust_d in members:
                            potential, assumes = self._requires(m, role)
                            if potential is None:
                                continue
                            teb = EdgeBuilder(["iam:PassRole"], [role.arn])
                            teb.add(f"{m.service} trust", role.arn, trust_d)
                            self.add(teb.edge(hub, role.arn, m.id, potential=potential, assumes=assumes))
                continue
            pats = _tuple(allow_patterns(self.auth, actor, "iam:PassRole"))
            for role, trust_d in candidates:
                if role.arn == actor.arn or role.account != actor.account or not could_match(pats, role.arn):
                    continue
                d = self.check(actor, "iam:PassRole", role.arn, context=ctx)
                if d.possible:
                    self._pass_edge(actor, m, base, role, trust_d, d)

    def _passable(self, service: str | None) -> list[tuple[Principal, Decision]]:
        """The roles trusting `service`, with the trust decided for a resource of the role's own account: a
        role is passed (and so used) only in its account (R18), so the resource the service acts for is
        there, and a trust condition on aws:SourceAccount is known (R19), never left open or dropped."""
        svc = (service or "").lower()
        cached = self._passable_memo.get(svc)
        if cached is not None:
            return cached
        out = []
        for role, d in self.service_roles.get(svc, []):
            if "aws:sourceaccount" in (k.lower() for k in d.condition_keys):
                d = self.check(service, "sts:AssumeRole", role.arn, context={"aws:SourceAccount": role.account})
                if not d.possible:
                    continue
            out.append((role, d))
        self._passable_memo[svc] = out
        return out

    def _also_pass(self, actor: Principal, service: str, base: EdgeBuilder) -> bool:
        """Some role of the actor's account trusts `service` and the actor may pass it there (the second role
        a call passes, e.g. the EMR service role beside the instance profile); its checks join `base`."""
        for role, trust_d in self._passable(service):
            if role.account != actor.account or role.arn == actor.arn:
                continue
            d = self.check(actor, "iam:PassRole", role.arn, context={"iam:PassedToService": service})
            if d.possible:
                base.add("iam:PassRole", role.arn, d)
                base.add(f"{service} trust", role.arn, trust_d)
                return True
        return False

    def identity_pool_roles(self, m: Method) -> None:
        """Roles that trust a Cognito identity pool (Federated `cognito-identity.amazonaws.com`, with the
        pool in `cognito-identity.amazonaws.com:aud`) become pass-role targets: the actor sets one as a role
        of that pool and takes credentials as an identity of the pool. The trust is judged for the pool it
        names (the actor picks that pool); the kind of identity (`amr`) stays a condition."""
        svc = (m.service or "").lower()
        found: list[tuple[Principal, Decision]] = []
        for role in self.model.principals():
            if role.kind is not Kind.ROLE or role.trust_policy is None:
                continue
            pools: list[str | None] = []
            for st in role.trust_policy.statements:
                if st.is_allow and st.principals and svc in (v.lower() for v in st.principals.get("Federated", ())):
                    auds = [v for c in st.conditions if c.key_lower == f"{svc}:aud" for v in c.values]
                    pools.extend(auds or [None])
            # the caller is the pool's token issuer, a federated principal named by its bare domain: the
            # evaluator matches `Federated: <domain>` against a provider ARN ending in that domain
            issuer = f"arn:aws:iam::{role.account}:oidc-provider/{svc}"
            for pool in dict.fromkeys(pools):
                d = self.check(issuer, "sts:AssumeRoleWithWebIdentity", role.arn,
                               context={f"{svc}:aud": pool} if pool else None)
                if d.possible:
                    found.append((role, d))
                    break
        # these, not roles naming cognito-identity as a Service principal, are what a pool can hand out
        self.service_roles[svc] = found
        self._passable_memo.pop(svc, None)
        self.pass_role(m)

    def identity_center(self, m: Method) -> None:
        """IAM Identity Center (catalog C6): permission sets and account assignments are not in the input, so
        a step is potential and says what it assumes. Its gain is a new admin session (a role under
        /aws-reserved/sso.amazonaws.com/), drawn like a principal of one's own: a rewrite of the actor itself."""
        org = self.model.organization
        for actor in self.able(*(s.actions for s in m.actions)):
            eb = EdgeBuilder()
            if not all(self.check_spec(actor, s, {}, eb) for s in m.actions):
                continue
            where = "this account hosts the Identity Center instance (the management account"
            mgmt = getattr(org, "management_account", None) if org is not None else None
            where += f" {mgmt}" if mgmt else ""
            where += ", or a delegated administrator)"
            existing = any(s.resource == "{existing}" for s in m.actions)   # a permission set already assigned
            sso = re.match(r"AWSReservedSSO_(.+)_[0-9a-f]+$", actor.name) if existing and actor.aws_reserved else None
            if sso:
                held = f"{actor.name} was provisioned from permission set {sso.group(1)}, the one to change"
            else:
                held = f"{m.assumes} (the input has no Identity Center inventory)"
            self.add(eb.edge(actor.arn, actor.arn, m.id, rewrite=True, potential=True, assumes=f"{held}; {where}"))

    def _pass_edge(self, actor: Principal, m: Method, base: EdgeBuilder, role: Principal, trust_d: Decision,
                   d: Decision) -> None:
        """actor --m--> role, passed directly (PassRole decision `d`, the service's trust `trust_d`), unless
        the inventory shows the role cannot be used that way."""
        potential, assumes = self._requires(m, role)
        if potential is None:
            return
        eb = base.copy()
        eb.add("iam:PassRole", role.arn, d)
        eb.add(f"{m.service} trust", role.arn, trust_d)
        self.add(eb.edge(actor.arn, role.arn, m.id, potential=potential, assumes=assumes))

    def _profile(self, role: Principal) -> bool | None:
        """Does the role have an instance profile? True / False when the input says (the role's own
        list, or an `instance_profiles` inventory naming its roles), None when it cannot tell."""
        if role.instance_profiles:
            return True
        acct = self.model.accounts.get(role.account)
        listed = ((acct.inventory if acct else {}) or {}).get("instance_profiles")
        if not isinstance(listed, list):
            return None
        for ip in listed:
            if isinstance(ip, dict) and role.arn in (ip.get("roles") or []):
                if ip.get("arn"):
                    self.profile_role.setdefault(ip["arn"], role.arn)
                return True
        return False

    def _requires(self, m: Method, role: Principal) -> tuple[bool | None, str | None]:
        """(potential, what it assumes); potential None: the input shows the step is impossible."""
        if m.requires == "instance_profile":
            has = self._profile(role)
            if has is False:
                return None, None   # the inventory lists every instance profile; none carries the role
            if has is None:
                return True, f"an instance profile for {role.name} (none in the input)"
        if any(s.resource == "{existing}" for s in m.actions):
            return True, m.assumes or "the existing resource it acts on"
        return False, None

    def existing_resource(self, m: Method, tool: bool = False) -> None:
        for actor in self.able(*(s.actions for s in m.actions)):
            acct = self.model.accounts.get(actor.account)
            inv = (acct.inventory if acct else {}) or {}
            # the resources known to exist (all of them, or those of the regions read); when the list is
            # not complete, every role the service can run stays a potential target as well (below)
            for item in known_items(inv, m.inventory):
                role_arn = _role_of(item, m.role_field, self.profile_role)
                if not role_arn or role_arn == actor.arn or not item.get("arn"):
                    continue
                eb = EdgeBuilder()
                if all(self.check_spec(actor, s, {"existing": item["arn"]}, eb) for s in m.actions):
                    rs = m.resource_state or {}
                    state = item.get(rs.get("field") or "")
                    if rs and state is not None and state not in rs["values"]:
                        # e.g. a stopped instance: the step works once someone starts it
                        self.add(eb.edge(actor.arn, role_arn, m.id, potential=True, tool=tool,
                                         assumes=f"{item.get('name') or item['arn']} is {state}; the step "
                                                 f"needs it {' or '.join(rs['values'])}"))
                    else:
                        self.add(eb.edge(actor.arn, role_arn, m.id, tool=tool))
            if not is_complete(inv, m.inventory):
                # no complete inventory of this resource type: every role the service can run is a
                # potential target. The targets are the same for every actor of the account: one edge to
                # the method's hub, and the hub's edges to the roles once (linear, not actors x roles)
                eb0 = EdgeBuilder()
                if not all(self.check_spec(actor, s, {}, eb0) for s in m.actions):
                    continue
                assumes = f"{m.assumes} ({inventory_gap(inv, m.inventory)})"
                hub = f"{HUB}{m.id}@{actor.account}"
                self.add(eb0.edge(actor.arn, hub, m.id, potential=True, tool=tool, assumes=assumes))
                if hub in self._hubs_done:
                    continue
                self._hubs_done.add(hub)
                for role, _ in self._passable(m.service):
                    if role.account != actor.account:
                        continue
                    if m.requires == "instance_profile" and not self._profile(role):
                        continue
                    self.add(Edge(hub, role.arn, m.id, potential=True, tool=tool, assumes=assumes))


# condition keys the evaluator's default context fills from the calling principal (Authorizer.default_context)
CALLER_KEYS = ("aws:principalarn", "aws:principalaccount", "aws:principalorgid", "aws:principalorgpaths",
               "aws:principaltype", "aws:principalisawsservice", "aws:username", "aws:userid", "aws:principaltag/",
               "aws:tokenissuetime")   # known within a span for role sessions, unknown for users (authorize.py)


def _unique_t(xs: tuple) -> tuple:
    return tuple(dict.fromkeys(xs))


def _passed_keys(m: Method) -> set[str]:
    """The (lowercase) context keys a method sets to the role it passes."""
    return {k.lower() for s in m.actions for k, v in s.context.items() if v == "{passed}"}


def _bind_context(context: dict, binding: dict[str, str]) -> dict | None:
    """A spec's context with its "{passed}"-style values bound; a key whose value is not bound yet is left
    out (its conditions stay undecided), never compared with the placeholder."""
    if not context:
        return None
    out = {}
    for k, v in context.items():
        if isinstance(v, str) and v.startswith("{") and v.endswith("}"):
            if v.strip("{}") in binding:
                out[k] = binding[v.strip("{}")]
        else:
            out[k] = v
    return out or None


def _in_account(pattern: str, acct: str) -> str:
    """An ARN pattern narrowed to one account when its account field is a wildcard naming it
    (arn:aws:iam::*:role/app-* in 111111111111 -> arn:aws:iam::111111111111:role/app-*)."""
    parts = pattern.split(":", 5)
    if len(parts) == 6 and wildcard.has_wildcard(parts[4]) and wildcard.match(parts[4], acct):
        parts[4] = acct
        return ":".join(parts)
    return pattern


def _caller_independent(st) -> bool:
    """Conditions whose answer is the same for every caller of an account: no key the evaluator fills
    from the caller (those stay unknown alike for all, e.g. aws:MultiFactorAuthPresent), no variable."""
    return all(not c.key_lower.startswith(CALLER_KEYS) and not any("${" in v for v in c.values)
               for c in st.conditions)


_ADMIN_DOC = None


def _admin_document():
    global _ADMIN_DOC
    if _ADMIN_DOC is None:
        from ..model.policy import parse_policy
        _ADMIN_DOC = parse_policy({"Version": "2012-10-17",
                                   "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    return _ADMIN_DOC


def _passed_to(m: Method) -> dict:
    """The iam:PassedToService context of a pass-role method; none when AWS does not document the value
    (a condition on the key then stays unresolved, never silently allowed or denied)."""
    if m.passed_to == "unknown":
        return {}
    return {"iam:PassedToService": m.passed_to or m.service}


def _fits_kind(action: str, target: Principal) -> bool:
    """An IAM action that names a principal kind (DeleteUserPermissionsBoundary) acts only on that kind:
    an alternative for users is no way to change a role, even when its grant covers the role's ARN."""
    name = action.split(":", 1)[-1].lower()
    words = [w for w in ("user", "role", "group") if w in name]
    return not words or target.kind.value in words


def _cmp(model: Model, arn: str) -> bool:
    """A customer-managed policy present in the input (AWS-managed ones cannot be versioned, R20)."""
    pol = model.policies.get(arn)
    return pol is not None and not pol.aws_managed


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


def _cap_class(auth: Authorizer, p: Principal) -> tuple | None:
    """Principals whose admin-equivalence under an added admin policy must be the same: same account (so
    the same SCPs), kind, boundary and identity Deny statements, where none of those statements holds a
    policy variable. When some of them (or of the account's RCPs) has a condition on a key about the caller
    (an SCP exempting `aws:PrincipalArn` role/admin-*), the answers of those conditions for this principal
    join the class: the evaluator reads the caller there only through them. None: decide on its own."""
    ps = auth.policy_set(p)
    denies = tuple(st for pol in ps.identity for st in pol.document.statements if not st.is_allow)
    stmts = denies + tuple(st for pol in ps.boundaries for st in pol.document.statements) + tuple(
        st for lvl in (ps.scps or ()) for pol in lvl for st in pol.document.statements)
    reads = False
    for st in stmts:
        if _has_variable(st):
            return None
        reads = reads or any(c.key_lower.startswith(CALLER_KEYS) for c in st.conditions)
    key = (p.account, p.kind, p.service_linked, tuple(b.arn for b in ps.boundaries),
           tuple((st.effect, st.actions, st.not_actions, st.resources, st.not_resources, st.conditions)
                 for st in denies))
    if not reads:
        return key
    org = auth.model.organization
    rcps = auth._guardrails(org.rcps, p.account, "rcp") if org is not None else None
    stmts += tuple(st for lvl in (rcps or ()) for pol in lvl for st in pol.document.statements)
    if any(_has_variable(st) for st in stmts):
        return None
    from ..engine.conditions import evaluate_condition
    ctx = auth.default_context(p, p.arn)
    return key + (tuple(evaluate_condition(c, ctx) for st in stmts for c in st.conditions
                        if c.key_lower.startswith(CALLER_KEYS)),)


def _has_variable(st) -> bool:
    """A policy variable in the statement's resources or condition values."""
    return any("${" in x for x in (st.resources or st.not_resources or ())) or any(
        "${" in v for c in st.conditions for v in c.values)


def _has_identity_deny(auth: Authorizer, p: Principal) -> bool:
    return any(not st.is_allow for pol in auth.policy_set(p).identity for st in pol.document.statements)


def admin_level(auth: Authorizer, p: Principal, drop_boundary: bool = False, drop_denies: bool = False,
                replace: dict | None = None, remove: set | None = None, extra=None) -> str | None:
    """'admin' (effective * on *), 'iam-write' (full IAM write: admin in one step), 'conditional', or None.
    `replace` maps managed-policy ARNs to the document to use instead of their default version; `remove`
    names identity policies (name, arn) to leave out; `extra` is one more identity policy document."""
    if p.kind is Kind.GROUP:
        return _group_admin(auth, p, replace)
    saved = None
    if drop_boundary or drop_denies or replace or remove or extra:
        from ..engine.evaluate import NamedPolicy, PolicySet
        from ..model.policy import PolicyDocument
        saved = auth._sets.get(p.arn)
        base = auth.policy_set(p)
        ident = [n for n in _replaced(base.identity, replace) if (n.name, n.arn) not in (remove or ())]
        if extra is not None:
            ident = ident + [NamedPolicy("identity", "an admin policy (hypothetical)", extra)]
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
                d = auth.check(p.arn, a, probe_resource(a, p.account), resource_mode="all")
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
        if saved is not None or drop_boundary or drop_denies or replace or remove or extra:
            if saved is None:
                auth._sets.pop(p.arn, None)
            else:
                auth._sets[p.arn] = saved


@lru_cache(maxsize=None)
def probe_resource(action: str, account: str) -> str:
    """Every resource `action` can act on in `account`, any partition ("*" for wildcard-only actions):
    what admin_level asks about, so that a Deny on another service's resource (a guardrail on one trail)
    does not read as a Deny of, say, iam:PutRolePolicy everywhere (R25)."""
    from ..agents.actionsets import every_resource
    pat = every_resource(action, account)
    return "arn:*:" + pat[len("arn:aws:"):] if pat.startswith("arn:aws:") else pat


def identity_allows(auth: Authorizer, p: Principal, action: str, everywhere: bool = False) -> bool:
    """Does some Allow statement of p's identity policies name `action` (with `everywhere`: on a resource
    pattern that can cover every resource: all `*`, a variable, or NotResource)? When none does, p cannot be
    allowed it on "*" (no resource policy applies there): a cheap test before asking the evaluator."""
    a = action.lower()
    return any(_document_allows(pol.document, a, everywhere) for pol in auth.policy_set(p).identity)


def _document_allows(doc, action_lower: str, everywhere: bool = False) -> bool:
    """identity_allows for one document."""
    for st in doc.statements:
        if st.is_allow and (wildcard.match_any_ci(st.actions, action_lower) if st.actions is not None
                            else not wildcard.match_any_ci(st.not_actions, action_lower)):
            if not everywhere or st.resources is None or any(
                    not x.strip("*") or "${" in x for x in st.resources):
                return True
    return False


def _replaced(policies: list, replace: dict | None) -> list:
    if not replace:
        return policies
    from ..engine.evaluate import NamedPolicy
    return [NamedPolicy(n.type, n.name, replace[n.arn], n.arn) if n.arn in replace else n for n in policies]


def _group_admin(auth: Authorizer, g: Principal, replace: dict | None = None) -> str | None:
    from ..engine.context import Context
    from ..engine.evaluate import PolicySet, Request, evaluate
    ps = PolicySet(identity=_replaced(auth.identity_policies(g), replace))
    member = f"arn:aws:iam::{g.account}:user/iamlint-group-probe"
    for a in ADMIN_PROBES:
        d = evaluate(ps, Request(a, probe_resource(a, g.account), member, Context(complete=False),
                                 resource_mode="all"))
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


class _NoSteps:
    """The `g` of a levels-only graph: any use is a bug in the lane split (rules/run.py), never an empty
    answer."""

    def __getattr__(self, name):
        raise RuntimeError(f"a rule of the early lane read the graph's steps ({name})")

    def __contains__(self, item):
        raise RuntimeError("a rule of the early lane read the graph's nodes")

    def __iter__(self):
        raise RuntimeError("a rule of the early lane read the graph's nodes")

    def __len__(self):
        raise RuntimeError("a rule of the early lane read the graph's nodes")


def build_graph(model: Model, auth: Authorizer | None = None, progress=None) -> Graph:
    # hundreds of thousands of objects and next to no cycles: the collector is paused (settle.py)
    with paused():
        return Builder(model, auth, progress).build()
