"""`aws iam get-account-authorization-details` output (as the AWS CLI writes it) → Model.

Documents may be JSON objects or URL-encoded strings. Several files (several accounts) merge into
one model. The live collector (`loaders/live.py`) emits the same shape plus `AccountId`,
`Inventory` and `CollectionErrors`, so one loader serves both.
"""

from __future__ import annotations

from typing import Any

from ..model.account import Account, InlinePolicy, Kind, ManagedPolicy, Model, PolicyVersion, Principal
from .common import Batch, Reader, account_of, esc, principal_arn, tags_of

DETAIL_KEYS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
UNKNOWN_ACCOUNT = "unknown"   # the account of an input that names none (see load_gaad)


def looks_like_gaad(data: Any) -> bool:
    return isinstance(data, dict) and any(k in data for k in DETAIL_KEYS)


def _inline(r: Reader, item: dict, key: str, ptr: str) -> list[InlinePolicy]:
    out = []
    for i, p in enumerate(r.lst(item, key, ptr)):
        pp = f"{ptr}/{key}/{i}"
        p = r.obj(p, pp)
        name = r.str(p, "PolicyName", pp)
        if "PolicyDocument" not in p:
            raise r.fail(pp, "missing PolicyDocument")
        out.append(InlinePolicy(name, r.policy(p["PolicyDocument"], f"{pp}/PolicyDocument", "identity")))
    return out


def _attached(r: Reader, item: dict, ptr: str) -> list[str]:
    out = []
    for i, p in enumerate(r.lst(item, "AttachedManagedPolicies", ptr)):
        pp = f"{ptr}/AttachedManagedPolicies/{i}"
        out.append(r.arn(r.obj(p, pp), "PolicyArn", pp))
    return out


def _boundary(r: Reader, item: dict, ptr: str) -> str | None:
    b = item.get("PermissionsBoundary")
    if not b:
        return None
    b = r.obj(b, f"{ptr}/PermissionsBoundary")
    return r.arn(b, "PermissionsBoundaryArn", f"{ptr}/PermissionsBoundary")


def load_gaad(data: Any, source: str, model: Model | None = None, batch: Batch | None = None) -> Model:
    """Load one authorization-details document into `model`. With a `batch` (several files loaded together),
    group memberships and missing policies are settled by `finish(model, batch)` after the last file."""
    model = model if model is not None else Model()
    own_batch = batch is None
    batch = batch if batch is not None else Batch()
    r = Reader(source)
    data = r.obj(data, "")
    if not looks_like_gaad(data):
        raise r.fail("", "not an authorization-details document (no UserDetailList, RoleDetailList, "
                         "GroupDetailList or Policies)")
    account_id = data.get("AccountId") if isinstance(data.get("AccountId"), str) else None

    for i, p in enumerate(r.lst(data, "Policies", "")):
        ptr = f"/Policies/{i}"
        p = r.obj(p, ptr)
        arn = r.arn(p, "Arn", ptr)
        versions = []
        for j, v in enumerate(r.lst(p, "PolicyVersionList", ptr)):
            vp = f"{ptr}/PolicyVersionList/{j}"
            v = r.obj(v, vp)
            if "Document" not in v:
                raise r.fail(vp, "missing Document")
            versions.append(PolicyVersion(
                version_id=r.str(v, "VersionId", vp, required=False, default=f"v{j + 1}"),
                document=r.policy(v["Document"], f"{vp}/Document", "identity"),
                is_default=r.flag(v, "IsDefaultVersion", vp, False),
                create_date=_date(v.get("CreateDate"))))
        default = r.str(p, "DefaultVersionId", ptr, required=False)
        if default and not any(v.is_default for v in versions):
            for v in versions:
                v.is_default = v.version_id == default
        model.policies[arn] = ManagedPolicy(
            arn=arn, name=r.str(p, "PolicyName", ptr, required=False, default=arn.rsplit("/", 1)[-1]),
            path=r.str(p, "Path", ptr, required=False, default="/"), id=r.str(p, "PolicyId", ptr, required=False),
            default_version=default, versions=versions, attachment_count=r.int(p, "AttachmentCount", ptr),
            boundary_usage_count=r.int(p, "PermissionsBoundaryUsageCount", ptr),
            is_attachable=r.flag(p, "IsAttachable", ptr, True))
        if account_id is None and account_of(arn) not in ("", "aws"):
            account_id = account_of(arn)

    def principal(item: dict, ptr: str, kind: Kind, name_key: str, id_key: str) -> Principal:
        arn = principal_arn(r, r.arn(item, "Arn", ptr), f"{ptr}/Arn", kind.value)
        batch.principal(r, arn, ptr, model)
        acct = account_of(arn)
        return Principal(
            arn=arn, name=r.str(item, name_key, ptr, required=False, default=arn.rsplit("/", 1)[-1]),
            kind=kind, account=acct, id=r.str(item, id_key, ptr, required=False),
            path=r.str(item, "Path", ptr, required=False, default="/"),
            create_date=_date(item.get("CreateDate")),
            managed_policies=_attached(r, item, ptr), permissions_boundary=_boundary(r, item, ptr),
            tags=tags_of(r, item, ptr))

    for i, g in enumerate(r.lst(data, "GroupDetailList", "")):
        ptr = f"/GroupDetailList/{i}"
        g = r.obj(g, ptr)
        p = principal(g, ptr, Kind.GROUP, "GroupName", "GroupId")
        p.inline_policies = _inline(r, g, "GroupPolicyList", ptr)
        model.account(p.account).principals[p.arn] = p

    for i, u in enumerate(r.lst(data, "UserDetailList", "")):
        ptr = f"/UserDetailList/{i}"
        u = r.obj(u, ptr)
        p = principal(u, ptr, Kind.USER, "UserName", "UserId")
        p.inline_policies = _inline(r, u, "UserPolicyList", ptr)
        names = []
        for j, gname in enumerate(r.lst(u, "GroupList", ptr)):
            if not isinstance(gname, str):
                raise r.fail(f"{ptr}/GroupList/{j}", "group names must be strings")
            names.append((gname, f"{ptr}/GroupList/{j}"))
        batch.members.append((p, names, source))
        model.account(p.account).principals[p.arn] = p

    listed: dict[str, dict[str, dict]] = {}   # account -> instance profile ARN -> entry, while every role lists its own
    for i, ro in enumerate(r.lst(data, "RoleDetailList", "")):
        ptr = f"/RoleDetailList/{i}"
        ro = r.obj(ro, ptr)
        p = principal(ro, ptr, Kind.ROLE, "RoleName", "RoleId")
        p.inline_policies = _inline(r, ro, "RolePolicyList", ptr)
        if ro.get("AssumeRolePolicyDocument") is not None:
            p.trust_policy = r.policy(ro["AssumeRolePolicyDocument"], f"{ptr}/AssumeRolePolicyDocument", "trust")
        p.max_session_duration = r.int(ro, "MaxSessionDuration", ptr)
        lu = ro.get("RoleLastUsed")
        p.last_used = lu if isinstance(lu, dict) and lu else None
        for j, ip in enumerate(r.lst(ro, "InstanceProfileList", ptr)):
            ipp = f"{ptr}/InstanceProfileList/{j}"
            p.instance_profiles.append(r.arn(r.obj(ip, ipp), "Arn", ipp))
        if listed is not None and "InstanceProfileList" in ro:
            profiles = listed.setdefault(p.account, {})
            for j, ip_arn in enumerate(p.instance_profiles):
                entry = profiles.setdefault(ip_arn, {"arn": ip_arn, "name": ip_arn.rsplit("/", 1)[-1], "roles": []})
                entry["roles"].append(p.arn)
        else:
            listed = None     # a role without the list (a hand-written file): the profiles stay unknown
        model.account(p.account).principals[p.arn] = p
    if listed:
        _profiles_inventory(model, listed)

    if account_id is None:
        for acct in model.accounts:
            account_id = acct
            break
    if account_id is None and (data.get("CollectionErrors") or data.get("Inventory")):
        # nothing names the account (sts and IAM both failed): keep what could not be read under an
        # unknown account, so the report lists it instead of looking like a clean, empty account
        account_id = UNKNOWN_ACCOUNT
    if account_id is not None:
        acct = model.account(account_id)
        acct.sources.append(source)
        _extras(r, data, acct)
    if own_batch:
        finish(model, batch)
    return model


def finish(model: Model, batch: Batch) -> None:
    """After the last file of a batch: users join the groups they name (a group of another file of the same
    account too), and every policy a principal names that no file holds is kept as `missing` and reported."""
    by_name: dict[tuple[str, str], str] = {}
    for acct in model.accounts.values():
        for p in acct.principals.values():
            if p.kind is Kind.GROUP:
                by_name.setdefault((p.account, p.name), p.arn)
    for user, names, source in batch.members:
        for gname, gptr in names:
            garn = by_name.get((user.account, gname))
            if garn is None:
                model.account(user.account).collection_errors.append({
                    "service": "iam", "operation": "GetAccountAuthorizationDetails", "region": None,
                    "error_code": "MissingGroup",
                    "message": f"{source}: {gptr}: user {user.name} is in group {gname}, which is not in the input"})
                continue
            if garn not in user.groups:
                user.groups.append(garn)
            group = model.account(user.account).principals[garn]
            if user.arn not in group.members:
                group.members.append(user.arn)
    for user, arns, source in batch.group_arns:
        kept = []
        for garn, gptr in arns:
            if model.principal(garn) is None:
                model.account(user.account).collection_errors.append({
                    "service": "iam", "operation": "GetAccountAuthorizationDetails", "region": None,
                    "error_code": "MissingGroup",
                    "message": f"{source}: {gptr}: user {user.name} is in group {garn}, which is not in the input"})
                continue
            kept.append(garn)
        user.groups[:] = kept
    batch.members.clear()
    batch.group_arns.clear()
    _mark_missing(model, batch)


def _profiles_inventory(model: Model, listed: dict[str, dict[str, dict]]) -> None:
    """The instance profiles of each account, from the roles' own lists: `get-account-authorization-details`
    gives every role its InstanceProfileList, so a role listing none has none (EC2 cannot run as it
    without a new profile), as the live collector reads it. Added to what the input's inventory lists; the
    pages of a paginated file add up. A file with a role lacking the list (hand-written) adds nothing."""
    for acct_id, profiles in listed.items():
        acct = model.account(acct_id)
        if acct.inventory is None:
            acct.inventory = {}
        have = acct.inventory.get("instance_profiles")
        if not isinstance(have, list):
            acct.inventory["instance_profiles"] = list(profiles.values())
            continue
        known = {x.get("arn"): x for x in have if isinstance(x, dict)}
        for arn, entry in profiles.items():
            if arn not in known:
                have.append(entry)
            elif isinstance(known[arn].get("roles"), list):
                known[arn]["roles"].extend(x for x in entry["roles"] if x not in known[arn]["roles"])


def _extras(r: Reader, data: dict, acct: Account) -> None:
    inv = data.get("Inventory")
    if inv is not None:
        acct.inventory = r.obj(inv, "/Inventory")
    errs = data.get("CollectionErrors")
    if errs is not None:
        for i, e in enumerate(r.lst(data, "CollectionErrors", "")):
            acct.collection_errors.append(r.obj(e, f"/CollectionErrors/{i}"))
    alias = data.get("AccountAlias")
    if isinstance(alias, str):
        acct.alias = alias
    elif isinstance(inv, dict) and inv.get("account_aliases"):
        acct.alias = str(inv["account_aliases"][0])


def _mark_missing(model: Model, batch: Batch) -> None:
    """Policies named by principals but absent from the input: kept as `missing`, reported (R21)."""
    for p in model.principals():
        if p.arn not in batch.seen:
            continue            # loaded before this batch (it was settled then)
        source = batch.source_of(p.arn, "")
        for arn in p.managed_policies + ([p.permissions_boundary] if p.permissions_boundary else []):
            if arn not in model.policies:
                model.policies[arn] = ManagedPolicy(arn=arn, name=arn.rsplit("/", 1)[-1], missing=True)
                model.account(p.account).collection_errors.append({
                    "service": "iam", "operation": "GetAccountAuthorizationDetails", "region": None,
                    "error_code": "MissingPolicy",
                    "message": f"{source}: managed policy {arn} (used by {p.name}) is not in the input; "
                               "findings that depend on it are incomplete"})


def _date(v: Any) -> str | None:
    if v is None:
        return None
    return str(v)


__all__ = ["load_gaad", "looks_like_gaad", "esc"]
