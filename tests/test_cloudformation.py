"""The CloudFormation loader (iamlint/iac/cloudformation.py): intrinsics, symbolic values, positions."""

from __future__ import annotations

import json

import pytest

from iamlint.engine.authorize import Authorizer
from iamlint.errors import InputError
from iamlint.iac.cloudformation import load_cloudformation
from iamlint.iac.index import Index, Options
from iamlint.iac.positions import load_text
from iamlint.model.account import Model

ACCT = "111122223333"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}


def load(text: str, **opts):
    data, pos = load_text(text, "t.yaml")
    model, index = Model(), Index()
    load_cloudformation(data, pos, "t.yaml", model, Options(account=ACCT, **opts), index)
    return model, index


def decide(model, principal, action, resource="*"):
    return Authorizer(model).check(f"arn:aws:iam::{ACCT}:{principal}", action, resource).decision


def role(name_line: str = "", policy: str = "", extra: str = "") -> str:
    return f"""
Parameters:
  Env:
    Type: String
    Default: prod
  Unknown:
    Type: String
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsUnknown: !Equals [!Ref Unknown, yes]
Mappings:
  Buckets:
    prod: {{Name: prod-data}}
Resources:
  AppRole:
    Type: AWS::IAM::Role
    Properties:
      {name_line}
      AssumeRolePolicyDocument: {json.dumps(TRUST)}
      Policies:
        - PolicyName: app
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
{policy}
{extra}
"""


def test_role_named_after_its_logical_id_and_sub_getatt_findinmap():
    model, index = load(role(policy="""
              - Effect: Allow
                Action: s3:GetObject
                Resource: !Sub
                  - arn:${AWS::Partition}:s3:::${B}/*
                  - B: !FindInMap [Buckets, !Ref Env, Name]
"""))
    assert model.principal(f"arn:aws:iam::{ACCT}:role/AppRole") is not None
    assert decide(model, "role/AppRole", "s3:GetObject", "arn:aws:s3:::prod-data/x") == "Allowed"
    assert decide(model, "role/AppRole", "s3:GetObject", "arn:aws:s3:::other/x") == "ImplicitlyDenied"
    # positions: the statement's line in the file
    doc = model.principal(f"arn:aws:iam::{ACCT}:role/AppRole").inline_policies[0].document
    loc, origin = index.statement(doc, "/Statement/0")
    assert (loc.line, origin.resource) == (26, "AppRole")


def test_if_on_a_decided_condition_picks_a_branch_and_undecided_is_conditional():
    model, _ = load(role(policy="""
              - Effect: Allow
                Action: !If [IsProd, s3:GetObject, s3:PutObject]
                Resource: "*"
              - !If
                - IsUnknown
                - Effect: Allow
                  Action: iam:PassRole
                  Resource: "*"
                - !Ref AWS::NoValue
"""))
    assert decide(model, "role/AppRole", "s3:GetObject") == "Allowed"
    assert decide(model, "role/AppRole", "s3:PutObject") == "ImplicitlyDenied"
    assert decide(model, "role/AppRole", "iam:PassRole") == "Conditional"


def test_unresolvable_values_are_never_guessed():
    model, _ = load(role(policy="""
              - Effect: Allow
                Action: s3:GetObject
                Resource:
                  - arn:aws:s3:::fixed/*
                  - !Sub "arn:aws:s3:::${Unknown}/*"
""", extra="""
  Imported:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      Roles: [!Ref AppRole]
      PolicyDocument: !ImportValue shared-policy
"""))
    # the certain part stays certain, the part that depends on the parameter is Conditional
    assert decide(model, "role/AppRole", "s3:GetObject", "arn:aws:s3:::fixed/a") == "Allowed"
    assert decide(model, "role/AppRole", "s3:GetObject", "arn:aws:s3:::elsewhere/a") == "Conditional"
    # a whole document known only at deploy time: anything is possible, nothing certain
    assert decide(model, "role/AppRole", "iam:CreateUser") == "Conditional"


def test_policy_attachments_groups_and_explicit_names():
    model, _ = load(role(name_line="RoleName: !Sub app-${Env}", policy="""
              - Effect: Allow
                Action: sqs:SendMessage
                Resource: "*"
""", extra="""
  Extra:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: extra
      Roles: [!Ref AppRole]
      Groups: [!Ref Ops]
      PolicyDocument:
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Action: kms:Decrypt, Resource: "*"}]
  Ops:
    Type: AWS::IAM::Group
  Alice:
    Type: AWS::IAM::User
  Join:
    Type: AWS::IAM::UserToGroupAddition
    Properties:
      GroupName: !Ref Ops
      Users: [!Ref Alice]
"""))
    assert decide(model, "role/app-prod", "kms:Decrypt") == "Allowed"
    assert decide(model, "user/Alice", "kms:Decrypt") == "Allowed"
    assert decide(model, "user/Alice", "sqs:SendMessage") == "ImplicitlyDenied"


def test_sam_function_gets_its_generated_role():
    model, _ = load("""
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: x.h
      Policies:
        - DynamoDBReadPolicy: {TableName: orders}
""", region="eu-west-1")
    role_ = model.principal(f"arn:aws:iam::{ACCT}:role/FnRole")
    assert role_ is not None
    assert f"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" in role_.managed_policies
    assert decide(model, "role/FnRole", "dynamodb:GetItem",
                  f"arn:aws:dynamodb:eu-west-1:{ACCT}:table/orders") == "Allowed"
    assert decide(model, "role/FnRole", "dynamodb:PutItem",
                  f"arn:aws:dynamodb:eu-west-1:{ACCT}:table/orders") == "ImplicitlyDenied"


def test_json_template_positions():
    text = json.dumps({"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": TRUST}}}}, indent=2)
    data, pos = load_text(text, "t.json")
    model, index = Model(), Index()
    load_cloudformation(data, pos, "t.json", model, Options(account=ACCT), index)
    trust = model.principal(f"arn:aws:iam::{ACCT}:role/R").trust_policy
    loc, _ = index.statement(trust, "/Statement/0")
    assert text.splitlines()[loc.line - 1] == " " * 12 + "{" and loc.column == 13


@pytest.mark.parametrize("snippet, message", [
    ("Action: !Ref Nowhere", "Ref to 'Nowhere', which is neither a parameter nor a resource"),
    ("Action: !GetAtt [Nowhere, Arn]", "Fn::GetAtt to 'Nowhere'"),
    ("Action: {\"Fn::Magic\": x}", "unknown intrinsic function Fn::Magic"),
    ("Action: !Select [7, [a]]", "Fn::Select index 7 is out of range"),
    ("Action: !Sub ${Nope}", "Fn::Sub variable ${Nope}"),
])
def test_bad_intrinsics_name_the_line(snippet, message):
    text = role(policy=f"""
              - Effect: Allow
                {snippet}
                Resource: "*"
""")
    line = text.splitlines().index(f"                {snippet}") + 1
    with pytest.raises(InputError) as exc:
        load(text)
    assert exc.value.line().startswith(f"t.yaml: line {line}: ") and message in exc.value.line()
