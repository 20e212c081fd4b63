"""Property tests for the IaC front door: any template-shaped input gives a model or one clear InputError."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamlint.errors import InputError
from iamlint.iac.cloudformation import load_cloudformation
from iamlint.iac.index import Index, Options
from iamlint.iac.locate import Locator
from iamlint.iac.positions import load_text
from iamlint.model.account import Model
from iamlint.pipeline import scan

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

LIDS = st.sampled_from(["RoleA", "RoleB", "UserA", "GroupA", "PolA", "Bucket", "Fn", "Nope"])
TYPES = st.sampled_from(["AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group", "AWS::IAM::Policy",
                         "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy", "AWS::IAM::InstanceProfile",
                         "AWS::IAM::UserToGroupAddition", "AWS::Serverless::Function", "AWS::S3::Bucket",
                         "AWS::S3::BucketPolicy", "AWS::Lambda::Permission", "AWS::KMS::Key", "Custom::X"])
PARAMS = st.sampled_from(["P1", "P2", "AWS::AccountId", "AWS::Region", "AWS::NoValue", "Missing"])
scalar = st.one_of(st.none(), st.booleans(), st.integers(-2, 5),
                   st.sampled_from(["*", "s3:GetObject", "iam:PassRole", "sts:AssumeRole", "Allow", "Deny",
                                    "arn:aws:s3:::b/*", "${P1}", "arn:${AWS::Partition}:iam::${AWS::AccountId}:root",
                                    "lambda.amazonaws.com", "RoleA", "2012-10-17", "${RoleA.Arn}", "${!Literal}"]))


def intrinsic(kids):
    return st.one_of(
        st.builds(lambda p: {"Ref": p}, st.one_of(PARAMS, LIDS)),
        st.builds(lambda a, b: {"Fn::GetAtt": [a, b]}, LIDS, st.sampled_from(["Arn", "RoleId", "X"])),
        st.builds(lambda s: {"Fn::Sub": s}, scalar),
        st.builds(lambda d, xs: {"Fn::Join": [d, xs]}, st.sampled_from(["", ":"]), st.lists(kids, max_size=3)),
        st.builds(lambda c, a, b: {"Fn::If": [c, a, b]}, st.sampled_from(["C1", "C2", "Nope"]), kids, kids),
        st.builds(lambda i, xs: {"Fn::Select": [i, xs]}, st.integers(-1, 3), st.lists(kids, max_size=3)),
        st.builds(lambda x: {"Fn::ImportValue": x}, scalar),
        st.builds(lambda x: {"Fn::Bogus": x}, scalar),
    )


value = st.recursive(scalar, lambda kids: st.one_of(
    intrinsic(kids), st.lists(kids, max_size=3),
    st.dictionaries(st.sampled_from(["Effect", "Action", "Resource", "Principal", "Condition", "Statement",
                                     "Version", "AWS", "Service", "StringEquals", "NotAction", "Sid"]),
                    kids, max_size=4)), max_leaves=12)

statement = st.fixed_dictionaries({"Effect": st.one_of(st.sampled_from(["Allow", "Deny"]), value),
                                   "Action": value}, optional={"Resource": value, "Principal": value,
                                                                "Condition": value})
document = st.one_of(value, st.fixed_dictionaries({"Version": st.just("2012-10-17"),
                                                   "Statement": st.one_of(st.lists(statement, max_size=3), value)}))
props = st.fixed_dictionaries({}, optional={
    "RoleName": value, "AssumeRolePolicyDocument": document, "PolicyDocument": document, "PolicyName": value,
    "Policies": st.one_of(value, st.lists(st.fixed_dictionaries({"PolicyName": value, "PolicyDocument": document}),
                                          max_size=2)),
    "ManagedPolicyArns": value, "Roles": value, "Users": value, "Groups": value, "GroupName": value,
    "Path": value, "PermissionsBoundary": value, "Bucket": value, "Tags": value, "Role": value})
resource = st.fixed_dictionaries({"Type": st.one_of(TYPES, value)},
                                 optional={"Properties": st.one_of(props, value), "Condition": value,
                                           "Metadata": value})
template = st.fixed_dictionaries(
    {"Resources": st.dictionaries(LIDS, st.one_of(resource, value), max_size=4)},
    optional={"Parameters": st.dictionaries(st.sampled_from(["P1", "P2"]),
                                            st.fixed_dictionaries({"Type": st.sampled_from(
                                                ["String", "CommaDelimitedList", "List<String>"])},
                                                optional={"Default": value}), max_size=2),
              "Conditions": st.dictionaries(st.sampled_from(["C1", "C2"]), value, max_size=2),
              "Globals": value})


@SETTINGS
@given(template)
def test_any_template_gives_a_model_or_one_input_error(data):
    model, index = Model(), Index()
    try:
        load_cloudformation(data, {}, "t.yaml", model, Options(), index)
    except InputError as exc:
        assert exc.line().startswith("t.yaml")
        return
    report = scan(model)
    Locator(model, index).locate(report.findings)


@SETTINGS
@given(st.text(max_size=200))
def test_any_text_parses_or_fails_with_one_line(text):
    try:
        load_text(text, "f.yaml")
    except InputError as exc:
        assert "\n" not in exc.line() and exc.line().startswith("f.yaml")


import pytest  # noqa: E402


@pytest.mark.parametrize("text, line", [
    ("=", 1),
    ("a: 1\nb: \x1f\n", 2),
    ("Resources: !!python/object/apply:os.system ['true']\n", 1),
    ("a: 1\na: 2\n", 2),
    ("x: !GetAtt NoDot\n", 1),
    ("x: !Sub {a: 1}\n", 1),
    ("x: !If a\n", 1),
    ("x: &a [*a]\ny: *b\n", 2),
])
def test_hostile_yaml_is_one_clear_error(text, line):
    with pytest.raises(InputError) as exc:
        load_text(text, "f.yaml")
    assert exc.value.line().startswith(f"f.yaml: line {line}: ") and "\n" not in exc.value.line()
