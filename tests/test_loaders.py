"""Loaders: authorization details, snapshots, bad input (one clear line, exit 2, no traceback)."""

import json
import subprocess
import sys
import urllib.parse

import jsonschema
import pytest

from iamlint.errors import InputError
from iamlint.loaders import load_data, load_paths
from iamlint.loaders.snapshot import to_snapshot
from iamlint.model.account import Kind
from iamlint.paths_data import schema_path

from conftest import EXAMPLE, write_json

ACCT = "111111111111"


def gaad(**kw):
    base = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
    base.update(kw)
    return base


def role(name, trust, **kw):
    r = {"RoleName": name, "Arn": f"arn:aws:iam::{ACCT}:role/{name}", "Path": "/", "RoleId": "AROAX",
         "AssumeRolePolicyDocument": trust, "RolePolicyList": [], "AttachedManagedPolicies": []}
    r.update(kw)
    return r


TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                  "Action": "sts:AssumeRole"}]}


def test_example_loads_with_kinds():
    m = load_paths([str(EXAMPLE)])
    kinds = {p.kind for p in m.principals()}
    assert kinds == {Kind.USER, Kind.ROLE, Kind.GROUP}
    alice = m.find("dev-alice")
    assert alice.groups == ["arn:aws:iam::123456789012:group/developers"]
    assert m.find("developers").members == [alice.arn]
    assert m.find("web-server").instance_profiles


def test_url_encoded_documents_are_decoded():
    enc = urllib.parse.quote(json.dumps(TRUST))
    m = load_data(gaad(RoleDetailList=[role("r", enc)]), "x.json")
    r = m.find("r")
    assert r.trust_policy.statements[0].principals == {"Service": ("ec2.amazonaws.com",)}


def test_statement_object_and_string_forms_normalized():
    doc = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}
    m = load_data(gaad(RoleDetailList=[role("r", TRUST, RolePolicyList=[{"PolicyName": "p", "PolicyDocument": doc}])]),
                  "x.json")
    st = m.find("r").inline_policies[0].document.statements[0]
    assert st.actions == ("s3:GetObject",) and st.resources == ("*",)
    assert m.find("r").inline_policies[0].document.original == doc   # original kept for evidence


def test_boundary_only_policy_missing_is_reported_not_crash():
    # R25-7: a managed policy used only as a boundary may be missing from GAAD
    r = role("r", TRUST, PermissionsBoundary={"PermissionsBoundaryType": "Policy",
                                               "PermissionsBoundaryArn": f"arn:aws:iam::{ACCT}:policy/bound"})
    m = load_data(gaad(RoleDetailList=[r]), "x.json")
    errs = m.accounts[ACCT].collection_errors
    assert any(e["error_code"] == "MissingPolicy" and "bound" in e["message"] for e in errs)
    assert m.policies[f"arn:aws:iam::{ACCT}:policy/bound"].missing


def test_snapshot_round_trip_equal_model():
    m = load_paths([str(EXAMPLE)])
    snap = to_snapshot(m)
    schema = json.loads(schema_path("snapshot.schema.json").read_text())
    jsonschema.validate(snap, schema)
    m2 = load_data(json.loads(json.dumps(snap)), "snap.json")
    assert to_snapshot(m2) == snap
    assert {p.arn: p for p in m2.principals()} == {p.arn: p for p in m.principals()}
    assert m2.policies == m.policies


def test_several_files_several_accounts(tmp_path):
    other = gaad(RoleDetailList=[{**role("x", TRUST), "Arn": "arn:aws:iam::222222222222:role/x"}])
    p2 = write_json(tmp_path, "b.json", other)
    m = load_paths([str(EXAMPLE), p2])
    assert set(m.accounts) == {"123456789012", "222222222222"}


BAD = [
    ("{not json", "line 1 column 2"),
    ('{"RoleDetailList": {"a": 1}}', "/RoleDetailList"),
    (json.dumps(gaad(RoleDetailList=[role("r", {"Statement": [{"Effect": "Maybe", "Principal": "*",
                                                               "Action": "sts:AssumeRole"}]})])),
     "/RoleDetailList/0/AssumeRolePolicyDocument/Statement/0/Effect"),
    (json.dumps(gaad(RoleDetailList=[role("r", TRUST, RolePolicyList=[{"PolicyName": "p", "PolicyDocument": {
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]}}])])),
     "/RoleDetailList/0/RolePolicyList/0/PolicyDocument/Statement/0"),
    (json.dumps(gaad(RoleDetailList=[role("r", TRUST, RolePolicyList=[{"PolicyName": "p", "PolicyDocument": {
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": 5, "Resource": "*"}]}}])])),
     "/RoleDetailList/0/RolePolicyList/0/PolicyDocument/Statement/0/Action"),
    (json.dumps(gaad(RoleDetailList=[{"RoleName": "r", "Arn": "not-an-arn"}])), "/RoleDetailList/0/Arn"),
    (json.dumps([1, 2]), "not an iamlint snapshot"),
    (json.dumps({"format": "iamlint-snapshot", "schema_version": 99, "accounts": [], "policies": []}),
     "/schema_version"),
    (json.dumps(gaad(Policies=[{"Arn": "arn:aws:iam::1:policy/p", "PolicyVersionList": [{"VersionId": "v1",
                 "IsDefaultVersion": True, "Document": "%7B%22Statement%22%3A"}]}])),
     "/Policies/0/PolicyVersionList/0/Document"),
]


@pytest.mark.parametrize("text,where", BAD)
def test_bad_input_one_line_with_place(tmp_path, text, where):
    path = write_json(tmp_path, "bad.json", text)
    with pytest.raises(InputError) as exc:
        load_paths([path])
    assert where in exc.value.line()
    assert exc.value.line().startswith(path)


@pytest.mark.parametrize("text,where", BAD[:3])
def test_bad_input_cli_exit_2_no_traceback(tmp_path, text, where):
    path = write_json(tmp_path, "bad.json", text)
    r = subprocess.run([sys.executable, "-m", "iamlint", "scan", "--input", path], capture_output=True, text=True)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and path in lines[0] and where in lines[0]


def test_missing_file_exit_2(tmp_path):
    r = subprocess.run([sys.executable, "-m", "iamlint", "scan", "--input", str(tmp_path / "nope.json")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "cannot read file" in r.stderr and "Traceback" not in r.stderr


def _profile_roles(*lists):
    roles = []
    for i, lst in enumerate(lists):
        r = {"RoleName": f"r{i}", "RoleId": f"AROA{i}", "Arn": f"arn:aws:iam::111111111111:role/r{i}", "Path": "/",
             "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}, "RolePolicyList": [],
             "AttachedManagedPolicies": []}
        if lst is not None:
            r["InstanceProfileList"] = [{"Arn": f"arn:aws:iam::111111111111:instance-profile/{n}",
                                         "InstanceProfileName": n} for n in lst]
        roles.append(r)
    return {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": roles, "Policies": []}


def test_authorization_details_list_every_roles_instance_profiles():
    """AWS writes each role's InstanceProfileList: a role listing none has none (as the live collector reads
    it); a file where some role lacks the list (hand-written) says nothing about profiles."""
    m = load_data(_profile_roles(["ip1"], [], ["ip1", "ip2"]), "gaad.json")
    inv = m.accounts["111111111111"].inventory["instance_profiles"]
    assert {x["name"]: x["roles"] for x in inv} == {
        "ip1": ["arn:aws:iam::111111111111:role/r0", "arn:aws:iam::111111111111:role/r2"],
        "ip2": ["arn:aws:iam::111111111111:role/r2"]}
    m = load_data(_profile_roles(["ip1"], None), "hand.json")
    assert "instance_profiles" not in (m.accounts["111111111111"].inventory or {})


def test_pages_of_authorization_details_add_up_their_instance_profiles(tmp_path):
    first, second = _profile_roles(["ip1"], []), _profile_roles([], [], ["ip1"])
    second["RoleDetailList"] = second["RoleDetailList"][2:]       # r2, on the second page
    paths = [write_json(tmp_path, "p1.json", first), write_json(tmp_path, "p2.json", second)]
    inv = load_paths(paths).accounts["111111111111"].inventory["instance_profiles"]
    assert [x["roles"] for x in inv] == [["arn:aws:iam::111111111111:role/r0", "arn:aws:iam::111111111111:role/r2"]]
