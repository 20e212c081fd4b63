"""iamlint's own snapshot format: a versioned JSON document (schema: iamlint/schemas/snapshot.schema.json).

Objects reference each other by ARN. `to_snapshot(model)` and `load_snapshot(data)` round-trip:
writing a snapshot and loading it back gives the same model.
"""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..model.account import (GuardrailPolicy, InlinePolicy, Kind, ManagedPolicy, Model,
                             Organization, PolicyVersion, Principal)
from .common import Batch, Reader, account_of, esc, principal_arn, type_name
from .gaad import UNKNOWN_ACCOUNT, finish

SCHEMA_VERSION = 1
FORMAT = "iamlint-snapshot"


def looks_like_snapshot(data: Any) -> bool:
    return isinstance(data, dict) and data.get("format") == FORMAT


def _doc(d) -> Any:
    return d.original if d is not None else None


def to_snapshot(model: Model) -> dict:
    accounts = []
    for acct in sorted(model.accounts.values(), key=lambda a: a.id):
        principals = []
        for p in sorted(acct.principals.values(), key=lambda p: (p.kind.value, p.arn)):
            principals.append({
                "arn": p.arn, "kind": p.kind.value, "name": p.name, "id": p.id, "path": p.path,
                "create_date": p.create_date,
                "inline_policies": [{"name": ip.name, "document": _doc(ip.document)} for ip in p.inline_policies],
                "managed_policies": list(p.managed_policies),
                "groups": list(p.groups), "members": list(p.members),
                "permissions_boundary": p.permissions_boundary,
                "trust_policy": _doc(p.trust_policy),
                "tags": dict(p.tags), "max_session_duration": p.max_session_duration,
                "last_used": p.last_used, "instance_profiles": list(p.instance_profiles),
            })
        accounts.append({"account_id": acct.id, "alias": acct.alias, "principals": principals,
                         "inventory": acct.inventory, "collection_errors": acct.collection_errors,
                         "sources": list(acct.sources)})
    policies = []
    for pol in sorted(model.policies.values(), key=lambda p: p.arn):
        policies.append({
            "arn": pol.arn, "name": pol.name, "path": pol.path, "id": pol.id,
            "default_version": pol.default_version, "attachment_count": pol.attachment_count,
            "boundary_usage_count": pol.boundary_usage_count, "is_attachable": pol.is_attachable,
            "missing": pol.missing,
            "versions": [{"version_id": v.version_id, "is_default": v.is_default, "create_date": v.create_date,
                          "document": _doc(v.document)} for v in pol.versions],
        })
    org = None
    if model.organization is not None:
        o = model.organization

        def levels(table):
            return {acct: [{"level": name, "policies": [{"name": g.name, "arn": g.arn, "document": _doc(g.document)}
                                                        for g in pols]} for name, pols in lvls]
                    for acct, lvls in sorted(table.items())}
        org = {"id": o.id, "management_account": o.management_account,
               "scps": levels(o.scps), "rcps": levels(o.rcps)}
    return {"format": FORMAT, "schema_version": SCHEMA_VERSION, "generator": f"iamlint {__version__}",
            "accounts": accounts, "policies": policies, "organization": org}


def load_snapshot(data: Any, source: str, model: Model | None = None, batch: Batch | None = None) -> Model:
    model = model if model is not None else Model()
    own_batch = batch is None
    batch = batch if batch is not None else Batch()
    r = Reader(source)
    data = r.obj(data, "")
    if data.get("format") != FORMAT:
        raise r.fail("/format", f"not an iamlint snapshot (format must be {FORMAT!r})")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise r.fail("/schema_version", f"unsupported snapshot schema_version {version!r} "
                                        f"(this iamlint reads {SCHEMA_VERSION})")
    for i, pol in enumerate(r.lst(data, "policies", "")):
        ptr = f"/policies/{i}"
        pol = r.obj(pol, ptr)
        versions = []
        for j, v in enumerate(r.lst(pol, "versions", ptr)):
            vp = f"{ptr}/versions/{j}"
            v = r.obj(v, vp)
            versions.append(PolicyVersion(r.str(v, "version_id", vp), r.policy(v.get("document"), f"{vp}/document",
                                                                               "identity"),
                                          r.flag(v, "is_default", vp, False), r.str(v, "create_date", vp, required=False)))
        arn = r.arn(pol, "arn", ptr)
        model.policies[arn] = ManagedPolicy(
            arn=arn, name=r.str(pol, "name", ptr), path=r.str(pol, "path", ptr, required=False, default="/"),
            id=r.str(pol, "id", ptr, required=False), default_version=r.str(pol, "default_version", ptr, False),
            versions=versions, attachment_count=r.int(pol, "attachment_count", ptr),
            boundary_usage_count=r.int(pol, "boundary_usage_count", ptr),
            is_attachable=r.flag(pol, "is_attachable", ptr, True), missing=r.flag(pol, "missing", ptr, False))
    for i, a in enumerate(r.lst(data, "accounts", "", required=True)):
        ap = f"/accounts/{i}"
        a = r.obj(a, ap)
        acct_id = r.str(a, "account_id", ap)
        if not (acct_id.isascii() and acct_id.isdigit() and len(acct_id) == 12) and acct_id != UNKNOWN_ACCOUNT:
            raise r.fail(f"{ap}/account_id", f"account_id must be a 12-digit account id (or {UNKNOWN_ACCOUNT!r}), "
                                             f"not {acct_id[:40]!r}")
        acct = model.account(acct_id)
        acct.alias = r.str(a, "alias", ap, required=False)
        inv = a.get("inventory")
        acct.inventory = r.obj(inv if inv is not None else {}, f"{ap}/inventory")
        acct.collection_errors.extend(r.obj(e, f"{ap}/collection_errors/{k}")
                                      for k, e in enumerate(r.lst(a, "collection_errors", ap)))
        acct.sources.extend(_strings(r, a, "sources", ap))
        for j, p in enumerate(r.lst(a, "principals", ap)):
            pp = f"{ap}/principals/{j}"
            p = r.obj(p, pp)
            kind_s = r.str(p, "kind", pp)
            try:
                kind = Kind(kind_s)
            except ValueError:
                raise r.fail(f"{pp}/kind", f"kind must be user, role or group, not {kind_s!r}") from None
            arn = principal_arn(r, r.arn(p, "arn", pp), f"{pp}/arn", kind.value)
            if account_of(arn) != acct.id:
                raise r.fail(f"{pp}/arn", f"{arn} is not in account {acct.id}, the account it is listed under")
            batch.principal(r, arn, pp, model)
            last_used = p.get("last_used")
            if last_used is not None and not isinstance(last_used, dict):
                raise r.fail(f"{pp}/last_used", f"last_used must be an object or null, found {type_name(last_used)}")
            tags = r.obj(p.get("tags") if p.get("tags") is not None else {}, f"{pp}/tags")
            for k, v in tags.items():
                if not isinstance(v, str):
                    raise r.fail(f"{pp}/tags/{esc(k)}", f"tag values must be strings, found {type_name(v)}")
            pr = Principal(
                arn=arn, name=r.str(p, "name", pp), kind=kind, account=acct.id, id=r.str(p, "id", pp, False),
                path=r.str(p, "path", pp, required=False, default="/"),
                create_date=r.str(p, "create_date", pp, required=False),
                inline_policies=[InlinePolicy(r.str(r.obj(ip, f"{pp}/inline_policies/{k}"), "name",
                                                    f"{pp}/inline_policies/{k}"),
                                              r.policy(ip.get("document"), f"{pp}/inline_policies/{k}/document",
                                                       "identity"))
                                 for k, ip in enumerate(r.lst(p, "inline_policies", pp))],
                managed_policies=_arns(r, p, "managed_policies", pp),
                groups=_arns(r, p, "groups", pp),
                members=_arns(r, p, "members", pp),
                permissions_boundary=r.arn(p, "permissions_boundary", pp, required=False),
                trust_policy=(r.policy(p["trust_policy"], f"{pp}/trust_policy", "trust")
                              if p.get("trust_policy") is not None else None),
                tags=dict(tags),
                max_session_duration=r.int(p, "max_session_duration", pp),
                last_used=last_used,
                instance_profiles=_arns(r, p, "instance_profiles", pp),
            )
            acct.principals[arn] = pr
            if pr.groups:
                batch.group_arns.append((pr, [(g, f"{pp}/groups/{k}") for k, g in enumerate(pr.groups)], source))
    org = data.get("organization")
    if org is not None:
        org = r.obj(org, "/organization")
        o = Organization(id=r.str(org, "id", "/organization", False),
                         management_account=r.str(org, "management_account", "/organization", False))
        for table_key, table in (("scps", o.scps), ("rcps", o.rcps)):
            raw = r.obj(org.get(table_key) or {}, f"/organization/{table_key}")
            for acct_id, lvls in raw.items():
                tp = f"/organization/{table_key}/{acct_id}"
                if not isinstance(lvls, list):
                    raise r.fail(tp, "levels must be a list")
                out = []
                for k, lvl in enumerate(lvls):
                    lp = f"{tp}/{k}"
                    lvl = r.obj(lvl, lp)
                    pols = [GuardrailPolicy(r.str(r.obj(g, f"{lp}/policies/{m}"), "name", f"{lp}/policies/{m}"),
                                            r.policy(g.get("document"), f"{lp}/policies/{m}/document",
                                                     table_key[:-1]),
                                            r.arn(g, "arn", f"{lp}/policies/{m}", required=False))
                            for m, g in enumerate(r.lst(lvl, "policies", lp, required=True))]
                    out.append((r.str(lvl, "level", lp), pols))
                table[acct_id] = out
        model.organization = o
    if own_batch:
        finish(model, batch)
    return model


def _strings(r: Reader, parent: dict, key: str, ptr: str) -> list[str]:
    out = []
    for i, x in enumerate(r.lst(parent, key, ptr)):
        if not isinstance(x, str):
            raise r.fail(f"{ptr}/{esc(key)}/{i}", f"{key} entries must be strings, found {type_name(x)}")
        out.append(x)
    return out


def _arns(r: Reader, parent: dict, key: str, ptr: str) -> list[str]:
    out = _strings(r, parent, key, ptr)
    for i, x in enumerate(out):
        if not x.startswith("arn:") or x.count(":") < 5:
            raise r.fail(f"{ptr}/{esc(key)}/{i}", f"{key} entries must be ARNs, not {x[:80]!r}")
    return out
