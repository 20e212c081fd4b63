"""Synthetic AWS accounts and organizations for benchmarks, deterministic by seed.

    python bench/generate.py --roles 20000 --seed 1 -o /tmp/a.json      one account
    python bench/generate.py --org 100x2000 --seed 1 -o DIR             an organization
    python bench/generate.py --org 100x2000 --cross 0.1 -o DIR          ... with few cross-account links

An account is written as `aws iam get-account-authorization-details` output (what `iamlint scan
--input` reads). The mix aims at what large real accounts hold: mostly service roles (Lambda, ECS,
EC2 with instance profiles, Glue, CodeBuild, SageMaker, ...), OIDC roles for CI and EKS with and
without audience / subject pins, role chains of depth 2-5, cross-account and SAML roles, a few
service-linked roles; customer-managed policies from narrow (one bucket, one table, with conditions)
to broad (`s3:*` on `*`, NotAction), several versions, explicit denies, permissions boundaries;
groups and users; escalation permissions sprinkled in (PassRole with compute creation, policy
rewrites, UpdateAssumeRolePolicy, CreateAccessKey, ...) and a few administrators.

An organization is one such file per account (`account-<id>.json`), cross-account trust between its
accounts (a tooling account that deploys everywhere, named cross-account chains, org-wide trusts
pinned by aws:PrincipalOrgID), and `organization.json`: an iamlint snapshot holding only the
organization's SCPs per account (root, OU and account levels), loaded alongside the account files.
With `--cross F` only a share F of the member accounts trusts other accounts, in groups of three.

Same arguments, same bytes: only `random.Random(seed)` decides, never the clock.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import urllib.parse

V = "2012-10-17"
ORG_ID = "o-bench0000001"
BASE_ACCOUNT = 100000000000
EXTERNAL_ACCOUNTS = ("999988887777", "444455556666", "777766665555")

TEAMS = ("payments", "search", "ledger", "identity", "checkout", "catalog", "risk", "growth", "data",
         "platform", "mobile", "ml", "billing", "infra", "support", "media")
SERVICE_MIX = (  # (service principal, weight, role name stem, what the role's policies touch)
    ("lambda.amazonaws.com", 30, "fn", "lambda"),
    ("ecs-tasks.amazonaws.com", 18, "task", "ecs"),
    ("ec2.amazonaws.com", 12, "ec2", "ec2"),
    ("glue.amazonaws.com", 5, "glue", "glue"),
    ("codebuild.amazonaws.com", 5, "build", "codebuild"),
    ("states.amazonaws.com", 4, "sfn", "states"),
    ("sagemaker.amazonaws.com", 3, "sm", "sagemaker"),
    ("cloudformation.amazonaws.com", 2, "cfn", "cloudformation"),
    ("bedrock.amazonaws.com", 2, "agent", "bedrock"),
    ("events.amazonaws.com", 2, "events", "events"),
)
READ_ACTIONS = ("s3:GetObject", "s3:ListBucket", "dynamodb:GetItem", "dynamodb:Query", "sqs:ReceiveMessage",
                "sns:Publish", "kms:Decrypt", "secretsmanager:GetSecretValue", "ssm:GetParameter",
                "logs:PutLogEvents", "logs:CreateLogStream", "cloudwatch:PutMetricData", "xray:PutTraceSegments")


class Gen:
    def __init__(self, account: str, seed: int, org: list[str] | None = None, dense: float = 0.0):
        self.dense = dense
        self.acct = account
        self.rnd = random.Random(f"{seed}:{account}")
        self.org = org or []
        self.policies: list[dict] = []
        self.roles: list[dict] = []
        self.users: list[dict] = []
        self.groups: list[dict] = []
        self.n = 0

    # ------------------------------------------------------------------ small helpers
    def arn(self, kind: str, name: str, path: str = "/", account: str | None = None) -> str:
        return f"arn:aws:iam::{account or self.acct}:{kind}{path}{name}"

    def uid(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.acct[-6:]}{self.n:011d}"[:21]

    def date(self) -> str:
        r = self.rnd
        return f"20{r.randint(18, 26):02d}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:00:00Z"

    def doc(self, *statements: dict) -> dict:
        return {"Version": V, "Statement": list(statements)}

    def bucket(self, team: str) -> str:
        return f"arn:aws:s3:::{team}-{self.rnd.choice(('data', 'artifacts', 'logs', 'exports', 'raw'))}-{self.acct}"

    def table(self, team: str) -> str:
        return f"arn:aws:dynamodb:us-east-1:{self.acct}:table/{team}-{self.rnd.randint(1, 40)}"

    def tags(self, team: str) -> list[dict]:
        out = [{"Key": "team", "Value": team}]
        if self.rnd.random() < 0.5:
            out.append({"Key": "env", "Value": self.rnd.choice(("prod", "staging", "dev"))})
        return out

    # ------------------------------------------------------------------ managed policies
    def managed(self, name: str, document: dict, path: str = "/", versions: int = 1,
                aws: bool = False, older: dict | None = None) -> str:
        arn = f"arn:aws:iam::aws:policy{path}{name}" if aws else self.arn("policy", name, path)
        vl = []
        for k in range(versions, 0, -1):
            d = document if k == versions else (older or document)
            vl.append({"Document": d, "VersionId": f"v{k}", "IsDefaultVersion": k == versions,
                       "CreateDate": self.date()})
        self.policies.append({
            "PolicyName": name, "PolicyId": self.uid("ANPA"), "Arn": arn, "Path": path,
            "DefaultVersionId": f"v{versions}", "AttachmentCount": 0, "PermissionsBoundaryUsageCount": 0,
            "IsAttachable": True, "CreateDate": self.date(), "UpdateDate": self.date(),
            "PolicyVersionList": vl})
        return arn

    def aws_managed(self) -> dict[str, str]:
        a = self.acct
        out = {
            "admin": self.managed("AdministratorAccess", self.doc({"Effect": "Allow", "Action": "*", "Resource": "*"}),
                                  aws=True),
            "readonly": self.managed("ReadOnlyAccess", self.doc({"Effect": "Allow", "Action": [
                "s3:Get*", "s3:List*", "ec2:Describe*", "iam:Get*", "iam:List*", "lambda:Get*", "lambda:List*",
                "dynamodb:Describe*", "dynamodb:List*", "cloudwatch:Get*", "logs:Get*", "logs:Describe*",
                "sqs:Get*", "sqs:List*", "sns:Get*", "sns:List*", "kms:Describe*", "kms:List*"], "Resource": "*"}),
                aws=True),
            "poweruser": self.managed("PowerUserAccess", self.doc(
                {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
                {"Effect": "Allow", "Action": ["iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole",
                                               "iam:ListRoles", "organizations:DescribeOrganization"],
                 "Resource": "*"}), aws=True),
            "lambda-basic": self.managed("AWSLambdaBasicExecutionRole", self.doc(
                {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                 "Resource": "*"}), path="/service-role/", aws=True),
            "ecs-exec": self.managed("AmazonECSTaskExecutionRolePolicy", self.doc(
                {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken", "ecr:BatchGetImage",
                                               "ecr:GetDownloadUrlForLayer", "logs:CreateLogStream",
                                               "logs:PutLogEvents"], "Resource": "*"}),
                path="/service-role/", aws=True),
            "ssm-core": self.managed("AmazonSSMManagedInstanceCore", self.doc(
                {"Effect": "Allow", "Action": ["ssm:UpdateInstanceInformation", "ssmmessages:*", "ec2messages:*"],
                 "Resource": "*"}), aws=True),
            "s3-full": self.managed("AmazonS3FullAccess", self.doc(
                {"Effect": "Allow", "Action": ["s3:*", "s3-object-lambda:*"], "Resource": "*"}), aws=True),
        }
        # an account-wide boundary and a guard policy every account of this size ends up with
        out["boundary-app"] = self.managed("app-boundary", self.doc(
            {"Effect": "Allow", "Action": ["s3:*", "dynamodb:*", "sqs:*", "sns:*", "logs:*", "kms:Decrypt",
                                           "secretsmanager:GetSecretValue", "ssm:GetParameter*",
                                           "xray:*", "cloudwatch:PutMetricData"], "Resource": "*"},
            {"Effect": "Deny", "Action": ["iam:*", "organizations:*"], "Resource": "*"}), path="/boundaries/")
        out["boundary-dev"] = self.managed("developer-boundary", self.doc(
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": ["iam:CreateUser", "iam:CreateAccessKey", "iam:DeletePermissionsBoundary",
                                          "iam:PutRolePermissionsBoundary", "organizations:*"], "Resource": "*"},
            {"Effect": "Deny", "Action": ["iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy"],
             "Resource": "*", "Condition": {"StringNotEquals": {
                 "iam:PermissionsBoundary": self.arn("policy", "developer-boundary", "/boundaries/")}}}),
            path="/boundaries/")
        out["deny-guard"] = self.managed("deny-destructive", self.doc(
            {"Sid": "NoTrailTampering", "Effect": "Deny", "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail"],
             "Resource": "*"},
            {"Sid": "NoDataOutsideRegions", "Effect": "Deny", "NotAction": ["iam:*", "sts:*", "support:*"],
             "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}}))
        out["ci-deploy"] = self.managed("ci-deploy", self.doc(
            {"Effect": "Allow", "Action": ["cloudformation:*", "s3:PutObject", "s3:GetObject", "lambda:UpdateFunctionCode",
                                           "ecs:UpdateService", "ecr:PutImage"], "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": self.arn("role", "*", "/service/"),
             "Condition": {"StringEquals": {"iam:PassedToService": ["lambda.amazonaws.com",
                                                                    "ecs-tasks.amazonaws.com"]}}}),
            versions=3, older=self.doc({"Effect": "Allow", "Action": "*", "Resource": "*"}))
        out["ops-escalate"] = self.managed("ops-runbooks", self.doc(
            {"Effect": "Allow", "Action": ["ssm:SendCommand", "ssm:StartSession", "ec2:*"], "Resource": "*"},
            {"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": "*"}))
        return out

    def team_policies(self, team: str) -> list[str]:
        """A handful of team-owned managed policies, from narrow to broad."""
        r = self.rnd
        out = []
        b, t = self.bucket(team), self.table(team)
        out.append(self.managed(f"{team}-data-read", self.doc(
            {"Sid": "ReadBucket", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
             "Resource": [b, f"{b}/*"]},
            {"Sid": "ReadTable", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"],
             "Resource": [t, f"{t}/index/*"]}), path=f"/{team}/"))
        out.append(self.managed(f"{team}-data-write", self.doc(
            {"Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": f"{b}/*",
             "Condition": {"StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
            {"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
             "Resource": t, "Condition": {"ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk", "sk", "v"]}}},
            {"Effect": "Deny", "Action": "s3:*", "Resource": [b, f"{b}/*"],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
            path=f"/{team}/", versions=r.choice((1, 1, 2))))
        out.append(self.managed(f"{team}-broad", self.doc(
            {"Effect": "Allow", "Action": r.choice((["s3:*"], ["dynamodb:*", "sqs:*"], ["ec2:*"], ["lambda:*", "logs:*"])),
             "Resource": "*"},
            {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
             "Resource": f"arn:aws:kms:*:{self.acct}:key/*",
             "Condition": {"StringLike": {"kms:ViaService": ["s3.*.amazonaws.com", "dynamodb.*.amazonaws.com"]}}}),
            path=f"/{team}/"))
        out.append(self.managed(f"{team}-secrets", self.doc(
            {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "ssm:GetParameter", "ssm:GetParameters"],
             "Resource": [f"arn:aws:secretsmanager:*:{self.acct}:secret:{team}/*",
                          f"arn:aws:ssm:*:{self.acct}:parameter/{team}/*"],
             "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}}), path=f"/{team}/"))
        return out

    # ------------------------------------------------------------------ trust policies
    def trust_service(self, service: str) -> dict:
        st = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        if self.rnd.random() < 0.3:
            st["Condition"] = {"StringEquals": {"aws:SourceAccount": self.acct}}
        return self.doc(st)

    def trust_oidc(self, team: str) -> dict:
        r = self.rnd
        if r.random() < 0.6:
            host = "token.actions.githubusercontent.com"
            prov = self.arn("oidc-provider", host, "/")
            cond = {"StringEquals": {f"{host}:aud": "sts.amazonaws.com"}}
            roll = r.random()
            if roll < 0.75:
                cond["StringLike"] = {f"{host}:sub": f"repo:example-org/{team}-{r.randint(1, 50)}:ref:refs/heads/main"}
            elif roll < 0.9:
                cond["StringLike"] = {f"{host}:sub": "repo:example-org/*"}
            # else: no subject pin (IAM207)
            if r.random() < 0.05:
                cond = {}   # no audience either (IAM205)
        else:
            host = f"oidc.eks.us-east-1.amazonaws.com/id/{r.getrandbits(64):016X}"
            prov = self.arn("oidc-provider", host, "/")
            cond = {"StringEquals": {f"{host}:aud": "sts.amazonaws.com",
                                     f"{host}:sub": f"system:serviceaccount:{team}:app-{r.randint(1, 30)}"}}
        st = {"Effect": "Allow", "Principal": {"Federated": prov}, "Action": "sts:AssumeRoleWithWebIdentity"}
        if cond:
            st["Condition"] = cond
        return self.doc(st)

    def trust_account(self) -> dict:
        st = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{self.acct}:root"},
              "Action": ["sts:AssumeRole", "sts:TagSession"]}
        if self.rnd.random() < 0.4:
            st["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
        return self.doc(st)

    def trust_roles(self, arns: list[str]) -> dict:
        return self.doc({"Effect": "Allow", "Principal": {"AWS": arns if len(arns) > 1 else arns[0]},
                         "Action": "sts:AssumeRole"})

    def trust_external(self) -> dict:
        r = self.rnd
        ext = r.choice(EXTERNAL_ACCOUNTS)
        st = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ext}:root"}, "Action": "sts:AssumeRole"}
        if r.random() < 0.8:
            st["Condition"] = {"StringEquals": {"sts:ExternalId": f"ext-{r.getrandbits(48):012x}"}}
        return self.doc(st)

    def trust_saml(self) -> dict:
        return self.doc({"Effect": "Allow", "Principal": {"Federated": self.arn("saml-provider", "corp-idp", "/")},
                         "Action": "sts:AssumeRoleWithSAML",
                         "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}})

    # ------------------------------------------------------------------ principals
    def role(self, name: str, path: str, trust: dict, team: str, managed: list[str], inline: list[dict],
             boundary: str | None = None, profile: bool = False, encode: bool = False) -> dict:
        r = self.rnd
        arn = self.arn("role", name, path)
        rid = self.uid("AROA")
        item = {
            "Path": path, "RoleName": name, "RoleId": rid, "Arn": arn, "CreateDate": self.date(),
            "AssumeRolePolicyDocument": urllib.parse.quote(json.dumps(trust)) if encode else trust,
            "InstanceProfileList": [], "RolePolicyList": [
                {"PolicyName": f"inline-{k}", "PolicyDocument": d} for k, d in enumerate(inline)],
            "AttachedManagedPolicies": [{"PolicyName": m.rsplit("/", 1)[-1], "PolicyArn": m} for m in managed],
            "Tags": self.tags(team), "MaxSessionDuration": r.choice((3600, 3600, 3600, 7200, 43200)),
            "RoleLastUsed": ({"LastUsedDate": self.date(), "Region": "us-east-1"} if r.random() < 0.8 else {}),
        }
        if boundary:
            item["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
        if profile:
            item["InstanceProfileList"].append({
                "Path": path, "InstanceProfileName": name, "InstanceProfileId": self.uid("AIPA"),
                "Arn": self.arn("instance-profile", name, path), "CreateDate": self.date(), "Roles": []})
        self.roles.append(item)
        return item

    def app_inline(self, team: str, kind: str) -> dict:
        r = self.rnd
        acts = r.sample(READ_ACTIONS, r.randint(2, 5))
        st = [{"Effect": "Allow", "Action": acts,
               "Resource": [self.bucket(team) + "/*", self.table(team),
                            f"arn:aws:sqs:us-east-1:{self.acct}:{team}-{r.randint(1, 99)}"]}]
        if kind == "lambda" and r.random() < 0.3:
            st.append({"Effect": "Allow", "Action": ["lambda:InvokeFunction"],
                       "Resource": f"arn:aws:lambda:us-east-1:{self.acct}:function:{team}-*"})
        if r.random() < 0.15:
            st.append({"Effect": "Allow", "Action": "logs:*", "Resource": "*"})
        if r.random() < 0.08:
            st.append({"Effect": "Deny", "Action": ["s3:DeleteBucket", "dynamodb:DeleteTable"], "Resource": "*"})
        if r.random() < 0.05:
            st.append({"Effect": "Allow", "Action": "ec2:*", "Resource": "*",
                       "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}})
        return self.doc(*st)

    def escalation_inline(self, team: str) -> dict:
        """One of the classic dangerous grants, sprinkled on a small share of principals."""
        r = self.rnd
        a = self.acct
        k = r.randrange(10)
        if k == 0:
            return self.doc({"Effect": "Allow", "Action": ["iam:PassRole", "lambda:CreateFunction",
                                                           "lambda:InvokeFunction"], "Resource": "*"})
        if k == 1:
            return self.doc({"Effect": "Allow", "Action": "iam:PassRole", "Resource": f"arn:aws:iam::{a}:role/service/*"},
                            {"Effect": "Allow", "Action": ["ec2:RunInstances", "ec2:AssociateIamInstanceProfile"],
                             "Resource": "*"})
        if k == 2:
            return self.doc({"Effect": "Allow", "Action": ["iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"],
                             "Resource": f"arn:aws:iam::{a}:policy/{team}/*"})
        if k == 3:
            return self.doc({"Effect": "Allow", "Action": ["iam:AttachRolePolicy", "iam:PutRolePolicy"],
                             "Resource": f"arn:aws:iam::{a}:role/{team}-*"})
        if k == 4:
            return self.doc({"Effect": "Allow", "Action": "iam:UpdateAssumeRolePolicy",
                             "Resource": f"arn:aws:iam::{a}:role/*"})
        if k == 5:
            return self.doc({"Effect": "Allow", "Action": ["iam:CreateAccessKey", "iam:CreateLoginProfile"],
                             "Resource": f"arn:aws:iam::{a}:user/*"})
        if k == 6:
            return self.doc({"Effect": "Allow", "Action": ["iam:PassRole", "glue:CreateJob", "glue:StartJobRun",
                                                           "codebuild:CreateProject", "codebuild:StartBuild"],
                             "Resource": "*", "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}})
        if k == 7:
            return self.doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
        if k == 8:
            return self.doc({"Effect": "Allow", "Action": ["lambda:UpdateFunctionCode", "ssm:SendCommand"],
                             "Resource": "*"})
        return self.doc({"Effect": "Allow", "Action": ["iam:PassRole", "cloudformation:CreateStack"],
                         "Resource": "*"},
                        {"Effect": "Deny", "Action": "iam:PassRole", "Resource": f"arn:aws:iam::{a}:role/admin-*"})

    def dense_inline(self) -> dict:
        """The dense case: iam:PassRole on * with compute creation, plain, conditioned, or carved out."""
        k = self.rnd.randrange(3)
        st = {"Effect": "Allow", "Action": ["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction",
                                            "ec2:RunInstances", "iam:CreateAccessKey"], "Resource": "*"}
        if k == 1:
            st["Condition"] = {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
        out = [st]
        if k == 2:
            out.append({"Effect": "Deny", "Action": "iam:PassRole", "Resource": f"arn:aws:iam::{self.acct}:role/admin-*"})
        return self.doc(*out)

    # ------------------------------------------------------------------ the account
    def build(self, n_roles: int) -> dict:
        r = self.rnd
        a = self.acct
        std = self.aws_managed()
        team_pols = {t: self.team_policies(t) for t in TEAMS}
        n_users = max(5, n_roles // 25)
        n_groups = max(3, min(60, n_roles // 250))

        # groups: developers, ops, readonly, per-team
        group_names = ["admins", "developers", "readonly", "ops"] + [f"{TEAMS[i % len(TEAMS)]}-team-{i}"
                                                                     for i in range(max(0, n_groups - 4))]
        for gi, gname in enumerate(group_names):
            team = TEAMS[gi % len(TEAMS)]
            managed, inline = [], []
            if gname == "admins":
                managed = [std["admin"]]
            elif gname == "developers":
                managed = [std["poweruser"]]
                inline = [self.doc({"Effect": "Allow", "Action": "sts:AssumeRole",
                                    "Resource": f"arn:aws:iam::{a}:role/{t}-*"}) for t in r.sample(TEAMS, 2)]
            elif gname == "readonly":
                managed = [std["readonly"]]
            elif gname == "ops":
                managed = [std["readonly"], std["ops-escalate"]]
            else:
                managed = r.sample(team_pols[team], 2)
                if r.random() < 0.3:
                    inline = [self.doc({"Effect": "Allow", "Action": "sts:AssumeRole",
                                        "Resource": f"arn:aws:iam::{a}:role/{team}-*"})]
            self.groups.append({
                "Path": "/", "GroupName": gname, "GroupId": self.uid("AGPA"), "Arn": self.arn("group", gname),
                "CreateDate": self.date(), "AttachedManagedPolicies": [
                    {"PolicyName": m.rsplit("/", 1)[-1], "PolicyArn": m} for m in managed],
                "GroupPolicyList": [{"PolicyName": f"g-{k}", "PolicyDocument": d} for k, d in enumerate(inline)]})

        for ui in range(n_users):
            team = r.choice(TEAMS)
            roll = r.random()
            name = f"{team}.user{ui}" if roll > 0.2 else f"svc-{team}-{ui}"
            groups = []
            if ui < 2:
                groups = ["admins"]
            elif roll > 0.2:
                groups = r.sample(group_names[1:], r.randint(1, 2))
            inline = []
            if roll <= 0.2:
                inline.append(self.app_inline(team, "user"))
            if r.random() < 0.03:
                inline.append(self.escalation_inline(team))
            managed = [r.choice(team_pols[team])] if r.random() < 0.15 else []
            item = {"Path": "/", "UserName": name, "UserId": self.uid("AIDA"), "Arn": self.arn("user", name),
                    "CreateDate": self.date(), "GroupList": groups,
                    "UserPolicyList": [{"PolicyName": f"u-{k}", "PolicyDocument": d} for k, d in enumerate(inline)],
                    "AttachedManagedPolicies": [{"PolicyName": m.rsplit("/", 1)[-1], "PolicyArn": m}
                                                for m in managed], "Tags": self.tags(team)}
            if r.random() < 0.1:
                item["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy",
                                               "PermissionsBoundaryArn": std["boundary-dev"]}
            self.users.append(item)

        # a few administrator roles, a break-glass role, a SAML-federated set
        for k in range(max(2, n_roles // 4000)):
            self.role(f"admin-{k}", "/", self.trust_account() if k else self.trust_saml(), "platform",
                      [std["admin"]], [])
        self.role("OrganizationAccountAccessRole", "/", self.doc(
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{self.org[0] if self.org else a}:root"},
             "Action": "sts:AssumeRole"}), "platform", [std["admin"]], [])
        for k in range(max(2, n_roles // 2000)):
            self.role(f"sso-{TEAMS[k % len(TEAMS)]}-{k}", "/aws-reserved/sso.amazonaws.com/", self.trust_saml(),
                      TEAMS[k % len(TEAMS)], [std["readonly"]] if k % 3 else [std["poweruser"]], [])

        weights = [w for _, w, _, _ in SERVICE_MIX]
        remaining = n_roles - len(self.roles)
        chains_budget = int(remaining * 0.12)
        made = 0
        # role chains of depth 2-5: entry trusts the account (or OIDC), each next trusts the previous by ARN
        while made < chains_budget:
            depth = r.randint(2, 5)
            team = r.choice(TEAMS)
            cid = made
            names = [f"{team}-chain{cid}-hop{h}" for h in range(depth)]
            arns = [self.arn("role", n) for n in names]
            for h, name in enumerate(names):
                if h == 0:
                    trust = self.trust_oidc(team) if r.random() < 0.5 else self.trust_account()
                else:
                    trust = self.trust_roles([arns[h - 1]] + ([arns[0]] if h > 1 and r.random() < 0.2 else []))
                inline = [self.app_inline(team, "chain")]
                if h + 1 < depth:
                    inline.append(self.doc({"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"],
                                            "Resource": arns[h + 1]}))
                managed = r.sample(team_pols[team], r.randint(0, 2))
                if h == depth - 1 and r.random() < 0.15:
                    managed.append(std["poweruser"] if r.random() < 0.7 else std["admin"])
                if h == depth - 1 and r.random() < 0.1:
                    inline.append(self.escalation_inline(team))
                self.role(name, "/", trust, team, managed, inline,
                          boundary=std["boundary-app"] if r.random() < 0.1 else None)
                made += 1

        # service-linked roles: AWS-owned, never escalation targets
        for k in range(max(3, n_roles // 500)):
            svc = ("autoscaling", "elasticloadbalancing", "rds", "ecs", "organizations")[k % 5]
            self.role(f"AWSServiceRoleFor{svc.title()}{k}", f"/aws-service-role/{svc}.amazonaws.com/",
                      self.trust_service(f"{svc}.amazonaws.com"), "platform", [], [])

        ci = 0
        while len(self.roles) < n_roles:
            team = r.choice(TEAMS)
            roll = r.random()
            ci += 1
            if roll < 0.70:
                svc, _, stem, kind = r.choices(SERVICE_MIX, weights)[0]
                managed = [std["lambda-basic"]] if kind == "lambda" else [std["ecs-exec"]] if kind == "ecs" else \
                    [std["ssm-core"]] if kind == "ec2" else []
                managed += r.sample(team_pols[team], r.randint(0, 2))
                if r.random() < 0.02:
                    managed.append(std["s3-full"])
                inline = [self.app_inline(team, kind) for _ in range(r.randint(0, 2))]
                if r.random() < 0.012:
                    inline.append(self.escalation_inline(team))
                if self.dense and r.random() < self.dense:
                    inline.append(self.dense_inline())
                if r.random() < 0.003:
                    managed.append(std["admin"])
                path = "/service/" if r.random() < 0.5 else "/"
                self.role(f"{team}-{stem}-{ci}", path, self.trust_service(svc), team, managed, inline,
                          boundary=std["boundary-app"] if r.random() < 0.15 else None,
                          profile=kind == "ec2", encode=r.random() < 0.02)
            elif roll < 0.82:
                managed = r.sample(team_pols[team], r.randint(1, 3))
                if r.random() < 0.3:
                    managed.append(std["ci-deploy"])
                inline = [self.app_inline(team, "ci")]
                if r.random() < 0.02:
                    inline.append(self.escalation_inline(team))
                self.role(f"{team}-gha-{ci}", "/", self.trust_oidc(team), team, managed, inline)
            elif roll < 0.92:
                managed = r.sample(team_pols[team], r.randint(1, 2))
                if r.random() < 0.2:
                    managed.append(std["readonly"])
                inline = [self.app_inline(team, "human")]
                if r.random() < 0.02:
                    inline.append(self.escalation_inline(team))
                if r.random() < 0.1:
                    managed.append(std["deny-guard"])
                self.role(f"{team}-ops-{ci}", "/", self.trust_account(), team, managed, inline,
                          boundary=std["boundary-dev"] if r.random() < 0.2 else None)
            elif roll < 0.96:
                self.role(f"{team}-vendor-{ci}", "/", self.trust_external(), team, [std["readonly"]], [])
            else:
                # a cross-account role: trusted by another account of the organization (named role or root
                # pinned by aws:PrincipalOrgID); outside an org, by an external partner
                if self.org and len(self.org) > 1:
                    other = r.choice([x for x in self.org[:8] if x != a] or [self.org[0]])
                    if r.random() < 0.5:
                        trust = self.trust_roles([f"arn:aws:iam::{other}:role/{team}-xacct-{r.randint(1, 40)}"])
                    else:
                        trust = self.doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other}:root"},
                                          "Action": "sts:AssumeRole",
                                          "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG_ID}}})
                else:
                    trust = self.trust_external()
                self.role(f"{team}-xacct-{ci}", "/", trust, team, r.sample(team_pols[team], 1),
                          [self.app_inline(team, "xacct")])

        # in an organization, roles that assume into the other accounts' cross-account roles
        if self.org and len(self.org) > 1:
            for k in range(1, 41):
                team = TEAMS[k % len(TEAMS)]
                targets = [f"arn:aws:iam::{o}:role/{team}-*" for o in self.org if o != a][:6]
                self.role(f"{team}-xacct-{k}", "/", self.trust_service("lambda.amazonaws.com"), team, [],
                          [self.doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": targets})])

        counts: dict[str, int] = {}
        for it in self.roles + self.users + self.groups:
            for m in it["AttachedManagedPolicies"]:
                counts[m["PolicyArn"]] = counts.get(m["PolicyArn"], 0) + 1
            b = it.get("PermissionsBoundary")
            if b:
                counts[b["PermissionsBoundaryArn"]] = counts.get(b["PermissionsBoundaryArn"], 0) + 1
        for p in self.policies:
            p["AttachmentCount"] = counts.get(p["Arn"], 0)
        return {"UserDetailList": self.users, "GroupDetailList": self.groups, "RoleDetailList": self.roles,
                "Policies": self.policies}


def generate_account(n_roles: int, seed: int = 1, account: str = "111111111111",
                     org: list[str] | None = None, dense: float = 0.0) -> dict:
    """One account's authorization details with `n_roles` roles (deterministic by seed). `dense`: the
    share of service roles that also get iam:PassRole on * with compute creation (the dense case)."""
    return Gen(account, seed, org, dense).build(n_roles)


def org_accounts(n: int) -> list[str]:
    return [str(BASE_ACCOUNT + i) for i in range(n)]


def generate_org_guardrails(accounts: list[str]) -> dict:
    """An iamlint snapshot holding only the organization: SCPs per account, root first."""
    def pol(name, *sts):
        return {"name": name, "arn": f"arn:aws:organizations::{accounts[0]}:policy/{ORG_ID}/service_control_policy/"
                                     f"p-{name.lower()}", "document": {"Version": V, "Statement": list(sts)}}
    full = pol("FullAWSAccess", {"Effect": "Allow", "Action": "*", "Resource": "*"})
    root_guard = pol("DenyLeaveOrg", {"Effect": "Deny", "Action": ["organizations:LeaveOrganization",
                                                                   "account:CloseAccount"], "Resource": "*"})
    region = pol("RegionLock", {"Effect": "Deny", "NotAction": ["iam:*", "sts:*", "organizations:*", "support:*",
                                                                 "cloudfront:*", "route53:*"], "Resource": "*",
                                "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]},
                                              "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin-*"}}})
    sandbox = pol("SandboxAllowList", {"Effect": "Allow", "Action": ["s3:*", "dynamodb:*", "lambda:*", "logs:*",
                                                                     "sts:*", "iam:*", "ec2:*"], "Resource": "*"})
    scps = {}
    for i, acct in enumerate(accounts):
        if i == 0:
            continue   # the management account: SCPs do not apply
        ou = ("Workloads", [full, region]) if i % 5 else ("Sandbox", [sandbox])
        scps[acct] = [{"level": "Root", "policies": [full, root_guard]},
                      {"level": f"OU {ou[0]}", "policies": ou[1]},
                      {"level": f"Account {acct}", "policies": [full]}]
    return {"format": "iamlint-snapshot", "schema_version": 1, "generator": "bench/generate.py",
            "accounts": [], "policies": [],
            "organization": {"id": ORG_ID, "management_account": accounts[0], "scps": scps, "rcps": {}}}


def cross_groups(accounts: list[str], seed: int, cross: float | None) -> dict[str, list[str]]:
    """Per account, the accounts it shares cross-account trust with (itself first when alone).

    cross None: every account with every other (the management account deploys everywhere, every
    account trusts roles of the first eight), so the organization is one web. cross F: a share F of the
    member accounts sits in small groups of three (the first deploys into the other two, which trust
    each other's roles); the management account and the rest trust no other account of the
    organization (their OrganizationAccountAccessRole trusts their own account, as where it was
    replaced by Identity Center)."""
    if cross is None:
        return {a: accounts for a in accounts}
    r = random.Random(f"{seed}:cross")
    linked = [a for a in accounts[1:] if r.random() < cross]
    out = {a: [a] for a in accounts}
    for k in range(0, len(linked), 3):
        grp = linked[k:k + 3]
        for a in grp:
            out[a] = grp if len(grp) > 1 else [a]
    return out


def write_org(n_accounts: int, n_roles: int, seed: int, folder: str, cross: float | None = None) -> list[str]:
    os.makedirs(folder, exist_ok=True)
    accounts = org_accounts(n_accounts)
    groups = cross_groups(accounts, seed, cross)
    paths = []
    for acct in accounts:
        path = os.path.join(folder, f"account-{acct}.json")
        with open(path, "w") as fh:
            json.dump(generate_account(n_roles, seed, acct, groups[acct]), fh, indent=4)
        paths.append(path)
    path = os.path.join(folder, "organization.json")
    with open(path, "w") as fh:
        json.dump(generate_org_guardrails(accounts), fh, indent=1)
    paths.append(path)
    return paths


def generate_cases(n: int, seed: int = 1) -> list[dict]:
    """`iamlint simulate` cases (one dict per JSON line): identity policies with conditions and variables,
    boundaries, SCP levels, resource policies same- and cross-account, session policies, denies."""
    r = random.Random(f"{seed}:cases")
    acct, other = "111111111111", "222222222222"
    out = []
    for i in range(n):
        team = r.choice(TEAMS)
        bucket = f"arn:aws:s3:::{team}-{i % 97}"
        user = r.random() < 0.4
        principal = f"arn:aws:iam::{acct}:user/{team}.u{i % 50}" if user else f"arn:aws:iam::{acct}:role/{team}-app"
        ident = [{"Version": V, "Statement": [
            {"Effect": "Allow", "Action": r.choice((["s3:Get*", "s3:List*"], "s3:*", ["s3:GetObject"])),
             "Resource": [bucket, f"{bucket}/*"] if r.random() < 0.7 else f"{bucket}/${{aws:username}}/*"},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*",
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}]
        if r.random() < 0.3:
            ident.append({"name": f"{team}-extra", "policy": {"Version": V, "Statement": {
                "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"],
                "Resource": f"arn:aws:dynamodb:*:{acct}:table/{team}-*",
                "Condition": {"StringEquals": {"aws:PrincipalTag/team": team}}}}})
        case = {"id": f"case-{i}", "identity_policies": ident}
        if r.random() < 0.3:
            case["permission_boundaries"] = [{"Version": V, "Statement": [
                {"Effect": "Allow", "Action": ["s3:*", "dynamodb:*"], "Resource": "*"},
                {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]}]
        if r.random() < 0.6:
            case["scps"] = [{"name": "Root", "policies": [{"Version": V, "Statement": {
                "Effect": "Allow", "Action": "*", "Resource": "*"}}]},
                {"name": "OU Workloads", "policies": [{"Version": V, "Statement": [
                    {"Effect": "Allow", "Action": "*", "Resource": "*"},
                    {"Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*",
                     "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}}]}]}]
        cross = r.random() < 0.2
        if r.random() < 0.4 or cross:
            case["resource_policy"] = {"Version": V, "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other if cross else acct}:root"},
                 "Action": "s3:GetObject", "Resource": f"{bucket}/*",
                 "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG_ID}}},
                {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": f"{bucket}/*",
                 "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}}}]}
        if not user and r.random() < 0.1:
            case["session_policy"] = {"Version": V, "Statement": {"Effect": "Allow", "Action": "s3:GetObject",
                                                                  "Resource": "*"}}
        name = principal.rsplit("/", 1)[-1]
        action = r.choice(("s3:GetObject", "s3:GetObject", "s3:PutObject", "s3:ListBucket", "dynamodb:GetItem",
                           "s3:DeleteBucket"))
        resource = (f"arn:aws:dynamodb:us-east-1:{acct}:table/{team}-1" if action.startswith("dynamodb")
                    else bucket if action in ("s3:ListBucket", "s3:DeleteBucket")
                    else f"{bucket}/{name if user and r.random() < 0.5 else 'k'}/obj-{i}")
        context = {"aws:SecureTransport": r.random() < 0.9, "aws:RequestedRegion": r.choice(("us-east-1", "eu-west-1",
                                                                                              "ap-south-1")),
                   "aws:SourceIp": r.choice(("10.1.2.3", "192.168.1.1", "203.0.113.9")),
                   "aws:PrincipalTag/team": team if r.random() < 0.8 else "other",
                   "aws:PrincipalOrgID": ORG_ID}
        if user:
            context["aws:username"] = name
        req = {"action": action, "resource": resource, "principal": principal, "context": context}
        if cross:
            req["principal"] = principal.replace(acct, other)
            req["resource_account"] = acct
        case["request"] = req
        out.append(case)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--roles", type=int, help="one account with this many roles")
    ap.add_argument("--org", help="ACCOUNTSxROLES, e.g. 100x2000: an organization, one file per account")
    ap.add_argument("--cases", type=int, help="this many `iamlint simulate` cases (JSON lines)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--account", default="111111111111", help="account id (with --roles)")
    ap.add_argument("--dense", type=float, default=0.0,
                    help="share of service roles with iam:PassRole on * and compute creation (e.g. 0.2)")
    ap.add_argument("--cross", type=float, default=None,
                    help="with --org: share of member accounts in small cross-account groups of three (e.g. 0.1); "
                         "default: every account trusts and reaches the others")
    ap.add_argument("-o", "--output", required=True, help="file (--roles) or folder (--org)")
    args = ap.parse_args(argv)
    if sum(map(bool, (args.roles, args.org, args.cases))) != 1:
        ap.error("give exactly one of --roles N, --org AxR or --cases N")
    if args.cases:
        with open(args.output, "w") as fh:
            for case in generate_cases(args.cases, args.seed):
                fh.write(json.dumps(case, separators=(",", ":")) + "\n")
        print(f"wrote {args.output}: {args.cases} simulate cases", file=sys.stderr)
        return 0
    if args.roles:
        data = generate_account(args.roles, args.seed, args.account, dense=args.dense)
        tmp = args.output + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(data, fh, indent=4)   # as the AWS CLI writes it
        os.replace(tmp, args.output)
        print(f"wrote {args.output}: {len(data['RoleDetailList'])} roles, {len(data['UserDetailList'])} users, "
              f"{len(data['GroupDetailList'])} groups, {len(data['Policies'])} managed policies, "
              f"{os.path.getsize(args.output) / 1e6:.1f} MB", file=sys.stderr)
        return 0
    try:
        na, nr = (int(x) for x in args.org.lower().split("x"))
    except ValueError:
        ap.error("--org wants ACCOUNTSxROLES, e.g. 100x2000")
    paths = write_org(na, nr, args.seed, args.output, args.cross)
    print(f"wrote {len(paths) - 1} account files and organization.json to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
