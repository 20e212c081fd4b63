"""Trust-shape agent rules (AGT011-AGT018, AGT026, AGT029, AGT030): the condition shapes that decide them.

Each case is one trust (or policy) and the findings expected from the AGT rules and the hygiene rules
they refine, as (rule id, severity) pairs; an empty list means none of them reports.
"""

import json

import pytest

from iamlint.errors import InputError
from iamlint.loaders import load_paths
from iamlint.pipeline import scan
from iamlint.rules import agents_trust as at

ACCT = "111111111111"
V = "2012-10-17"
GH = "token.actions.githubusercontent.com"
GHE = "token.actions.githubusercontent.com/acme-enterprise"
CC = "oidc.circleci.com/org/5e0a1c2d-0000-4000-8000-000000000001"
TFC = "app.terraform.io"
GL = "gitlab.com"
AUD = {f"{GH}:aud": "sts.amazonaws.com"}
WRITE = [("w", {"Version": V, "Statement": [{"Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"],
                                              "Resource": "arn:aws:s3:::artifacts/*"}]})]
READ = [("r", {"Version": V, "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                             "Resource": "arn:aws:s3:::artifacts/*"}]})]
ADMIN = [("admin", {"Version": V, "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})]
OIDC_RULES = ["AGT011", "AGT012", "AGT013", "IAM207"]


def provider(host):
    return f"arn:aws:iam::{ACCT}:oidc-provider/{host}"


def oidc(host, condition=None, effect="Allow", federated=None):
    st = {"Effect": effect, "Principal": {"Federated": federated or provider(host)},
          "Action": "sts:AssumeRoleWithWebIdentity"}
    if condition:
        st["Condition"] = condition
    return st


def service(name, condition=None, effect="Allow"):
    st = {"Effect": effect, "Principal": {"Service": name}, "Action": "sts:AssumeRole"}
    if condition:
        st["Condition"] = condition
    return st


def role(name, statements, inline=READ):
    return {"Path": "/", "RoleName": name, "Arn": f"arn:aws:iam::{ACCT}:role/{name}",
            "AssumeRolePolicyDocument": {"Version": V, "Statement": statements},
            "RolePolicyList": [{"PolicyName": n, "PolicyDocument": d} for n, d in inline],
            "AttachedManagedPolicies": [], "InstanceProfileList": []}


def run(tmp_path, roles, rules, inventory=None):
    data = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": roles, "Policies": []}
    if inventory is not None:
        data["Inventory"] = inventory
    p = tmp_path / "in.json"
    p.write_text(json.dumps(data))
    return scan(load_paths([str(p)]), only=rules).findings


def got(findings):
    return sorted((f.rule_id, f.severity) for f in findings)


OIDC_CASES = [
    # (name, trust statements, role policies, expected (rule, severity))
    ("no sub at all", [oidc(GH, {"StringEquals": AUD})], READ, [("AGT011", "critical")]),
    ("sub pinned with StringEquals", [oidc(GH, {"StringEquals": {**AUD, f"{GH}:sub": "repo:acme/app:ref:refs/heads/main"}})],
     WRITE, []),
    ("repo:* admits every owner", [oidc(GH, {"StringEquals": AUD, "StringLike": {f"{GH}:sub": "repo:*"}})], READ,
     [("AGT011", "critical")]),
    ("owner wildcard anyone can register", [oidc(GH, {"StringEquals": AUD, "StringLike": {f"{GH}:sub": "repo:acme*"}})],
     READ, [("AGT011", "critical")]),
    ("any owner's repo named infra", [oidc(GH, {"StringEquals": AUD, "StringLike": {f"{GH}:sub": "repo:*/infra:*"}})],
     READ, [("AGT011", "critical")]),
    ("leading wildcard on environment", [oidc(GH, {"StringEquals": AUD, "StringLike": {f"{GH}:sub": "*:environment:prod"}})],
     READ, [("AGT011", "critical")]),
    ("org-wide wildcard", [oidc(GH, {"StringEquals": AUD, "StringLike": {f"{GH}:sub": "repo:acme/*"}})], READ,
     [("AGT012", "high")]),
    ("one repo any ref, role writes", [oidc(GH, {"StringEquals": AUD, "StringLike": {f"{GH}:sub": "repo:acme/app:*"}})],
     WRITE, [("AGT012", "medium")]),
    # severity follows reach
    ("org-wide wildcard on an administrator role",
     [oidc(GH, {"StringEquals": AUD, "StringLike": {f"{GH}:sub": "repo:acme/*:*"}})], ADMIN, [("AGT012", "critical")]),
    ("one repo any ref on an administrator role",
     [oidc(GH, {"StringEquals": AUD, "StringLike": {f"{GH}:sub": "repo:acme/app:*"}})], ADMIN, [("AGT012", "high")]),
    ("one repo any ref, read-only role", [oidc(GH, {"StringEquals": AUD, "StringLike": {f"{GH}:sub": "repo:acme/app:*"}})],
     READ, []),
    # a wildcard under StringEquals is a literal: no repository has that name
    ("StringEquals list with a literal star entry",
     [oidc(GH, {"StringEquals": {**AUD, f"{GH}:sub": ["repo:acme/app:ref:refs/heads/main", "repo:acme/*"]}})], WRITE, []),
    # values are OR-ed: one wide entry opens the list
    ("StringLike list with one wide entry",
     [oidc(GH, {"StringEquals": AUD, "StringLike": {f"{GH}:sub": ["repo:acme/app:ref:refs/heads/main", "repo:*"]}})],
     READ, [("AGT011", "critical")]),
    # keys are AND-ed: a wide sub with a pinned repository claim is pinned
    ("wide sub AND pinned repository claim",
     [oidc(GH, {"StringEquals": {**AUD, f"{GH}:repository": "acme/app"}, "StringLike": {f"{GH}:sub": "repo:*"}})],
     READ, []),
    # a repository pin without a subject: any branch or pull request of that repository
    ("repository claim only, role writes", [oidc(GH, {"StringEquals": {**AUD, f"{GH}:repository": "acme/app"}})],
     WRITE, [("AGT012", "medium")]),
    ("HCP Terraform plan and apply on a writing role",
     [oidc(TFC, {"StringEquals": {f"{TFC}:aud": "aws.workload.identity"},
                 "StringLike": {f"{TFC}:sub": "organization:acme:project:infra:workspace:prod:run_phase:*"}})],
     WRITE, [("AGT012", "medium")]),
    ("repository_id alone pins (STS claim), read-only", [oidc(GH, {"StringEquals": {**AUD, f"{GH}:repository_id": "123456"}})],
     READ, []),
    ("repository_id alone, role writes: any ref of that repository",
     [oidc(GH, {"StringEquals": {**AUD, f"{GH}:repository_id": "123456"}})], WRITE, [("AGT012", "medium")]),
    # ForAllValues on a claim the token carries acts like the plain operator; AGT013 still flags the operator
    ("ForAllValues on sub", [oidc(GH, {"StringEquals": AUD,
                                       "ForAllValues:StringEquals": {f"{GH}:sub": "repo:acme/app:ref:refs/heads/main"}})],
     READ, [("AGT013", "high")]),
    # ... and on a misspelled claim it is vacuously true: the trust is open
    ("ForAllValues on a misspelled claim", [oidc(GH, {"StringEquals": AUD,
                                                      "ForAllValues:StringEquals": {f"{GH}:subject": "repo:acme/app:main"}})],
     READ, [("AGT011", "critical"), ("AGT013", "high")]),
    ("ForAnyValue with a negated operator", [oidc(GH, {"StringEquals": AUD,
                                                       "ForAnyValue:StringNotLike": {f"{GH}:sub": "repo:evil/*"}})],
     READ, [("AGT011", "critical"), ("AGT013", "high")]),
    # a negated operator names who is kept out, not who is let in
    ("StringNotEquals sub", [oidc(GH, {"StringEquals": AUD, "StringNotEquals": {f"{GH}:sub": "repo:evil/x:ref:refs/heads/main"}})],
     READ, [("AGT011", "critical")]),
    # the token always carries sub, so IfExists changes nothing: org-wide, not open (IAM207's text check defers)
    ("StringLikeIfExists on sub", [oidc(GH, {"StringEquals": AUD, "StringLikeIfExists": {f"{GH}:sub": "repo:acme/*"}})],
     READ, [("AGT012", "high")]),
    # a Deny elsewhere in the trust narrows the Allow back to one repository
    ("Deny carves the wildcard back", [oidc(GH, {"StringEquals": AUD, "StringLike": {f"{GH}:sub": "repo:acme/*"}}),
                                       oidc(GH, {"StringNotLike": {f"{GH}:sub": "repo:acme/app:environment:prod"}}, effect="Deny")],
     WRITE, []),
    ("Deny carves to one repo, any ref", [oidc(GH, {"StringEquals": AUD, "StringLike": {f"{GH}:sub": "repo:acme/*"}}),
                                          oidc(GH, {"StringNotLike": {f"{GH}:sub": "repo:acme/app:*"}}, effect="Deny")],
     WRITE, [("AGT012", "medium")]),
    # an undecided condition that is not the job author's choice: one level lower, and named
    ("source IP condition left undecided", [oidc(GH, {"StringEquals": AUD, "IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})],
     READ, [("AGT011", "high")]),
    # the session name is the caller's choice (Buildkite sets buildkite-job-<id>): it keeps nobody out
    ("session name condition is the caller's choice",
     [oidc(GH, {"StringEquals": AUD, "StringLike": {"sts:RoleSessionName": "buildkite-job-*"}})], READ,
     [("AGT011", "critical")]),
    # per-organization issuers: the exposure is the organization, not the world
    ("GitHub Enterprise unique issuer", [oidc(GHE, {"StringEquals": {f"{GHE}:aud": "sts.amazonaws.com"}})], READ,
     [("AGT011", "high")]),
    ("CircleCI per-org issuer", [oidc(CC, {"StringEquals": {f"{CC}:aud": "5e0a1c2d-0000-4000-8000-000000000001"}})],
     READ, [("AGT011", "high")]),
    ("HCP Terraform organization wildcard",
     [oidc(TFC, {"StringEquals": {f"{TFC}:aud": "aws.workload.identity"}, "StringLike": {f"{TFC}:sub": "organization:acme:*"}})],
     READ, [("AGT012", "high")]),
    ("HCP Terraform any workspace",
     [oidc(TFC, {"StringEquals": {f"{TFC}:aud": "aws.workload.identity"},
                 "StringLike": {f"{TFC}:sub": "organization:acme:project:*:workspace:*:run_phase:apply"}})],
     READ, [("AGT012", "high")]),
    ("HCP Terraform one workspace, any phase",
     [oidc(TFC, {"StringEquals": {f"{TFC}:aud": "aws.workload.identity"},
                 "StringLike": {f"{TFC}:sub": "organization:acme:project:infra:workspace:prod:run_phase:*"}})],
     READ, []),
    ("GitLab group wildcard (subgroups stay in the group)",
     [oidc(GL, {"StringEquals": {f"{GL}:aud": "https://gitlab.com"}, "StringLike": {f"{GL}:sub": "project_path:acme/*"}})],
     READ, [("AGT012", "high")]),
    # Federated as a list: a GitLab token carries no GitHub claims, so the GitHub pin keeps it out too
    ("Federated list, pin on one issuer's claim",
     [oidc(GH, {"StringEquals": AUD, "StringLike": {f"{GH}:sub": "repo:acme/app:ref:refs/heads/main"}},
           federated=[provider(GH), provider(GL)])], READ, []),
    ("Federated list, no pin", [oidc(GH, None, federated=[provider(GH), provider(GL)])], READ,
     [("AGT011", "critical"), ("AGT011", "critical")]),
    # not a CI issuer: the hygiene rule speaks
    ("EKS issuer is left to IAM207",
     [oidc("oidc.eks.us-east-1.amazonaws.com/id/ABC", {"StringEquals": {"oidc.eks.us-east-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com"}})],
     READ, [("IAM207", "high")]),
]


@pytest.mark.parametrize("name,statements,policies,expected", OIDC_CASES, ids=[c[0] for c in OIDC_CASES])
def test_oidc_trust_shapes(tmp_path, name, statements, policies, expected):
    findings = run(tmp_path, [role("ci", statements, policies)], OIDC_RULES)
    assert got(findings) == sorted(expected), [f.message for f in findings]


def test_agt011_message_names_the_admitted_subject(tmp_path):
    [f] = run(tmp_path, [role("ci", [oidc(GH, {"StringEquals": AUD, "StringLike": {f"{GH}:sub": "repo:*"}})])], ["AGT011"])
    assert "repo:iamlintprobe/" in f.message and "outside your organization" in f.message
    assert f.key == ("trust", "/Statement/0", GH)


def test_agt011_replaces_iam207_and_iam207_returns_when_agt011_is_skipped(tmp_path):
    trust = [oidc(GH, {"StringEquals": AUD})]
    both = run(tmp_path, [role("ci", trust)], ["AGT011", "IAM207"])
    assert got(both) == [("AGT011", "critical")]
    alone = run(tmp_path, [role("ci", trust)], ["IAM207"])
    assert got(alone) == [("IAM207", "critical")]


def test_agt014_low_and_replaces_iam205_only_for_ci_issuers(tmp_path):
    roles = [role("ci", [oidc(GH, {"StringEquals": {f"{GH}:sub": "repo:acme/app:ref:refs/heads/main"}})]),
             role("google", [{"Effect": "Allow", "Principal": {"Federated": "accounts.google.com"},
                              "Action": "sts:AssumeRoleWithWebIdentity",
                              "Condition": {"StringEquals": {"accounts.google.com:sub": "1234"}}}])]
    findings = run(tmp_path, roles, ["AGT014", "IAM205"])
    assert sorted((f.rule_id, f.severity, f.principal.rsplit("/", 1)[1]) for f in findings) == [
        ("AGT014", "low", "ci"), ("IAM205", "medium", "google")]


SERVICE_CASES = [
    ("bedrock, no conditions", [service("bedrock.amazonaws.com")], [("AGT016", "medium")]),
    ("agentcore, no conditions, administrator role", [service("bedrock-agentcore.amazonaws.com")], [("AGT016", "high")]),
    ("bedrock, account and agent ARN",
     [service("bedrock.amazonaws.com", {"StringEquals": {"aws:SourceAccount": ACCT},
                                        "ArnLike": {"aws:SourceArn": f"arn:aws:bedrock:us-east-1:{ACCT}:agent/*"}})], []),
    ("aiops with the documented sts:ExternalId",
     [service("aiops.amazonaws.com", {"StringEquals": {"sts:ExternalId": f"arn:aws:aiops:us-east-1:{ACCT}:investigation-group/x"}})],
     []),
    ("bedrock with sts:ExternalId (not documented for it)",
     [service("bedrock.amazonaws.com", {"StringEquals": {"sts:ExternalId": "abc"}})], []),
    ("IfExists on the source account", [service("bedrock-agentcore.amazonaws.com",
                                                {"StringEqualsIfExists": {"aws:SourceAccount": ACCT}})], [("AGT016", "low")]),
    ("negated source account only", [service("bedrock.amazonaws.com", {"StringNotEquals": {"aws:SourceAccount": "222222222222"}})],
     [("AGT016", "medium")]),
    ("Deny elsewhere keeps other accounts out",
     [service("bedrock.amazonaws.com"),
      service("bedrock.amazonaws.com", {"StringNotEquals": {"aws:SourceAccount": ACCT}}, effect="Deny")], []),
    ("wildcard account and region in the source ARN",
     [service("bedrock-agentcore.amazonaws.com", {"ArnLike": {"aws:SourceArn": "arn:aws:bedrock-agentcore:*:*:*"}})],
     [("AGT017", "medium")]),
    ("account pinned, region and resource open",
     [service("bedrock-agentcore.amazonaws.com", {"StringEquals": {"aws:SourceAccount": ACCT},
                                                  "ArnLike": {"aws:SourceArn": f"arn:aws:bedrock-agentcore:*:{ACCT}:*"}})],
     [("AGT017", "low")]),
    ("wildcard in SourceAccount", [service("bedrock.amazonaws.com", {"StringLike": {"aws:SourceAccount": "1111*"}})],
     [("AGT017", "medium")]),
    ("runtime ARN in one region", [service("bedrock-agentcore.amazonaws.com",
                                           {"StringEquals": {"aws:SourceAccount": ACCT},
                                            "ArnLike": {"aws:SourceArn": f"arn:aws:bedrock-agentcore:us-east-1:{ACCT}:runtime/*"}})],
     []),
    ("compute principal is not an agent service", [service("lambda.amazonaws.com")], []),
    ("non-agent service is left to IAM204", [service("states.amazonaws.com")], [("IAM204", "medium")]),
]


@pytest.mark.parametrize("name,statements,expected", SERVICE_CASES, ids=[c[0] for c in SERVICE_CASES])
def test_agent_service_trusts(tmp_path, name, statements, expected):
    policies = ADMIN if "administrator" in name else READ
    findings = run(tmp_path, [role("svc", statements, policies)], ["AGT016", "AGT017", "IAM204"])
    assert got(findings) == sorted(expected), [f.message for f in findings]


FN = f"arn:aws:lambda:us-east-1:{ACCT}:function:tool"


@pytest.mark.parametrize("entry,expected", [
    ({"type": "AWS::Lambda::Permission", "logical_id": "P", "Principal": "bedrock.amazonaws.com",
      "Action": "lambda:InvokeFunction", "FunctionName": FN}, [("AGT018", "medium")]),
    ({"type": "AWS::Lambda::Permission", "logical_id": "P", "Principal": "bedrock.amazonaws.com",
      "Action": "lambda:InvokeFunction", "FunctionName": FN, "SourceAccount": ACCT}, []),
    ({"type": "AWS::Lambda::Permission", "logical_id": "P", "Principal": "bedrock.amazonaws.com",
      "Action": "lambda:InvokeFunction", "FunctionName": FN,
      "SourceArn": "arn:aws:bedrock:us-east-1:*:agent/*"}, [("AGT018", "medium")]),
    ({"type": "AWS::Lambda::Permission", "logical_id": "P", "Principal": "s3.amazonaws.com",
      "Action": "lambda:InvokeFunction", "FunctionName": FN}, []),
    ({"resource": FN, "policy": {"Version": V, "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "bedrock-agentcore.amazonaws.com"}, "Action": "lambda:*",
        "Resource": FN}]}}, [("AGT018", "medium")]),
], ids=["no-source", "source-account", "wildcard-account-arn", "other-service", "policy-lambda-star"])
def test_tool_resource_policies(tmp_path, entry, expected):
    findings = run(tmp_path, [role("tool-exec", [service("lambda.amazonaws.com")])], ["AGT018"],
                   inventory={"resource_policies": [entry]})
    assert got(findings) == expected, [f.message for f in findings]


def test_agt030_supersedes_iam107_only_when_deprecated_actions_are_the_only_unknown_ones(tmp_path):
    def pol(actions):
        return [("p", {"Version": V, "Statement": [{"Effect": "Deny", "Action": actions, "Resource": "*"}]})]
    trust = [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"}]
    only = run(tmp_path, [role("a", trust, pol(["aws-mcp:CallReadWriteTool"]))], ["AGT030", "IAM107"])
    assert got(only) == [("AGT030", "high")]
    mixed = run(tmp_path, [role("a", trust, pol(["aws-mcp:CallReadWriteTool", "s3:DeleteBukket"]))], ["AGT030", "IAM107"])
    assert got(mixed) == [("AGT030", "high"), ("IAM107", "medium")]


def test_agt026_tag_key_deny_closes_the_bypass(tmp_path):
    scoped = {"Effect": "Allow", "Action": "ec2:TerminateInstances", "Resource": "*",
              "Condition": {"StringEquals": {"aws:ResourceTag/team": "agents"}}}
    tag = {"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "*"}
    deny = {"Effect": "Deny", "Action": "ec2:CreateTags", "Resource": "*",
            "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}}}
    trust = [service("ec2.amazonaws.com")]
    open_ = run(tmp_path, [role("a", trust, [("p", {"Version": V, "Statement": [scoped, tag]})])], ["AGT026"])
    assert got(open_) == [("AGT026", "medium")]
    closed = run(tmp_path, [role("a", trust, [("p", {"Version": V, "Statement": [scoped, tag, deny]})])], ["AGT026"])
    assert got(closed) == []


def test_provider_data_is_checked_at_load():
    data = {"schema_version": 1, "providers": [{"id": "x", "name": "X", "issuers": [{"match": "exact", "host": "x.example",
                                                                                   "scope": "shared"}],
                                                 "segments": {"owner": {"class": "tenant", "regex": "[^:]+"},
                                                              "repo": {"class": "scope", "regex": "[^:]+"}},
                                                 "claims": {"sub": {"template": "{owner}:{nope}"}},
                                                 "claims_complete": False, "pin_claims": ["sub"]}],
            "agent_services": [], "source_keys": ["aws:SourceArn"]}
    with pytest.raises(InputError) as e:
        at.parse_trust_data(data, "oidc_providers.yaml")
    assert "nope" in str(e.value) and "/providers/0/claims/sub/template" in str(e.value)
    data["providers"][0]["issuers"][0]["scope"] = "global"
    with pytest.raises(InputError) as e:
        at.parse_trust_data(data, "oidc_providers.yaml")
    assert "/providers/0/issuers/0/scope" in str(e.value)


def test_issuer_matching():
    data = at.trust_data()
    assert data.provider(GH)[1] == "shared"
    assert data.provider(GHE)[1] == "per-org"
    assert data.provider("ghe.example.com/_services/token")[0].id == "github-actions"
    assert data.provider(CC)[1] == "per-org"
    assert data.provider("oidc.circleci.com/org/")is None
    assert data.provider("token.actions.githubusercontent.com.evil.example") is None


CFN_TOOL = """AWSTemplateFormatVersion: '2010-09-09'
Resources:
  ToolRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: {Service: lambda.amazonaws.com}
            Action: sts:AssumeRole
  Tool:
    Type: AWS::Lambda::Function
    Properties:
      Role: !GetAtt ToolRole.Arn
      Runtime: python3.12
      Handler: index.handler
      Code: {ZipFile: "def handler(e, c): return e"}
  BedrockInvoke:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !GetAtt Tool.Arn
      Action: lambda:InvokeFunction
      Principal: bedrock.amazonaws.com
  GatewayInvoke:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !Ref Tool
      Action: lambda:InvokeFunction
      Principal: bedrock-agentcore.amazonaws.com
      SourceAccount: !Ref AWS::AccountId
"""


def test_agt018_on_a_cloudformation_template_points_at_the_permission():
    from iamlint.iac.cloudformation import load_cloudformation
    from iamlint.iac.index import Index, Options
    from iamlint.iac.positions import load_yaml
    from iamlint.model.account import Model

    data, positions = load_yaml(CFN_TOOL, "tool.yaml")
    model = Model()
    load_cloudformation(data, positions, "tool.yaml", model, Options(), Index())
    [f] = scan(model, only=["AGT018"]).findings
    assert (f.severity, f.location.file, f.location.line) == ("medium", "tool.yaml", 19)
    assert "BedrockInvoke" in f.message and f.conditions == ()
