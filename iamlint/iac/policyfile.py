"""A plain policy document in a file (identity or trust policy) -> a stand-in principal in the one model.

An identity policy becomes the only policy of a stand-in role `policy-file/<name>` that nobody can
assume (no trust policy): the rules judge what the policy grants, never who could use it. A trust
policy becomes the trust policy of a stand-in role `policy-file/<name>` with no permissions: the rules
judge who may assume it. A resource policy (statements with a Principal that are not about assuming
a role) is reported as an input gap: without its resource it is not modeled.
"""

from __future__ import annotations

import re
from typing import Any

from ..model.account import Kind, Model, Principal
from .build import Builder
from .index import Index, Options, Origin
from .positions import Positions, position
from .symbolic import build_policy

ASSUME = re.compile(r"^sts:(assumerole\w*|tagsession|setsourceidentity|setcontext)$", re.I)
PATH = "/policy-file/"


def looks_like_policy(data: Any) -> bool:
    return isinstance(data, dict) and "Statement" in data and \
        set(data) <= {"Version", "Id", "Statement"}


def policy_kind(data: dict) -> str:
    """identity | trust | resource, from the statements as written."""
    st = data.get("Statement")
    items = st if isinstance(st, list) else [st]
    items = [s for s in items if isinstance(s, dict)]
    if not items or not any("Principal" in s or "NotPrincipal" in s for s in items):
        return "identity"
    actions = []
    for s in items:
        a = s.get("Action", [])
        actions.extend(a if isinstance(a, list) else [a])
    if actions and all(isinstance(a, str) and ASSUME.match(a) for a in actions):
        return "trust"
    return "resource"


def _name(source: str) -> str:
    stem = source.rsplit("/", 1)[-1]
    for ext in (".json", ".yaml", ".yml"):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
    return re.sub(r"[^\w+=,.@-]", "-", stem)[:64] or "policy"


def load_policy_file(data: Any, positions: Positions, source: str, model: Model, opts: Options,
                     index: Index) -> str:
    kind = policy_kind(data)
    b = Builder(model, index, opts, source, "policy")
    pos = position(positions, "") or (1, 1)
    origin = Origin(source, "", pos[0], pos[1], "", "policy")
    if kind == "resource":
        b.gap("ResourcePolicyFile", "a resource policy without its resource is not modeled; check it as part of "
                                    "its template or plan")
        index.files.append((source, "resource-policy"))
        return kind
    name = _name(source)
    arn = b.arn(Kind.ROLE, name, PATH)
    p = Principal(arn=arn, name=name, kind=Kind.ROLE, account=opts.account, path=PATH)
    doc, stmts = build_policy(data, kind, source, "", positions)
    if kind == "trust":
        p.trust_policy = doc
        index.document(doc, origin, "", stmts)
        b.add(p, origin)
    else:
        b.add(p, origin)
        b.inline(p, name, doc, origin, "", stmts)
    index.files.append((source, f"{kind}-policy"))
    return kind
