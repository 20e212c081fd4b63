"""Random `simulate` cases for the differential test: policies, principals, requests and contexts.

Seeded (`generate(seed)` is deterministic). The vocabulary is small on purpose so that random
patterns, principals and condition values collide with the request often: a case where nothing
matches tests nothing.
"""

from __future__ import annotations

import random

A, B = "111111111111", "222222222222"

PRINCIPALS = [
    f"arn:aws:iam::{A}:user/alice",
    f"arn:aws:iam::{A}:user/dev/bob",
    f"arn:aws:iam::{A}:role/app",
    f"arn:aws:sts::{A}:assumed-role/app/s1",
    f"arn:aws:sts::{A}:assumed-role/AWSServiceRoleForECS/ecs-task",
    f"arn:aws:iam::{A}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
    f"arn:aws:sts::{A}:federated-user/carol",
    f"arn:aws:iam::{A}:root",
    f"arn:aws:iam::{B}:role/partner",
    f"arn:aws:sts::{B}:assumed-role/partner/x",
    f"arn:aws:iam::{B}:user/eve",
    "lambda.amazonaws.com",
    "anonymous",
    f"arn:aws:iam::{A}:oidc-provider/token.actions.githubusercontent.com",
]

REQUESTS = [
    # action, resource, resource_account (None: from the ARN)
    ("s3:GetObject", "arn:aws:s3:::bucket/home/alice/notes.txt", A),
    ("s3:GetObject", "arn:aws:s3:::bucket/home/alice/notes.txt", B),
    ("s3:PutObject", "arn:aws:s3:::bucket/Data/x", A),
    ("S3:getobject", "arn:aws:s3:::Bucket/home/ops/y", A),
    ("s3:ListBucket", "arn:aws:s3:::bucket", B),
    ("sts:AssumeRole", f"arn:aws:iam::{A}:role/target", None),
    ("sts:AssumeRole", f"arn:aws:iam::{B}:role/target", None),
    ("sts:TagSession", f"arn:aws:iam::{A}:role/target", None),
    ("sts:AssumeRole", f"arn:aws:iam::{A}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS", None),
    ("iam:PassRole", f"arn:aws:iam::{A}:role/app", None),
    ("iam:CreateUser", f"arn:aws:iam::{A}:user/new", None),
    ("ec2:RunInstances", "*", A),
    ("ec2:RunInstances", f"arn:aws:ec2:us-east-1:{A}:instance/i-1", None),
    ("kms:Decrypt", f"arn:aws:kms:us-east-1:{B}:key/k1", None),
    ("kms:Decrypt", f"arn:aws:kms:us-east-1:{A}:key/k1", None),
    ("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{A}:q1", None),
    ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:us-east-1:{B}:secret:s-AbC", None),
    ("sts:GetCallerIdentity", "*", None),
    ("sts:AssumeRoleWithWebIdentity", f"arn:aws:iam::{A}:role/target", None),
]

ACTION_PATTERNS = ["*", "s3:*", "s3:Get*", "s3:?etObject", "S3:GETOBJECT", "s3:PutObject", "s3:List*",
                   "sts:*", "sts:AssumeRole", "sts:Tag*", "iam:Pass*", "iam:*", "IAM:passrole", "iam:Create*",
                   "ec2:Run*", "ec2:*", "kms:*", "kms:Decrypt", "sqs:Send*", "secretsmanager:Get*", "*:Get*",
                   "s3:Get?bject", "sts:GetCallerIdentity"]

RESOURCE_PATTERNS = [
    "*", "arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/home/alice/*", "arn:aws:s3:::Bucket/*",
    "arn:aws:s3:::bucket/home/${aws:username}/*", "arn:aws:s3:::bucket/home/${aws:PrincipalTag/team}/*",
    "arn:aws:s3:::bucket/home/${aws:PrincipalTag/team, 'alice'}/*", "arn:aws:s3:::bucket/home/?lice/*",
    "arn:aws:s3:::bucket/home/${aws:TagKeys}/*", "arn:aws:s3:::bucket${*}", "arn:aws:s3:::*",
    "arn:aws:s3:::bucket", "arn:aws:s3:::bucket/home/${aws:username}${?}notes.txt",
    f"arn:aws:iam::{A}:role/*", f"arn:aws:iam::*:role/target", f"arn:aws:iam::{A}:role/target",
    f"arn:aws:iam::{A}:role/app", f"arn:aws:iam::{A}:role/aws-service-role/*", f"arn:aws:iam::{A}:user/*",
    f"arn:aws:ec2:*:{A}:instance/*", f"arn:aws:kms:*:*:key/*", f"arn:aws:kms:us-east-1:{B}:key/k1",
    f"arn:aws:sqs:us-east-1:{A}:q?", f"arn:aws:secretsmanager:*:{B}:secret:s-*",
    f"arn:aws:iam::{A}:role/TARGET",
]

# key -> candidate context values (None = absent) and policy values per operator family
KEYS = {
    "aws:SourceIp": ["10.1.2.3", "192.168.0.1", "2001:db8::5", "not-an-ip", "10.0.0.0/24"],
    "aws:MultiFactorAuthPresent": ["true", "false", "True", "yes", True, False],
    "aws:SecureTransport": ["true", "false"],
    "aws:CurrentTime": ["2024-06-01T00:00:00Z", "1717200000", "2019-12-31T23:59:59Z", "garbage",
                        "2024-06-01T02:00:00+02:00", "2024-13-01T00:00:00Z"],
    "aws:TokenIssueTime": ["2021-01-01T00:00:00Z", "2019-01-01"],
    "aws:MultiFactorAuthAge": ["10", "3600", "abc", "1e3", "3600.0", "-5", "1_0", 3600, 59.5],
    "aws:username": ["alice", "Alice", "ops", "a*b"],
    "aws:PrincipalTag/team": ["alice", "ops", "Ops"],
    "aws:RequestedRegion": ["eu-west-1", "us-east-1"],
    "aws:SourceArn": ["arn:aws:s3:::bucket-1", "arn:aws:s3:::bucket*", f"arn:aws:lambda:us-east-1:{A}:function:f",
                      f"arn:aws:sns:us-east-1:{B}:t", "not-an-arn", "arn:aws:s3:::alice-x"],
    "aws:PrincipalArn": [f"arn:aws:iam::{A}:role/app", f"arn:aws:iam::{A}:user/alice"],
    "aws:TagKeys": [[], ["a"], ["a", "b"], ["x"], ["team-a", "team-b"]],
    "aws:PrincipalOrgPaths": [["o-1/r-1/ou-1/"], ["o-1/r-1/ou-1/", "o-1/r-1/ou-2/"]],
    "k:bin": ["QmluYXJ5", "T3RoZXI="],
}

OPS = {
    "String": ["StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
               "StringLike", "StringNotLike"],
    "Numeric": ["NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
                "NumericGreaterThan", "NumericGreaterThanEquals"],
    "Date": ["DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
             "DateGreaterThanEquals"],
    "Bool": ["Bool"],
    "Ip": ["IpAddress", "NotIpAddress"],
    "Arn": ["ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"],
    "Binary": ["BinaryEquals"],
}

POLICY_VALUES = {
    "String": ["alice", "ops", "a*", "?lice", "${aws:username}", "${aws:PrincipalTag/team}", "OPS",
               "${aws:PrincipalTag/team, 'ops'}", "a${*}b", "team-*", "a", "b", "eu-*", "x${$}",
               "${aws:TagKeys}", "arn:aws:iam::111111111111:*"],
    "Numeric": ["60", "3600", "3600.0", "x", "1000", "${aws:MultiFactorAuthAge}", 3600, 60.0],
    "Date": ["2020-01-01T00:00:00Z", "2024-06-01", "1717200000", "2024-06-01T00:00:00Z", "bad-date"],
    "Bool": ["true", "false", "TRUE", "yes", True, False],
    "Ip": ["10.0.0.0/8", "2001:db8::/32", "192.168.0.1", "10.1.2.3/32", "0.0.0.0/0", "::/0"],
    "Arn": ["arn:aws:s3:::bucket*", f"arn:aws:lambda:*:{A}:function:*", "arn:aws:*:*:*:*", "*",
            "arn:aws:s3:::${aws:username}-*", "arn:aws:s3:::bucket${*}", f"arn:aws:iam::{A}:role/app",
            "arn:aws:s3:::bucket-?", "arn:aws:sns:us-east-1:*:t"],
    "Binary": ["QmluYXJ5", "T3RoZXI="],
}

KEY_FAMILY = {"aws:SourceIp": "Ip", "aws:MultiFactorAuthPresent": "Bool", "aws:SecureTransport": "Bool",
              "aws:CurrentTime": "Date", "aws:TokenIssueTime": "Date", "aws:MultiFactorAuthAge": "Numeric",
              "aws:SourceArn": "Arn", "aws:PrincipalArn": "Arn", "k:bin": "Binary"}


def _one_or_list(r: random.Random, pool, k=3):
    vals = r.sample(pool, r.randint(1, min(k, len(pool))))
    return vals[0] if len(vals) == 1 and r.random() < 0.5 else vals


def _condition(r: random.Random) -> dict:
    out: dict = {}
    for _ in range(r.choice([1, 1, 1, 2])):
        key = r.choice(list(KEYS))
        fam = KEY_FAMILY.get(key, "String")
        if r.random() < 0.12:                      # type confusion: any family on any key
            fam = r.choice(list(OPS))
        if r.random() < 0.07:
            op, vals = "Null", r.choice(["true", "false", ["true", "false"]])
        else:
            op = r.choice(OPS[fam])
            roll = r.random()
            if roll < 0.2:
                op += "IfExists"
            if r.random() < 0.25 and fam in ("String", "Arn"):
                op = r.choice(["ForAllValues:", "ForAnyValue:"]) + op
            vals = _one_or_list(r, POLICY_VALUES[fam])
        key_written = key if r.random() < 0.85 else key.upper()     # key names are case-insensitive
        out.setdefault(op, {})[key_written] = vals
    return out


def _statement(r: random.Random, effect: str | None = None, principal: bool = False,
               trust: bool = False) -> dict:
    st: dict = {"Effect": effect or r.choice(["Allow", "Allow", "Deny"])}
    if r.random() < 0.15:
        st["NotAction"] = _one_or_list(r, ACTION_PATTERNS, 2)
    else:
        st["Action"] = _one_or_list(r, ACTION_PATTERNS)
    if r.random() < 0.12:
        st["NotResource"] = _one_or_list(r, RESOURCE_PATTERNS, 2)
    else:
        st["Resource"] = _one_or_list(r, RESOURCE_PATTERNS)
    if principal:
        if r.random() < 0.15:            # trust-policy style: no Resource element at all
            st.pop("Resource", None)
            st.pop("NotResource", None)
        if st["Effect"] == "Deny" and r.random() < 0.2 and not trust:   # no NotPrincipal in a trust policy
            st["NotPrincipal"] = "*" if r.random() < 0.1 else {"AWS": _one_or_list(r, _aws_principal_values(), 3)}
        else:
            st["Principal"] = _principal(r)
    if r.random() < 0.35:
        st["Condition"] = _condition(r)
    return st


def _aws_principal_values() -> list:
    return ["*", A, f"arn:aws:iam::{A}:root", B, f"arn:aws:iam::{B}:root",
            f"arn:aws:iam::{A}:user/alice", f"arn:aws:iam::{A}:user/dev/bob", f"arn:aws:iam::{A}:role/app",
            f"arn:aws:iam::{A}:role/team/app", f"arn:aws:sts::{A}:assumed-role/app/s1",
            f"arn:aws:iam::{A}:role/*", f"arn:aws:iam::{B}:role/partner", f"arn:aws:sts::{B}:assumed-role/partner/x",
            f"arn:aws:sts::{A}:federated-user/carol", f"arn:aws:iam::{B}:user/eve",
            f"arn:aws:iam::{A}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"]


def _principal(r: random.Random):
    roll = r.random()
    if roll < 0.12:
        return "*"
    if roll < 0.2:
        return {"Service": r.choice(["lambda.amazonaws.com", "ec2.amazonaws.com", "LAMBDA.amazonaws.com"])}
    p: dict = {"AWS": _one_or_list(r, _aws_principal_values())}
    if r.random() < 0.1:
        p["Service"] = "lambda.amazonaws.com"
    if r.random() < 0.1:
        p["Federated"] = r.choice([f"arn:aws:iam::{A}:oidc-provider/token.actions.githubusercontent.com",
                                   "token.actions.githubusercontent.com", "cognito-identity.amazonaws.com"])
    return p


def _doc(r: random.Random, n_max=3, **kw) -> dict:
    sts = [_statement(r, **kw) for _ in range(r.randint(1, n_max))]
    roll = r.random()
    doc: dict = {"Statement": sts if len(sts) > 1 or r.random() < 0.5 else sts[0]}
    if roll < 0.9:
        doc = {"Version": "2012-10-17", **doc}
    elif roll < 0.95:
        doc = {"Version": "2008-10-17", **doc}
    return doc


def _guardrail_levels(r: random.Random, rcp: bool) -> list:
    levels = []
    for name in ["root", "ou", "account"][: r.randint(1, 3)]:
        pols = []
        if not rcp and r.random() < 0.85:
            pols.append({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}})
        if r.random() < 0.6 or not pols:
            eff = "Deny" if (rcp or r.random() < 0.7) else "Allow"
            pols.append(_doc(r, 2, effect=eff, principal=rcp))
        levels.append({"name": name, "policies": pols})
    return levels


def _context(r: random.Random) -> dict:
    ctx = {}
    for key, vals in KEYS.items():
        if r.random() < 0.45:
            ctx[key] = r.choice(vals)
    return ctx


def generate(seed: int) -> dict:
    r = random.Random(seed)
    action, resource, racct = r.choice(REQUESTS)
    case: dict = {"id": f"rand-{seed}",
                  "identity_policies": [_doc(r) for _ in range(r.choice([0, 1, 1, 2, 3]))]}
    if r.random() < 0.5:
        trust = action.lower().startswith("sts:assumerole") and ":role/" in resource
        case["resource_policy"] = _doc(r, 3, principal=True, trust=trust)
    if r.random() < 0.3:
        case["permission_boundaries"] = [_doc(r, 2)]
    if r.random() < 0.35:
        case["scps"] = _guardrail_levels(r, rcp=False)
    if r.random() < 0.25:
        case["rcps"] = _guardrail_levels(r, rcp=True)
    if r.random() < 0.2:
        case["session_policy"] = _doc(r, 2)
    req = {"action": action, "resource": resource, "principal": r.choice(PRINCIPALS), "context": _context(r)}
    if racct:
        req["resource_account"] = racct
    case["request"] = req
    return case
