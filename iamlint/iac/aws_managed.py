"""A few AWS-managed policies whose documents IaC commonly attaches, so that a template alone is judged.

A deployed account's snapshot (`--context`) holds the current documents and wins over this table. Any
other AWS-managed policy named by a template is reported as missing from the input (an input gap),
never guessed.
"""

from __future__ import annotations

from ..model.account import ManagedPolicy, PolicyVersion
from ..model.policy import parse_policy

DOCUMENTS: dict[str, list[dict]] = {
    "AdministratorAccess": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    "PowerUserAccess": [
        {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole", "iam:ListRoles",
                                       "organizations:DescribeOrganization", "account:ListRegions",
                                       "account:GetAccountInformation"], "Resource": "*"}],
    "IAMFullAccess": [
        {"Effect": "Allow", "Action": ["iam:*", "organizations:DescribeAccount", "organizations:DescribeOrganization",
                                       "organizations:DescribeOrganizationalUnit", "organizations:DescribePolicy",
                                       "organizations:ListChildren", "organizations:ListParents",
                                       "organizations:ListPoliciesForTarget", "organizations:ListRoots",
                                       "organizations:ListPolicies", "organizations:ListTargetsForPolicy"],
         "Resource": "*"}],
    "AmazonS3FullAccess": [{"Effect": "Allow", "Action": ["s3:*", "s3-object-lambda:*"], "Resource": "*"}],
    "AmazonS3ReadOnlyAccess": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*", "s3:Describe*",
                                                              "s3-object-lambda:Get*", "s3-object-lambda:List*"],
                                "Resource": "*"}],
    "service-role/AWSLambdaBasicExecutionRole": [
        {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": "*"}],
    "service-role/AWSLambdaVPCAccessExecutionRole": [
        {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                                       "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces",
                                       "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface",
                                       "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
         "Resource": "*"}],
    "AWSXrayWriteOnlyAccess": [
        {"Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
                                       "xray:GetSamplingTargets", "xray:GetSamplingStatisticSummaries"],
         "Resource": "*"}],
}

# SAM and users often name managed policies without their path
SHORT_NAMES = {k.rsplit("/", 1)[-1]: k for k in DOCUMENTS}


def arn_for_name(name: str, partition: str = "aws") -> str:
    """A managed policy named the way SAM `Policies` allows (`AmazonS3ReadOnlyAccess`) -> its ARN."""
    full = SHORT_NAMES.get(name, name)
    return f"arn:{partition}:iam::aws:policy/{full}"


def lookup(arn: str) -> ManagedPolicy | None:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[4] != "aws" or not parts[5].startswith("policy/"):
        return None
    name = parts[5][len("policy/"):]
    stmts = DOCUMENTS.get(name)
    if stmts is None:
        return None
    doc = parse_policy({"Version": "2012-10-17", "Statement": stmts}, "identity")
    path = "/" + name.rsplit("/", 1)[0] + "/" if "/" in name else "/"
    return ManagedPolicy(arn=arn, name=name.rsplit("/", 1)[-1], path=path, default_version="v1",
                         versions=[PolicyVersion("v1", doc, True)])
