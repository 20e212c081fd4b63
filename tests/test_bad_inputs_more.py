"""Bad inputs nobody here wrote, through the real commands: each is either valid AWS input, accepted with its
meaning, or exit 2 with one line naming the file and the place (never a traceback, an internal error, or a
file of the user's overwritten). Cases the earlier fuzz, probe and hardening files did not reach."""

from __future__ import annotations

import copy
import json
import os
import threading
import urllib.parse
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iamlint.cli import app
from iamlint.errors import InputError, one_line
from iamlint.loaders import load_data, load_paths
from iamlint.loaders.snapshot import to_snapshot
from iamlint.model.policy import parse_policy

from conftest import EXAMPLE

runner = CliRunner()
A = "123456789012"
U = f"arn:aws:iam::{A}:user/alice"
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def invoke(*args: str):
    res = runner.invoke(app, list(args))
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return res


def one_error(res, *names: str) -> str:
    """The single error line of a run that must exit 2, naming each of `names`."""
    lines = res.stderr.strip().splitlines()
    assert res.exit_code == 2, (res.exit_code, res.stderr)
    assert len(lines) == 1 and "internal error" not in lines[0] and "Traceback" not in res.stderr, res.stderr
    for n in names:
        assert n in lines[0], lines[0]
    return lines[0]


def write(tmp_path: Path, name: str, content) -> str:
    p = tmp_path / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    elif isinstance(content, str):
        p.write_text(content)
    else:
        p.write_text(json.dumps(content))
    return str(p)


def gaad(inline=None, **lists) -> dict:
    user = {"UserName": "alice", "UserId": "AIDA1", "Arn": U, "Path": "/", "GroupList": [],
            "AttachedManagedPolicies": [], "UserPolicyList": []}
    if inline is not None:
        user["UserPolicyList"] = [{"PolicyName": "p", "PolicyDocument": inline}]
    data = {"UserDetailList": [user], "RoleDetailList": [], "GroupDetailList": [], "Policies": []}
    data.update(lists)
    return data


def snapshot_of_example() -> dict:
    return json.loads(json.dumps(to_snapshot(load_paths([str(EXAMPLE)]))))


# ====================================================================== part 1: iamlint check leftovers

def check(*args: str):
    return invoke("check", *args, "--format", "json", "-q", "--fail-on", "none")


TRUST_TEMPLATE = """Resources:
  R:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: 2012-10-17
        Statement:
          - Effect: Allow
            Principal: {AWS: %s}
            Action: sts:AssumeRole
"""


def _rules(res) -> list:
    assert res.exit_code == 0, res.stderr
    return sorted((f["rule_id"], f["principal"], f["location"]["line"]) for f in json.loads(res.stdout)["findings"])


@pytest.mark.parametrize("written", ["111111111111", "[111111111111, '222222222222']"])
def test_unquoted_account_id_in_a_principal_is_the_account(tmp_path, written):
    quoted = written.replace("111111111111", "'111111111111'")
    got = _rules(check(write(tmp_path, "n.yaml", TRUST_TEMPLATE % written)))
    assert got and got == _rules(check(write(tmp_path, "q.yaml", TRUST_TEMPLATE % quoted)))


@pytest.mark.parametrize("written, line, probably", [
    ("012345670123", 9, "012345670123"),        # YAML 1.1 octal: 1402433619, which AWS would refuse
    ("[111111111111, 0755]", 9, "000000000755"),
    ("12345", 9, None),
])
def test_a_number_that_is_no_account_id_is_one_error(tmp_path, written, line, probably):
    err = one_error(check(write(tmp_path, "t.yaml", TRUST_TEMPLATE % written)), "t.yaml", f"line {line}",
                    "not a 12-digit account id")
    if probably:
        assert f"written {probably} without quotes" in err and "octal" in err


LAMBDA_PERMISSION = """Resources:
  P:
    Type: AWS::Lambda::Permission
    Properties:
      Action: lambda:InvokeFunction
      FunctionName: arn:aws:lambda:us-east-1:123456789012:function:f
      Principal: bedrock.amazonaws.com
      SourceAccount: %s
  B:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: b
      PolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {Service: bedrock.amazonaws.com}
            Action: s3:GetObject
            Resource: arn:aws:s3:::b/*
            Condition: {StringEquals: {aws:SourceAccount: %s}}
"""


def test_unquoted_source_account_keeps_the_permission_narrow(tmp_path):
    """SourceAccount: 123456789012 unquoted was dropped from the Lambda permission (a false AGT018: 'invoke
    without source conditions'); it is the same permission as the quoted one."""
    n = check(write(tmp_path, "n.yaml", LAMBDA_PERMISSION % (A, A)), "--account", A)
    q = check(write(tmp_path, "q.yaml", LAMBDA_PERMISSION % (f"'{A}'", f"'{A}'")), "--account", A)
    assert _rules(n) == _rules(q)
    assert not [f for f in json.loads(n.stdout)["findings"] if f["rule_id"] in ("AGT018", "IAM208")]
    one_error(check(write(tmp_path, "o.yaml", LAMBDA_PERMISSION % ("012345670123", A))), "o.yaml", "line 8",
              "SourceAccount")
    one_error(check(write(tmp_path, "c.yaml", LAMBDA_PERMISSION % (A, "012345670123"))), "c.yaml", "line 19",
              "aws:SourceAccount")


SNIPPET = """Version: 2012-10-17
Statement:
  - Effect: Allow
    Action: s3:GetObject
    Resource: !Sub "arn:${AWS::Partition}:s3:::${BucketName}/${aws:username}/*"
  - Effect: Allow
    Action: !If [IsProd, "iam:*", "s3:ListBucket"]
    Resource: "*"
  - Effect: Allow
    Action: s3:*
    Resource: !GetAtt Bucket.Arn
  - Effect: Allow
    Action: sqs:SendMessage
    Resource: !Join ["", ["arn:aws:sqs:", !Ref "AWS::Region", ":", !Ref "AWS::AccountId", ":q"]]
    Condition: {StringEquals: {aws:ResourceAccount: 123456789012}}
"""


def test_a_policy_file_that_is_a_cloudformation_snippet_is_read(tmp_path):
    """`!Sub` in a policy file was 'Resource must be a string': intrinsics resolve as in a template without
    resources; what only deployment decides is Conditional (said), never guessed."""
    p = write(tmp_path, "snippet.yaml", SNIPPET)
    res = check(p)
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["check"]["inputs"][0]["kind"] == "identity-policy"
    wild = {f["location"]["pointer"]: f for f in doc["findings"] if f["rule_id"] == "IAM105"}
    # s3:* on a GetAtt known at deploy time
    assert wild["/Statement/2"]["location"]["line"] == 9
    assert any("GetAtt:Bucket.Arn" in c for c in wild["/Statement/2"]["conditions"])
    # the If keeps both branches: iam:* is a possibility (Conditional on IsProd), not dropped
    assert any("If:IsProd" in c for c in wild["/Statement/1"]["conditions"])
    # a --parameter is used by the snippet as by a template
    res2 = check(p, "--parameter", "BucketName=data", "--account", A)
    assert res2.exit_code == 0, res2.stderr


def test_a_snippet_with_a_broken_intrinsic_is_one_error(tmp_path):
    p = write(tmp_path, "s.yaml", "Statement:\n  - Effect: Allow\n    Action: s3:GetObject\n"
                                  "    Resource: !Select [9, [a, b]]\n")
    one_error(check(p), "s.yaml", "line 4", "Fn::Select index 9 is out of range")


@pytest.mark.parametrize("action, line, shown", [
    ("|\n                  s3:GetObjectt\n", 11, '"s3:GetObjectt\\n"'),      # a block scalar keeps its line break
    ("[s3:GetObject, \" s3:PutObject\"]", 11, '" s3:PutObject"'),
    ("\"s3:Get\\tObject\"", 11, '"s3:Get\\tObject"'),
])
def test_an_action_with_whitespace_is_one_clean_error_line(tmp_path, action, line, shown):
    text = ("Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n"
            "      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: ec2.amazonaws.com},"
            " Action: sts:AssumeRole}]}\n      Policies:\n        - PolicyName: p\n          PolicyDocument:\n"
            "            Statement:\n              - Effect: Allow\n                Action: " + action +
            "                Resource: \"*\"\n")
    if not action.endswith("\n"):
        text = text.replace(action + "                Resource", action + "\n                Resource")
    err = one_error(check(write(tmp_path, "t.yaml", text)), "t.yaml", f"line {line}", "holds whitespace")
    assert shown in err


@pytest.mark.parametrize("args, message", [
    (["--parameter", "=x"], "--parameter takes Name=value"),
    (["--parameter", "My Param=x"], "alphanumeric"),
    (["--parameter", "noequals"], "--parameter takes Name=value"),
])
def test_bad_parameter_names_are_usage_errors(args, message):
    one_error(check("fixtures/iac/cfn/agent-stack.yaml", *args), message)


@pytest.mark.parametrize("args, message", [
    (["can", "dev-alice", "s3:GetObject", "*", "--input", str(EXAMPLE), "-c", "=x"], "--context"),
    (["can", "dev-alice", "", "--input", str(EXAMPLE)], "ACTION must be service:Name"),
    (["can", "dev-alice", "s3:GetObject", " ", "--input", str(EXAMPLE)], "RESOURCE must be"),
    (["can", f"arn:aws:iam::{A}:role/typo", "s3:GetObject", "*", "--input", str(EXAMPLE)], "not in the input"),
    (["paths", "--input", str(EXAMPLE), "--from", "dev-alice", "--limit", "0"], "--limit must be 1 or more"),
    (["paths", "--input", str(EXAMPLE), "--from", "dev-alice", "--to", ""], "--to must be"),
    (["paths", "--input", str(EXAMPLE), "--from", f"arn:aws:iam::{A}:user/typo"], "not in the input"),
    (["graph", "--input", str(EXAMPLE), "--focus", ""], "--focus must name a principal"),
])
def test_bad_arguments_of_the_account_commands(args, message):
    one_error(invoke(*args), message)


def test_a_principal_of_another_account_may_still_be_asked_about():
    res = invoke("can", "arn:aws:iam::999999999999:role/outsider", "s3:GetObject", "*", "--input", str(EXAMPLE))
    assert res.exit_code == 0, res.stderr


# ====================================================================== part 2: whole files

TEXT = EXAMPLE.read_text()
MSD = '"MaxSessionDuration": 43200'
JUNK = {
    "truncated": TEXT[: len(TEXT) // 2],
    "nan": TEXT.replace(MSD, '"MaxSessionDuration": NaN', 1),
    "infinity": TEXT.replace(MSD, '"MaxSessionDuration": -Infinity', 1),
    "huge-int": TEXT.replace(MSD, '"MaxSessionDuration": ' + "9" * 5000, 1),
    "lone-surrogate": TEXT.replace('"RoleName": "', '"RoleName": "\\ud800', 1),
    "latin-1": TEXT.replace("Allow", "Allow\u00e9", 1).encode("latin-1"),
    "deep": "[" * 60000 + "]" * 60000,
    "empty": "",
}
COMMANDS = {
    "scan": lambda p: ["scan", "--input", p, "-q", "--format", "json"],
    "paths": lambda p: ["paths", "--input", p, "--from", U],
    "graph": lambda p: ["graph", "--input", p, "--format", "json"],
    "can": lambda p: ["can", U, "s3:GetObject", "*", "--input", p],
    "snapshot": lambda p: ["snapshot", "--input", p, "-o", p + ".out.json", "-q"],
}
EXPECT = {"truncated": "invalid JSON", "nan": "NaN is not a JSON value", "infinity": "-Infinity is not",
          "huge-int": "more than 4300 digits", "lone-surrogate": "/RoleDetailList/0/RoleName",
          "latin-1": "not UTF-8", "deep": "nested too deeply", "empty": "line 1 column 1"}


# deep, empty and truncated files through scan only (test_hardening has them for the other commands)
@pytest.mark.parametrize("junk,command", [(j, c) for j in sorted(JUNK) for c in sorted(COMMANDS)
                                          if c == "scan" or j not in ("deep", "empty", "truncated")])
def test_junk_files_are_one_error_in_every_command(tmp_path, junk, command):
    p = write(tmp_path, "in.json", JUNK[junk])
    one_error(invoke(*COMMANDS[command](p)), p, EXPECT[junk])
    assert not os.path.exists(p + ".out.json")


def test_an_error_line_never_spans_lines_or_holds_a_surrogate():
    assert one_line("a\nb\r\tc\x1b\u2028\ud800") == "a\\nb\\r\\tc\\x1b\\u2028\\ud800"
    assert "\n" not in InputError("bad\nthing", "f.json", "/x").line()


def test_a_pipe_is_read_and_kept_under_the_size_limit(tmp_path, monkeypatch):
    """`--input <(aws iam get-account-authorization-details)` is a pipe: read, and its size (which stat does not
    know) still bounded."""
    fifo = str(tmp_path / "pipe.json")

    def feed():
        with open(fifo, "w") as fh:
            fh.write(TEXT)
    for limit, code in ((None, 0), ("1000", 2)):
        os.mkfifo(fifo)
        t = threading.Thread(target=feed, daemon=True)
        t.start()
        if limit:
            monkeypatch.setattr("iamlint.loaders.common.MAX_INPUT_BYTES", int(limit))
        res = invoke("scan", "--input", fifo, "-q", "--format", "json")
        t.join(10)
        assert res.exit_code == code, res.stderr
        if code == 2:
            one_error(res, fifo, "input limit")
        os.unlink(fifo)


# ---------------------------------------------------------------------- policy documents as text

@pytest.mark.parametrize("encode", [
    lambda d: urllib.parse.quote(json.dumps(d)),
    lambda d: urllib.parse.quote_plus(json.dumps(d)),                 # + for a space (a form encoder)
    lambda d: urllib.parse.quote(urllib.parse.quote(json.dumps(d))),  # URL-encoded twice
    lambda d: json.dumps(json.dumps(d)),                              # JSON text holding JSON text
    lambda d: "  " + urllib.parse.quote(json.dumps(d)).replace("%7B", "%7b") + "\n",
], ids=["url", "form", "url-twice", "json-twice", "lower-case-and-spaces"])
def test_encoded_documents_keep_their_meaning(tmp_path, encode):
    p = write(tmp_path, "g.json", gaad(encode(ADMIN)))
    res = invoke("can", U, "iam:CreateUser", "*", "--input", p, "--format", "json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["decision"] == "Allowed"


@pytest.mark.parametrize("doc, message", [
    ('{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"NumericLessThan": '
     '{"aws:MultiFactorAuthAge": NaN}}}]}', "NaN is not a JSON value"),
    ('{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"NumericLessThan": '
     '{"aws:MultiFactorAuthAge": ' + "9" * 5000 + '}}}]}', "a number too long to read"),
    ('{"Statement": [{"Effect": "Allow", "Action": "s3:Get\\udc00", "Resource": "*"}]}',
     "/PolicyDocument/Statement/0/Action: a string holds half a UTF-16 surrogate pair"),
    (urllib.parse.quote(urllib.parse.quote(urllib.parse.quote(urllib.parse.quote(urllib.parse.quote("{}"))))),
     "encoded more than 4 times"),
])
def test_documents_as_text_that_are_not_json(tmp_path, doc, message):
    p = write(tmp_path, "g.json", gaad(doc))
    one_error(invoke("scan", "--input", p, "-q"), p, "/UserDetailList/0/UserPolicyList/0/PolicyDocument", message)


@pytest.mark.parametrize("statement, where, message", [
    ({"Effect": "Allow", "Action": [["*"]], "Resource": "*"}, "/Action/0", "entries must be strings"),
    ({"Effect": "Allow", "Action": 5, "Resource": "*"}, "/Action", "not a number"),
    ({"Effect": "Allow", "Action": "*", "Resource": [1.5]}, "/Resource/0", "not a number"),
    ({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:username": None}}},
     "/Condition/StringEquals/aws:username", "condition values"),
    ({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": [["a"]]}},
     "/Condition/StringEquals", "must map keys to values"),
])
def test_odd_types_inside_statements_name_their_place(tmp_path, statement, where, message):
    p = write(tmp_path, "g.json", gaad({"Version": "2012-10-17", "Statement": statement}))
    one_error(invoke("scan", "--input", p, "-q"), p, f"/PolicyDocument/Statement{where}", message)


def test_statement_as_an_object_and_legal_odd_condition_values(tmp_path):
    st = {"Effect": "Allow", "Action": "iam:*", "Resource": "*",
          "Condition": {"Bool": {"aws:MultiFactorAuthPresent": True}, "NumericLessThan": {"aws:MultiFactorAuthAge": 3600}}}
    p = write(tmp_path, "g.json", gaad({"Version": "2012-10-17", "Statement": st}))
    res = invoke("can", U, "iam:CreateUser", "*", "--input", p, "--format", "json", "--strict",
                 "-c", "aws:MultiFactorAuthPresent=true", "-c", "aws:MultiFactorAuthAge=60")
    assert res.exit_code == 0 and json.loads(res.stdout)["decision"] == "Allowed", res.stderr


@pytest.mark.parametrize("principal, message", [
    ({"AWS": int(A)}, "Principal.AWS must be a string"),      # JSON as AWS writes it never holds a number here
    ({"AWS": [[U]]}, "entries must be strings"),
    (["*"], 'Principal must be "*" or an object'),
    ({"aws": "*"}, "unknown Principal type 'aws'"),
    ({}, "must not be empty"),
])
def test_odd_principal_shapes_in_a_trust_policy(tmp_path, principal, message):
    role = {"RoleName": "r", "RoleId": "AROA1", "Arn": f"arn:aws:iam::{A}:role/r", "Path": "/",
            "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": principal,
                                                        "Action": "sts:AssumeRole"}]}}
    p = write(tmp_path, "g.json", gaad(RoleDetailList=[role]))
    one_error(invoke("scan", "--input", p, "-q"), p, "/RoleDetailList/0/AssumeRolePolicyDocument/Statement/0/Principal",
              message)


def test_not_principal_in_a_resource_policy_is_read():
    doc = parse_policy({"Statement": {"Effect": "Deny", "NotPrincipal": {"AWS": [U, f"arn:aws:iam::{A}:root"]},
                                      "Action": "s3:*", "Resource": "*"}}, "resource")
    assert doc.statements[0].not_principals == {"AWS": (U, f"arn:aws:iam::{A}:root")}


# ---------------------------------------------------------------------- authorization details: shape and meaning

@pytest.mark.parametrize("mutate, where, message", [
    (lambda d: d["RoleDetailList"][0].__setitem__("Arn", d["UserDetailList"][0]["Arn"]),
     "/RoleDetailList/0/Arn", "is not the ARN of an IAM role"),
    (lambda d: d["UserDetailList"][0].__setitem__("Arn", "arn:aws:iam::12345:user/x"),
     "/UserDetailList/0/Arn", "12-digit account"),
    (lambda d: d["Policies"][0]["PolicyVersionList"][0].__setitem__("IsDefaultVersion", "false"),
     "/Policies/0/PolicyVersionList/0/IsDefaultVersion", "must be true or false"),
])
def test_gaad_principals_that_cannot_be_placed(tmp_path, mutate, where, message):
    data = json.loads(TEXT)
    mutate(data)
    p = write(tmp_path, "g.json", data)
    one_error(invoke("scan", "--input", p, "-q"), p, where, message)


def test_a_principal_twice_in_one_file_is_said():
    """AWS never lists a principal twice; bench/generate.py does: the later entry replaces the earlier, as it
    always did, and the account's errors say so instead of losing the earlier one silently."""
    data = json.loads(TEXT)
    second = copy.deepcopy(data["RoleDetailList"][0])
    second["RolePolicyList"] = []
    data["RoleDetailList"].append(second)
    m = load_data(data, "g.json")
    assert m.principal(second["Arn"]).inline_policies == []
    dup = [e["message"] for e in m.accounts[A].collection_errors if e["error_code"] == "DuplicatePrincipal"]
    assert dup == [f"g.json: /RoleDetailList/9: {second['Arn']} is also at /RoleDetailList/0; the later entry "
                   "replaces the earlier"]


def test_a_principal_in_two_files_names_both_and_a_file_named_twice_is_read_once(tmp_path):
    other = json.loads(TEXT)
    other["UserDetailList"][0]["UserPolicyList"] = []          # a different copy of the same account
    p = write(tmp_path, "again.json", other)
    one_error(invoke("scan", "--input", str(EXAMPLE), "--input", p, "-q"), p, str(EXAMPLE), "in the input twice")
    once = invoke("scan", "--input", str(EXAMPLE), "-q", "--format", "json")
    twice = invoke("scan", "--input", str(EXAMPLE), "--input", str(EXAMPLE), "-q", "--format", "json")
    assert once.exit_code == twice.exit_code == 0
    assert json.loads(once.stdout)["findings"] == json.loads(twice.stdout)["findings"]


def test_paginated_authorization_details_are_one_account(tmp_path):
    """`--no-paginate --max-items` writes pages: a user in page 1 names a group of page 2, a policy of page 3.
    The membership holds and nothing is reported missing (was: MissingGroup, membership lost, MissingPolicy)."""
    data = json.loads(TEXT)
    pages = [{"UserDetailList": data["UserDetailList"]}, {"GroupDetailList": data["GroupDetailList"]},
             {"RoleDetailList": data["RoleDetailList"], "Policies": data["Policies"]}]
    paths = [write(tmp_path, f"page{i}.json", pg) for i, pg in enumerate(pages)]
    whole, split = load_paths([str(EXAMPLE)]), load_paths(paths)
    assert {p.arn: (p.groups, p.members, p.managed_policies) for p in split.principals()} == \
           {p.arn: (p.groups, p.members, p.managed_policies) for p in whole.principals()}
    errs = [e for a in split.accounts.values() for e in a.collection_errors]
    assert not [e for e in errs if e.get("error_code") in ("MissingGroup", "MissingPolicy")], errs
    assert not [p for p in split.policies.values() if p.missing]


def test_missing_managed_policies_are_reported_and_kept(tmp_path):
    data = json.loads(TEXT)
    data["Policies"] = [p for p in data["Policies"] if ":aws:policy/" not in p["Arn"]]
    m = load_data(data, "g.json")
    missing = sorted(a for a, p in m.policies.items() if p.missing)
    assert missing == ["arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/ReadOnlyAccess"]
    msgs = [e["message"] for e in m.accounts[A].collection_errors if e["error_code"] == "MissingPolicy"]
    assert len(msgs) == 2 and all(x.startswith("g.json: managed policy arn:aws:iam::aws:policy/") for x in msgs)


# ---------------------------------------------------------------------- iamlint snapshots

def _set(path: str, value):
    def mutate(d):
        *head, last = path.strip("/").split("/")
        target = d
        for k in head:
            target = target[int(k)] if isinstance(target, list) else target[k]
        target[last] = value
    return mutate


@pytest.mark.parametrize("mutate, where, message", [
    (_set("/schema_version", True), "/schema_version", "unsupported snapshot schema_version True"),
    (_set("/accounts/0/account_id", "prod"), "/accounts/0/account_id", "12-digit account id"),
    (_set("/accounts/0/account_id", "999999999999"), "/accounts/0/principals/0/arn", "is not in account 999999999999"),
    (_set("/accounts/0/principals/0/kind", "role"), "/accounts/0/principals/0/arn", "is not the ARN of an IAM role"),
    (_set("/accounts/0/principals/0/last_used", "yesterday"), "/accounts/0/principals/0/last_used",
     "must be an object or null"),                               # was an internal error in a rule
    (_set("/accounts/0/principals/0/managed_policies", [None]), "/accounts/0/principals/0/managed_policies/0",
     "must be strings"),                                         # was read as the policy "None"
    (_set("/accounts/0/principals/0/groups", ["admins"]), "/accounts/0/principals/0/groups/0", "must be ARNs"),
    (_set("/accounts/0/principals/0/permissions_boundary", "bound"), "/accounts/0/principals/0/permissions_boundary",
     "not an ARN"),
    (_set("/accounts/0/principals/0/tags", {"team": ["a"]}), "/accounts/0/principals/0/tags/team", "tag values"),
    (_set("/accounts/0/sources", [None]), "/accounts/0/sources/0", "must be strings"),
    (_set("/policies/0/missing", "no"), "/policies/0/missing", "true or false"),
    (_set("/policies/0/is_attachable", 0), "/policies/0/is_attachable", "true or false"),
    (_set("/organization", {"scps": {A: [{"level": "root"}]}}), "/organization/scps/123456789012/0", "missing policies"),
    (_set("/organization", {"scps": {A: [{"level": "root", "policies": [
        {"name": "x", "arn": 5, "document": ADMIN}]}]}}), "/organization/scps/123456789012/0/policies/0/arn",
     "arn must be a string"),
])
def test_snapshot_fields_of_the_wrong_kind_name_their_place(tmp_path, mutate, where, message):
    data = snapshot_of_example()
    mutate(data)
    p = write(tmp_path, "snap.json", data)
    one_error(invoke("scan", "--input", p, "-q"), p, f"{p}: {where}", message)


def test_snapshot_principal_naming_absent_policies_and_groups_says_so(tmp_path):
    data = snapshot_of_example()
    user = next(p for p in data["accounts"][0]["principals"] if p["kind"] == "user")
    user["managed_policies"].append(f"arn:aws:iam::{A}:policy/gone")
    user["groups"].append(f"arn:aws:iam::{A}:group/ghost")
    m = load_data(data, "snap.json")
    errs = {e["error_code"]: e["message"] for e in m.accounts[A].collection_errors}
    assert "policy/gone" in errs["MissingPolicy"] and m.policies[f"arn:aws:iam::{A}:policy/gone"].missing
    assert "group/ghost" in errs["MissingGroup"] and f"arn:aws:iam::{A}:group/ghost" not in m.find(user["arn"]).groups
    assert to_snapshot(load_data(json.loads(json.dumps(to_snapshot(m))), "again.json")) == to_snapshot(m)


# ---------------------------------------------------------------------- outputs never replace inputs

@pytest.mark.parametrize("command", [
    lambda p: ["snapshot", "--input", p, "-o", p],
    lambda p: ["scan", "--input", p, "-o", p],
    lambda p: ["graph", "--input", p, "-o", p],
    lambda p: ["simulate", "--cases", p, "-o", p],
], ids=["snapshot", "scan", "graph", "simulate"])
def test_output_onto_an_input_is_refused_and_the_file_kept(tmp_path, command):
    p = write(tmp_path, "mine.json", TEXT)
    one_error(invoke(*command(p)), "is also an input")
    assert Path(p).read_text() == TEXT


def test_check_output_onto_a_checked_template_is_refused(tmp_path):
    p = write(tmp_path, "t.yaml", TRUST_TEMPLATE % "'111111111111'")
    before = Path(p).read_text()
    one_error(invoke("check", p, "-o", p), "is also an input")
    assert Path(p).read_text() == before


# ---------------------------------------------------------------------- simulate

CASE = {"id": 1, "identity_policies": [ADMIN], "request": {"action": "s3:GetObject", "resource": "arn:aws:s3:::b/k",
                                                           "principal": f"arn:aws:iam::{A}:user/a"}}


@pytest.mark.parametrize("text, line, message", [
    (json.dumps(CASE) + "\n" + json.dumps(CASE).replace('"id": 1', '"id": NaN'), 2, "NaN is not a JSON value"),
    (json.dumps(CASE).replace('"id": 1', '"id": ' + "1" * 5000), 1, "more than 4300 digits"),
    ("\n\n" + "[" * 100000 + "]" * 100000, 3, "nested too deeply"),
    ((json.dumps(CASE) + "\n" + json.dumps(CASE).replace("b/k", "b/\u00e9")).encode("latin-1"), 2, "not UTF-8"),
    (json.dumps(CASE).replace("b/k", "b/\\ud800"), 1, "/request/resource: a string holds half"),
])
def test_cases_files_that_are_not_json_lines(tmp_path, text, line, message):
    p = write(tmp_path, "cases.jsonl", text)
    one_error(invoke("simulate", "--cases", p), p, f"line {line}", message)


def test_cases_file_with_a_bom_is_read(tmp_path):
    p = write(tmp_path, "cases.jsonl", "\ufeff" + json.dumps(CASE) + "\n")
    res = invoke("simulate", "--cases", p)
    assert res.exit_code == 0 and json.loads(res.stdout)["decision"] == "Allowed", res.stderr


@pytest.mark.parametrize("change, error", [
    (lambda c: c["request"].__setitem__("context", {"aws:SourceIp": {"ip": "1.2.3.4"}}), "/request/context/aws:SourceIp"),
    (lambda c: c["request"].__setitem__("context", {"aws:TagKeys": ["a", ["b"]]}), "/request/context/aws:TagKeys"),
    (lambda c: c.__setitem__("scps", [{"policies": [ADMIN]}, ADMIN]), "/scps/1: a list of levels holds levels only"),
    (lambda c: c.__setitem__("scps", [{"name": 5, "policies": [ADMIN]}]), "/scps/0/name"),
    (lambda c: c["request"].pop("resource"), "/request/resource"),
    (lambda c: c.__setitem__("identity_policies", [urllib.parse.quote('{"Statement": NaN}')]),
     "/identity_policies/0: policy document is not valid JSON (NaN"),
])
def test_cases_with_missing_or_odd_keys_say_where(tmp_path, change, error):
    case = copy.deepcopy(CASE)
    change(case)
    p = write(tmp_path, "cases.jsonl", json.dumps(case) + "\n")
    res = invoke("simulate", "--cases", p)
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["decision"] is None and out["error"].startswith(error), out
