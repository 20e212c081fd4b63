"""A deliberately simple, independent IAM evaluator, written from iam-semantics.md and the AWS docs.

Used only by the differential test (tests/test_differential.py) as a second opinion on iamlint's
evaluator. It shares no code with `iamlint/`: it reads the raw `simulate` case (plain JSON), brute
forces every statement, and answers Allowed / ImplicitlyDenied / ExplicitlyDenied for a *complete*
request context (a key that is absent is absent), exactly like `iamlint simulate`.

Readings of the documents it encodes (each is also a case in fixtures/semantics/):
* actions match case-insensitively, resources and ARNs case-sensitively; `*` any run, `?` one char;
* variables only under Version 2012-10-17, only in Resource and String/Arn condition values; a
  variable with no value (absent, or a multivalued key, which AWS does not substitute) makes the
  element match nothing; negated operators "do match against a null value" (UG policy-vars-no-value);
* a missing key: IfExists -> true, ForAllValues -> true, ForAnyValue -> false, negated -> true,
  otherwise false; several values OR, under a negated operator NOR;
* a value that does not parse (number, date, IP, boolean, ARN) equals nothing;
* RCPs: RCPFullAWSAccess is always attached, so only their Denies count; they do not apply to calls
  by service-linked roles (AWS Organizations, "Resources and entities not restricted by RCPs").
"""

from __future__ import annotations

import base64
import ipaddress
import re
from datetime import datetime, timedelta, timezone

ALLOWED, IMPLICIT, EXPLICIT = "Allowed", "ImplicitlyDenied", "ExplicitlyDenied"

RCP_SERVICES_DOC = {"s3", "sts", "kms", "sqs", "secretsmanager"}   # R11 (Control Tower list)
STRICT_ACTIONS = {"sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity",
                  "sts:tagsession", "sts:setsourceidentity", "sts:setcontext"}


# ------------------------------------------------------------------ glob matching on token lists
# A pattern is a list of tokens: ("*",) any run, ("?",) one char, ("c", ch) a literal char.

def tokens_of(text: str, wild: bool = True) -> list:
    out = []
    for ch in text:
        if wild and ch == "*":
            out.append(("*",))
        elif wild and ch == "?":
            out.append(("?",))
        else:
            out.append(("c", ch))
    return out


def tokens_match(tokens: list, text: str, ci: bool = False) -> bool:
    if ci:
        text = text.lower()
        tokens = [("c", t[1].lower()) if t[0] == "c" else t for t in tokens]
    n, m = len(tokens), len(text)
    # reach[j]: tokens[:i] can match text[:j]
    reach = [False] * (m + 1)
    reach[0] = True
    for tok in tokens:
        new = [False] * (m + 1)
        if tok[0] == "*":
            seen = False
            for j in range(m + 1):
                seen = seen or reach[j]
                new[j] = seen
        else:
            for j in range(1, m + 1):
                if reach[j - 1] and (tok[0] == "?" or tok[1] == text[j - 1]):
                    new[j] = True
        reach = new
    return reach[m]


def glob(pattern: str, text: str, ci: bool = False) -> bool:
    return tokens_match(tokens_of(pattern), text, ci)


# ------------------------------------------------------------------ context and variables

class Ctx:
    def __init__(self, raw: dict):
        self.d: dict[str, list[str]] = {}
        for k, v in (raw or {}).items():
            vals = v if isinstance(v, list) else [v]
            self.d[k.lower()] = [_text(x) for x in vals if x is not None]

    def get(self, key: str) -> list[str]:
        return self.d.get(key.lower(), [])


def _text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


_VAR = re.compile(r"\$\{([^}]*)\}")


def expand(template: str, ctx: Ctx, wild: bool):
    """Tokens of a policy value after variable substitution, or None when a variable has no value."""
    out: list = []
    pos = 0
    for m in _VAR.finditer(template):
        out += tokens_of(template[pos:m.start()], wild)
        body = m.group(1)
        if body in ("*", "?", "$"):
            out.append(("c", body))
        else:
            name, default = body, None
            if "," in body:
                name, _, rest = body.partition(",")
                rest = rest.strip()
                if len(rest) >= 2 and rest[0] == "'" and rest[-1] == "'":
                    default = rest[1:-1]
                else:
                    return None
            vals = ctx.get(name.strip())
            if len(vals) == 1:
                out += [("c", c) for c in vals[0]]
            elif default is not None:
                out += [("c", c) for c in default]
            else:
                return None        # absent, or multivalued (never substituted)
        pos = m.end()
    out += tokens_of(template[pos:], wild)
    return out


# ------------------------------------------------------------------ value parsing

_NUM = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def num(s: str):
    return float(s) if _NUM.match(s) else None


_DT = re.compile(r"^(\d{4})-(\d\d)-(\d\d)(?:T(\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?(Z|[+-]\d\d:?\d\d)?)?$")


def date(s: str):
    if re.fullmatch(r"\d+", s):         # epoch seconds
        return float(s)
    m = _DT.match(s)
    if not m:
        return None
    y, mo, d, h, mi, se, frac, tz = m.groups()
    try:
        t = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(se or 0), tzinfo=timezone.utc)
    except ValueError:
        return None
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        hh, mm = int(tz[1:3]), int(tz[-2:])
        t -= sign * timedelta(hours=hh, minutes=mm)
    return t.timestamp() + (float("0." + frac) if frac else 0.0)


def ip_in(ctx_value: str, policy_value: str) -> bool:
    try:
        net = ipaddress.ip_network(policy_value, strict=False)
        addr = ipaddress.ip_address(ctx_value)
    except ValueError:
        return False
    return addr.version == net.version and addr in net


def bool_eq(c: str, p: str) -> bool:
    return c.lower() in ("true", "false") and p.lower() in ("true", "false") and c.lower() == p.lower()


def binary_eq(c: str, p: str) -> bool:
    try:
        return base64.b64decode(c, validate=True) == base64.b64decode(p, validate=True)
    except ValueError:
        return False


def arn_match(policy_tokens: list, ctx_value: str) -> bool:
    if policy_tokens == [("*",)]:
        return True
    segs: list[list] = [[]]
    for t in policy_tokens:
        if t == ("c", ":") and len(segs) < 6:
            segs.append([])
        else:
            segs[-1].append(t)
    parts = ctx_value.split(":", 5)
    if len(segs) != 6 or len(parts) != 6:
        return False
    return all(tokens_match(s, p) for s, p in zip(segs, parts))


# ------------------------------------------------------------------ conditions

def parse_op(op: str):
    qual = None
    if ":" in op:
        q, _, op = op.partition(":")
        qual = q.lower()
    base = op
    if_exists = base.lower().endswith("ifexists")
    if if_exists:
        base = base[:-8]
    return qual, base.lower(), if_exists


NEGATED = {"stringnotequals", "stringnotequalsignorecase", "stringnotlike", "numericnotequals",
           "datenotequals", "notipaddress", "arnnotequals", "arnnotlike"}
POSITIVE_OF = {"stringnotequals": "stringequals", "stringnotequalsignorecase": "stringequalsignorecase",
               "stringnotlike": "stringlike", "numericnotequals": "numericequals",
               "datenotequals": "dateequals", "notipaddress": "ipaddress", "arnnotequals": "arnequals",
               "arnnotlike": "arnlike"}


def one_value_matches(base: str, c: str, p: str, ctx: Ctx, variables: bool) -> bool:
    """Does context value c match policy value p under the (positive) operator base."""
    if base in ("stringequals", "stringequalsignorecase", "stringlike"):
        toks = expand(p, ctx, wild=(base == "stringlike")) if variables else tokens_of(p, base == "stringlike")
        if toks is None:
            return False
        return tokens_match(toks, c, ci=(base == "stringequalsignorecase"))
    if base in ("arnequals", "arnlike"):
        toks = expand(p, ctx, wild=True) if variables else tokens_of(p)
        return toks is not None and arn_match(toks, c)
    if base.startswith("numeric"):
        a, b = num(c), num(p)
        if a is None or b is None:
            return False
        return {"numericequals": a == b, "numericlessthan": a < b, "numericlessthanequals": a <= b,
                "numericgreaterthan": a > b, "numericgreaterthanequals": a >= b}[base]
    if base.startswith("date"):
        a, b = date(c), date(p)
        if a is None or b is None:
            return False
        return {"dateequals": a == b, "datelessthan": a < b, "datelessthanequals": a <= b,
                "dategreaterthan": a > b, "dategreaterthanequals": a >= b}[base]
    if base == "bool":
        return bool_eq(c, p)
    if base == "binaryequals":
        return binary_eq(c, p)
    if base == "ipaddress":
        return ip_in(c, p)
    raise ValueError(base)


def condition_true(op: str, key: str, values, ctx: Ctx, variables: bool) -> bool:
    qual, base, if_exists = parse_op(op)
    pvals = [_text(v) for v in (values if isinstance(values, list) else [values])]
    cvals = ctx.get(key)
    if base == "null":
        return any((p.lower() == "true") == (not cvals) for p in pvals if p.lower() in ("true", "false"))
    negated = base in NEGATED
    pos = POSITIVE_OF.get(base, base)
    if not cvals:
        if if_exists:
            return True
        if qual == "forallvalues":
            return True
        if qual == "foranyvalue":
            return False
        return negated

    def holds(c: str) -> bool:
        hit = any(one_value_matches(pos, c, p, ctx, variables) for p in pvals)
        return not hit if negated else hit

    if qual == "forallvalues":
        return all(holds(c) for c in cvals)
    if qual == "foranyvalue":
        return any(holds(c) for c in cvals)
    # no set operator: positive: some value matches; negated: no value matches (NOR over everything)
    return all(holds(c) for c in cvals) if negated else any(holds(c) for c in cvals)


def conditions_true(cond: dict, ctx: Ctx, variables: bool) -> bool:
    for op, block in (cond or {}).items():
        for key, values in block.items():
            if not condition_true(op, key, values, ctx, variables):
                return False
    return True


# ------------------------------------------------------------------ callers and principals

class Caller:
    def __init__(self, principal: str):
        self.arn = principal
        self.kind = "anonymous"
        self.account = None
        self.role_name = None
        self.slr = False
        if re.fullmatch(r"\d{12}", principal):
            self.kind, self.account, self.arn = "root", principal, f"arn:aws:iam::{principal}:root"
            return
        if principal.endswith(".amazonaws.com"):
            self.kind = "service"
            return
        parts = principal.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            return
        svc, acct, res = parts[2], parts[4], parts[5]
        self.account = acct or None
        if svc == "iam" and res == "root":
            self.kind = "root"
        elif svc == "iam" and res.startswith("user/"):
            self.kind = "user"
        elif svc == "iam" and res.startswith("role/"):
            self.kind = "role"
            self.role_name = res.split("/")[-1]
            self.slr = res.startswith("role/aws-service-role/")
        elif svc == "sts" and res.startswith("assumed-role/"):
            self.kind = "session"
            self.role_name = res.split("/")[1]
            self.slr = self.role_name.startswith("AWSServiceRoleFor")
        elif svc == "sts" and res.startswith("federated-user/"):
            self.kind = "federated-user"
        elif svc == "iam" and res.startswith(("oidc-provider/", "saml-provider/")):
            self.kind = "provider"        # a web-identity or SAML caller: no identity policies

    @property
    def iam(self) -> bool:
        return self.kind in ("user", "role", "session", "federated-user")

    def levels(self) -> set:
        if self.kind == "service":
            return {"service"}
        if self.kind == "provider":        # a web identity is no AWS principal of the account
            return {"federated"}
        out = set()
        if self.account:
            out.add("account")
        if self.kind in ("user", "role", "session", "federated-user", "root"):
            out.add("principal")
        if self.kind in ("session", "federated-user"):
            out.add("session")
        return out

    def named_by(self, value: str) -> set:
        """Which of this caller's identities an AWS principal value names: account/principal/session."""
        out = set()
        if self.account and value in (self.account, f"arn:aws:iam::{self.account}:root"):
            out.add("account")
            if self.kind == "root":
                out.add("principal")
        if self.kind == "user" and value == self.arn:
            out.add("principal")
        if self.kind == "role" and value == self.arn:
            out.add("principal")
        if self.kind == "session":
            p = value.split(":", 5)
            if len(p) == 6 and p[2] == "iam" and p[4] == self.account and p[5].startswith("role/") \
                    and p[5].split("/")[-1] == self.role_name:
                out.add("principal")
            if value == self.arn:
                out.add("session")
        if self.kind == "federated-user" and value == self.arn:
            out.add("session")
        return out


def principal_grants(st: dict, caller: Caller) -> set:
    """How a resource-policy statement names the caller: a set of 'alone' / 'role' / 'account'."""
    if "Principal" in st:
        p = st["Principal"]
        if p == "*":
            return {"alone"}
        out = set()
        for kind, vals in p.items():
            for v in (vals if isinstance(vals, list) else [vals]):
                if kind == "AWS":
                    if v == "*":
                        out.add("alone")
                        continue
                    if not (caller.iam or caller.kind == "root"):
                        continue
                    named = caller.named_by(v)
                    if caller.kind == "root" and named:
                        out.add("alone")
                    elif "session" in named or ("principal" in named and caller.kind == "user"):
                        out.add("alone")
                    elif "principal" in named:
                        out.add("role")
                    elif "account" in named:
                        out.add("account")
                elif kind == "Service" and caller.kind == "service" and v.lower() == caller.arn.lower():
                    out.add("alone")
                elif kind == "Federated" and caller.kind == "provider" and \
                        v in (caller.arn, caller.arn.split(":", 5)[5].split("/", 1)[1]):
                    out.add("alone")
        return out
    if "NotPrincipal" in st:
        listed = set()
        np_ = st["NotPrincipal"]
        for kind, vals in (np_.items() if isinstance(np_, dict) else [("*", "*")]):
            for v in (vals if isinstance(vals, list) else [vals]):
                if (kind == "AWS" and v == "*") or kind == "*":
                    listed |= {"account", "principal", "session", "service", "federated"}
                elif kind == "AWS":
                    listed |= caller.named_by(v)
                elif kind == "Service" and caller.kind == "service" and v.lower() == caller.arn.lower():
                    listed.add("service")
                elif kind == "Federated" and caller.kind == "provider" and v == caller.arn:
                    listed.add("federated")
        if st["Effect"] == "Deny":
            need = caller.levels() or {"principal"}
            return set() if need <= listed else {"alone"}
        return set() if listed else {"alone"}
    return {"alone"}


# ------------------------------------------------------------------ statements and policies

def as_list(x):
    return x if isinstance(x, list) else [x]


def doc_of(item):
    if isinstance(item, dict) and "policy" in item and "Statement" not in item:
        return item["policy"]
    return item


def statements(doc) -> list:
    return as_list(doc_of(doc)["Statement"])


def variables_on(doc) -> bool:
    return doc_of(doc).get("Version") == "2012-10-17"


def applies(st: dict, doc, action: str, resource: str, ctx: Ctx) -> bool:
    """Action, resource and condition all match (principal handled by the caller)."""
    a = action.lower()
    if "Action" in st:
        if not any(glob(p, a, ci=True) for p in as_list(st["Action"])):
            return False
    else:
        if any(glob(p, a, ci=True) for p in as_list(st["NotAction"])):
            return False
    var = variables_on(doc)

    def res_match(p):
        toks = expand(p, ctx, wild=True) if var else tokens_of(p)
        return toks is not None and tokens_match(toks, resource)

    if "Resource" in st:
        if not any(res_match(p) for p in as_list(st["Resource"])):
            return False
    elif "NotResource" in st:
        if any(res_match(p) for p in as_list(st["NotResource"])):
            return False
    return conditions_true(st.get("Condition"), ctx, var)


def levels_of(raw):
    if not raw:
        return None
    if all(isinstance(x, dict) and "policies" in x for x in raw):
        return [lvl["policies"] for lvl in raw]
    return [raw]


def decide(case: dict) -> str:
    req = case["request"]
    action, resource = req["action"], req["resource"]
    caller = Caller(req["principal"])
    ctx = Ctx(req.get("context") or {})
    if action.lower() == "sts:getcalleridentity":
        return ALLOWED

    identity = case.get("identity_policies") or []
    boundaries = case.get("permission_boundaries") or []
    session = case.get("session_policy")
    rp = case.get("resource_policy")
    scps = levels_of(case.get("scps"))
    rcps = levels_of(case.get("rcps"))
    bounded = bool(boundaries)

    rparts = resource.split(":", 5)
    racct = req.get("resource_account") or (rparts[4] if len(rparts) == 6 and re.fullmatch(r"\d{12}", rparts[4])
                                            else None) or caller.account
    same = caller.account is None or racct is None or caller.account == racct
    service = action.split(":", 1)[0].lower()

    scp_on = scps is not None and (caller.iam or caller.kind == "root") and not caller.slr
    rcp_on = (rcps is not None and not caller.slr and service in RCP_SERVICES_DOC
              and ":role/aws-service-role/" not in resource and action.lower() != "kms:retiregrant")

    def matching(docs, effect, with_principal=False):
        """(statement, principal-grant-set) pairs of `effect` that apply."""
        out = []
        for d in docs:
            for st in statements(d):
                if st["Effect"] != effect:
                    continue
                kinds = {"alone"}
                if with_principal:
                    if st.get("Effect") == "Deny" and "NotPrincipal" in st and bounded and caller.iam:
                        kinds = {"alone"}        # R9: NotPrincipal + Deny denies every bounded principal
                    else:
                        kinds = principal_grants(st, caller)
                    if not kinds:
                        continue
                if applies(st, d, action, resource, ctx):
                    out.append((st, kinds))
        return out

    # explicit deny anywhere
    deny_sources = []
    if scp_on:
        deny_sources.append(([p for lvl in scps for p in lvl], False))
    if rcp_on:
        deny_sources.append(([p for lvl in rcps for p in lvl], True))
    if rp is not None:
        deny_sources.append(([rp], True))
    if caller.iam:
        deny_sources += [(identity, False), (boundaries, False), ([session] if session else [], False)]
    for docs, wp in deny_sources:
        if matching(docs, "Deny", wp):
            return EXPLICIT

    # SCPs: every level must allow
    if scp_on and not all(matching(lvl, "Allow") for lvl in scps):
        return IMPLICIT

    if caller.kind == "root":
        I = B = S = True
    elif caller.iam:
        I = bool(matching(identity, "Allow"))
        B = all(matching([b], "Allow") for b in boundaries)
        S = bool(matching([session], "Allow")) if session else True
    else:
        I = B = S = False

    grants = set()
    if rp is not None:
        for _st, kinds in matching([rp], "Allow", True):
            grants |= kinds

    if not caller.iam and caller.kind != "root":
        return ALLOWED if grants else IMPLICIT
    strict = (action.lower() in STRICT_ACTIONS and ":role/" in resource) or \
             (service == "kms" and ":key/" in resource)
    ids = I and B and S
    if same:
        ok = ("alone" in grants) or ("role" in grants and B and S) or ("account" in grants and ids)
        if not strict:
            ok = ok or ids
    else:
        ok = bool(grants) and ids
    return ALLOWED if ok else IMPLICIT
