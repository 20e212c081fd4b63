"""Property tests: any input gives a result or one clear InputError, never a crash (issue 8 groundwork)."""

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamlint.errors import InputError
from iamlint.loaders import load_data
from iamlint.model.policy import parse_policy
from iamlint.simulate import run_case

# IAMLINT_FUZZ_EXAMPLES=N: N examples per property test (the long soak run; see README, Guarantees)
SETTINGS = settings(max_examples=int(os.environ.get("IAMLINT_FUZZ_EXAMPLES") or 150), deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
anyjson = st.recursive(scalars, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                       st.dictionaries(st.text(max_size=10), kids, max_size=4)),
                       max_leaves=20)

ACTIONS = st.sampled_from(["s3:GetObject", "s3:*", "*", "iam:Pass*", "IAM:PASSROLE", "ec2:Run?nstances", "sts:AssumeRole"])
RESOURCES = st.sampled_from(["*", "arn:aws:s3:::b/*", "arn:aws:s3:::b/${aws:username}/*", "arn:aws:iam::111111111111:role/r",
                             "arn:aws:s3:::${*}"])
OPS = st.sampled_from(["StringEquals", "StringNotLike", "ForAllValues:StringLike", "ForAnyValue:StringEquals",
                       "NumericLessThan", "DateGreaterThanIfExists", "Bool", "IpAddress", "ArnLike", "Null",
                       "BinaryEquals", "StringEqualsIgnoreCase", "NotIpAddress"])
KEYS = st.sampled_from(["aws:SourceIp", "aws:username", "aws:PrincipalTag/team", "aws:TagKeys", "aws:CurrentTime",
                        "aws:MultiFactorAuthPresent", "aws:SourceArn"])
VALUES = st.one_of(st.sampled_from(["10.0.0.0/8", "alice", "2020-01-01T00:00:00Z", "true", "arn:aws:s3:::*", "5"]),
                   st.lists(st.sampled_from(["a", "b*", "${aws:username}", "::1/128"]), max_size=3))


def one_or_list(s):
    return st.one_of(s, st.lists(s, min_size=1, max_size=3))


statement = st.fixed_dictionaries(
    {"Effect": st.sampled_from(["Allow", "Deny"]), "Action": one_or_list(ACTIONS), "Resource": one_or_list(RESOURCES)},
    optional={"Condition": st.dictionaries(OPS, st.dictionaries(KEYS, VALUES, min_size=1, max_size=2), max_size=2),
              "Sid": st.text(max_size=5)})
policy = st.fixed_dictionaries({"Statement": st.one_of(statement, st.lists(statement, min_size=1, max_size=3))},
                               optional={"Version": st.sampled_from(["2012-10-17", "2008-10-17"])})


@SETTINGS
@given(anyjson)
def test_parse_policy_any_json(doc):
    try:
        parse_policy(doc)
    except InputError as exc:
        assert exc.line()


@SETTINGS
@given(st.lists(policy, max_size=3), st.lists(policy, max_size=1), st.lists(policy, max_size=2), ACTIONS, RESOURCES,
       st.dictionaries(KEYS, VALUES, max_size=3))
def test_simulate_never_crashes(identity, boundary, scps, action, resource, context):
    case = {"id": 1, "identity_policies": identity, "permission_boundaries": boundary, "scps": scps,
            "request": {"action": action.replace("*", "x").replace("?", "x"), "resource": resource,
                        "principal": "arn:aws:iam::111111111111:user/alice", "context": context}}
    out = run_case(json.loads(json.dumps(case)))
    assert (out["error"] is None) == (out["decision"] in ("Allowed", "ImplicitlyDenied", "ExplicitlyDenied"))


@SETTINGS
@given(anyjson)
def test_simulate_any_case_shape(case):
    out = run_case(case)
    assert out["decision"] is None or out["error"] is None


@SETTINGS
@given(st.dictionaries(st.sampled_from(["UserDetailList", "RoleDetailList", "GroupDetailList", "Policies", "x"]),
                       anyjson, min_size=1, max_size=3))
def test_gaad_loader_any_shape(data):
    try:
        load_data(data, "fuzz.json")
    except InputError as exc:
        assert exc.line().startswith("fuzz.json")
