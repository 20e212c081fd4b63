"""Shared by the IaC loaders: put principals and policies into the one model, as the GAAD loader does."""

from __future__ import annotations

from ..model.account import InlinePolicy, Kind, ManagedPolicy, Model, PolicyVersion, Principal
from . import aws_managed
from .index import Index, Options, Origin, gap
from .symbolic import build_policy, has_marker, markers_in, unknown_document


class Builder:
    def __init__(self, model: Model, index: Index, opts: Options, source: str, kind: str):
        self.model = model
        self.index = index
        self.opts = opts
        self.src = source
        self.kind = kind
        self.acct = opts.account
        self.by_name: dict[tuple[Kind, str], str] = {}
        acct = model.account(self.acct)
        if source not in acct.sources:
            acct.sources.append(source)

    # ---------------------------------------------------------------- names
    def arn(self, kind: Kind, name: str, path: str = "/") -> str:
        return f"arn:{self.opts.partition}:iam::{self.acct}:{kind.value}{path}{name}"

    def policy_arn(self, name: str, path: str = "/") -> str:
        return f"arn:{self.opts.partition}:iam::{self.acct}:policy{path}{name}"

    def gap(self, code: str, message: str) -> None:
        gap(self.model, self.acct, self.kind, code, f"{self.src}: {message}")

    # ---------------------------------------------------------------- principals
    def add(self, p: Principal, origin: Origin) -> Principal:
        acct = self.model.account(self.acct)
        old = acct.principals.get(p.arn)
        if old is not None:
            prev = self.index.principals.get(p.arn)
            if prev is not None:
                self.gap("DuplicatePrincipal", f"{p.kind.value} {p.name} is defined twice (also in {prev.file}); "
                                               "the later definition wins")
            else:
                # a deployed principal the template redefines: keep what only the account knows
                p.id = p.id or old.id
                p.create_date = p.create_date or old.create_date
                p.last_used = p.last_used or old.last_used
                p.members = list(dict.fromkeys(old.members + p.members))
                p.instance_profiles = list(dict.fromkeys(old.instance_profiles + p.instance_profiles))
        acct.principals[p.arn] = p
        self.index.principal(p.arn, origin)
        self.by_name[(p.kind, p.name)] = p.arn
        return p

    def find(self, kind: Kind, name: str) -> Principal | None:
        arn = self.by_name.get((kind, name))
        if arn is not None:
            return self.model.principal(arn)
        if name.startswith("arn:"):
            p = self.model.principal(name)
            return p if p is not None and p.kind is kind else None
        acct = self.model.accounts.get(self.acct)
        hits = [p for p in (acct.principals.values() if acct else ()) if p.kind is kind and p.name == name]
        return hits[0] if len(hits) == 1 else None

    def member(self, user: Principal, group: Principal) -> None:
        if group.arn not in user.groups:
            user.groups.append(group.arn)
        if user.arn not in group.members:
            group.members.append(user.arn)
        self.index.touched.update((user.arn, group.arn))

    # ---------------------------------------------------------------- policies
    def managed(self, arn: str) -> ManagedPolicy | None:
        """A managed policy's document: from the input (template or deployed account) or the bundled table."""
        mp = self.model.policies.get(arn)
        if mp is not None and not mp.missing:
            return mp
        mp = aws_managed.lookup(arn)
        if mp is not None:
            self.model.policies[arn] = mp
        return mp

    def define_policy(self, arn: str, name: str, path: str, doc, origin: Origin, pointer: str, stmts) -> None:
        old = self.model.policies.get(arn)
        self.model.policies[arn] = ManagedPolicy(arn=arn, name=name, path=path, default_version="v1",
                                                 versions=[PolicyVersion("v1", doc, True)],
                                                 id=old.id if old else None)
        self.index.document(doc, origin, pointer, stmts)

    def attach(self, p: Principal, arn: str, tags: tuple[str, ...] = (), origin: Origin | None = None) -> None:
        """Attach a managed policy. Under an undecided condition (`tags`), a conditional copy is attached."""
        self.index.touched.add(p.arn)
        if tags:
            mp = self.managed(arn)
            if (mp is None or mp.document is None) and has_marker(arn):
                # a policy known only at deploy time, attached only in some cases: anything it may grant is
                # Conditional (as for one attached always), not a gap
                doc, _ = build_policy(unknown_document("identity", markers_in(arn)[0]), "identity", self.src, "",
                                      {}, tags=tags)
                names = ", ".join(t.split(":", 1)[-1] for t in tags)
                p.inline_policies.append(InlinePolicy(f"{arn} (depends on {names})", doc))
                if origin is not None:
                    self.index.document(doc, origin, origin.pointer or "", {})
                return
            if mp is None or mp.document is None:
                self.gap("UnknownPolicy", f"{p.name} has {arn} attached only if {', '.join(tags)}; its document "
                                          "is not in the input, so what it grants is not modeled")
                return
            doc, stmts = build_policy(mp.document.original, "identity", self.src, "", {}, tags=tags)
            p.inline_policies.append(InlinePolicy(f"{mp.name} (if {', '.join(t.split(':', 1)[-1] for t in tags)})",
                                                  doc))
            if origin is not None:
                self.index.document(doc, origin, origin.pointer or "", {})
            return
        if arn not in p.managed_policies:
            p.managed_policies.append(arn)

    def inline(self, p: Principal, name: str, doc, origin: Origin, pointer: str, stmts) -> None:
        p.inline_policies = [ip for ip in p.inline_policies if ip.name != name]
        p.inline_policies.append(InlinePolicy(name, doc))
        self.index.document(doc, origin, pointer, stmts)
        self.index.touched.add(p.arn)

    def finish(self) -> None:
        """Every policy a touched principal names gets a document: known, symbolic, or reported missing."""
        for arn in sorted(self.index.touched):
            p = self.model.principal(arn)
            if p is None:
                continue
            names = list(p.managed_policies) + ([p.permissions_boundary] if p.permissions_boundary else [])
            for parn in names:
                if self.managed(parn) is not None:
                    continue
                if has_marker(parn):
                    what = markers_in(parn)[0]
                    doc, _ = build_policy(unknown_document("identity", what), "identity", self.src, "")
                    self.model.policies[parn] = ManagedPolicy(arn=parn, name=parn.rsplit("/", 1)[-1],
                                                              versions=[PolicyVersion("v1", doc, True)])
                    continue
                if parn not in self.model.policies:
                    self.model.policies[parn] = ManagedPolicy(arn=parn, name=parn.rsplit("/", 1)[-1], missing=True)
                    self.gap("MissingPolicy", f"managed policy {parn} (used by {p.name}) is not in the input; "
                                              "findings that depend on it are incomplete (give the deployed "
                                              "account with --context)")
