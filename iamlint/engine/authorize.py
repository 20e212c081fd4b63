"""Decisions about a model's principals: gathers the policies that apply, then calls `evaluate`.

This is the one place that turns the model into `PolicySet`s and default request contexts; the
graph, rules and `can` all ask through an `Authorizer`, so there is one evaluator.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

from ..model.account import Kind, Model, Principal
from ..model.policy import frozen_record
from .context import Context
from .evaluate import Decision, NamedPolicy, PolicySet, Request, evaluate
from .principal import Caller, parse_caller


def _account_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


class Authorizer:
    def __init__(self, model: Model):
        self.model = model
        self._sets: dict[str, PolicySet] = {}
        self._callers: dict[str, Caller] = {}
        self._contexts: dict[str, Context] = {}
        self._prepared: dict[str, tuple] = {}             # check: what a principal's requests share
        self._rcp_levels: dict = {}                        # check: RCP levels by resource account
        self._now: Any = _UNSET                            # reference_time: as set or read from the input
        self._t0: Any = _UNSET                             # reference_time: that, no later than the clock

    # ------------------------------------------------------------ time
    def reference_time(self):
        """The earliest time a request can be made at: set by the caller (a configured `now`, an audit's
        run-wide time), else the latest date in the input (requests come after it was collected: the same
        input gives the same answers whenever it is scanned), else, for an input without dates (IaC, a
        hand-written file), the clock; never later than the clock (a `now` or an input dated in the future
        must not rule out today's requests)."""
        if self._t0 is _UNSET:
            if self._now is _UNSET:
                from ..model.clock import latest_time
                self._now = latest_time(self.model)
            from datetime import datetime, timezone
            clock = datetime.now(timezone.utc)
            self._t0 = clock if self._now is None else min(self._now, clock)
        return self._t0

    def set_reference_time(self, now) -> None:
        if now is not None and now.tzinfo is None:   # a naive time is read as UTC, as the inputs' are
            from datetime import timezone
            now = now.replace(tzinfo=timezone.utc)
        if self._now is _UNSET or now != self._now:
            self._now, self._t0 = now, _UNSET
            self._contexts.clear()     # the default contexts read it
            self._prepared.clear()

    # ------------------------------------------------------------ policies of a principal
    def identity_policies(self, p: Principal) -> list[NamedPolicy]:
        out: list[NamedPolicy] = []
        owners = [p] + [g for g in (self.model.principal(a) for a in p.groups) if g is not None]
        for owner in owners:
            via = "" if owner is p else f" (via group {owner.name})"
            for ip in owner.inline_policies:
                out.append(NamedPolicy("identity", f"{owner.name}/{ip.name}{via}", ip.document))
            for arn in owner.managed_policies:
                mp = self.model.policies.get(arn)
                if mp is not None and mp.document is not None:
                    out.append(NamedPolicy("identity", f"{mp.name}{via}", mp.document, arn=arn))
        return out

    def _guardrails(self, table, account: str | None, kind: str):
        org = self.model.organization
        if org is None or account is None or account not in table:
            return None
        return [[NamedPolicy(kind, g.name, g.document, arn=g.arn, level=level) for g in pols]
                for level, pols in table[account]]

    def policy_set(self, p: Principal) -> PolicySet:
        ps = self._sets.get(p.arn)
        if ps is None:
            boundaries = []
            if p.permissions_boundary:
                mp = self.model.policies.get(p.permissions_boundary)
                if mp is not None and mp.document is not None:
                    boundaries.append(NamedPolicy("boundary", mp.name, mp.document, arn=mp.arn))
                elif mp is not None:
                    # a boundary whose document is missing from the input (R21: GAAD may leave out
                    # boundary-only policies): what it allows is unknown, so everything it would cap is
                    # conditional on it, named; neither allow nor deny is picked. The loader reports the gap.
                    boundaries.append(NamedPolicy("boundary", mp.name + " (not in the input)",
                                                  _unknown_boundary(mp.arn), arn=mp.arn))
            org = self.model.organization
            scps = self._guardrails(org.scps, p.account, "scp") if org else None
            ps = PolicySet(identity=self.identity_policies(p), boundaries=boundaries, scps=scps)
            self._sets[p.arn] = ps
        return ps

    def caller(self, arn: str) -> Caller:
        c = self._callers.get(arn)
        if c is None:
            p = self.model.principal(arn)
            c = parse_caller(arn, has_boundary=bool(p and p.permissions_boundary))
            self._callers[arn] = c
        return c

    def default_context(self, p: Principal | None, arn: str) -> Context:
        """What the model knows of a request by this principal; every other key stays unknown."""
        ctx = self._contexts.get(arn)
        if ctx is not None:
            return ctx
        values: dict[str, Any] = {"aws:PrincipalArn": arn, "aws:PrincipalIsAWSService": "false"}
        absent = []
        acct = _account_of(arn)
        if acct:
            values["aws:PrincipalAccount"] = acct
        org = self.model.organization
        if org is not None and org.id:
            values["aws:PrincipalOrgID"] = org.id
        if p is not None:
            values["aws:PrincipalType"] = "User" if p.kind is Kind.USER else "AssumedRole"
            if p.kind is Kind.USER:
                values["aws:username"] = p.name
                if p.id:
                    values["aws:userid"] = p.id
            else:
                absent.append("aws:username")
            for k, v in p.tags.items():
                values[f"aws:PrincipalTag/{k}"] = v
        ctx = Context(values, complete=False, absent=absent, ranges=self._time_ranges(arn, p))
        self._contexts[arn] = ctx
        return ctx

    def _time_ranges(self, arn: str, p: Principal | None) -> dict:
        """The time keys of a request by this principal, each present with a value in a known span
        (Context.ranges): the request's time at or after the reference time, and for a role session (or
        federated user) the token's issue time at most the longest session before it (the same span for
        every role: principals of one kind share their decisions' classes, graph/build.py). A user may
        call with long-term keys (no aws:TokenIssueTime) or a session: that key stays unknown for users."""
        t0 = self.reference_time().timestamp()
        out = {"aws:CurrentTime": (t0, None, _DATE), "aws:EpochTime": (t0, None, _DATE_OR_NUMBER)}
        kind = parse_caller(arn).kind
        if kind in ("role", "session", "federated-user"):
            longest = _FEDERATED_LONGEST if kind == "federated-user" else _SESSION_LONGEST
            out["aws:TokenIssueTime"] = (t0 - longest, None, _DATE)
        return out

    # ------------------------------------------------------------ resources
    def resource_policy(self, action: str, resource: str) -> NamedPolicy | None:
        a = action.lower()
        if a.startswith("sts:") and ":role/" in resource:
            role = self.model.principal(resource)
            if role is not None and role.trust_policy is not None:
                return NamedPolicy("trust", f"{role.name} trust policy", role.trust_policy, arn=role.arn)
        return None

    # ------------------------------------------------------------ the question
    def check(self, principal_arn: str, action: str, resource: str,
              context: Mapping[str, Any] | None = None, *, complete: bool = False,
              resource_mode: str = "exact", resource_account: str | None = None,
              session: str | None = None) -> Decision:
        """`session`: the request is made by this session of the role `principal_arn` (its ARN, as a
        policy may name it: R3), with the role's policies and context."""
        prep = self._prepared.get(principal_arn)
        if prep is None:
            prep = self._prepare(principal_arn)
        p, ctx, caller, mgmt = prep
        if session is not None:
            caller = parse_caller(session, has_boundary=caller.has_boundary)
        # the principal's policy set is read each time: admin_level swaps it for hypotheticals
        base = self._sets.get(principal_arn) or (self.policy_set(p) if p is not None else _EMPTY)
        rp = self.resource_policy(action, resource)
        racct = resource_account or _account_of(resource) or (p.account if p else None)
        rcps = self._rcps(racct) if self.model.organization is not None else None
        if rp is None and rcps is None:
            ps = base          # the request adds nothing to the principal's own set (never changed)
        else:
            ps = PolicySet(identity=base.identity, resource=rp, boundaries=base.boundaries, scps=base.scps,
                           rcps=rcps, session=None)
        if context or complete:
            # a copy: the default context is shared by every request of this principal (never changed)
            ctx = ctx.merged(context, complete=complete or None)
            if complete:
                ctx.complete = True
        req = frozen_record(Request, {"action": action, "resource": resource, "principal": session or principal_arn,
                                      "context": ctx, "resource_account": racct, "caller": caller,
                                      "resource_mode": resource_mode, "management_account": mgmt})
        return evaluate(ps, req)

    def _prepare(self, principal_arn: str) -> tuple:
        """What every request of this principal shares: (principal, default context, caller, whether it
        calls from the management account)."""
        p = self.model.principal(principal_arn)
        if p is not None and p.kind is Kind.GROUP:
            from ..errors import UsageError
            raise UsageError(f"{principal_arn} is a group: groups cannot make requests")
        caller = self.caller(principal_arn)
        org = self.model.organization
        mgmt = bool(org and org.management_account and caller.account == org.management_account)
        prep = self._prepared[principal_arn] = (p, self.default_context(p, principal_arn), caller, mgmt)
        return prep

    def _rcps(self, account: str | None):
        """The RCP levels that govern resources of `account` (None: none), built once per account."""
        try:
            return self._rcp_levels[account]
        except KeyError:
            org = self.model.organization
            out = self._rcp_levels[account] = self._guardrails(org.rcps, account, "rcp") if org else None
            return out


_EMPTY = PolicySet()
_UNSET = object()
_DATE = ("Date",)
_DATE_OR_NUMBER = ("Date", "Numeric")     # aws:EpochTime: seconds, read by Date and Numeric operators
_SESSION_LONGEST = 43200                  # a role session lasts at most 12 hours (MaxSessionDuration)
_FEDERATED_LONGEST = 129600               # sts:GetFederationToken: at most 36 hours


MISSING_BOUNDARY_KEY = "iamlint:PermissionsBoundaryNotInInput"


def _unknown_boundary(arn: str):
    """A stand-in for a boundary whose document the input lacks: it allows everything under a condition
    no request can decide, so a decision it caps comes out conditional and names the boundary."""
    from ..model.policy import parse_policy
    return parse_policy({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "*", "Resource": "*",
        "Condition": {"StringEquals": {MISSING_BOUNDARY_KEY: arn}}}]}, "boundary")

