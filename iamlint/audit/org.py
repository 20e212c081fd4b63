"""The organization file: an AWS Organization's tree, its SCPs and RCPs (schema:
iamlint/schemas/organization.schema.json).

The live collector (`audit/collect.py`) writes this shape and `audit --input DIR` reads it, so one
parser serves both. The file holds the tree as AWS reports it (root, OUs, accounts, each with the ids
of the policies attached to it) and every policy once; `organization(doc)` turns it into the model's
`Organization`, where each account gets its guardrail levels, root first, account last.

Neither SCPs nor RCPs apply to the management account (its principals and its resources): it gets no
table. A policy type that is not enabled on the root (`policy_types`) does not apply at all: no table is
built for it, so the evaluator applies no SCPs (or RCPs). Where the policies attached to a node could
not be read (`"policies": null`), the accounts below it get no table for that type either, and the gap
is in the collection errors: leaving a guardrail out can only add reach, never hide it.
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from ..loaders.common import Reader
from ..model.account import GuardrailPolicy, Organization

FORMAT = "iamlint-organization"
SCHEMA_VERSION = 1
SCP = "SERVICE_CONTROL_POLICY"
RCP = "RESOURCE_CONTROL_POLICY"
TYPES = {SCP: "scp", RCP: "rcp"}


def looks_like_organization(data: Any) -> bool:
    return isinstance(data, dict) and data.get("format") == FORMAT


def validate(data: Any, source: str) -> dict:
    """Shape checks with one error naming the place; returns the document."""
    r = Reader(source)
    data = r.obj(data, "")
    if data.get("format") != FORMAT:
        raise r.fail("/format", f"not an iamlint organization file (format must be {FORMAT!r})")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise r.fail("/schema_version", f"unsupported organization schema_version {data.get('schema_version')!r} "
                                        f"(this iamlint reads {SCHEMA_VERSION})")
    r.str(data, "id", "", required=False)
    r.str(data, "management_account", "", required=False)
    for i, t in enumerate(r.lst(data, "policy_types", "")):
        if t not in TYPES:
            raise r.fail(f"/policy_types/{i}", f"policy type must be one of {', '.join(TYPES)}, not {t!r}")
    ids = set()
    for i, p in enumerate(r.lst(data, "policies", "")):
        ptr = f"/policies/{i}"
        p = r.obj(p, ptr)
        ids.add(r.str(p, "id", ptr))
        if r.str(p, "type", ptr) not in TYPES:
            raise r.fail(f"{ptr}/type", f"type must be one of {', '.join(TYPES)}")
        r.str(p, "name", ptr)
        r.policy(p.get("document"), f"{ptr}/document", TYPES[p["type"]])
    nodes = set()
    for i, n in enumerate(r.lst(data, "nodes", "", required=True)):
        ptr = f"/nodes/{i}"
        n = r.obj(n, ptr)
        nodes.add(r.str(n, "id", ptr))
        if r.str(n, "kind", ptr) not in ("root", "ou", "account"):
            raise r.fail(f"{ptr}/kind", "kind must be root, ou or account")
        if n["kind"] != "root":
            r.str(n, "parent", ptr)
        pols = n.get("policies")
        if pols is not None:
            pols = r.obj(pols, f"{ptr}/policies")
            for t, lst in pols.items():
                if t not in TYPES:
                    raise r.fail(f"{ptr}/policies", f"unknown policy type {t!r}")
                if lst is None:
                    continue
                for j, pid in enumerate(r.lst(pols, t, f"{ptr}/policies")):
                    if pid not in ids:
                        raise r.fail(f"{ptr}/policies/{t}/{j}", f"policy {pid!r} is not in /policies")
    for i, n in enumerate(data["nodes"]):
        if n["kind"] != "root" and n["parent"] not in nodes:
            raise r.fail(f"/nodes/{i}/parent", f"parent {n['parent']!r} is not a node of the file")
    return data


def organization(data: dict, source: str = "<organization>") -> Organization:
    """The model's Organization: per account, the guardrail levels root first, account last."""
    data = validate(data, source)
    r = Reader(source)
    docs = {p["id"]: GuardrailPolicy(p["name"], r.policy(p["document"], f"/policies/{i}/document", TYPES[p["type"]]),
                                     p.get("arn"))
            for i, p in enumerate(data.get("policies") or [])}
    nodes = {n["id"]: n for n in data["nodes"]}
    org = Organization(id=data.get("id"), management_account=data.get("management_account"))
    enabled = set(data.get("policy_types") or ())
    for node in data["nodes"]:
        if node["kind"] != "account" or node["id"] == org.management_account:
            continue       # SCPs and RCPs do not apply to the management account or to its resources
        chain, seen = [], set()
        cur = node
        while cur is not None:
            if cur["id"] in seen:
                raise InputError("the organization tree has a cycle", source=source, place=f"/nodes ({cur['id']})")
            seen.add(cur["id"])
            chain.append(cur)
            cur = nodes.get(cur.get("parent")) if cur["kind"] != "root" else None
        chain.reverse()
        for ptype, table in ((SCP, org.scps), (RCP, org.rcps)):
            if ptype not in enabled:
                continue
            levels = []
            for n in chain:
                ids = (n.get("policies") or {}).get(ptype)
                if ids is None:
                    levels = None                     # not read: no table (errors say so)
                    break
                levels.append((level_name(n), [docs[i] for i in ids]))
            if levels is not None:
                table[node["id"]] = levels
    return org


def level_name(node: dict) -> str:
    if node["kind"] == "root":
        return "root"
    if node["kind"] == "ou":
        return f"ou {node.get('name') or node['id']} ({node['id']})"
    return f"account {node['id']}"


def accounts(data: dict) -> list[dict]:
    """The account nodes: id, name, status."""
    return [n for n in data.get("nodes") or [] if n.get("kind") == "account"]
