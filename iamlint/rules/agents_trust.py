"""Agent rules on the *shape* of trust and resource policies (AGT011-AGT018, AGT026, AGT029, AGT030).

Who may become an agent's role is decided by its trust policy. These matchers read trust and
resource policies with their operators' real semantics by asking the one evaluator (`ctx.graph.auth`)
concrete questions instead of pattern-matching condition text:

* **CI OIDC trusts (AGT011, AGT012).** For each CI issuer a role trusts, probe tokens are built from
  the provider's claim shapes (`policies/agents/oidc_providers.yaml`) and from the trust's own
  condition values: every `*` of a `StringLike` value is filled with a marker no policy author can
  anticipate, so a token whose *organization* came from a wildcard is one an outsider can obtain,
  one whose *repository* came from a wildcard is one any repository of that organization can obtain.
  Each probe token is put to the evaluator, so StringEquals vs StringLike, `...IfExists`, negated
  operators, `ForAllValues:` on an absent claim (vacuously true), several values (OR), several keys
  (AND) and a Deny elsewhere in the trust that carves tokens out are all applied as AWS applies them.
  Claims the job's author chooses (aud, ref, environment, actor ...) stay undecided and count as
  satisfiable; any other undecided condition makes the finding conditional: it is reported one
  severity lower and names the condition.
* **Structural checks (AGT013, AGT014, AGT017, AGT029, AGT030)** read statements: operators that
  cannot pin a claim, missing audience, wildcards in source ARNs, caller-supplied keys used as a
  boundary, actions that no longer exist.
* **Agent service trusts (AGT016, AGT018)** ask the evaluator whether the service, acting for a
  resource of *another* account, would be let in.
* **AGT026** asks the evaluator whether a principal whose writes are scoped by `aws:ResourceTag` may
  put that tag on a resource outside the scope.

Overlap with the hygiene family is deliberate and declared in rule data (`supersedes`): AGT011
supersedes IAM207 and AGT014 supersedes IAM205 for the same trust statement and issuer, AGT016
supersedes IAM204 for the same statement and services. The pipeline keeps the agent finding, which
knows the provider (per-organization issuers, repository claims, audience semantics), and drops the
generic one; with the agent rule skipped the hygiene rule reports as before.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Iterator

from ..engine import actions as catalog
from ..engine import wildcard
from ..errors import InputError
from ..findings import Finding, Location
from ..model.account import Kind, Principal
from ..model.policy import Condition, PolicyDocument, Statement, parse_policy
from ..paths_data import policies_dir, schema_path
from .hygiene import (NON_LIMITING_KEYS, NON_LIMITING_PREFIXES, _claim_conditions, _grants_assume, _limits_allow,
                      _policy_owners, _short, _trust_roles, lower, owned_policies, sorted_principals)

WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"
MARK = "iamlintprobe"          # stands for a name the policy author did not write
STRING_OPS = {"StringEquals", "StringLike", "StringEqualsIgnoreCase", "StringNotEquals", "StringNotLike",
              "StringNotEqualsIgnoreCase"}
NEGATED = {"StringNotEquals", "StringNotLike", "StringNotEqualsIgnoreCase", "ArnNotEquals", "ArnNotLike",
           "NotIpAddress", "NumericNotEquals", "DateNotEquals"}


# ---------------------------------------------------------------- provider data

@dataclass(frozen=True)
class Segment:
    name: str
    cls: str             # tenant | scope | detail
    regex: str
    word: str


@dataclass(frozen=True)
class Claim:
    name: str
    template: str | None = None
    context_example: str | None = None
    follows: str | None = None
    outsider_absent: bool = False
    caller: bool = False


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    issuers: tuple[tuple[str, str, str, str], ...]     # (match, host, scope, note)
    audiences: tuple[str, ...]
    segments: dict
    claims: dict
    claims_complete: bool
    pin_claims: tuple[str, ...]
    subject_example: str = ""

    def issuer(self, host: str) -> tuple[str, str] | None:
        """(scope, note) when `host` (an oidc-provider path) is one of this provider's issuers."""
        h = host.lower()
        for match, want, scope, note in self.issuers:
            w = want.lower()
            if (match == "exact" and h == w) or (match == "prefix" and h.startswith(w) and len(h) > len(w)) \
                    or (match == "suffix" and h.endswith(w) and len(h) > len(w)):
                return scope, note
        return None

    @property
    def template_claims(self) -> list[Claim]:
        return [c for c in self.claims.values() if c.template]

    def claim_regex(self, claim: Claim) -> re.Pattern:
        return _template_regex(claim.template, tuple((s.name, s.regex) for s in self.segments.values()))


@lru_cache(maxsize=64)
def _template_regex(template: str, segs: tuple[tuple[str, str], ...]) -> re.Pattern:
    regex = dict(segs)
    out, pos = [], 0
    for m in re.finditer(r"\{(\w+)\}", template):
        out.append(re.escape(template[pos:m.start()]))
        out.append(f"(?P<{m.group(1)}>{regex.get(m.group(1), '.+')})")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("".join(out), re.DOTALL)


@dataclass(frozen=True)
class AgentService:
    principal: str
    name: str
    arn_service: str
    source_arn_example: str = ""
    external_id: bool = False
    invokes_tools: bool = False


@dataclass(frozen=True)
class TrustData:
    providers: tuple[Provider, ...]
    services: dict            # lower-case principal -> AgentService
    source_keys: tuple[str, ...]

    def provider(self, host: str) -> tuple[Provider, str, str] | None:
        for p in self.providers:
            hit = p.issuer(host)
            if hit:
                return p, hit[0], hit[1]
        return None


DATA_FILE = "agents/oidc_providers.yaml"


def parse_trust_data(data, source: str) -> TrustData:
    import jsonschema

    schema = json.loads(schema_path("oidc_providers.schema.json").read_text())
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        raise InputError(e.message, source=source, place="/" + "/".join(str(p) for p in e.absolute_path))
    providers = []
    for i, p in enumerate(data["providers"]):
        segs = {k: Segment(k, v["class"], v["regex"], v.get("word", k)) for k, v in p["segments"].items()}
        claims = {}
        for name, c in p["claims"].items():
            claim = Claim(name, c.get("template"), c.get("context_example"), c.get("follows"),
                          c.get("outsider") == "absent", bool(c.get("caller")))
            for ref in re.findall(r"\{(\w+)\}", claim.template or ""):
                if ref not in segs:
                    raise InputError(f"claim {name} names segment {ref!r}, which is not in segments",
                                     source=source, place=f"/providers/{i}/claims/{name}/template")
            if claim.follows and claim.follows not in segs:
                raise InputError(f"claim {name} follows segment {claim.follows!r}, which is not in segments",
                                 source=source, place=f"/providers/{i}/claims/{name}/follows")
            claims[name] = claim
        if not claims["sub"].template:
            raise InputError("the sub claim needs a template", source=source, place=f"/providers/{i}/claims/sub")
        providers.append(Provider(p["id"], p["name"],
                                  tuple((x["match"], x["host"], x["scope"], x.get("note", "")) for x in p["issuers"]),
                                  tuple(p.get("audiences") or ()), segs, claims, p["claims_complete"],
                                  tuple(p["pin_claims"]), p.get("subject_example", "")))
    services = {s["principal"].lower(): AgentService(s["principal"], s["name"], s["arn_service"],
                                                     s.get("source_arn_example", ""), bool(s.get("external_id")),
                                                     bool(s.get("invokes_tools")))
                for s in data["agent_services"]}
    return TrustData(tuple(providers), services, tuple(data["source_keys"]))


@lru_cache(maxsize=1)
def trust_data() -> TrustData:
    from ..yaml_safe import load_bundled

    path = policies_dir() / DATA_FILE
    data = load_bundled(path)
    return parse_trust_data(data, str(path))


# ---------------------------------------------------------------- trust statements

def _federated(st: Statement) -> list[tuple[str, str]]:
    """(Federated value, issuer host) for each OIDC provider a statement names."""
    out = []
    for v in (st.principals or {}).get("Federated", ()):
        if ":oidc-provider/" in v:
            out.append((v, v.split(":oidc-provider/", 1)[1]))
    return out


@dataclass(frozen=True)
class CiTrust:
    """One role trusting one CI issuer."""

    role: Principal
    federated: str          # the Principal.Federated value
    host: str
    provider: Provider
    scope: str              # shared | per-org
    note: str
    statements: tuple[Statement, ...]      # the Allow statements granting AssumeRoleWithWebIdentity to it


def ci_trusts(ctx) -> list[CiTrust]:
    if "agt:ci_trusts" not in ctx._cache:
        data = trust_data()
        out = []
        for role in _trust_roles(ctx):
            found: dict[tuple[str, str], list[Statement]] = {}
            for st in role.trust_policy.statements:
                if not st.is_allow or not _grants_assume(st, (WEB_IDENTITY,)):
                    continue
                for fed, host in _federated(st):
                    found.setdefault((fed, host), []).append(st)
            for (fed, host), sts in sorted(found.items()):
                hit = data.provider(host)
                if hit is None:
                    continue
                prov, scope, note = hit
                out.append(CiTrust(role, fed, host, prov, scope, note, tuple(sts)))
        ctx._cache["agt:ci_trusts"] = out
    return ctx._cache["agt:ci_trusts"]


# ---------------------------------------------------------------- probe tokens

@dataclass(frozen=True)
class Token:
    """A token a CI job could present: segment values, which came from a wildcard (fresh), and the
    claim the token was read from with its literal value."""

    segments: tuple[tuple[str, str], ...]
    fresh: frozenset
    source_claim: str | None = None
    source_value: str | None = None
    source_pattern: str | None = None      # the condition value it was generated from
    probe: str | None = None               # canonical probes: "outsider", "scope", "detail"

    def seg(self, name: str) -> str | None:
        return dict(self.segments).get(name)


def _fill(pattern: str, fillers: list[str], limit: int = 2,
          budget: int = 4000) -> Iterator[tuple[str, list[tuple[int, int]]]]:
    """Strings matching the StringLike `pattern`, each `*` replaced by one of `fillers` (the first
    `limit` stars; later ones by MARK) and each `?` by `x`, with the spans that came from wildcards.
    At most `budget` strings (fillers are ordered so that the useful ones come first)."""
    pieces = re.split(r"(\*|\?)", pattern)
    stars = sum(1 for p in pieces if p == "*")
    choices = [fillers] * min(stars, limit) + [[MARK]] * max(stars - limit, 0)
    combos = itertools.product(*choices) if stars else iter([()])
    for combo in itertools.islice(combos, budget):
        out, spans, k = [], [], 0
        pos = 0
        for p in pieces:
            if p == "*":
                text = combo[k]
                k += 1
            elif p == "?":
                text = "x"
            else:
                out.append(p)
                pos += len(p)
                continue
            spans.append((pos, pos + len(text)))
            out.append(text)
            pos += len(text)
        yield "".join(out), spans


_FILLERS: dict[tuple[str, str], list[str]] = {}
_TOKENS: dict[tuple, list] = {}


def _fillers(provider: Provider, claim: Claim) -> list[str]:
    """Pieces a `*` may stand for: the cuts of a canonical value at its separators, segments = MARK."""
    key = (provider.id, claim.name)
    if key not in _FILLERS:
        _FILLERS[key] = _make_fillers(provider, claim)
    return _FILLERS[key]


def _make_fillers(provider: Provider, claim: Claim) -> list[str]:
    seg_vals = {n: MARK for n in provider.segments}
    ctx_example = (claim.context_example or "{m}").replace("{m}", MARK)
    seg_vals["context"] = ctx_example
    canon = claim.template.format(**seg_vals)
    cuts = sorted({0, len(canon)} | {i for i, ch in enumerate(canon) if ch in ":/@"}
                  | {i + 1 for i, ch in enumerate(canon) if ch in ":/@"})
    out = {MARK}
    for i, j in itertools.combinations(cuts, 2):
        piece = canon[i:j]
        if piece:
            out.add(piece)
    return sorted(out, key=lambda s: (MARK not in s, len(s), s))


def _tokens_from_value(provider: Provider, claim: Claim, value: str, like: bool) -> list[Token]:
    """Probe tokens whose `claim` matches the condition value `value` (memoized: many roles share values)."""
    key = (provider.id, claim.name, value, like)
    if key not in _TOKENS:
        _TOKENS[key] = _make_tokens(provider, claim, value, like)
    return _TOKENS[key]


def _make_tokens(provider: Provider, claim: Claim, value: str, like: bool) -> list[Token]:
    rx = provider.claim_regex(claim)
    canon_ctx = (claim.context_example or "{m}").replace("{m}", MARK)
    best: dict[tuple, tuple[tuple, Token]] = {}
    cands = _fill(value, _fillers(provider, claim)) if like and wildcard.has_wildcard(value) else [(value, [])]
    for text, spans in cands:
        m = rx.fullmatch(text)
        if m is None:
            continue
        groups = m.groupdict()
        segs = tuple(groups.items())
        fresh = frozenset(k for k in groups if any(a < m.end(k) and m.start(k) < b for a, b in spans))
        key = (fresh, tuple(v for k, v in segs if k not in fresh))
        # prefer witnesses that read like a real token: fresh segments equal to the marker (or the
        # canonical context), then the shortest
        clean = sum(1 for k in fresh if groups[k] in (MARK, canon_ctx))
        score = (-clean, len(text), text)
        if key not in best or score < best[key][0]:
            best[key] = (score, Token(segs, fresh, claim.name, text, value))
    return [t for _, t in sorted(best.values(), key=lambda x: x[0])][:24]


def _canonical_tokens(provider: Provider, literals: list[Token]) -> list[Token]:
    """An outsider's token, plus, for each literal tenant seen, a token of another scope (repository)
    of that tenant, and for each literal tenant + scope, a token of another detail (ref) there."""
    names = list(provider.segments)
    out = [Token(tuple((n, MARK) for n in names), frozenset(names), probe="outsider")]
    tenant = [n for n in names if provider.segments[n].cls == "tenant"]
    scope = [n for n in names if provider.segments[n].cls == "scope"]
    # the pinned repository itself, known only by an opaque claim (repository_id): another ref of it
    same = {n: ("iamlint-same" if n in tenant + scope else MARK) for n in names}
    out.append(Token(tuple(same.items()), frozenset(n for n in names if n not in tenant + scope), probe="detail"))
    for t in literals:
        kept = {n: t.seg(n) for n in names if n not in t.fresh and t.seg(n) is not None}
        if all(n in kept for n in tenant):
            vals = {n: (kept[n] if n in tenant else MARK) for n in names}
            out.append(Token(tuple(vals.items()), frozenset(n for n in names if n not in tenant), probe="scope"))
            if all(n in kept for n in scope):
                vals = {n: (kept[n] if n in tenant + scope else MARK) for n in names}
                out.append(Token(tuple(vals.items()), frozenset(n for n in names if n not in tenant + scope),
                                 probe="detail"))
    return out


def _probe_tokens(ct: CiTrust) -> list[Token]:
    prov = ct.provider
    prefix = ct.host.lower() + ":"
    found: list[Token] = []
    for st in ct.role.trust_policy.statements:
        for c in st.conditions:
            if not c.key_lower.startswith(prefix) or c.base not in STRING_OPS:
                continue
            claim = prov.claims.get(c.key_lower[len(prefix):])
            if claim is None or not claim.template:
                continue
            like = c.base in ("StringLike", "StringNotLike")
            for v in c.values:
                found.extend(_tokens_from_value(prov, claim, v, like))
    tokens = _canonical_tokens(prov, found) + found
    seen, out = set(), []
    for t in tokens:
        key = (t.segments, t.fresh, t.source_claim, t.source_value, t.source_pattern)
        if key not in seen:
            seen.add(key)
            out.append(t)
    return out


def _token_context(ct: CiTrust, t: Token) -> tuple[dict, set[str]]:
    """The request context a token gives (claims as `<host>:<claim>`), and the keys left undecided
    because the job's author chooses them (or they follow a segment the token keeps)."""
    prov = ct.provider
    prefix = ct.host + ":"
    values: dict = {}
    satisfiable: set[str] = set()
    segs = dict(t.segments)
    for claim in prov.claims.values():
        key = prefix + claim.name
        if claim.caller:
            satisfiable.add(key.lower())
            continue
        if claim.template:
            if claim.name == t.source_claim:
                values[key] = t.source_value
                continue
            needed = re.findall(r"\{(\w+)\}", claim.template)
            vals = {}
            for n in needed:
                if n == "context":
                    vals[n] = (claim.context_example or "{m}").replace("{m}", MARK)
                else:
                    vals[n] = segs.get(n) or MARK
            values[key] = claim.template.format(**vals)
            continue
        if claim.follows:
            tenant_fresh = any(prov.segments[n].cls == "tenant" for n in t.fresh)
            if claim.outsider_absent and tenant_fresh:
                values[key] = []          # an outsider's token has no such claim
            elif claim.follows in t.fresh or tenant_fresh:
                values[key] = f"{MARK}-0"
            else:
                satisfiable.add(key.lower())
    # a token carries the claims of its own issuer only: keys of the other issuers the trust names are absent
    others = {h.lower() for st in ct.role.trust_policy.statements for _, h in _federated(st)} - {ct.host.lower()}
    for st in ct.role.trust_policy.statements:
        for c in st.conditions:
            if any(c.key_lower.startswith(h + ":") for h in others):
                values[c.key] = []
    # other keys of this issuer that the trust tests
    if prov.claims_complete:
        for st in ct.role.trust_policy.statements:
            for c in st.conditions:
                if c.key_lower.startswith(prefix.lower()) and c.key_lower[len(prefix):] not in prov.claims:
                    values[c.key] = []    # STS never sets it: absent
    return values, satisfiable


@dataclass
class Admission:
    token: Token
    statements: tuple[str, ...]            # pointers of the Allow statements that let it in
    conditions: tuple[str, ...]            # undecided conditions that are not the job author's choice


def admissions(ctx, ct: CiTrust) -> list[Admission]:
    """The probe tokens the trust lets in, as the evaluator decides."""
    ckey = ("agt:admit", ct.role.arn, ct.federated)
    if ckey in ctx._cache:
        return ctx._cache[ckey]
    out = []
    for t in _probe_tokens(ct):
        values, satisfiable = _token_context(ct, t)
        d = ctx.graph.auth.check(ct.federated, WEB_IDENTITY, ct.role.arn, values)
        if not d.possible:
            continue
        # keys the job's author sets (claims it chooses, session name, request tags ...) or that say
        # nothing about who calls (hygiene.NON_LIMITING_KEYS) do not keep an outsider out
        open_conds = tuple(dict.fromkeys(pc.describe() for pc in d.conditions
                                         if pc.condition.key_lower not in satisfiable
                                         and pc.condition.key_lower not in NON_LIMITING_KEYS
                                         and not pc.condition.key_lower.startswith(NON_LIMITING_PREFIXES)))
        ptrs = tuple(dict.fromkeys(r.pointer for r in d.allowed_by if r.policy_type == "trust"))
        if not ptrs:
            ptrs = tuple(dict.fromkeys(pc.statement.pointer for pc in d.conditions
                                       if pc.statement.effect == "Allow" and pc.statement.policy_type == "trust"))
        out.append(Admission(t, ptrs or (ct.statements[0].pointer,), open_conds))
    ctx._cache[ckey] = out
    return out


def _best(adm: list[Admission]) -> Admission:
    """The admission to show: unconditional first, then one read from the trust's own values."""
    return sorted(adm, key=lambda a: (bool(a.conditions), a.token.source_claim is None))[0]


def _kind(ct: CiTrust, t: Token) -> str:
    classes = {ct.provider.segments[n].cls for n in t.fresh if n in ct.provider.segments}
    if "tenant" in classes:
        return "tenant"
    if "scope" in classes:
        return "scope"
    if "detail" in classes and (t.source_claim == "sub" or t.probe == "detail"):
        return "detail"
    return "pinned"


def _subject(ct: CiTrust, t: Token) -> str:
    values, _ = _token_context(ct, t)
    return values.get(ct.host + ":sub") or ""


def _statement(role: Principal, pointer: str) -> Statement:
    for st in role.trust_policy.statements:
        if st.pointer == pointer:
            return st
    return role.trust_policy.statements[0]


def _pins(ct: CiTrust, st: Statement) -> list[Condition]:
    return _claim_conditions(st, ct.host, ct.provider.pin_claims)


def _trust_finding(rule, ct: CiTrust, pointer: str, message: str, severity: str,
                   conditions: tuple[str, ...] = ()) -> Finding:
    st = _statement(ct.role, pointer)
    return Finding(rule.id, severity, rule.title, ct.role.arn,
                   f"trust policy of role {ct.role.name} {st.label()}: {message}", rule.remediation, (),
                   (f"role/{ct.role.name} trust policy {st.label()}",), conditions=conditions,
                   key=("trust", pointer, ct.host))


def _issuer_words(ct: CiTrust) -> str:
    if ct.scope == "per-org":
        return f"{ct.provider.name} issuer {ct.host} ({ct.note or 'an issuer of one organization'})"
    return f"{ct.provider.name} issuer {ct.host}"


def _cover(ctx, rule, principal: str, key: tuple) -> None:
    """Record that `rule` examined (principal, key): the rules it supersedes defer to it there."""
    ctx._cache.setdefault("covered", {}).setdefault(rule.id, set()).add((principal, key))


# ---------------------------------------------------------------- AGT011

def oidc_missing_sub(rule, ctx) -> Iterable[Finding]:
    """AGT011: a CI OIDC trust that admits tokens from any organization (or, for per-organization
    issuers, from any repository of that organization)."""
    for ct in ci_trusts(ctx):
        for st in ct.statements:
            _cover(ctx, rule, ct.role.arn, ("trust", st.pointer, ct.host))
        hits = [a for a in admissions(ctx, ct) if _kind(ct, a.token) == "tenant"]
        if not hits:
            continue
        by_ptr: dict[str, list[Admission]] = {}
        for a in hits:
            for p in a.statements:
                by_ptr.setdefault(p, []).append(a)
        for ptr, adm in sorted(by_ptr.items()):
            best = _best(adm)
            st = _statement(ct.role, ptr)
            pins = _pins(ct, st)
            others = [c for c in ct.provider.pin_claims if c != "sub"]
            if pins:
                why = (f"its {_short([c.describe() for c in pins], 2)} admits a subject like "
                       f"{_subject(ct, best.token)!r}")
            else:
                why = (f"no condition pins {ct.host}:sub" + (f" (nor {', '.join(others)})" if others else ""))
            if ct.scope == "per-org":
                who = (f"every {ct.provider.segments['repo'].word} and workflow of the organization that "
                       f"owns this issuer can assume the role")
                sev = lower(rule.severity)
            else:
                who = (f"a workflow in any {ct.provider.segments['owner'].word}'s "
                       f"{ct.provider.segments['repo'].word}, inside or outside your organization, can assume "
                       f"the role")
                sev = rule.severity
            cond_note = ""
            if best.conditions:
                sev = lower(sev)
                cond_note = f" (unless {_short(best.conditions, 2)} hold only for your jobs)"
            yield _trust_finding(rule, ct, ptr,
                                 f"trusts tokens from the {_issuer_words(ct)} and {why}: {who}{cond_note}",
                                 sev, best.conditions)


# ---------------------------------------------------------------- AGT012

def _admin_equivalent(ctx, role: Principal) -> bool:
    """Full admin or full IAM write after boundaries, denies and SCPs (the graph's admin level)."""
    return ctx.graph.admin.get(role.arn) in ("admin", "iam-write")


def _write_rights(ctx, role: Principal) -> tuple[str, ...]:
    """Write or permissions-management actions the evaluator allows the role on some resource."""
    ckey = ("agt:writes", role.arn)
    if ckey in ctx._cache:
        return ctx._cache[ckey]
    level = ctx.graph.admin.get(role.arn)
    if level in ("admin", "iam-write"):
        ctx._cache[ckey] = ("*",) if level == "admin" else ("iam:*",)
        return ctx._cache[ckey]
    found: list[str] = []
    tried = 0
    auth = ctx.graph.auth
    for pol in auth.policy_set(role).identity:
        for st in pol.document.statements:
            if not st.is_allow or st.actions is None:
                continue
            for pat in st.actions:
                for a in catalog.expand(pat)[:200]:
                    lv = (catalog.access_level(a) or "").lower()
                    if "write" not in lv and "permissions management" not in lv:
                        continue
                    if a in found or tried >= 40:
                        continue
                    tried += 1
                    if auth.check(role.arn, a, "*", resource_mode="some").possible:
                        found.append(a)
                    if len(found) >= 3:
                        break
    ctx._cache[ckey] = tuple(found)
    return ctx._cache[ckey]


def oidc_wildcard_sub(rule, ctx) -> Iterable[Finding]:
    """AGT012: a CI OIDC trust whose wildcards admit more than one repository (High), or any branch,
    pull request or environment of one repository when the role may write (Medium)."""
    for ct in ci_trusts(ctx):
        adm = admissions(ctx, ct)
        if any(_kind(ct, a.token) == "tenant" for a in adm):
            continue     # AGT011 reports it
        scope = [a for a in adm if _kind(ct, a.token) == "scope"]
        detail = [a for a in adm if _kind(ct, a.token) == "detail"]
        segs = ct.provider.segments
        if scope:
            groups = scope
            sev = rule.severity
        elif detail:
            writes = _write_rights(ctx, ct.role)
            if not writes:
                continue
            groups = detail
            sev = lower(rule.severity)
        else:
            continue
        if _admin_equivalent(ctx, ct.role):
            sev = lower(sev, -1)      # severity follows reach: the role is an administrator
        by_ptr: dict[str, list[Admission]] = {}
        for a in groups:
            for p in a.statements:
                by_ptr.setdefault(p, []).append(a)
        for ptr, lst in sorted(by_ptr.items()):
            best = _best(lst)
            t = best.token
            tenant = next((t.seg(n) for n in segs if segs[n].cls == "tenant"), "")
            via = (f"its {t.source_claim} condition value {t.source_pattern!r}" if t.source_claim
                   else f"its conditions ({_short([c.describe() for c in _pins(ct, _statement(ct.role, ptr))], 2) or 'none on the subject'})")
            if scope:
                what = (f"any {segs['repo'].word} of {segs['owner'].word} {tenant!r} (e.g. subject "
                        f"{_subject(ct, t)!r}), including ones created later or by anyone who may create one "
                        f"there")
            else:
                eg = (f"e.g. {_subject(ct, t)!r}" if "iamlint-same" not in _subject(ct, t)
                      else "any subject of it: the trust pins only an opaque id")
                what = (f"any {segs['context'].word} of that {segs['repo'].word} ({eg}), "
                        f"so a pull request or branch push can assume a role that may write "
                        f"({_short(_write_rights(ctx, ct.role), 3)})")
            s = sev
            note = ""
            if best.conditions:
                s = lower(sev)
                note = f" (unless {_short(best.conditions, 2)} hold only for the intended jobs)"
            yield _trust_finding(rule, ct, ptr,
                                 f"trusts tokens from the {_issuer_words(ct)} and {via} admits {what}{note}",
                                 s, best.conditions)


# ---------------------------------------------------------------- AGT013

def oidc_set_operator(rule, ctx) -> Iterable[Finding]:
    """AGT013: ForAllValues (or ForAnyValue with a negated operator) on OIDC claims in an Allow."""
    data = trust_data()
    for role in _trust_roles(ctx):
        for st in role.trust_policy.statements:
            if not st.is_allow or not _grants_assume(st, (WEB_IDENTITY,)):
                continue
            hosts = sorted({h for _, h in _federated(st)})
            for c in st.conditions:
                host = next((h for h in hosts if c.key_lower.startswith(h.lower() + ":")), None)
                if host is None:
                    continue
                claim = c.key_lower[len(host) + 1:]
                if c.qualifier == "ForAllValues":
                    hit = data.provider(host)
                    never = hit is not None and hit[0].claims_complete and claim not in hit[0].claims
                    if never:
                        effect = (f"STS never sets {c.key} for this issuer, so the condition is vacuously true and "
                                  f"restricts nothing")
                    else:
                        effect = ("ForAllValues is true when the claim is absent or misspelled, so it does not "
                                  "require the claim; on a single-valued claim use the plain operator")
                    msg = f"{c.describe()} in an Allow: {effect}"
                elif c.qualifier == "ForAnyValue" and c.base in NEGATED:
                    msg = (f"{c.describe()} in an Allow admits every token whose {claim} is anything but the listed "
                           f"value(s): a negated operator names who is kept out, not who is let in")
                else:
                    continue
                yield Finding(rule.id, rule.severity, rule.title, role.arn,
                              f"trust policy of role {role.name} {st.label()}: {msg}", rule.remediation, (),
                              (f"role/{role.name} trust policy {st.label()}",), conditions=(c.describe(),),
                              key=("trust", st.pointer, c.operator, c.key))


# ---------------------------------------------------------------- AGT014

def oidc_missing_aud(rule, ctx) -> Iterable[Finding]:
    """AGT014: a CI OIDC trust statement without an audience condition."""
    for ct in ci_trusts(ctx):
        for st in ct.statements:
            _cover(ctx, rule, ct.role.arn, ("trust", st.pointer, ct.host))
            if _claim_conditions(st, ct.host, ("aud",)):
                continue
            want = " or ".join(repr(a) for a in ct.provider.audiences) or "your configured audience"
            yield Finding(rule.id, rule.severity, rule.title, ct.role.arn,
                          f"trust policy of role {ct.role.name} {st.label()}: trusts tokens from the "
                          f"{_issuer_words(ct)} without a {ct.host}:aud condition (expected {want}); the "
                          f"provider's client-ID list still checks the audience, so this is defence in depth",
                          rule.remediation, (), (f"role/{ct.role.name} trust policy {st.label()}",),
                          key=("trust", st.pointer, ct.host))


# ---------------------------------------------------------------- agent service trusts (AGT016, AGT017)

def _foreign_account(ctx) -> str:
    for cand in ("999999999999", "999999999998", "999999999997"):
        if cand not in ctx.model.accounts:
            return cand
    return "999999999996"


def _foreign_context(ctx, svc: AgentService, arn: str | None = None) -> tuple[dict, str]:
    """What the service sends when it acts for a resource (`arn`) of an account that is not yours."""
    acct = _foreign_account(ctx)
    arn = arn or f"arn:aws:{svc.arn_service}:us-east-1:{acct}:{MARK}/{MARK}"
    values = {"aws:SourceAccount": acct, "aws:SourceArn": arn, "aws:SourceOrgID": f"o-{MARK}",
              "aws:SourceOrgPaths": [f"o-{MARK}/r-{MARK}/ou-{MARK}/"], "aws:PrincipalIsAWSService": "true",
              "aws:PrincipalServiceName": svc.principal,
              "sts:ExternalId": arn if svc.external_id else []}
    return values, arn


def _foreign_contexts(ctx, svc: AgentService, statements: Iterable[Statement]) -> list[dict]:
    """Foreign-source contexts to try: a generic foreign resource, and for each aws:SourceArn pattern
    whose account field is a wildcard, a resource of that shape in a foreign account."""
    acct = _foreign_account(ctx)
    out = [_foreign_context(ctx, svc)[0]]
    for st in statements:
        for c in st.conditions:
            if c.key_lower != "aws:sourcearn":
                continue
            for v in c.values:
                f = _arn_fields(v)
                if f is None or not (wildcard.has_wildcard(f[3]) or f[3] == ""):
                    continue
                fill = lambda x: x.replace("*", MARK).replace("?", "x")
                arn = f"arn:{fill(f[0]) or 'aws'}:{fill(f[1])}:{fill(f[2])}:{acct}:{fill(f[4])}"
                out.append(_foreign_context(ctx, svc, arn)[0])
    return out[:8]


def _ask_foreign(check, contexts: list[dict]):
    """The first decision that lets a foreign source in (allowed before conditional), else the last."""
    best = None
    for values in contexts:
        d = check(values)
        if d.allowed:
            return d
        if d.possible and best is None:
            best = d
    return best if best is not None else d


def _source_conditions(st: Statement, svc: AgentService, keys: Iterable[str]) -> list[Condition]:
    want = {k.lower() for k in keys} | ({"sts:externalid"} if svc.external_id else set())
    return [c for c in st.conditions if c.key_lower in want and _limits_allow(c)]


def _wildcard_sources(st: Statement, svc: AgentService, keys: Iterable[str]) -> list[str]:
    """Source conditions written but matching anything (StringLike/ArnLike with only * and ?)."""
    want = {k.lower() for k in keys} | ({"sts:externalid"} if svc.external_id else set())
    return [c.describe() for c in st.conditions if c.key_lower in want and c.base in ("StringLike", "ArnLike")
            and all(v.strip("*?") == "" for v in c.values)]


@dataclass
class ServiceTrust:
    role: Principal
    service: AgentService
    statements: tuple[Statement, ...]          # Allow statements naming the service for sts:AssumeRole
    admitted: tuple[str, ...]                  # pointers of statements that let a foreign resource in
    conditions: tuple[str, ...]                # undecided conditions of that admission
    possible: bool
    admitted_without_keys: tuple[str, ...] = ()   # statements that let in a request with no source keys


def service_trusts(ctx) -> list[ServiceTrust]:
    if "agt:service_trusts" not in ctx._cache:
        data = trust_data()
        out = []
        for role in _trust_roles(ctx):
            if role.aws_reserved:
                continue
            by_svc: dict[str, list[Statement]] = {}
            for st in role.trust_policy.statements:
                if not st.is_allow or not _grants_assume(st, ("sts:AssumeRole",)):
                    continue
                for v in (st.principals or {}).get("Service", ()):
                    if v.lower() in data.services:
                        by_svc.setdefault(v.lower(), []).append(st)
            for name, sts in sorted(by_svc.items()):
                svc = data.services[name]
                values, _ = _foreign_context(ctx, svc)
                d = _ask_foreign(lambda v: ctx.graph.auth.check(svc.principal, "sts:AssumeRole", role.arn, v),
                                 _foreign_contexts(ctx, svc, role.trust_policy.statements))
                ptrs = tuple(dict.fromkeys(r.pointer for r in d.allowed_by if r.policy_type == "trust"))
                if not ptrs and d.possible:
                    ptrs = tuple(dict.fromkeys(pc.statement.pointer for pc in d.conditions
                                               if pc.statement.effect == "Allow"))
                conds = tuple(dict.fromkeys(pc.describe() for pc in d.conditions))
                bare = {k: [] for k in ("aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID", "aws:SourceOrgPaths")}
                d2 = ctx.graph.auth.check(svc.principal, "sts:AssumeRole", role.arn, {**values, **bare})
                ptrs2 = tuple(r.pointer for r in d2.allowed_by if r.policy_type == "trust") if d2.allowed else ()
                out.append(ServiceTrust(role, svc, tuple(sts), ptrs, conds, d.possible, ptrs2))
        ctx._cache["agt:service_trusts"] = out
    return ctx._cache["agt:service_trusts"]


def _service_finding(rule, role: Principal, st: Statement, message: str, severity: str, services: tuple,
                     conditions: tuple = ()) -> Finding:
    return Finding(rule.id, severity, rule.title, role.arn,
                   f"trust policy of role {role.name} {st.label()}: {message}", rule.remediation, (),
                   (f"role/{role.name} trust policy {st.label()}",), conditions=conditions,
                   key=("trust", st.pointer) + tuple(sorted(services)))


def _agent_services_of(st: Statement) -> tuple[str, ...]:
    data = trust_data()
    return tuple(sorted(v for v in (st.principals or {}).get("Service", ()) if v.lower() in data.services))


def service_trust_no_source(rule, ctx) -> Iterable[Finding]:
    """AGT016: an agent service may assume the role on behalf of another account's resource, and the
    statement that lets it has no source condition at all."""
    keys = rule.match.get("keys") or trust_data().source_keys
    for t in service_trusts(ctx):
        for st in t.statements:
            _cover(ctx, rule, t.role.arn, ("trust", st.pointer) + _agent_services_of(st))
        for st in t.statements:
            if _source_conditions(st, t.service, keys):
                continue     # conditioned but too wide: AGT017
            if not (t.possible and st.pointer in t.admitted):
                if st.pointer in t.admitted_without_keys:
                    yield _service_finding(
                        rule, t.role, st,
                        f"trusts {t.service.principal} ({t.service.name}) with source conditions that only "
                        f"apply when the key is present (...IfExists) or that name who is kept out (negated "
                        f"operators): a request from the service that carries no source keys is let in",
                        lower(rule.severity), _agent_services_of(st))
                continue
            want = "aws:SourceAccount / aws:SourceArn" + (" or sts:ExternalId" if t.service.external_id else "")
            wide = _wildcard_sources(st, t.service, keys)
            lacks = (f"with {_short(wide, 2)}, which match any value (no binding {want})" if wide
                     else f"without {want}")
            sev, note = rule.severity, ""
            if _admin_equivalent(ctx, t.role):
                sev, note = lower(sev, -1), "; the role is an administrator"
            if t.conditions:
                sev, note = lower(sev), note + f" (unless {_short(t.conditions, 2)} keep it out)"
            yield _service_finding(rule, t.role, st,
                                   f"trusts {t.service.principal} ({t.service.name}) {lacks}: the service, "
                                   f"acting for an agent or resource in any other account, can be made to use "
                                   f"this role (cross-service confused deputy){note}; expected e.g. aws:SourceArn "
                                   f"{t.service.source_arn_example}", sev, _agent_services_of(st), t.conditions)


def _arn_fields(value: str) -> tuple[str, str, str, str, str] | None:
    """(partition, service, region, account, resource) of an ARN or ARN pattern, or None."""
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[0] not in ("arn", "*"):
        return None
    return parts[1], parts[2], parts[3], parts[4], parts[5]


def service_trust_wildcard_source(rule, ctx) -> Iterable[Finding]:
    """AGT017: source conditions present, but wildcards in them admit another account (Medium) or any
    region / any resource type of your account (Low)."""
    keys = rule.match.get("keys") or trust_data().source_keys
    for t in service_trusts(ctx):
        for st in t.statements:
            conds = _source_conditions(st, t.service, keys)
            if not conds:
                continue     # AGT016
            wide: list[str] = []
            for c in conds:
                if c.key_lower == "aws:sourcearn" and c.base in ("ArnLike", "ArnEquals", "StringLike"):
                    for v in c.values:
                        f = _arn_fields(v)
                        if v.strip("*?") == "":
                            wide.append(f"{c.key} {v!r} (any ARN)")
                        elif f is None:
                            continue
                        else:
                            bits = [w for w, x in (("account", f[3]), ("region", f[2])) if wildcard.has_wildcard(x) or x == ""]
                            if f[4].strip("*") == "":
                                bits.append("resource")
                            if bits:
                                wide.append(f"{c.key} {v!r} (any {', any '.join(bits)})")
                elif c.key_lower == "aws:sourceaccount" and c.base == "StringLike" and any(wildcard.has_wildcard(v) for v in c.values):
                    wide.append(f"{c.key} {_short(c.values, 3)!r} (any account that matches)")
            acct_wild = any("account" in w or "any ARN" in w for w in wide)
            acct_pinned = any(c.key_lower == "aws:sourceaccount" and c.base == "StringEquals" and not c.qualifier
                              for c in conds)
            foreign = (t.possible and st.pointer in t.admitted) or (acct_wild and not acct_pinned)
            if foreign:
                sev = rule.severity if not (t.conditions and st.pointer in t.admitted) else lower(rule.severity)
                msg = (f"its source conditions ({_short([c.describe() for c in conds], 2)}) still admit "
                       f"{t.service.principal} acting for a resource of another account"
                       + (f": {_short(wide, 2)}" if wide else "")
                       + (f" (unless {_short(t.conditions, 2)} keep it out)" if t.conditions else ""))
            elif wide:
                sev = lower(rule.severity)
                msg = (f"its source conditions pin the account but use wildcards ({_short(wide, 2)}): any "
                       f"{t.service.arn_service} resource of the account, in any region, can use the role; "
                       f"prefer {t.service.source_arn_example} or the exact ARN")
            else:
                continue
            yield _service_finding(rule, t.role, st, msg, sev, _agent_services_of(st),
                                   t.conditions if foreign else ())


# ---------------------------------------------------------------- AGT018: tool resource policies

def _resource_policy_entries(ctx) -> Iterator[tuple[str, dict]]:
    for acct_id in sorted(ctx.model.accounts):
        inv = ctx.model.accounts[acct_id].inventory or {}
        for i, e in enumerate(inv.get("resource_policies") or []):
            if isinstance(e, dict):
                yield acct_id, dict(e, _index=i)


def _resource_policy_documents(ctx) -> Iterator[tuple[str, dict, PolicyDocument]]:
    """(account, entry, parsed document) of every resource policy entry that parses (the loader reports
    the malformed ones); a Lambda permission is read as the statement Lambda stores for it."""
    for acct_id, e in _resource_policy_entries(ctx):
        raw = e.get("policy") if "policy" in e else _permission_document(e)
        if not isinstance(raw, (dict, str)):
            continue
        try:
            yield acct_id, e, parse_policy(raw, "resource")
        except InputError:
            continue


def _permission_document(e: dict) -> dict | None:
    """An AWS::Lambda::Permission (or a Lambda AddPermission statement) as the policy statement Lambda
    stores for it."""
    principal, action = e.get("Principal"), e.get("Action")
    if not isinstance(principal, str) or not isinstance(action, str):
        return None
    st: dict = {"Effect": "Allow", "Principal": {"Service": principal} if principal.endswith(".amazonaws.com")
                else {"AWS": principal}, "Action": action,
                "Resource": "*"}        # the permission is attached to the function: it applies to it alone
    cond: dict = {}
    if isinstance(e.get("SourceArn"), str):
        cond.setdefault("ArnLike", {})["AWS:SourceArn"] = e["SourceArn"]
    if isinstance(e.get("SourceAccount"), str):
        cond.setdefault("StringEquals", {})["AWS:SourceAccount"] = e["SourceAccount"]
    if isinstance(e.get("PrincipalOrgID"), str):
        cond.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = e["PrincipalOrgID"]
    if cond:
        st["Condition"] = cond
    return {"Version": "2012-10-17", "Statement": [st]}


def tool_resource_policy_no_source(rule, ctx) -> Iterable[Finding]:
    """AGT018: a tool's resource policy lets an agent service invoke it for any account's agent."""
    from ..engine.context import Context
    from ..engine.evaluate import NamedPolicy, PolicySet, Request, evaluate
    from ..engine.principal import parse_caller

    data = trust_data()
    tools = [s for s in data.services.values() if s.invokes_tools]
    for acct_id, e, doc in _resource_policy_documents(ctx):
        target = e.get("resource") or e.get("FunctionName") or e.get("arn")
        resolved = isinstance(target, str) and target.startswith("arn:") and "${" not in target
        name = e.get("logical_id") or (target if isinstance(target, str) else "resource policy")
        # the policy is attached to the resource it governs: ask whether it grants the service any
        # resource at all (the resource may still be a deploy-time value in a template)
        resource = target if resolved else f"{e.get('type') or 'resource'} {name}"
        for svc in tools:
            named = [st for st in doc.statements if st.is_allow and any(
                v.lower() == svc.principal.lower() or v == "*" for v in (st.principals or {}).get("Service", ()))]
            if not named:
                continue
            actions = sorted({a for st in named for a in (st.actions or ("*",))})
            contexts = _foreign_contexts(ctx, svc, named)
            for action in actions:
                if wildcard.has_wildcard(action):
                    action = "lambda:InvokeFunction" if wildcard.match(action, "lambda:InvokeFunction", True) else None
                if not action:
                    continue
                def ask(values, action=action):
                    req = Request(action=action, resource="*", principal=svc.principal,
                                  context=Context(values, complete=False), resource_account=acct_id,
                                  caller=parse_caller(svc.principal), resource_mode="some")
                    return evaluate(PolicySet(resource=NamedPolicy("resource", str(name), doc)), req)
                d = _ask_foreign(ask, contexts)
                if not d.possible:
                    continue
                ptrs = [r.pointer for r in d.allowed_by] or [pc.statement.pointer for pc in d.conditions]
                conds = tuple(dict.fromkeys(pc.describe() for pc in d.conditions))
                sev = rule.severity if d.allowed else lower(rule.severity)
                where = e.get("type") or "resource policy"
                loc = Location(e["file"], e.get("line")) if isinstance(e.get("file"), str) else None
                have = [c.describe() for st in named for c in _source_conditions(st, svc, data.source_keys)]
                how = (f"with source conditions that still admit another account ({_short(have, 2)})" if have
                       else "without aws:SourceArn / aws:SourceAccount")
                yield Finding(rule.id, sev, rule.title, resource,
                              f"{where} {name}: lets {svc.principal} ({svc.name}) call {action} {how}, so an "
                              f"agent in any account can be pointed at this tool"
                              + (f" (unless {_short(conds, 2)} keep it out)" if conds else ""),
                              rule.remediation, (), tuple(f"{name} {p}" for p in dict.fromkeys(ptrs)),
                              location=loc, conditions=conds, key=("resource-policy", str(name), e["_index"], svc.principal, action))
                break


# ---------------------------------------------------------------- IAM208: resource policies open to anyone

_ANYTHING = parse_policy({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def resource_policy_any_principal(rule, ctx) -> Iterable[Finding]:
    """IAM208: a resource policy allows "*" and nothing keeps out a caller of a foreign account and
    organization (asked of the evaluator on the resource policy alone)."""
    from ..engine.context import Context
    from ..engine.evaluate import NamedPolicy, PolicySet, Request, evaluate
    from ..engine.principal import parse_caller

    acct = _foreign_account(ctx)
    caller = f"arn:aws:iam::{acct}:role/{MARK}"
    values = {"aws:PrincipalAccount": acct, "aws:PrincipalArn": caller, "aws:PrincipalOrgID": f"o-{MARK}",
              "aws:PrincipalOrgPaths": [f"o-{MARK}/r-{MARK}/ou-{MARK}/"], "aws:PrincipalIsAWSService": "false",
              "aws:PrincipalType": "AssumedRole"}
    for acct_id, e, doc in _resource_policy_documents(ctx):
        # a stand-in for a document known only at deploy time (an iamlint: condition) is a gap, not "*"
        star = [st for st in doc.statements if st.is_allow and st.principals is not None and (
            "*" in st.principals or "*" in st.principals.get("AWS", ()))
            and not any(c.key_lower.startswith("iamlint:") for c in st.conditions)]
        if not star:
            continue
        target = e.get("resource") or e.get("FunctionName") or e.get("arn")
        name = e.get("logical_id") or (target if isinstance(target, str) else "resource policy")
        resolved = isinstance(target, str) and target.startswith("arn:") and "${" not in target
        subject = target if resolved else f"{e.get('type') or 'resource'} {name}"
        found = None
        # asked on what the open statements name (a Deny elsewhere may cover exactly that), else "*"
        spaces = list(dict.fromkeys(r for st in star for r in (st.resources or ("*",)) if "${" not in r)) or ["*"]
        for action, space in ((a, r) for a in dict.fromkeys(a for st in star for a in (st.actions or ("*",)))
                              for r in spaces):
            probe = action.replace("*", MARK).replace("?", "x")      # a name the pattern matches
            req = Request(action=probe, resource=space, principal=caller, context=Context(values, complete=False),
                          resource_account=acct_id, caller=parse_caller(caller), resource_mode="some")
            # the outsider writes its own identity policy: only the resource policy stands in the way
            d = evaluate(PolicySet(identity=[NamedPolicy("identity", "the outsider's own policy", _ANYTHING)],
                                   resource=NamedPolicy("resource", str(name), doc)), req)
            if d.allowed:
                found = (action, d)
                break
            if d.possible and found is None:
                found = (action, d)
        if found is None:
            continue
        action, d = found
        conds = tuple(dict.fromkeys(pc.describe() for pc in d.conditions))
        ptrs = [r.pointer for r in d.allowed_by] or [pc.statement.pointer for pc in d.conditions]
        loc = Location(e["file"], e.get("line")) if isinstance(e.get("file"), str) else None
        where = e.get("type") or "resource policy"
        yield Finding(rule.id, rule.severity if d.allowed else lower(rule.severity), rule.title, subject,
                      f"{where} {name}: Principal \"*\" may call {action} from an account outside yours and your "
                      f"organization" + (f" unless {_short(conds, 2)} keep it out" if conds else
                                         ": nothing in the policy keeps outsiders out"),
                      rule.remediation, (), tuple(f"{name} {p}" for p in dict.fromkeys(ptrs)), location=loc,
                      conditions=conds, key=("public", str(name), e["_index"]))


# ---------------------------------------------------------------- AGT026: tag-scope bypass

def _tag_adders(service: str) -> list[str]:
    """The actions of a service that put tags on a resource (Tagging access level, not removing ones)."""
    out = []
    for name, d in sorted(catalog.service_actions(service).items()):
        lv = (d.get("accessLevel") or "").lower()
        if "tagging" not in lv:
            continue
        if name.startswith(("untag", "delete", "remove", "list", "get", "describe")):
            continue
        out.append(f"{service}:{d['name']}")
    return out


def _mutating(patterns: Iterable[str]) -> list[str]:
    out: dict[str, None] = {}
    for pat in patterns:
        if pat == "*":
            continue      # every action: IAM101 says more than a tag-scope finding
        for a in catalog.expand(pat):
            lv = (catalog.access_level(a) or "").lower()
            if ("write" in lv or "permissions management" in lv) and "tagging" not in lv:
                out[a] = None
    return list(out)


def _sample(value: str) -> str:
    return value.replace("*", "x").replace("?", "x")


def tag_scope_bypass(rule, ctx) -> Iterable[Finding]:
    """AGT026: writes scoped by aws:ResourceTag, and the same principal may put that tag on resources
    outside the scope (retag its way in)."""
    from .hygiene import ref_label

    auth = ctx.graph.auth
    for p in sorted_principals(ctx):
        if p.kind is Kind.GROUP or p.service_linked:
            continue
        for pol in auth.policy_set(p).identity:
            for st in pol.document.statements:
                if not st.is_allow or st.actions is None:
                    continue
                scoped = [c for c in st.conditions if c.key_lower.startswith("aws:resourcetag/")
                          and c.base in ("StringEquals", "StringLike", "StringEqualsIgnoreCase")
                          and not c.qualifier and not c.if_exists]
                if not scoped:
                    continue
                writes = _mutating(st.actions)
                if not writes:
                    continue
                services = sorted({catalog.split(a)[0] for a in writes})
                for c in scoped:
                    tag = c.key[len("aws:ResourceTag/"):]
                    value = _sample(c.values[0]) if c.values else "x"
                    context = {f"aws:RequestTag/{tag}": value, "aws:TagKeys": [tag], f"aws:ResourceTag/{tag}": []}
                    hit = None
                    for svc in services:
                        for ta in _tag_adders(svc)[:4]:
                            for r in (st.resources or ("*",)):
                                d = auth.check(p.arn, ta, r, context, resource_mode="some")
                                if d.possible:
                                    hit = (ta, r, d)
                                    break
                            if hit:
                                break
                        if hit:
                            break
                    if hit is None:
                        continue
                    ta, r, d = hit
                    conds = tuple(dict.fromkeys(pc.describe() for pc in d.conditions))
                    by = tuple(dict.fromkeys(ref_label(p, x) for x in d.allowed_by if x.policy_type == "identity"))
                    where = f"{pol.name} {st.label()}"
                    sev = rule.severity if d.allowed else lower(rule.severity)
                    yield Finding(rule.id, sev, rule.title, p.arn,
                                  f"{where} scopes {_short(writes, 3)} to resources tagged {tag}={_short(c.values, 2)}, "
                                  f"but {p.name} may also call {ta} on {r} setting {tag}={value!r} on a resource that "
                                  f"does not carry it" + (f" ({'granted by ' + _short(by, 2)})" if by else "")
                                  + ": it can tag any resource into its own scope"
                                  + (f" (under {_short(conds, 2)})" if conds else ""),
                                  rule.remediation, (), (where,) + by, conditions=conds,
                                  key=(pol.arn or pol.name, st.pointer, tag.lower()))


# ---------------------------------------------------------------- documents: identity, boundary, trust, SCP

@dataclass(frozen=True)
class Doc:
    owner: str | None          # principal ARN, or the policy ARN for organization policies
    label: str                 # how to name the document in messages and evidence
    ident: str
    document: PolicyDocument
    kind: str                  # identity | boundary | trust | scp | rcp
    account: str | None = None


def _documents(ctx) -> list[Doc]:
    if "agt:docs" in ctx._cache:
        return ctx._cache["agt:docs"]
    out: list[Doc] = []
    for p in _policy_owners(ctx):
        for pol in owned_policies(ctx, p, aws_managed=False):
            out.append(Doc(p.arn, pol.where, pol.ident, pol.document, "identity", p.account))
        if p.permissions_boundary:
            mp = ctx.model.policies.get(p.permissions_boundary)
            if mp is not None and mp.document is not None and not mp.aws_managed:
                out.append(Doc(p.arn, f"permissions boundary {mp.arn}", mp.arn, mp.document, "boundary", p.account))
        if p.kind is Kind.ROLE and p.trust_policy is not None:
            out.append(Doc(p.arn, f"role/{p.name} trust policy", f"trust:{p.arn}", p.trust_policy, "trust", p.account))
    org = ctx.model.organization
    if org is not None:
        seen: set[str] = set()
        for kind, table in (("scp", org.scps), ("rcp", org.rcps)):
            for acct in sorted(table):
                for level, pols in table[acct]:
                    for g in pols:
                        ident = g.arn or f"{kind}:{g.name}"
                        if ident in seen:
                            continue
                        seen.add(ident)
                        out.append(Doc(ident, f"{kind.upper()} {g.name}", ident, g.document, kind, None))
    ctx._cache["agt:docs"] = out
    return out


def _doc_finding(rule, doc: Doc, st: Statement, message: str, severity: str, key: tuple,
                 conditions: tuple = ()) -> Finding:
    return Finding(rule.id, severity, rule.title, doc.owner, f"{doc.label} {st.label()}: {message}",
                   rule.remediation, (), (f"{doc.label} {st.label()}",), conditions=conditions,
                   key=(doc.ident, st.pointer) + key)


# ---------------------------------------------------------------- AGT029: aws:UserAgent as a boundary

CALLER_IDENTITY_KEYS = {"aws:principalarn", "aws:principalaccount", "aws:principalorgid", "aws:userid",
                        "aws:username", "aws:sourceidentity", "aws:principaltag", "aws:sourcevpc",
                        "aws:sourcevpce", "aws:viaawsmcpservice", "aws:calledviaawsmcp"}


def useragent_boundary(rule, ctx) -> Iterable[Finding]:
    """AGT029: a condition on aws:UserAgent used to grant or to deny."""
    for doc in _documents(ctx):
        for st in doc.document.statements:
            ua = [c for c in st.conditions if c.key_lower == "aws:useragent"]
            if not ua:
                continue
            others = [c for c in st.conditions if c.key_lower != "aws:useragent" and (
                c.key_lower in CALLER_IDENTITY_KEYS or c.key_lower.startswith("aws:principaltag/"))]
            vals = _short([v for c in ua for v in c.values], 2)
            if st.is_allow:
                msg = (f"grants only when the request's user agent matches {vals}: the caller writes that header, "
                       f"so any caller that may use the other parts of the statement can send it")
            else:
                negated = all(c.base in NEGATED for c in ua)
                msg = (f"denies {'unless' if negated else 'when'} the user agent matches {vals}: an agent that "
                       f"sends {'that' if negated else 'another'} user agent (e.g. by calling the API or CLI "
                       f"directly) is not stopped; AWS says aws:UserAgent should not be used to prevent "
                       f"unauthorized requests")
            sev = lower(rule.severity) if others else rule.severity
            if others:
                msg += f" (the statement also tests {_short(sorted({c.key for c in others}), 2)}, so it is not the only control)"
            yield _doc_finding(rule, doc, st, msg, sev, ("aws:UserAgent",), tuple(c.describe() for c in ua))


# ---------------------------------------------------------------- AGT030: deprecated aws-mcp actions

def _dead_patterns(patterns: Iterable[str] | None, dead: set[str]) -> list[str]:
    """Entries that name a deprecated action and no action that still works (`aws-mcp:*` is left alone)."""
    out = []
    for pat in patterns or ():
        low = pat.lower()
        service, _, name = low.partition(":")
        if service != "aws-mcp" or name.strip("*") == "":
            continue
        live = [a for a in catalog.expand(pat) if a.lower() not in dead]
        if live:
            continue
        if any(wildcard.match(low, d, ignore_case=True) for d in dead):
            out.append(pat)
    return out


def _mcp_key_deny(docs: Iterable[Doc], keys: set[str]) -> bool:
    return any(not st.is_allow and any(c.key_lower in keys for c in st.conditions)
               for d in docs for st in d.document.statements)


def deprecated_mcp_actions(rule, ctx) -> Iterable[Finding]:
    """AGT030: statements that rely on aws-mcp:InvokeMcp / CallReadOnlyTool / CallReadWriteTool."""
    dead = {a.lower() for a in rule.match.get("deprecated", [])}
    keys = {k.lower() for k in rule.match.get("replacement_keys", ["aws:ViaAWSMCPService", "aws:CalledViaAWSMCP"])}
    docs = _documents(ctx)
    org_docs = [d for d in docs if d.kind in ("scp", "rcp")]
    by_owner: dict[str | None, list[Doc]] = {}
    for d in docs:
        by_owner.setdefault(d.owner, []).append(d)
    for doc in docs:
        for st in doc.document.statements:
            bad = _dead_patterns(st.actions, dead) + _dead_patterns(st.not_actions, dead)
            if not bad:
                continue
            if st.is_allow:
                msg = (f"names {_short(bad)} (deprecated: no longer in effect), so the statement grants nothing "
                       f"through them (MCP calls are authorized as the underlying service actions)")
                sev = rule.severity
            else:
                scope = org_docs + (by_owner.get(doc.owner, []) if doc.kind not in ("scp", "rcp") else [])
                alone = not _mcp_key_deny(scope, keys)
                msg = f"denies {_short(bad)} (deprecated: no longer in effect), so this Deny stops nothing"
                if alone:
                    msg += (" and no other Deny uses aws:ViaAWSMCPService or aws:CalledViaAWSMCP, so agents "
                            "calling through the AWS MCP Server are not restricted at all")
                    sev = rule.match.get("alone_severity", "high")
                else:
                    sev = rule.severity
            if doc.kind in ("identity",):
                others = [p for p in catalog.unknown_actions(st.actions or ()) if p not in bad]
                if not others:
                    _cover(ctx, rule, doc.owner, (doc.ident, st.pointer, "Action"))
            yield _doc_finding(rule, doc, st, msg, sev, ("aws-mcp",))


MATCHERS: dict = {
    "agt_oidc_missing_sub": oidc_missing_sub,
    "agt_oidc_wildcard_sub": oidc_wildcard_sub,
    "agt_oidc_set_operator": oidc_set_operator,
    "agt_oidc_missing_aud": oidc_missing_aud,
    "agt_service_trust_no_source": service_trust_no_source,
    "resource_policy_any_principal": resource_policy_any_principal,
    "agt_service_trust_wildcard_source": service_trust_wildcard_source,
    "agt_tool_resource_policy_no_source": tool_resource_policy_no_source,
    "agt_tag_scope_bypass": tag_scope_bypass,
    "agt_useragent_boundary": useragent_boundary,
    "agt_deprecated_mcp_actions": deprecated_mcp_actions,
}
