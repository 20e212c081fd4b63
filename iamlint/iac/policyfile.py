"""A plain policy document in a file (identity or trust policy) -> a stand-in principal in the one model.

An identity policy becomes the only policy of a stand-in role `policy-file/<name>` that nobody can
assume (no trust policy): the rules judge what the policy grants, never who could use it. A trust
policy becomes the trust policy of a stand-in role `policy-file/<name>` with no permissions: the rules
judge who may assume it. A resource policy (statements with a Principal that are not about assuming
a role) is reported as an input gap: without its resource it is not modeled.

A policy file may be a CloudFormation snippet (a document kept beside its template, `!Sub`, `!Ref`, `!If`,
`Fn::Join` ... in it): intrinsics are resolved as in a template that has no resources. Pseudo parameters take
`--account`, `--region`, `--partition`, `--stack-name`; a `Ref` or `${Name}` takes `--parameter Name=...`,
else it is a value known at deploy time (a marker: what depends on it is Conditional, never guessed); a
`GetAtt`, a mapping and a condition are known at deploy time too (`!If` keeps both branches). Account ids
written as numbers are read as in templates (see `Template.account_text`).
"""

from __future__ import annotations

import re
from typing import Any

from ..model.account import Kind, Model, Principal
from .build import Builder
from .cloudformation import Template
from .index import Index, Options, Origin
from .positions import Positions, position
from .symbolic import build_policy, marker

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


class _AnyName(dict):
    """Every plain name is here (a snippet's Ref and ${Name} may name anything its template defines); names
    with ':' (IAM policy variables such as ${aws:username}) and '.' (GetAtt) are not."""

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(name) and ":" not in name and "." not in name


class Snippet(Template):
    """The intrinsic functions of a template with nothing but what the options give (see the module doc)."""

    def __init__(self, positions: Positions, source: str, opts: Options):     # noqa: D107 - no template
        self.pos, self.src, self.opts = positions, source, opts
        self.t: dict = {}
        self.params, self.resources = _AnyName(), _AnyName()
        self.mappings: dict = {}
        self.cond_raw: dict = {}
        self.virtual: dict = {}
        self._attrs: dict = {}
        self._busy: set = set()
        self._conds: dict = {}

    def attr(self, lid: str, attr: str, ptr: str):
        return marker(f"GetAtt:{lid}.{attr}" if attr != "Ref" else f"Ref:{lid}")

    def condition(self, name: str, ptr: str):
        return None         # decided at deploy time: Fn::If keeps both branches

    def fn(self, k: str, arg, ptr: str):
        if k == "Fn::FindInMap":
            keys = arg if isinstance(arg, list) else [arg]
            names = [self.resolve(x, ptr) for x in keys[:3]]
            return marker("FindInMap:" + ".".join(x if isinstance(x, str) and "${" not in x else "?" for x in names))
        return super().fn(k, arg, ptr)


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
    snippet = Snippet(positions, source, opts)
    doc, stmts = build_policy(data, kind, source, "", positions,
                              lambda v, at: snippet._accounts_in(snippet.resolve(v, at), at))
    if kind == "trust":
        p.trust_policy = doc
        index.document(doc, origin, "", stmts)
        b.add(p, origin)
    else:
        b.add(p, origin)
        b.inline(p, name, doc, origin, "", stmts)
    index.files.append((source, f"{kind}-policy"))
    return kind
