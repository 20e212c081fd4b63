"""`iamlint check` against inputs written as an outside user would: legal-but-unusual input is understood,
broken input is one error line naming the file and the place (exit 2), never a traceback or a hang."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iamlint.check import CheckOptions, run_check
from iamlint.cli import app

from conftest import ROOT

PROBE = ROOT / "fixtures" / "check" / "probe"
runner = CliRunner()


@pytest.fixture(autouse=True)
def in_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def check(*args: str):
    """-> (exit code, stdout, stderr) of `iamlint check ARGS --format json`."""
    res = runner.invoke(app, ["check", *args, "--format", "json", "-q", "--fail-on", "none"])
    return res.exit_code, res.stdout, res.stderr


def error_of(path) -> str:
    code, _out, err = check(str(path))
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "internal error" not in err and "Traceback" not in err, err
    return lines[0]


def findings(path, *extra: str) -> list[dict]:
    code, out, err = check(str(path), *extra)
    assert code == 0, err
    return json.loads(out)["findings"]


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    p = tmp_path / name
    (p.write_bytes if isinstance(content, bytes) else p.write_text)(content)
    return p


# ------------------------------------------------------------------ output

def test_json_findings_carry_their_location():
    """JSON findings had `"location": null` (Location.to_json lost its return): CI tools reading the JSON
    could not place a single finding, while text and SARIF could."""
    fs = findings("fixtures/iac/cfn/agent-stack.yaml")
    assert fs and all(f["location"] is not None for f in fs)
    loc = next(f["location"] for f in fs if f["rule_id"] == "IAM101")
    assert loc == {"file": "fixtures/iac/cfn/agent-stack.yaml", "line": 42, "column": 11,
                   "pointer": "/Resources/GitHubDeployRole/Properties/ManagedPolicyArns/0"}


# ------------------------------------------------------------------ YAML

def test_yaml_merge_key_override_is_not_a_duplicate():
    fs = findings(PROBE / "merge-keys.yaml")
    hit = [f for f in fs if f["rule_id"] == "IAM105"]
    assert hit, fs            # iam:* from the overriding Action, at the merged statement
    assert hit[0]["location"]["pointer"].endswith("/Statement/1")


def test_yaml_written_twice_is_still_a_duplicate(tmp_path):
    p = write(tmp_path, "dup.yaml", "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Type: AWS::IAM::User\n")
    assert "line 4: duplicate key 'Type'" in error_of(p)


def test_yaml_alias_bomb_is_refused_not_expanded():
    assert "line " in error_of(PROBE / "alias-bomb.yaml") and "aliases expand" in error_of(PROBE / "alias-bomb.yaml")


def test_yaml_nested_too_deeply_is_one_error(tmp_path):
    p = write(tmp_path, "deep.yaml", "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      X: "
              + "[" * 5000 + "]" * 5000 + "\n")
    assert "nested too deeply" in error_of(p)


def test_yaml_second_document_is_named(tmp_path):
    p = write(tmp_path, "two.yaml", "Resources:\n  R:\n    Type: AWS::IAM::Role\n---\nResources: {}\n")
    assert "line 4" in error_of(p) and "second one" in error_of(p)


# ------------------------------------------------------------------ JSON

def test_json_nan_is_an_error_with_its_place(tmp_path):
    p = write(tmp_path, "nan.json", '{"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {\n'
              '"AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": {"Service": '
              '"ec2.amazonaws.com"}, "Action": "sts:AssumeRole",\n"Condition": {"NumericLessThan": '
              '{"aws:MultiFactorAuthAge": NaN}}}]}}}}}\n')
    assert "line 3" in error_of(p) and "NaN" in error_of(p)


def test_json_duplicate_key_hiding_the_template_is_the_error(tmp_path):
    p = write(tmp_path, "dup.json", '{"Resources": {"R": {"Type": "AWS::IAM::Role"}},\n "Resources": {}}\n')
    assert "line 2" in error_of(p) and "duplicate key 'Resources'" in error_of(p)


def test_policy_json_string_with_a_duplicate_statement_is_refused(tmp_path):
    """json.loads keeps the last key: the first (admin) Statement vanished silently."""
    p = write(tmp_path, "s.yaml", "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n"
              "      AssumeRolePolicyDocument: {Statement: []}\n      Policies:\n        - PolicyName: p\n"
              "          PolicyDocument: '{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", "
              "\"Resource\": \"*\"}], \"Statement\": []}'\n")
    assert "line 8" in error_of(p) and "duplicate key 'Statement'" in error_of(p)


# ------------------------------------------------------------------ encodings and empty files

def test_utf16_plan_with_bom_is_read(tmp_path):
    text = (ROOT / "fixtures/iac/terraform/agent-plan.json").read_text()
    p = write(tmp_path, "plan.json", text.encode("utf-16"))
    want = findings("fixtures/iac/terraform/agent-plan.json")
    got = findings(p)
    assert [(f["rule_id"], f["location"]["line"]) for f in got] == \
           [(f["rule_id"], f["location"]["line"]) for f in want]


def test_latin1_file_names_file_line_and_byte(tmp_path):
    p = write(tmp_path, "l.yaml",
              b"Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: caf\xe9\n")
    err = error_of(p)
    assert err.startswith(f"iamlint: error: {p}: line 5 column 20: ") and "0xe9" in err


def test_empty_file_says_it_is_empty(tmp_path):
    for name, text in (("e.yaml", ""), ("c.yaml", "# nothing\n"), ("e.json", "  \n")):
        assert "empty" in error_of(write(tmp_path, name, text))


# ------------------------------------------------------------------ CloudFormation

def test_foreach_is_expanded_with_the_fragments_lines():
    code, out, err = check(str(PROBE / "foreach.yaml"))
    assert code == 0, err
    doc = json.loads(out)
    fs = doc["findings"]
    trusted = sorted((f["principal"].rsplit("/", 1)[-1], f["location"]["line"]) for f in fs if f["rule_id"] == "IAM201")
    assert trusted == [("data-eng-dev", 19), ("data-eng-prod", 19), ("ml-dev", 19), ("ml-prod", 19)]
    admin = [f for f in fs if f["rule_id"] == "IAM101"]
    assert [f["principal"].rsplit("/", 1)[-1] for f in admin] == ["data-eng-prod"]
    # a loop over a parameter known only at deploy time is said, not dropped silently
    gaps = [e["message"] for e in doc["errors"] if e.get("error_code") == "UnknownForEach"]
    assert len(gaps) == 1 and "line 24" in gaps[0] and "parameter Extra" in gaps[0]


def test_foreach_over_a_given_parameter(tmp_path):
    fs = findings(PROBE / "foreach.yaml", "--parameter", "Extra=bob,eve")
    users = sorted(f["principal"].rsplit("/", 1)[-1] for f in fs if f["rule_id"] == "IAM101")
    assert users == ["bob", "data-eng-prod", "eve"]


def test_foreach_bad_shape_is_one_error(tmp_path):
    p = write(tmp_path, "fe.yaml", "Transform: AWS::LanguageExtensions\nResources:\n  Fn::ForEach::X:\n    - Id\n"
              "    - [a]\n")
    assert "line 3" in error_of(p) and "Fn::ForEach::X takes" in error_of(p)


def test_conditional_entries_keep_their_lines_and_conditional_tags_are_legal():
    fs = findings(PROBE / "conditional-entries.yaml")
    iam = [f for f in fs if f["rule_id"] == "IAM105"]
    assert iam and iam[0]["location"]["line"] == 18
    assert iam[0]["location"]["pointer"].endswith("/ManagedPolicyArns/1")


def test_sam_state_machine_role_connector_gap_and_policy_entry_lines():
    code, out, err = check(str(PROBE / "sam-extras.yaml"))
    assert code == 0, err
    doc = json.loads(out)
    fs = doc["findings"]
    # the state machine's generated role is modeled (it was silently left out)
    flow = [f for f in fs if f["principal"].endswith("role/FlowRole")]
    assert {"IAM104", "IAM106"} <= {f["rule_id"] for f in flow}
    # SAM's SQSPollerPolicy lists batch calls that are not IAM actions: not reported against the template
    assert not [f for f in fs if f["rule_id"] == "IAM107"]
    # a managed policy named in Policies points at its entry
    s3 = [f for f in fs if f["rule_id"] == "IAM105" and f["principal"].endswith("role/PollerRole")]
    assert s3 and s3[0]["location"]["pointer"] == "/Resources/Poller/Properties/Policies/1"
    assert any(e.get("error_code") == "UnmodeledResource" and "Connector Link" in e["message"]
               for e in doc["errors"])


# ------------------------------------------------------------------ Terraform

def test_deferred_changes_are_judged():
    plan = json.loads((ROOT / "fixtures/iac/terraform/agent-plan.json").read_text())
    want = findings("fixtures/iac/terraform/agent-plan.json")
    assert want
    rc = plan["resource_changes"]
    plan["deferred_changes"] = [{"reason": "provider_config_unknown", "resource_change": r} for r in rc]
    plan["resource_changes"] = []
    plan["complete"] = False
    p = PROBE / "deferred-plan.json"
    p.write_text(json.dumps(plan, indent=1))
    try:
        got = findings(str(p.relative_to(ROOT)))
    finally:
        p.unlink()
    assert sorted((f["rule_id"], f["principal"]) for f in got) == sorted((f["rule_id"], f["principal"]) for f in want)


# ------------------------------------------------------------------ CDK

def test_cdk_stage_manifest_follows_nested_assemblies_and_nested_stacks():
    """A CDK app with stages writes a top manifest.json that names only `cdk:cloud-assembly` artifacts:
    naming it checked nothing at all and passed."""
    code, out, err = check(str(PROBE / "cdk-stage" / "manifest.json"))
    assert code == 0, err
    doc = json.loads(out)
    files = {i["file"].rsplit("/", 1)[-1]: i["kind"] for i in doc["check"]["inputs"]}
    assert files == {"ProdApp.template.json": "cdk", "ProdAppWorkers1A2B3C4D.nested.template.json": "cdk"}
    got = {(f["rule_id"], f["principal"]) for f in doc["findings"]}
    assert ("IAM101", "arn:aws:iam::210987654321:role/AppRole") in got
    assert ("IAM201", "arn:aws:iam::210987654321:role/WorkerRole") in got      # the nested stack, same account


def test_cdk_manifest_without_stacks_is_an_error(tmp_path):
    p = write(tmp_path, "manifest.json", '{"version": "36.0.0", "artifacts": {"Tree": {"type": "cdk:tree"}}}')
    assert "names no stack template" in error_of(p)


def test_fn_if_whole_lists_and_same_named_branches():
    """`Policies: !If [...]` and `ManagedPolicyArns: !If [C, [..], !Ref AWS::NoValue]` were refused; two
    branches of one Fn::If with the same PolicyName kept only the last one (the admin branch vanished)."""
    fs = findings(PROBE / "fn-if-lists.yaml")
    by = {(f["rule_id"], f["principal"].rsplit("/", 1)[-1]) for f in fs}
    assert ("IAM101", "whole-lists") in by          # FindInMap's DefaultValue names the role
    assert ("IAM101", "SameName") in by
    for f in fs:
        if f["rule_id"] == "IAM101":
            assert f["severity"] != "critical"      # Conditional: it depends on Prod


# ------------------------------------------------------------------ folders

def test_folder_skips_dangling_symlinks_and_pipes(tmp_path):
    """A dangling `*.json` symlink in a repository failed the whole run; a named pipe hung it."""
    import os
    (tmp_path / "stack.yaml").write_text((PROBE / "merge-keys.yaml").read_text())
    os.symlink(tmp_path / "gone" / "x.json", tmp_path / "dangling.json")
    os.mkfifo(tmp_path / "pipe.json")
    (tmp_path / "dir.json").mkdir()
    code, out, err = check(str(tmp_path), "--base-dir", str(tmp_path))
    assert code == 0, err
    chk = json.loads(out)["check"]
    assert [i["file"] for i in chk["inputs"]] == ["stack.yaml"]
    assert sorted(chk["skipped"]) == ["dangling.json", "pipe.json"]


def test_json_with_tabs_in_a_yaml_named_file_is_read(tmp_path):
    p = write(tmp_path, "stack.yaml", '{\n\t"Resources": {\n\t\t"R": {\n\t\t\t"Type": "AWS::IAM::Role",\n'
              '\t\t\t"Properties": {"AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", '
              '"Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}}\n\t\t}\n\t}\n}\n')
    fs = findings(p)
    assert [(f["rule_id"], f["location"]["line"]) for f in fs] == [("IAM201", 5)]
    broken = write(tmp_path, "broken.yaml", "{\n\t\"Resources\": [\n")
    assert "invalid YAML" in error_of(broken)        # neither YAML nor JSON: the YAML error is shown


def test_unknown_partition_is_a_usage_error():
    assert "--partition must be an AWS partition" in error_of_args("fixtures/iac/cfn/agent-stack.yaml",
                                                                   "--partition", "bogus")


def error_of_args(*args: str) -> str:
    code, _out, err = check(*args)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    return err


def test_finding_on_a_conditional_resource_says_the_condition():
    fs = findings(PROBE / "conditional-resource.yaml")
    maybe = [f for f in fs if f["principal"].endswith("role/MaybeAdmin")]
    assert {f["rule_id"] for f in maybe} >= {"IAM101", "IAM201"}        # still reported
    for f in maybe:
        assert "MaybeAdmin exists only if condition Prod is true (decided at deploy time)" in f["conditions"]
    always = [f for f in fs if f["principal"].endswith("role/Always") and f["rule_id"] == "IAM101"]
    assert always and always[0]["severity"] == "high"          # the Deny under Prod makes it Conditional


def test_missing_base_dir_is_a_usage_error():
    assert "--base-dir /nonexistent-iamlint: no such folder" in error_of_args(
        "fixtures/iac/cfn/agent-stack.yaml", "--base-dir", "/nonexistent-iamlint")


def test_sam_policies_under_fn_if():
    """`Policies: !If [C, [...], !Ref AWS::NoValue]` and an entry `!If [C, x, !Ref AWS::NoValue]` were refused."""
    assert findings(PROBE / "sam-if.yaml") == []                     # Extra defaults to "": no policy
    fs = findings(PROBE / "sam-if.yaml", "--parameter", "Extra=arn:aws:iam::aws:policy/AdministratorAccess")
    assert {(f["rule_id"], f["principal"].rsplit("/", 1)[-1], f["severity"]) for f in fs if f["rule_id"] == "IAM101"} \
        == {("IAM101", "FnRole", "critical"), ("IAM101", "Fn2Role", "critical")}


def test_policy_known_at_deploy_time_attached_under_a_condition_is_conditional(tmp_path):
    """It was an input gap (not modeled at all), while the same ARN attached unconditionally is judged as
    'anything, Conditional'."""
    p = write(tmp_path, "t.yaml", (PROBE / "sam-if.yaml").read_text().replace('Extra: {Type: String, Default: ""}',
                                                                             "Extra: {Type: String}"))
    fs = findings(p)
    admin = {f["principal"].rsplit("/", 1)[-1]: f for f in fs if f["rule_id"] == "IAM101"}
    assert set(admin) == {"FnRole", "Fn2Role"}
    assert all(f["severity"] == "high" and any("If:HasExtra" in c for c in f["conditions"]) for f in admin.values())
