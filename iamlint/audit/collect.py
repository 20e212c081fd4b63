"""Collection for an audit: which accounts, and each one read (and loaded) on its own.

* `organization_targets(session, role_name, ...)` reads the AWS Organization (read-only): its accounts,
  its tree (root, OUs), and the SCPs and RCPs attached at each level, as an organization document
  (`audit/org.py`); each active account becomes a `Target` that assumes the audit role in it.
* `Target`s can also be profiles, role ARNs, or saved files (`input_targets(DIR)`).
* `collect_one(target)` reads one target and loads it into its own model. It never raises: an
  account that cannot be read comes back with `error` set, so the others are still audited. It is a
  plain function of picklable arguments, so it can run in a thread or on a Dask worker; a worker
  builds its own credentials (its environment, or `source_profile`), none travel with the task.

Every AWS call here goes through the live collector's read-only call wrapper (Get/List/Describe
only, adaptive retries, errors recorded, never raised); the one exception is `sts:AssumeRole`, which
reads nothing and writes nothing (it returns temporary credentials).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

from ..loaders.live import CLIENT_CONFIG, _Collector, collect
from ..model.account import Model
from . import org as orgfile

SESSION_NAME = "iamlint-audit"
GAAD_OPERATIONS = ("GetAccountAuthorizationDetails",)


@dataclass(frozen=True)
class Target:
    """One thing to read: `kind` is role | profile | file; `ref` the role ARN, profile name or path."""

    kind: str
    ref: str
    account_id: str | None = None
    name: str | None = None
    external_id: str | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        if self.kind == "role":
            return self.account_id or self.ref
        return f"{self.kind} {self.ref}"


@dataclass
class AccountResult:
    target: Target
    accounts: list[str] = field(default_factory=list)      # account ids read (a snapshot may hold several)
    model: Model | None = None
    organization: dict | None = None                      # an organization file found among the inputs
    digest: str | None = None
    principals: int = 0
    errors: list[dict] = field(default_factory=list)      # partial: calls that failed, the rest was read
    error: dict | None = None                             # the account could not be read at all
    seconds: float = 0.0
    summary: object = None                                # split.Summary: what planning the analysis needs

    def light(self) -> "AccountResult":
        """This result without its model (what a Dask worker sends the scheduler's client back)."""
        from dataclasses import replace
        return replace(self, model=None)

    @property
    def ok(self) -> bool:
        return self.error is None


# ----------------------------------------------------------------------------------- one target


def digest_of(data: Any) -> str:
    """sha256 of the canonical JSON of what was read (role last-used dates left out: they move daily)."""
    def strip(v):
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items() if k not in ("RoleLastUsed", "last_used")}
        if isinstance(v, list):
            return [strip(x) for x in v]
        return v
    blob = json.dumps(strip(data), sort_keys=True, separators=(",", ":"), default=str).encode()
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def _error(target: Target, code: str, message: str, operation: str | None = None) -> dict:
    from ..loaders.live import _scrub
    return {"account": target.account_id or target.ref, "stage": "collect", "target": target.label,
            "operation": operation, "error_code": code, "message": _scrub(message)}


_LOADER = None


def new_session(**kwargs):
    """A boto3 session sharing one botocore data loader with every other session of the audit: each
    service model is parsed once per process, not once per account (most of an account's CPU time)."""
    global _LOADER
    import boto3
    import botocore.loaders
    import botocore.session

    if _LOADER is None:
        _LOADER = botocore.loaders.create_loader()
    bs = botocore.session.Session()
    bs.register_component("data_loader", _LOADER)
    return boto3.session.Session(botocore_session=bs, **kwargs)


SERVICES = ("sts", "iam", "organizations", "lambda", "ec2", "cloudformation", "sagemaker", "glue", "ecs")


def warm() -> None:
    """Parse the service models once, before the workers start (they would otherwise race to do it)."""
    s = new_session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    for svc in SERVICES:
        try:
            s.client(svc)
        except Exception:  # noqa: BLE001 - a service missing from this botocore: the collector records it
            pass


def assume(base, role_arn: str, external_id: str | None, region: str | None):
    """A session holding the audit role's temporary credentials (sts:AssumeRole)."""
    sts = base.client("sts", region_name=region or base.region_name or "us-east-1", config=CLIENT_CONFIG)
    params = {"RoleArn": role_arn, "RoleSessionName": SESSION_NAME}
    if external_id:
        params["ExternalId"] = external_id
    creds = sts.assume_role(**params)["Credentials"]
    return new_session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                       aws_session_token=creds["SessionToken"], region_name=region or base.region_name)


def collect_one(target: Target, *, regions: list[str] | None = None, source_profile: str | None = None,
                base_session=None) -> AccountResult:
    """Read and load one target. Never raises: failures come back in `error` / `errors`."""
    import botocore.exceptions

    from ..errors import IamlintError
    from ..loaders import load_data
    from ..loaders.common import read_json

    t0 = time.perf_counter()
    res = AccountResult(target)
    region = regions[0] if regions else None
    try:
        if target.kind == "file":
            data = read_json(target.ref)
            with open(target.ref, "rb") as fh:
                res.digest = "sha256:" + hashlib.sha256(fh.read()).hexdigest()
            if orgfile.looks_like_organization(data):
                orgfile.validate(data, target.ref)
                res.organization = data
                return res
            res.model = load_data(data, target.ref)
        else:
            if target.kind == "profile":
                session = _profile_session(target.ref, region)
            else:
                base = base_session if base_session is not None else _profile_session(source_profile, region)
                session = assume(base, target.ref, target.external_id, region)
            data = collect(session, regions=regions)
            res.digest = digest_of(data)
            res.model = load_data(data, f"aws:{target.label}")
    except IamlintError as exc:
        res.error = _error(target, "InputError", str(exc))
    except botocore.exceptions.ClientError as exc:
        err = exc.response.get("Error") or {}
        res.error = _error(target, str(err.get("Code") or "ClientError"), str(err.get("Message") or exc),
                           exc.operation_name)
    except Exception as exc:  # noqa: BLE001 - one account never stops the audit
        res.error = _error(target, type(exc).__name__, str(exc) or type(exc).__name__)
    finally:
        res.seconds = time.perf_counter() - t0
    if res.model is not None:
        res.accounts = sorted(res.model.accounts)
        res.principals = sum(len(a.principals) for a in res.model.accounts.values())
        for a in res.model.accounts.values():
            res.errors.extend(dict(e, account=a.id) for e in a.collection_errors)
        if target.kind != "file":
            gaad = [e for e in res.errors if e.get("operation") in GAAD_OPERATIONS
                    and e.get("error_code") not in ("MissingPolicy", "MissingGroup")]
            if gaad:
                e = gaad[0]
                res.error = _error(target, e.get("error_code") or "Error",
                                   "authorization details could not be read: " + str(e.get("message")),
                                   "GetAccountAuthorizationDetails")
                res.model = None
        if target.account_id and res.model is not None and target.account_id not in res.accounts:
            res.error = _error(target, "WrongAccount", f"expected account {target.account_id}, read "
                               f"{', '.join(res.accounts) or 'nothing'}")
            res.model = None
    if res.model is not None:
        from .split import summarize
        res.summary = summarize(res.model)
    return res


def _profile_session(profile: str | None, region: str | None):
    import botocore.exceptions

    from ..errors import UsageError
    try:
        return new_session(profile_name=profile, region_name=region)
    except botocore.exceptions.ProfileNotFound:
        raise UsageError(f"AWS profile {profile!r} not found") from None


# ----------------------------------------------------------------------------------- targets


def role_targets(role_arns: list[str], external_id: str | None = None) -> list[Target]:
    from ..errors import UsageError
    out = []
    for arn in role_arns:
        parts = arn.split(":")
        if len(parts) < 6 or parts[2] != "iam" or not parts[5].startswith("role/") or not parts[4].isdigit():
            raise UsageError(f"--role-arn {arn!r} is not an IAM role ARN")
        out.append(Target("role", arn, account_id=parts[4], external_id=external_id))
    return out


def profile_targets(profiles: list[str], check: bool = True) -> list[Target]:
    """One target per profile; with `check`, a profile missing from the local AWS config is a usage error."""
    if check:
        from ..errors import UsageError
        known = set(new_session().available_profiles)
        missing = [p for p in profiles if p not in known]
        if missing:
            raise UsageError(f"AWS profile(s) not found: {', '.join(missing)}")
    return [Target("profile", p) for p in profiles]


def input_targets(directory: str) -> list[Target]:
    """One target per JSON file of DIR (sorted): snapshots, authorization details, an organization file."""
    from ..errors import InputError
    if not os.path.isdir(directory):
        raise InputError("not a directory", source=directory)
    names = sorted(n for n in os.listdir(directory) if n.endswith(".json") and not n.startswith("."))
    if not names:
        raise InputError("no .json file in the directory", source=directory)
    return [Target("file", os.path.join(directory, n)) for n in names]


def organization_targets(session, role_name: str, *, external_id: str | None = None,
                         partition: str | None = None) -> tuple[list[Target], dict, list[dict], list[dict]]:
    """Read the organization (read-only). Returns (targets, organization document, skipped, errors).

    `skipped` lists the accounts that are not ACTIVE (suspended, closing): nothing to audit there.
    Raises UsageError when the organization itself cannot be read (no account list, nothing to audit).
    """
    from ..errors import UsageError

    c = _Collector(session, None, None)
    org = c.call("organizations", None, "DescribeOrganization")
    if not org:
        msg = c.errors[-1]["message"] if c.errors else "unknown error"
        raise UsageError(f"cannot read the AWS Organization ({getattr(org, 'code', '')}: {msg}); run from the "
                         "management account or a delegated administrator, or use --role-arn / --input")
    o = org.get("Organization") or {}
    part = partition or (o.get("Arn") or "arn:aws:").split(":")[1] or "aws"
    listed, ok = c.paginate("organizations", None, "ListAccounts")
    if not ok:
        raise UsageError("cannot list the organization's accounts: " + c.errors[-1]["message"])
    accounts = {a["Id"]: a for a in listed.get("Accounts", [])}

    roots_data, _ = c.paginate("organizations", None, "ListRoots")
    roots = roots_data.get("Roots", [])
    enabled = sorted({t["Type"] for r in roots for t in r.get("PolicyTypes") or []
                      if t.get("Status") == "ENABLED" and t.get("Type") in orgfile.TYPES})
    nodes: list[dict] = []
    parent_of: dict[str, str] = {}
    frontier = []
    for r in roots:
        nodes.append({"id": r["Id"], "kind": "root", "name": r.get("Name"), "parent": None})
        frontier.append(r["Id"])
    while frontier:                                        # the OU tree, breadth first
        def children(parent: str):
            # a failed listing is recorded; the accounts it would have placed get no guardrail table
            ous, _ = c.paginate("organizations", None, "ListOrganizationalUnitsForParent", ParentId=parent)
            accts, _ = c.paginate("organizations", None, "ListAccountsForParent", ParentId=parent)
            return parent, ous.get("OrganizationalUnits", []), accts.get("Accounts", [])
        nxt = []
        for parent, ous, accts in c.fan_out(children, frontier):
            for ou in ous:
                nodes.append({"id": ou["Id"], "kind": "ou", "name": ou.get("Name"), "parent": parent})
                nxt.append(ou["Id"])
            for a in accts:
                parent_of[a["Id"]] = parent
        frontier = nxt
    root_id = roots[0]["Id"] if roots else None
    for acct_id, a in sorted(accounts.items()):
        # an account whose parent could not be read hangs off the root, with its own policies unknown
        nodes.append({"id": acct_id, "kind": "account", "name": a.get("Name"),
                      "parent": parent_of.get(acct_id, root_id),
                      "status": a.get("State") or a.get("Status"), "_parent_known": acct_id in parent_of})
    if root_id is None:
        nodes = [n for n in nodes if n["kind"] != "account"]

    policies: dict[str, dict] = {}

    def attached(node: dict):
        if node["kind"] == "account" and not node.get("_parent_known", True):
            return node, {t: None for t in enabled}          # its OU levels are unknown
        out: dict[str, list | None] = {}
        for ptype in enabled:
            got, ok_ = c.paginate("organizations", None, "ListPoliciesForTarget", TargetId=node["id"], Filter=ptype)
            out[ptype] = [p["Id"] for p in got.get("Policies", [])] if ok_ else None
        return node, out

    for node, out in c.fan_out(attached, nodes):
        node["policies"] = out
        node.pop("_parent_known", None)
    wanted = sorted({pid for n in nodes for ids in (n.get("policies") or {}).values() if ids for pid in ids})

    def describe(pid: str):
        got = c.call("organizations", None, "DescribePolicy", PolicyId=pid)
        if not got:
            return pid, None
        p = got.get("Policy") or {}
        summ = p.get("PolicySummary") or {}
        try:
            doc = json.loads(p.get("Content") or "")
        except ValueError:
            c.errors.append({"service": "organizations", "operation": "DescribePolicy", "region": None,
                             "error_code": "InvalidPolicyContent", "message": f"policy {pid} is not JSON"})
            return pid, None
        return pid, {"id": pid, "type": summ.get("Type"), "name": summ.get("Name") or pid,
                     "arn": summ.get("Arn"), "document": doc}

    unread = set()
    for pid, pol in c.fan_out(describe, wanted):
        if pol is None or pol["type"] not in orgfile.TYPES:
            unread.add(pid)
        else:
            policies[pid] = pol
    if unread:                                             # a level with an unreadable policy is unknown
        for n in nodes:
            for t, ids in (n.get("policies") or {}).items():
                if ids is not None and unread & set(ids):
                    n["policies"][t] = None
    doc = {"format": orgfile.FORMAT, "schema_version": orgfile.SCHEMA_VERSION, "id": o.get("Id"),
           "management_account": o.get("MasterAccountId"), "policy_types": enabled,
           "policies": [policies[k] for k in sorted(policies)], "nodes": nodes}
    orgfile.validate(doc, "<organization>")

    targets, skipped = [], []
    for acct_id, a in sorted(accounts.items()):
        status = a.get("State") or a.get("Status")
        if status not in (None, "ACTIVE"):
            skipped.append({"account": acct_id, "name": a.get("Name"), "status": status})
            continue
        targets.append(Target("role", f"arn:{part}:iam::{acct_id}:role/{role_name.strip('/')}",
                              account_id=acct_id, name=a.get("Name"), external_id=external_id))
    errors = [dict(e, account=o.get("MasterAccountId") or "", stage="organization") for e in c.errors]
    return targets, doc, skipped, errors
