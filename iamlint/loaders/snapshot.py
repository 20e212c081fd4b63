"""iamlint's own snapshot format: a versioned JSON document (schema: iamlint/schemas/snapshot.schema.json).

Objects reference each other by ARN. `to_snapshot(model)` and `load_snapshot(data)` round-trip:
writing a snapshot and loading it back gives the same model.
"""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..model.account import (Account, GuardrailPolicy, InlinePolicy, Kind, ManagedPolicy, Model,
                             Organization, PolicyVersion, Principal)
from .common import Reader

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


def load_snapshot(data: Any, source: str, model: Model | None = None) -> Model:
    model = model if model is not None else Model()
    r = Reader(source)
    data = r.obj(data, "")
    if data.get("format") != FORMAT:
        raise r.fail("/format", f"not an iamlint snapshot (format must be {FORMAT!r})")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
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
                                          bool(v.get("is_default")), r.str(v, "create_date", vp, required=False)))
        arn = r.arn(pol, "arn", ptr)
        model.policies[arn] = ManagedPolicy(
            arn=arn, name=r.str(pol, "name", ptr), path=r.str(pol, "path", ptr, required=False, default="/"),
            id=r.str(pol, "id", ptr, required=False), default_version=r.str(pol, "default_version", ptr, False),
            versions=versions, attachment_count=r.int(pol, "attachment_count", ptr),
            boundary_usage_count=r.int(pol, "boundary_usage_count", ptr),
            is_attachable=pol.get("is_attachable", True) is not False, missing=bool(pol.get("missing")))
    for i, a in enumerate(r.lst(data, "accounts", "", required=True)):
        ap = f"/accounts/{i}"
        a = r.obj(a, ap)
        acct = model.account(r.str(a, "account_id", ap))
        acct.alias = r.str(a, "alias", ap, required=False)
        inv = a.get("inventory") or {}
        acct.inventory = r.obj(inv, f"{ap}/inventory")
        acct.collection_errors.extend(r.obj(e, f"{ap}/collection_errors/{k}")
                                      for k, e in enumerate(r.lst(a, "collection_errors", ap)))
        acct.sources.extend(str(s) for s in r.lst(a, "sources", ap))
        for j, p in enumerate(r.lst(a, "principals", ap)):
            pp = f"{ap}/principals/{j}"
            p = r.obj(p, pp)
            kind_s = r.str(p, "kind", pp)
            try:
                kind = Kind(kind_s)
            except ValueError:
                raise r.fail(f"{pp}/kind", f"kind must be user, role or group, not {kind_s!r}") from None
            arn = r.arn(p, "arn", pp)
            pr = Principal(
                arn=arn, name=r.str(p, "name", pp), kind=kind, account=acct.id, id=r.str(p, "id", pp, False),
                path=r.str(p, "path", pp, required=False, default="/"),
                create_date=r.str(p, "create_date", pp, required=False),
                inline_policies=[InlinePolicy(r.str(r.obj(ip, f"{pp}/inline_policies/{k}"), "name",
                                                    f"{pp}/inline_policies/{k}"),
                                              r.policy(ip.get("document"), f"{pp}/inline_policies/{k}/document",
                                                       "identity"))
                                 for k, ip in enumerate(r.lst(p, "inline_policies", pp))],
                managed_policies=[str(x) for x in r.lst(p, "managed_policies", pp)],
                groups=[str(x) for x in r.lst(p, "groups", pp)],
                members=[str(x) for x in r.lst(p, "members", pp)],
                permissions_boundary=r.str(p, "permissions_boundary", pp, required=False),
                trust_policy=(r.policy(p["trust_policy"], f"{pp}/trust_policy", "trust")
                              if p.get("trust_policy") is not None else None),
                tags={str(k): str(v) for k, v in r.obj(p.get("tags") or {}, f"{pp}/tags").items()},
                max_session_duration=r.int(p, "max_session_duration", pp),
                last_used=p.get("last_used"),
                instance_profiles=[str(x) for x in r.lst(p, "instance_profiles", pp)],
            )
            acct.principals[arn] = pr
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
                                            g.get("arn"))
                            for m, g in enumerate(r.lst(lvl, "policies", lp))]
                    out.append((r.str(lvl, "level", lp), pols))
                table[acct_id] = out
        model.organization = o
    return model
