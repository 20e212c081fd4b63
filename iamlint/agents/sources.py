"""Agent sources: which principals an AI agent or automation tool starts from (agent-identities.md §4).

The defaults are data (`policies/agents/sources.yaml`); the configuration changes them under
`agent_identities` with three verbs, applied in this order:

* `replace: {key: value}` sets a list (or map) outright;
* `remove: {key: [entries]}` drops entries of a default list (for maps: the keys to drop);
* `extend: {key: value}` adds entries (maps: adds or overrides keys).

A principal is a source when (a) its trust policy names an agent service principal, (b) its trust policy
names a CI OIDC issuer, (c) its name or tags match the heuristics, or (d) the configuration declares it
an operator. Trusts are read through the permission graph, so an edge the evaluator refuses (a Deny in
the trust, say) makes no source; a conditional one makes a source that is marked conditional.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from functools import lru_cache

from ..yaml_safe import load_bundled

from ..engine import wildcard
from ..model.account import Kind, Principal
from ..paths_data import policies_dir

# strongest first: the kind a source is shown under when several reasons apply
KINDS = ("operator", "agent-service", "ci-agent", "ci-oidc", "compute", "tag", "name")
KIND_LABEL = {"operator": "declared operator (local agent tools run with its credentials)",
              "agent-service": "agent service role", "ci-agent": "AI agent in CI (OIDC)",
              "ci-oidc": "CI / automation (OIDC)", "compute": "compute hosting agent tools",
              "tag": "tagged as an agent", "name": "named like an agent"}
MAP_KEYS = ("service_principal_narrowing", "tags", "operator_tags", "human_tags")


@dataclass(frozen=True)
class AgentSource:
    arn: str
    name: str
    kind: str
    reasons: tuple[str, ...]
    conditions: tuple[str, ...] = ()     # undecided conditions of the trust that makes it a source

    def to_json(self) -> dict:
        out = {"principal": self.arn, "name": self.name, "kind": self.kind, "reasons": list(self.reasons)}
        if self.conditions:
            out["conditions"] = list(self.conditions)
        return out


@lru_cache(maxsize=1)
def defaults() -> dict:
    path = policies_dir() / "agents" / "sources.yaml"
    data = load_bundled(path)
    from ..config import validate_config
    validate_config({"agent_identities": {"replace": data}}, str(path))
    return data


def settings(config: dict | None) -> dict:
    """The defaults changed by the configuration's `agent_identities` (replace, then remove, then extend)."""
    out = copy.deepcopy(defaults())
    spec = (config or {}).get("agent_identities") or {}
    for key, value in (spec.get("replace") or {}).items():
        out[key] = copy.deepcopy(value)
    for key, drop in (spec.get("remove") or {}).items():
        if key in MAP_KEYS:
            out[key] = {k: v for k, v in (out.get(key) or {}).items() if k not in drop}
        else:
            gone = {d.lower() for d in drop}
            out[key] = [x for x in out.get(key) or [] if x.lower() not in gone]
    for key, value in (spec.get("extend") or {}).items():
        if key in MAP_KEYS:
            out[key] = {**(out.get(key) or {}), **copy.deepcopy(value)}
        else:
            out[key] = list(dict.fromkeys(list(out.get(key) or []) + list(value)))
    for key in MAP_KEYS:
        out.setdefault(key, {})
    return out


@lru_cache(maxsize=256)
def _quick(patterns: tuple[str, ...]):
    """(lower-cased literal patterns, one regex for the wildcard ones, a bare "*" among them): a value no
    literal equals and the regex does not match is matched by none of `patterns` (each as wildcard.match
    reads it: a literal compared lower-cased, a wildcard pattern as its case-blind regex)."""
    literal = frozenset(p.lower() for p in patterns if not wildcard.has_wildcard(p))
    wild = [wildcard._compile(p, True).pattern for p in patterns if wildcard.has_wildcard(p) and p != "*"]
    rx = re.compile("|".join(f"(?:{w})" for w in wild), re.DOTALL | re.IGNORECASE) if wild else None
    return literal, rx, "*" in patterns


def _any(patterns, value: str) -> str | None:
    if not patterns:
        return None
    literal, rx, star = _quick(tuple(patterns))
    if not star and value.lower() not in literal and (rx is None or rx.fullmatch(value) is None):
        return None     # no pattern matches: the common case, decided without the loop
    for p in patterns:
        if wildcard.match(p, value, ignore_case=True):
            return p
    return None


def _tag_hit(tags: dict, wanted: dict) -> tuple[str, str] | None:
    for k, v in sorted(tags.items()):
        pat = wanted.get(k)
        if pat is not None and wildcard.match(pat, str(v), ignore_case=True):
            return k, str(v)
    return None


def permission_set(p: Principal) -> str | None:
    """The IAM Identity Center permission set of an `AWSReservedSSO_<set>_<hash>` role."""
    if p.kind is Kind.ROLE and p.name.startswith("AWSReservedSSO_"):
        return p.name[len("AWSReservedSSO_"):].rsplit("_", 1)[0]
    return None


def is_human_role(p: Principal, cfg: dict) -> str | None:
    """Why `p` is a human / break-glass / admin role (AGT019), or None."""
    pat = _any(cfg.get("human_role_patterns"), p.name)
    if pat:
        return f"its name matches {pat}"
    hit = _tag_hit(p.tags, cfg.get("human_tags") or {})
    if hit:
        return f"it is tagged {hit[0]}={hit[1]}"
    return None


def _statements_naming(p: Principal, kind: str, value: str):
    for st in p.trust_policy.statements if p.trust_policy else ():
        if st.is_allow and st.principals and value in st.principals.get(kind, ()):
            yield st


def _service_reason(p: Principal, svc: str, narrowing: dict | None) -> str | None:
    sts = list(_statements_naming(p, "Service", svc))
    where = f" (trust {sts[0].pointer})" if sts else ""
    if not narrowing:
        return f"trusted by {svc}{where}"
    for st in sts:
        for c in st.conditions:
            if c.key_lower != "aws:sourcearn":
                continue
            for v in c.values:
                for pat in narrowing.get("source_arns") or ():
                    if wildcard.arn_intersects(pat, v, ignore_case=True):
                        return f"trusted by {svc} for {v} (trust {st.pointer})"
    pat = _any(narrowing.get("role_names"), p.name)
    if pat:
        return f"trusted by {svc}{where} and named like {pat}"
    return None


def _oidc(p: Principal, provider: str, cfg: dict) -> tuple[str, str] | None:
    host = provider.split(":oidc-provider/", 1)[1] if ":oidc-provider/" in provider else provider
    if not _any(cfg.get("oidc_providers"), host):
        return None
    sts = list(_statements_naming(p, "Federated", provider))
    where = f" (trust {sts[0].pointer})" if sts else ""
    for st in sts:
        for c in st.conditions:
            if c.key_lower != f"{host.lower()}:sub":
                continue
            for v in c.values:
                pat = _any(cfg.get("agent_subjects"), v)
                if pat:
                    return "ci-agent", (f"federated to {host}{where}; subject {v} matches {pat}, an AI agent "
                                        f"workflow")
    return "ci-oidc", f"federated to {host}{where}"


# the only steps into a role that make it a source
SOURCE_METHODS = ("service-trust", "sts-assume-role-with-web-identity")


def classify(model, graph, cfg: dict) -> dict[str, AgentSource]:
    """principal ARN -> AgentSource, for every user and role that is an agent source."""
    out: dict[str, AgentSource] = {}
    operator_groups: dict[str, str] = {}
    for p in model.principals():
        if p.kind is Kind.GROUP and (_any(cfg.get("operators"), p.arn) or _any(cfg.get("operators"), p.name)):
            for u in p.members:
                operator_groups.setdefault(u, p.name)
    for p in sorted(model.principals(), key=lambda p: p.arn):
        if p.kind is Kind.GROUP or p.service_linked:
            continue
        found: list[tuple[str, str]] = []
        conds: list[str] = []
        # (d) operators
        ps = permission_set(p)
        pat = _any(cfg.get("operators"), p.arn) or _any(cfg.get("operators"), p.name) \
            or (ps and _any(cfg.get("operators"), ps))
        if pat:
            found.append(("operator", f"declared an operator in the configuration ({pat})"))
        elif p.arn in operator_groups:
            found.append(("operator", f"member of operator group {operator_groups[p.arn]}"))
        elif _tag_hit(p.tags, cfg.get("operator_tags") or {}):
            k, v = _tag_hit(p.tags, cfg["operator_tags"])
            found.append(("operator", f"tagged {k}={v} (declared operator)"))
        # (a), (b) trusts, as the graph decided them
        trusted_compute = []
        if p.kind is Kind.ROLE and p.arn in graph.g:
            # only these two kinds of edge make a source: the others are left out before the sort
            trusts = graph.edges_into(p.arn, SOURCE_METHODS)
            for e in sorted(trusts, key=lambda x: (x.source, x.method)):
                src = e.source
                if e.method == "service-trust":
                    if _any(cfg.get("service_principals"), src):
                        narrowing = next((v for k, v in cfg["service_principal_narrowing"].items()
                                          if k.lower() == src.lower()), None)
                        why = _service_reason(p, src, narrowing)
                        if why:
                            found.append(("agent-service", why))
                            conds.extend(e.conditions)
                    elif _any(cfg.get("service_principals_opt_in"), src):
                        trusted_compute.append(src)
                elif e.method == "sts-assume-role-with-web-identity":
                    hit = _oidc(p, src, cfg)
                    if hit:
                        found.append(hit)
                        conds.extend(e.conditions)
        # (c) heuristics (never for AWS-reserved roles: those are humans through Identity Center)
        if not p.aws_reserved:
            heur: list[tuple[str, str]] = []
            name_pat = _any(cfg.get("name_patterns"), p.name)
            if name_pat and not _any(cfg.get("name_exclude_patterns"), p.name):
                heur.append(("name", f"name matches {name_pat}"))
            tag = _tag_hit(p.tags, cfg.get("tags") or {})
            if tag:
                heur.append(("tag", f"tagged {tag[0]}={tag[1]}"))
            if heur and trusted_compute:
                heur.insert(0, ("compute", f"trusted by {', '.join(trusted_compute)}"))
            found.extend(heur)
        if not found:
            continue
        found.sort(key=lambda kr: KINDS.index(kr[0]))
        kind = found[0][0]
        out[p.arn] = AgentSource(p.arn, p.name, kind, tuple(dict.fromkeys(r for _, r in found)),
                                 tuple(dict.fromkeys(conds)))
    return out


def agent_sources(ctx) -> dict[str, AgentSource]:
    """The agent sources of a scan, computed once per RuleContext."""
    hit = ctx._cache.get("agents:sources")
    if hit is None:
        cfg = agent_settings(ctx)
        hit = ctx._cache["agents:sources"] = classify(ctx.model, ctx.graph, cfg)
    return hit


def agent_settings(ctx) -> dict:
    hit = ctx._cache.get("agents:settings")
    if hit is None:
        hit = ctx._cache["agents:settings"] = settings(ctx.config)
    return hit
