"""More property tests (issue 8): the snapshot loader, the evaluator on legal-but-unusual policies,
URL-encoded and non-ASCII GAAD input, configuration and exclusion files.

Every outcome is a result or one InputError naming the file (never another exception). Bounded
example counts keep this file to a few seconds; `IAMLINT_FUZZ_EXAMPLES=N` sets every property test
here (and in test_fuzz.py) to N examples for a long soak run.
"""

import json
import os
import tempfile
import urllib.parse

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from iamlint.config import load_config
from iamlint.errors import InputError
from iamlint.loaders import load_data, load_paths
from iamlint.pipeline import scan
from iamlint.simulate import run_case
from iamlint.suppress import load_exclusions

SOAK = os.environ.get("IAMLINT_FUZZ_EXAMPLES")


def bounded(n: int):
    """settings with n examples, or IAMLINT_FUZZ_EXAMPLES when set (the soak run)."""
    return settings(max_examples=int(SOAK) if SOAK else n, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


A = "111111111111"
U = f"arn:aws:iam::{A}:user/alice"
ROLE = f"arn:aws:iam::{A}:role/r"

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=12))
anyjson = st.recursive(scalars, lambda kids: st.one_of(st.lists(kids, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), kids, max_size=3)),
                       max_leaves=12)


def maybe(strategy):
    """A plausible value most of the time, any JSON value sometimes."""
    return st.one_of(strategy, strategy, strategy, anyjson)


def _file(text: str, suffix: str) -> str:
    fd, path = tempfile.mkstemp(suffix=suffix)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


# ------------------------------------------------------------------------------ snapshot loader

ARNS = st.sampled_from([U, ROLE, f"arn:aws:iam::{A}:group/g", f"arn:aws:iam::{A}:policy/p",
                        "arn:aws:iam::aws:policy/AdministratorAccess", "not-an-arn", "arn:aws:iam::x"])
NAMES = st.one_of(st.sampled_from(["alice", "r", "g", "p", "ロール", "a<b>&\"c\"", ""]), st.text(max_size=8))
DOCS = st.one_of(
    st.just({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}),
    st.just({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}),
    st.just("%7B%22Statement%22%3A%5B%5D%7D"), st.just({"Statement": []}), anyjson)
principal = st.fixed_dictionaries(
    {"arn": maybe(ARNS), "kind": maybe(st.sampled_from(["user", "role", "group", "robot"])), "name": maybe(NAMES)},
    optional={"inline_policies": maybe(st.lists(st.fixed_dictionaries({"name": maybe(NAMES), "document": DOCS}),
                                                max_size=2)),
              "managed_policies": maybe(st.lists(ARNS, max_size=2)), "groups": maybe(st.lists(ARNS, max_size=2)),
              "members": maybe(st.lists(ARNS, max_size=2)), "trust_policy": DOCS,
              "permissions_boundary": maybe(ARNS), "tags": maybe(st.dictionaries(NAMES, NAMES, max_size=2)),
              "max_session_duration": maybe(st.integers(0, 50000)), "instance_profiles": maybe(st.lists(ARNS)),
              "last_used": anyjson, "path": maybe(st.just("/")), "id": anyjson, "create_date": anyjson})
account = st.fixed_dictionaries(
    {"account_id": maybe(st.sampled_from([A, "222222222222", "unknown"]))},
    optional={"principals": maybe(st.lists(principal, max_size=3)), "alias": maybe(NAMES),
              "inventory": maybe(st.dictionaries(st.sampled_from(["lambda_functions", "instance_profiles", "users",
                                                                  "ec2_instances", "organization"]),
                                                 anyjson, max_size=3)),
              "collection_errors": maybe(st.lists(st.dictionaries(st.sampled_from(["service", "operation",
                                                                                    "error_code", "message"]),
                                                                  NAMES), max_size=2)),
              "sources": maybe(st.lists(NAMES, max_size=2))})
policy = st.fixed_dictionaries(
    {"arn": maybe(ARNS), "name": maybe(NAMES)},
    optional={"versions": maybe(st.lists(st.fixed_dictionaries(
        {"version_id": maybe(st.sampled_from(["v1", "v2"])), "document": DOCS},
        optional={"is_default": anyjson}), max_size=2)),
        "default_version": maybe(st.sampled_from(["v1", "v2"])), "attachment_count": maybe(st.integers(0, 9)),
        "missing": anyjson, "is_attachable": anyjson})
snapshot = st.fixed_dictionaries(
    {"format": maybe(st.just("iamlint-snapshot")), "schema_version": maybe(st.just(1)),
     "accounts": maybe(st.lists(account, max_size=2))},
    optional={"policies": maybe(st.lists(policy, max_size=2)), "organization": anyjson, "generator": anyjson})


@bounded(120)
@given(snapshot)
def test_snapshot_loader_any_snapshot_shape(data):
    try:
        model = load_data(data, "fuzz.json")
    except InputError as exc:
        assert exc.line().startswith("fuzz.json")
        return
    assert set(model.accounts) <= {A, "222222222222", "unknown"}


@bounded(25)
@given(snapshot)
def test_a_loaded_snapshot_scans(data):
    """What the loader accepts, the graph and the rules can read (no crash past the loader)."""
    try:
        model = load_data(data, "fuzz.json")
    except InputError:
        return
    report = scan(model)
    json.dumps([f.to_json() for f in report.findings])


# ------------------------------------------------------------------------------ evaluator: legal but unusual

def pol(*statements, version="2012-10-17", as_object=False):
    st_ = statements[0] if as_object and len(statements) == 1 else list(statements)
    out = {"Statement": st_}
    if version is not None:
        out["Version"] = version
    return out


def sim(identity=(), resource_policy=None, action="s3:GetObject", resource="arn:aws:s3:::b/k", principal=U,
        context=None):
    case = {"id": 1, "identity_policies": list(identity), "request": {
        "action": action, "resource": resource, "principal": principal, "context": context or {}}}
    if resource_policy is not None:
        case["resource_policy"] = resource_policy
    out = run_case(json.loads(json.dumps(case)))
    assert out["error"] is None, out["error"]
    return out["decision"]


def _mixed_case(draw_bools, text):
    return "".join(c.upper() if b else c.lower() for c, b in zip(text, draw_bools))


@bounded(60)
@given(st.lists(st.booleans(), min_size=40, max_size=40), st.booleans(), st.sampled_from(
    ["s3:GetObject", "iam:PassRole", "sts:AssumeRole", "ec2:RunInstances", "lambda:UpdateFunctionCode"]))
@example([True] * 40, True, "iam:PassRole")
def test_mixed_case_actions_match(flags, as_object, action):
    written = _mixed_case(flags, action)
    allow = pol({"Effect": "Allow", "Action": written, "Resource": "*"}, as_object=as_object)
    assert sim([allow], action=action, resource="*") == "Allowed"
    deny = pol({"Effect": "Deny", "Action": [_mixed_case(flags[::-1], action)], "Resource": "*"})
    assert sim([allow, deny], action=action, resource="*") == "ExplicitlyDenied"
    # NotAction, mixed case too: everything but this action
    assert sim([pol({"Effect": "Allow", "NotAction": written, "Resource": "*"})], action=action,
               resource="*") == "ImplicitlyDenied"


@bounded(60)
@given(st.sampled_from(["alice", "bob", "a.b-c_d", "名前", "x*y", "?"]), st.booleans(), st.booleans())
@example("x*y", True, False)
def test_policy_variables_and_the_2008_version(name, version_2012, as_object):
    version = "2012-10-17" if version_2012 else "2008-10-17"
    p = pol({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${aws:username}/*"},
            version=version, as_object=as_object)
    ctx = {"aws:username": name}
    own = sim([p], resource=f"arn:aws:s3:::b/{name}/k", context=ctx)
    literal = sim([p], resource="arn:aws:s3:::b/${aws:username}/k", context=ctx)
    if version_2012:
        assert own == "Allowed"
        # the value is substituted literally: a * or ? in a user name is no wildcard
        other = "zz" if name != "zz" else "yy"
        if not any(c in name for c in "*?"):
            assert sim([p], resource=f"arn:aws:s3:::b/{other}/k", context=ctx) == "ImplicitlyDenied"
    else:
        # 2008-10-17 (or no Version) reads ${...} as literal text, never as a variable
        assert literal == "Allowed"
        assert own == ("Allowed" if name == "${aws:username}" else "ImplicitlyDenied")


@bounded(40)
@given(st.sampled_from(["${*}", "${?}", "${$}"]), st.booleans())
def test_variable_escapes(escape, with_version):
    literal = escape[2]
    p = pol({"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::b/a{escape}z"},
            version="2012-10-17" if with_version else None)
    d_lit = sim([p], resource=f"arn:aws:s3:::b/a{literal}z")
    d_other = sim([p], resource="arn:aws:s3:::b/aQz")
    if with_version:
        assert d_lit == "Allowed" and d_other == "ImplicitlyDenied"     # an escape is the character itself
    else:
        assert d_other == "ImplicitlyDenied"                             # literal ${...} text, no wildcard


@bounded(40)
@given(st.sampled_from(["alice", "bob"]), st.booleans())
def test_variable_defaults(name, present):
    p = pol({"Effect": "Allow", "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::b/${aws:PrincipalTag/team, 'shared'}/*"})
    ctx = {"aws:PrincipalTag/team": name} if present else {}
    expect_dir = name if present else "shared"
    assert sim([p], resource=f"arn:aws:s3:::b/{expect_dir}/k", context=ctx) == "Allowed"
    assert sim([p], resource="arn:aws:s3:::b/elsewhere/k", context=ctx) == "ImplicitlyDenied"


@bounded(60)
@given(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4, unique=True),
       st.sampled_from(["a", "b", "c", "d", "e"]),
       st.sampled_from(["StringEquals", "StringNotEquals", "StringLike", "ForAnyValue:StringEquals"]))
def test_conditions_with_lists(values, actual, operator):
    p = pol({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
             "Condition": {operator: {"aws:PrincipalTag/team": values}}})
    got = sim([p], context={"aws:PrincipalTag/team": actual})
    inside = actual in values
    want = inside if operator != "StringNotEquals" else not inside   # a list is OR (negated: NOR)
    assert got == ("Allowed" if want else "ImplicitlyDenied")


@bounded(40)
@given(st.sampled_from(["*", {"AWS": "*"}, {"AWS": ["*"]}, {"AWS": U}, {"AWS": A}, {"AWS": f"arn:aws:iam::{A}:root"}]),
       st.booleans())
def test_resource_policy_principal_forms(principal, as_object):
    rp = pol({"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject", "Resource": "*"},
             as_object=as_object)
    d = sim([], resource_policy=rp)
    # same account: a resource policy naming the caller (directly, through *, or the account) suffices
    if principal in ({"AWS": A}, {"AWS": f"arn:aws:iam::{A}:root"}):
        assert d in ("Allowed", "ImplicitlyDenied")   # an account principal delegates to identity policies
    else:
        assert d == "Allowed"


ROOT = f"arn:aws:iam::{A}:root"


@bounded(40)
@given(st.sampled_from([{"AWS": U}, {"AWS": [U, ROOT]}, {"AWS": [ROOT, U]}, {"AWS": ROLE}, {"AWS": [ROLE, ROOT]},
                        {"AWS": ROOT}, {"AWS": A}]), st.booleans())
def test_not_principal_deny(not_principal, as_object):
    rp = pol({"Effect": "Deny", "NotPrincipal": not_principal, "Action": "s3:*", "Resource": "*"},
             {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"})
    d = sim([], resource_policy=rp)
    names = not_principal["AWS"] if isinstance(not_principal["AWS"], list) else [not_principal["AWS"]]
    if U in names and ROOT in names:
        assert d == "Allowed"                 # the caller and its account are the exception to the Deny
    elif U in names:
        assert d == "ExplicitlyDenied"        # without its account ARN the whole account is denied (R13)
    elif ROLE in names:
        assert d == "ExplicitlyDenied"        # everyone else is denied
    else:
        assert d in ("Allowed", "ExplicitlyDenied")
    # NotPrincipal + Allow grants everyone else (anonymous callers too)
    allow_others = pol({"Effect": "Allow", "NotPrincipal": not_principal, "Action": "s3:GetObject",
                        "Resource": "*"}, as_object=as_object)
    assert sim([], resource_policy=allow_others, principal="arn:aws:iam::222222222222:user/mallory") in (
        "Allowed", "ImplicitlyDenied")


@bounded(40)
@given(st.sampled_from(["Effect", "Action", "Resource", "Statement", "Version"]), st.booleans())
def test_duplicate_keys_in_json_text_through_the_file_loader(key, last_allows):
    """A policy whose JSON text repeats a key loads and evaluates (JSON parsers keep the last value)."""
    first, last = ("Deny", "Allow") if last_allows else ("Allow", "Deny")
    fields = {"Effect": f'"Effect": "{last}"', "Action": '"Action": "s3:*"', "Resource": '"Resource": "*"'}
    if key == "Effect":
        fields["Effect"] = f'"Effect": "{first}", "Effect": "{last}"'
    elif key == "Action":
        fields["Action"] = '"Action": "ec2:*", "Action": "s3:*"'
    elif key == "Resource":
        fields["Resource"] = '"Resource": "arn:aws:ec2:::x", "Resource": "*"'
    inner = ", ".join(fields.values())
    doc = '{"Version": "2012-10-17", "Statement": [{' + inner + '}]}'
    if key == "Statement":
        doc = '{"Version": "2012-10-17", "Statement": [], "Statement": [{' + inner + '}]}'
    elif key == "Version":
        doc = '{"Version": "2008-10-17", "Version": "2012-10-17", "Statement": [{' + inner + '}]}'
    text = ('{"UserDetailList": [{"UserName": "alice", "UserId": "AIDAX", "Arn": "' + U + '", "Path": "/",'
            ' "GroupList": [], "AttachedManagedPolicies": [], "UserPolicyList": [{"PolicyName": "p",'
            ' "PolicyDocument": ' + doc + '}]}], "RoleDetailList": [], "GroupDetailList": [], "Policies": []}')
    path = _file(text, ".json")
    try:
        model = load_paths([path])
    finally:
        os.unlink(path)
    parsed = model.find("alice").inline_policies[0].document.original
    assert sim([parsed], resource="arn:aws:s3:::b/k") == ("Allowed" if last == "Allow" else "ExplicitlyDenied")


# ------------------------------------------------------------------------------ GAAD: encoding, names

role_names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)


@bounded(40)
@given(role_names, st.booleans(), st.sampled_from(["", "+", "%20"]))
@example("ロール", True, "%20")
@example("a/b", True, "")
def test_gaad_url_encoded_documents_and_non_ascii_names(name, encode, space):
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": U},
                                                     "Action": "sts:AssumeRole"}]}
    inline = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}

    def enc(d):
        return urllib.parse.quote(json.dumps(d)) if encode else d

    arn = f"arn:aws:iam::{A}:role/{name}"
    data = {"UserDetailList": [{"UserName": "alice", "UserId": "AIDAX", "Arn": U, "Path": "/", "GroupList": [],
                                "AttachedManagedPolicies": [], "UserPolicyList": []}],
            "GroupDetailList": [], "Policies": [],
            "RoleDetailList": [{"RoleName": name, "RoleId": "AROAX", "Arn": arn, "Path": "/",
                                "AssumeRolePolicyDocument": enc(trust), "AttachedManagedPolicies": [],
                                "InstanceProfileList": [],
                                "RolePolicyList": [{"PolicyName": f"p{space}x", "PolicyDocument": enc(inline)}],
                                "Tags": [{"Key": "k", "Value": name}]}]}
    try:
        model = load_data(data, "gaad.json")
    except InputError as exc:
        assert exc.line().startswith("gaad.json")
        return
    role = model.principal(arn)
    assert role is not None and role.name == name
    assert role.trust_policy.original["Statement"][0]["Action"] == "sts:AssumeRole"
    report = scan(model)
    # alice may assume the role, which may do anything in IAM: the name survives into the findings intact
    assert any(f.principal == U and any(e.target == arn for e in f.path) for f in report.findings)
    json.dumps([f.to_json() for f in report.findings], ensure_ascii=False)
    assert sim([role.inline_policies[0].document.original], action="iam:CreateUser", resource="*") == "Allowed"


# ------------------------------------------------------------------------------ configuration and exclusions

yaml_values = st.one_of(anyjson, st.dictionaries(
    st.sampled_from(["now", "stale_role_days", "known_accounts", "agent_identities", "agent_rules", "nope"]),
    anyjson, max_size=3))
raw_yaml = st.one_of(
    yaml_values.map(lambda v: yaml.safe_dump(v, allow_unicode=True)),
    st.text(max_size=60),
    st.sampled_from(["a: [1, 2", "!!python/object:os.system {}", "a: &x 1\nb: *y", "\t- x", "? [a]\n: 1",
                     "stale_role_days: !!binary aGk=", "known_accounts: ['1', 2]", "a: b: c", "--- 1\n--- 2"]))


@bounded(120)
@given(raw_yaml)
@example("now: 2020-01-01")
@example("stale_role_days: 1e9999")
@example("known_accounts: [111111111111]")
@example("now: 2020-02-30")                    # PyYAML raises ValueError building this date: was an internal error
@example("stale_role_days: !!int 0x")
@example("a: !!timestamp x")
def test_config_file_is_a_dict_or_one_input_error(text):
    path = _file(text, ".yaml")
    try:
        cfg = load_config(path)
        assert isinstance(cfg, dict)
    except InputError as exc:
        assert exc.line().startswith(path)
    finally:
        os.unlink(path)


exclusion = st.dictionaries(st.sampled_from(["rule", "principal", "fingerprint", "file", "reason", "expires", "x"]),
                            st.one_of(anyjson, st.sampled_from(["IAM101", "2030-01-01", "because", ""]),
                                      st.dates()), max_size=4)
raw_exclusions = st.one_of(
    st.fixed_dictionaries({"exclusions": st.one_of(st.lists(exclusion, max_size=3), anyjson)}).map(
        lambda v: yaml.safe_dump(v, allow_unicode=True)),
    yaml_values.map(yaml.safe_dump), st.text(max_size=60))


@bounded(120)
@given(raw_exclusions)
@example("exclusions:\n- {rule: IAM101, reason: r, expires: 2030-13-45}")
@example("exclusions:\n- {rule: IAM101, reason: r, expires: 1}")
@example("exclusions:\n- {rule: IAM101, reason: r, expires: [1]}")
def test_exclusions_file_is_a_list_or_one_input_error(text):
    path = _file(text, ".yaml")
    try:
        out = load_exclusions(path)
        assert isinstance(out, list)
    except InputError as exc:
        assert exc.line().startswith(path)
    finally:
        os.unlink(path)
