"""Which accounts of an audit must be analysed together, from a small summary of each collected result.

A finding about account A can depend on account B's data only through what the graph draws across
accounts, and the graph draws one kind of cross-account step: sts:AssumeRole into a role whose trust
policy admits the other account (its root or bare id, one of its principals by ARN, or `*`). Every
other step (policy rewrites, PassRole, new credentials, group changes, existing resources) stays in
the actor's own account. The rules read another account only through that graph, through the
organization (its SCPs and RCPs, shared by every unit), through "is this account in the input" (every
unit holds every account read, the others as empty stand-ins), and through the reference time (one
for the whole run). So accounts are joined when a trust can actually admit a principal of the other:

    role R of account B trusts account M (root, id, a principal's ARN, or `*`), and some principal of
    M has an identity Allow for sts:AssumeRole whose resource could name R (or any resource)

The test is on the identity side's text alone (statement effects, actions and resources; conditions,
denies, boundaries and SCPs ignored), so it over-approximates the graph's own edges: a pair it keeps
apart has no edge between them in the one-model graph. A principal whose managed policy document is
not in its file counts as able to assume anything (another file may hold the document). A managed
policy of one read account named by another account's principal joins the two as well.

Units are the connected components of that relation (union-find); an account with no such link is a
unit of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from ..graph.build import could_match, document_allow_patterns
from ..model.account import Kind, ManagedPolicy, Model, Organization, Principal

ACCOUNT_RE = re.compile(r"\d{12}")
ANY = None          # an assumer's patterns: any resource


def _account_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


@dataclass
class Trust:
    role: str                       # the role's ARN
    account: str                    # the role's account
    roots: tuple[str, ...] = ()     # other accounts admitted as a whole (root or bare id)
    named: tuple[str, ...] = ()     # principal ARNs of other accounts
    star: bool = False              # `*` (or an Allow with NotPrincipal): any account


@dataclass
class Summary:
    """What the parent needs of one collected result to plan the analysis, without the model."""

    accounts: list[tuple[str, str | None, int]] = field(default_factory=list)   # (id, alias, principals)
    organization: Organization | None = None          # a snapshot that carried its organization
    trusts: list[Trust] = field(default_factory=list)
    # account -> {principal ARN: resource patterns of its sts:AssumeRole Allows (None: any)}; only assumers
    assumers: dict[str, dict[str, tuple[str, ...] | None]] = field(default_factory=dict)
    # every policy ARN of the result -> missing?; the object too when no account of this result owns it
    policies: dict[str, tuple[bool, ManagedPolicy | None]] = field(default_factory=dict)
    policy_latest: dict[str, datetime | None] = field(default_factory=dict)
    latest: dict[str, datetime | None] = field(default_factory=dict)   # account -> its latest stamp


# ----------------------------------------------------------------------------------- one result

def _stmts_patterns(docs, action: str = "sts:assumerole") -> tuple[str, ...] | None:
    """Resource patterns of Allow statements for `action` in these documents; ANY: any resource."""
    out = document_allow_patterns(docs, action)
    return ANY if out is None else tuple(dict.fromkeys(out))


def assume_patterns(model: Model, p: Principal) -> tuple[str, ...] | None:
    """What p's identity policies (its own and its groups') let it name with sts:AssumeRole: () when
    nothing, None when anything (NotResource, a variable, or a managed policy whose document is missing)."""
    docs = []
    owners = [p] + [g for g in (model.principal(a) for a in p.groups) if g is not None]
    for owner in owners:
        docs.extend(ip.document for ip in owner.inline_policies)
        for arn in owner.managed_policies:
            mp = model.policies.get(arn)
            if mp is None or mp.document is None:
                return ANY
            docs.append(mp.document)
    return _stmts_patterns(docs)


def _trust_of(role: Principal) -> Trust | None:
    roots: set[str] = set()
    named: set[str] = set()
    star = False
    for st in role.trust_policy.statements:
        if not st.is_allow:
            continue
        if st.principals is None:
            star = star or st.not_principals is not None
            continue
        for kind, values in st.principals.items():
            for v in values:
                if kind == "*" or (kind == "AWS" and v == "*"):
                    star = True
                elif kind == "AWS":
                    acct = v if ACCOUNT_RE.fullmatch(v) else (_account_of(v) or "")
                    if not acct or acct == role.account:
                        continue
                    if v == acct or v.endswith(":root"):
                        roots.add(acct)
                    else:
                        named.add(v)
    if not (roots or named or star):
        return None
    return Trust(role.arn, role.account, tuple(sorted(roots)), tuple(sorted(named)), star)


def _stamp(v):
    from ..model.clock import parse_time
    return parse_time(v)


def _latest(values) -> datetime | None:
    got = [t for t in (_stamp(v) for v in values if v) if t is not None]
    return max(got) if got else None


def summarize(model: Model) -> Summary:
    s = Summary(organization=model.organization)
    own = set(model.accounts)
    for acct_id, acct in sorted(model.accounts.items()):
        s.accounts.append((acct_id, acct.alias, len(acct.principals)))
        s.latest[acct_id] = _latest([p.create_date for p in acct.principals.values()]
                                    + [(p.last_used or {}).get("LastUsedDate") for p in acct.principals.values()])
        mine: dict[str, tuple[str, ...] | None] = {}
        for p in acct.principals.values():
            if p.kind is Kind.ROLE and p.trust_policy is not None:
                t = _trust_of(p)
                if t is not None:
                    s.trusts.append(t)
            if p.kind is not Kind.GROUP:
                pats = assume_patterns(model, p)
                if pats != ():
                    mine[p.arn] = pats
        if mine:
            s.assumers[acct_id] = mine
    for arn, pol in model.policies.items():
        s.policies[arn] = (pol.missing, None if _account_of(arn) in own else pol)
        s.policy_latest[arn] = _latest([v.create_date for v in pol.versions])
    return s


# ----------------------------------------------------------------------------------- the whole run

class _Union:
    def __init__(self, items):
        self.up = {x: x for x in items}

    def find(self, x):
        while self.up[x] != x:
            self.up[x] = self.up[self.up[x]]
            x = self.up[x]
        return x

    def join(self, a, b) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.up[max(ra, rb)] = min(ra, rb)
        return True


def units(summaries: list[tuple[Summary, list[str]]], order: list[str]) -> tuple[list[list[str]], list[dict]]:
    """The accounts of `order` (the accounts read, each once, in the run's order) grouped into units.
    `summaries`: each result's summary with the accounts it owns in the run (a duplicate is someone
    else's). Returns (units in order of their first account, the links that joined accounts)."""
    known = set(order)
    uf = _Union(order)
    assumers: dict[str, dict[str, tuple | None]] = {}
    distinct: dict[str, list] = {}
    for s, owned in summaries:
        for acct in owned:
            mine = s.assumers.get(acct, {})
            assumers[acct] = mine
            distinct[acct] = list(dict.fromkeys(mine.values()))
    links: list[dict] = []

    def link(a: str, b: str, why: str, via: str) -> None:
        if uf.join(a, b):
            links.append({"accounts": sorted((a, b)), "why": why, "via": via})

    def any_could(acct: str, arn: str) -> bool:
        return any(could_match(p, arn) for p in distinct.get(acct, ()))

    for s, owned in summaries:
        owned_set = set(owned)
        for t in s.trusts:
            if t.account not in owned_set:
                continue
            for m in t.roots:
                if m in known and uf.find(m) != uf.find(t.account) and any_could(m, t.role):
                    link(t.account, m, "trusts the account", t.role)
            for n in t.named:
                m = _account_of(n)
                if m in known and uf.find(m) != uf.find(t.account) and n in assumers.get(m, {}) \
                        and could_match(assumers[m][n], t.role):
                    link(t.account, m, "trusts a principal of the account", t.role)
            if t.star:
                for m in order:
                    if m != t.account and uf.find(m) != uf.find(t.account) and any_could(m, t.role):
                        link(t.account, m, "trusts any principal", t.role)
        for arn, (missing, _) in s.policies.items():
            m = _account_of(arn)
            if m in known and m not in owned_set and owned:
                for a in owned:
                    if uf.find(a) != uf.find(m):
                        link(a, m, "attaches a managed policy of the account", arn)
    groups: dict[str, list[str]] = {}
    for acct in order:
        groups.setdefault(uf.find(acct), []).append(acct)
    return list(groups.values()), links
