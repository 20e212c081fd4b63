"""`iamlint check`: IaC through the one pipeline, locations, suppressions, baseline, context, formats, CI packaging."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from iamlint import iac
from iamlint.check import CheckOptions, baseline_document, failing, run_check
from iamlint.cli import app
from iamlint.errors import InputError
from iamlint.iac.index import Index
from iamlint.iac.waivers import tf_comment_suppressions

from conftest import ROOT, SHARED

IAC = ROOT / "fixtures" / "iac"
STACK = "fixtures/iac/cfn/agent-stack.yaml"
FIXED = "fixtures/iac/cfn/agent-stack-fixed.yaml"
CONTEXT = "fixtures/iac/context/deployed-account.json"
CORE = ["IAM", "ESC"]          # the rules that exist now; agent rules (AGT) arrive with other branches
SARIF_SCHEMA = SHARED / "schemas" / "sarif-schema-2.1.0.json"
GOLDEN = ROOT / "fixtures" / "golden" / "check-agent-stack.sarif"
REGEN = os.environ.get("IAMLINT_REGEN_GOLDEN") == "1"
runner = CliRunner()


@pytest.fixture(autouse=True)
def in_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def check(paths, **kw):
    kw.setdefault("only", CORE)
    kw.setdefault("base_dir", str(ROOT))
    return run_check([str(p) for p in paths], CheckOptions(**kw))


def cli(*args):
    return runner.invoke(app, ["check", "--base-dir", str(ROOT), "--rules", "IAM", "--rules", "ESC", *args])


def where(report):
    return {(f.rule_id, f.principal.rsplit("/", 1)[-1], f.location.line, f.location.column)
            for f in report.findings if f.location}


def line_of(path: str, n: int) -> str:
    return (ROOT / path).read_text().splitlines()[n - 1]


# ------------------------------------------------------------------ the realistic stack

def test_broken_stack_findings_point_at_their_statements():
    r = check([STACK])
    assert where(r) == {
        ("IAM207", "github-deploy", 33, 13),          # OIDC trust without sub
        ("IAM101", "github-deploy", 42, 11),          # AdministratorAccess, at its ManagedPolicyArns entry
        ("IAM204", "support-agent-runtime", 51, 13),  # agentcore trust without SourceArn/SourceAccount
        ("IAM104", "support-agent-runtime", 70, 17),  # iam:PassRole on *
        ("IAM106", "support-agent-runtime", 70, 17),
    }
    assert "Sid: GitHubActions" in line_of(STACK, 33)
    assert "AdministratorAccess" in line_of(STACK, 42)
    assert "Effect: Allow" in line_of(STACK, 51)
    assert "Sid: StartTools" in line_of(STACK, 70)
    f = next(f for f in r.findings if f.rule_id == "IAM207")
    assert f.location.file == STACK
    assert f.location.pointer == "/Resources/GitHubDeployRole/Properties/AssumeRolePolicyDocument/Statement/0"


def test_fixed_stack_passes_and_exit_codes():
    assert check([FIXED]).findings == []
    assert cli(FIXED).exit_code == 0
    res = cli(STACK)
    assert res.exit_code == 1
    assert f"{STACK}:33:13" in res.output
    assert cli(STACK, "--fail-on", "none").exit_code == 0
    assert cli(STACK, "--fail-on", "bogus").exit_code == 2


@pytest.mark.parametrize("path", [FIXED, "fixtures/iac/terraform/agent-plan-fixed.json"])
def test_fixed_agent_examples_pass_every_rule(path):
    # the fixed versions are what a team ends with: agent roles and users under a permissions boundary, the
    # AgentCore runtime role cut to its documented needs, the service trust pinned to account and region;
    # every rule family (agent rules included), and no suppression doing the work
    r = check([path], only=None)
    assert [(f.rule_id, f.principal) for f in r.findings] == []
    assert r.suppressed == [] and r.check.unused == []
    res = runner.invoke(app, ["check", "--base-dir", str(ROOT), "--fail-on", "low", path])
    assert res.exit_code == 0, res.output
    assert "0 finding(s)" in res.output


@pytest.mark.parametrize("name, line, text", [
    ("bad-yaml.yaml", 9, "invalid YAML"),
    ("unknown-intrinsic.yaml", 6, "unknown intrinsic function tag !Reff"),
    ("wrong-types.yaml", 19, "Action must be a string or a list of strings"),
    ("bad-json.template.json", 8, "invalid JSON"),
])
def test_malformed_templates_one_line_exit_2(name, line, text):
    path = f"fixtures/iac/malformed/{name}"
    proc = subprocess.run([sys.executable, "-m", "iamlint", "check", path], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"iamlint: error: {path}: line {line}")
    assert text in err


def test_a_folder_with_a_malformed_template_is_an_error_but_other_files_are_skipped(tmp_path):
    (tmp_path / "workflow.yml").write_text("on: push\njobs: {}\n")
    (tmp_path / "package.json").write_text('{"name": "x"}')
    shutil.copy(ROOT / FIXED, tmp_path / "stack.yaml")
    r = check([tmp_path], base_dir=str(tmp_path))
    assert r.check.inputs == [("stack.yaml", "cloudformation")]
    assert sorted(r.check.skipped) == ["package.json", "workflow.yml"]
    shutil.copy(IAC / "malformed" / "unknown-intrinsic.yaml", tmp_path / "broken.yaml")
    with pytest.raises(InputError, match="broken.yaml: line 6"):
        check([tmp_path], base_dir=str(tmp_path))
    # a named file that is not IAM input: exit 2, unless --ignore-unknown
    assert cli(str(tmp_path / "package.json")).exit_code == 2
    assert cli("--ignore-unknown", str(tmp_path / "package.json"), FIXED).exit_code == 0


# ------------------------------------------------------------------ other input kinds

def test_sam_cdk_and_policy_files():
    r = check([IAC / "sam", IAC / "cdk.out", IAC / "policies"])
    kinds = dict(r.check.inputs)
    assert kinds == {"fixtures/iac/sam/template.yaml": "cloudformation",
                     "fixtures/iac/cdk.out/AgentStack.template.json": "cdk",
                     "fixtures/iac/policies/agent-identity.json": "identity-policy",
                     "fixtures/iac/policies/open-trust.json": "trust-policy",
                     "fixtures/iac/policies/scoped-identity.yaml": "identity-policy"}
    assert "fixtures/iac/cdk.out/manifest.json" in r.check.skipped
    got = {(f.rule_id, f.location.file, f.location.line) for f in r.findings}
    assert ("IAM101", "fixtures/iac/sam/template.yaml", 36) in got          # SAM Policies: [AdministratorAccess], its entry
    assert ("IAM105", "fixtures/iac/sam/template.yaml", 25) in got          # iam:* in the function's inline policy
    assert ("IAM106", "fixtures/iac/cdk.out/AgentStack.template.json", 28) in got
    assert ("IAM201", "fixtures/iac/policies/open-trust.json", 4) in got
    assert ("IAM102", "fixtures/iac/policies/agent-identity.json", 10) in got
    assert not [f for f in r.findings if "scoped-identity" in f.location.file]
    # the CDK manifest's environment gives the account
    cdk = next(f for f in r.findings if f.location.file.endswith("AgentStack.template.json"))
    assert ":444455556666:" in cdk.principal
    assert "SendReportFunction" in line_of("fixtures/iac/sam/template.yaml", 30)


def test_loader_registry_plugs_in_a_loader(monkeypatch, tmp_path):
    """Another loader (e.g. iamlint/iac/terraform.py) is one entry in iac.LOADERS."""
    assert iac.LOADERS[0].kind == "cloudformation"
    seen = []

    def detect(data):
        return isinstance(data, dict) and data.get("format_version") == "test"

    def load(data, positions, source, model, opts, index):
        seen.append((source, opts.account))
        index.files.append((source, "fake"))

    monkeypatch.setattr(iac, "LOADERS", iac.LOADERS + [iac.IacLoader("fake", detect, load)])
    p = tmp_path / "plan.json"
    p.write_text('{"format_version": "test"}')
    r = check([p], base_dir=str(tmp_path), account="123456789012")
    assert seen == [("plan.json", "123456789012")]
    assert r.check.inputs == [("plan.json", "fake")]


# ------------------------------------------------------------------ --context

def test_context_marks_preexisting_and_says_what_the_change_adds():
    r = check([STACK], context=[CONTEXT])
    by = {(f.rule_id, f.principal.rsplit("/", 1)[-1]): f for f in r.findings}
    # the IaC takes the deployed account's id
    assert by[("IAM207", "github-deploy")].principal == "arn:aws:iam::111122223333:role/github-deploy"
    # the new agent role reaches the deployed admin role through PassRole + Lambda: new, located
    esc = by[("ESC001", "support-agent-runtime")]
    assert not esc.preexisting and esc.location.line == 70
    assert [e.target.rsplit("/", 1)[-1] for e in esc.path] == ["ops-automation"]
    # what the deployed account alone already had
    assert by[("IAM201", "legacy-partner-access")].preexisting
    assert by[("IAM101", "ops-automation")].preexisting
    assert by[("IAM101", "ops-automation")].location is None
    assert r.check.preexisting == 2
    names = {(c.source.rsplit("/", 1)[-1], c.target.rsplit("/", 1)[-1], c.admin) for c in r.check.changes}
    assert ("bedrock-agentcore.amazonaws.com", "ops-automation", "admin") in names
    sentence = next(c for c in r.check.changes if c.target.endswith("/ops-automation")).sentence(
        lambda a: a.rsplit("/", 1)[-1])
    assert sentence.startswith("with this change, bedrock-agentcore.amazonaws.com newly reaches ops-automation")
    # pre-existing findings do not fail by default
    fixed = check([FIXED], context=[CONTEXT])
    assert fixed.findings and all(f.preexisting for f in fixed.findings)
    assert failing(fixed, "critical") == []
    assert cli(FIXED, "--context", CONTEXT, "--fail-on", "low").exit_code == 0
    assert cli(FIXED, "--context", CONTEXT, "--fail-on-preexisting").exit_code == 1
    out = cli(STACK, "--context", CONTEXT, "--format", "json").output
    doc = json.loads(out)
    jsonschema.validate(doc, json.loads((ROOT / "iamlint" / "schemas" / "findings.schema.json").read_text()))
    assert doc["check"]["preexisting"] == 2 and doc["check"]["changes"]
    md = cli(STACK, "--context", CONTEXT, "--format", "markdown").output
    assert "### What this change adds" in md and "Pre-existing in the deployed account (2)" in md


# ------------------------------------------------------------------ suppressions and baseline

def test_inline_suppressions_need_reasons_and_expire():
    r = check([IAC / "suppressed"])
    assert [f.principal.rsplit("/", 1)[-1] for f in r.findings] == ["expired-waiver"]
    assert sorted(f.principal.rsplit("/", 1)[-1] for f, _ in r.suppressed) == ["reviewed-agent", "tagged"]
    assert all(w.kind == "inline" and w.reason for _, w in r.suppressed)
    assert [(e.line, e.rule) for e in r.expired_exclusions] == [(26, "IAM204")]
    doc = json.loads(cli("fixtures/iac/suppressed", "--format", "json").output)
    jsonschema.validate(doc, json.loads((ROOT / "iamlint" / "schemas" / "findings.schema.json").read_text()))
    assert {x["suppressed_by"]["kind"] for x in doc["suppressed"]} == {"inline"}
    off = check([IAC / "suppressed"], inline_suppressions=False)
    assert len(off.findings) == 3 and not off.suppressed


def test_inline_suppression_without_reason_is_an_input_error(tmp_path):
    text = (IAC / "suppressed" / "stack.yaml").read_text().replace(
        "reason: temporary, until the migration", "note: no reason")
    p = tmp_path / "stack.yaml"
    p.write_text(text)
    with pytest.raises(InputError, match=r"stack.yaml: line 26: unknown key 'note'"):
        check([p], base_dir=str(tmp_path))


def test_terraform_comment_suppressions(tmp_path):
    tf = tmp_path / "main.tf"
    tf.write_text('resource "aws_s3_bucket" "b" {\n}\n\n'
                  '# iamlint:skip=IAM204 reason="AgentCore sends no SourceArn yet" expires=2099-01-01\n'
                  'resource "aws_iam_role" "agent" {\n  name = "agent"\n'
                  '  # iamlint:skip=IAM104 reason=reviewed\n}\n')
    index = Index()
    assert tf_comment_suppressions(str(tf), "plan.json", index) == 2
    got = sorted((s.rule, s.resource, s.line, s.reason) for s in index.suppressions[("plan.json", "aws_iam_role.agent")])
    assert got == [("IAM104", "aws_iam_role.agent", 7, "reviewed"),
                   ("IAM204", "aws_iam_role.agent", 4, "AgentCore sends no SourceArn yet")]
    tf.write_text('# iamlint:skip=IAM204\nresource "aws_iam_role" "agent" {\n}\n')
    with pytest.raises(InputError, match="main.tf: line 1"):
        tf_comment_suppressions(str(tf), "plan.json", Index())


def test_baseline_hides_known_findings_survives_line_moves_not_new_files(tmp_path):
    shutil.copy(ROOT / STACK, tmp_path / "stack.yaml")
    base = tmp_path / "baseline.json"
    res = runner.invoke(app, ["check", "--base-dir", str(tmp_path), "--rules", "IAM", "--rules", "ESC",
                              str(tmp_path / "stack.yaml"), "--create-baseline", str(base)])
    assert res.exit_code == 0, res.output
    doc = json.loads(base.read_text())
    jsonschema.validate(doc, json.loads((ROOT / "iamlint" / "schemas" / "baseline.schema.json").read_text()))
    assert doc["format"] == "iamlint-baseline" and len(doc["findings"]) == 5
    assert {x["file"] for x in doc["findings"]} == {"stack.yaml"}
    # lines move: still the same findings
    (tmp_path / "stack.yaml").write_text("# a comment\n\n" + (ROOT / STACK).read_text())
    r = check([tmp_path / "stack.yaml"], base_dir=str(tmp_path), baseline=str(base))
    assert r.findings == [] and r.check.baselined == 5
    assert {w.kind for _, w in r.suppressed} == {"baseline"}
    # the same mistakes in another file (another stack's roles) are new
    (tmp_path / "copy.yaml").write_text((ROOT / STACK).read_text().replace("RoleName: github-deploy", "RoleName: d2")
                                        .replace("RoleName: support-agent-runtime", "RoleName: r2"))
    r = check([tmp_path], base_dir=str(tmp_path), baseline=str(base))
    assert {f.location.file for f in r.findings} == {"copy.yaml"} and len(r.findings) == 5
    assert r.check.baselined == 5
    bad = tmp_path / "bad.json"
    bad.write_text('{"findings": []}')
    with pytest.raises(InputError, match="not an iamlint baseline"):
        check([tmp_path / "stack.yaml"], base_dir=str(tmp_path), baseline=str(bad))


def test_baseline_document_is_sorted_and_stable():
    a = baseline_document(check([STACK]))
    b = baseline_document(check([STACK]))
    assert a == b
    keys = [(x["file"], x["rule_id"], x["principal"], x["fingerprint"]) for x in a["findings"]]
    assert keys == sorted(keys)


# ------------------------------------------------------------------ SARIF and JUnit

def _sarif(args):
    res = cli(*args, "--format", "sarif")
    assert res.exit_code in (0, 1), res.output
    return json.loads(res.output)


def test_golden_sarif_validates_and_matches():
    doc = _sarif([STACK])
    jsonschema.validate(doc, json.loads(SARIF_SCHEMA.read_text()))
    text = json.dumps(doc, indent=2) + "\n"
    if REGEN:
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()
    run = doc["runs"][0]
    assert run["automationDetails"]["id"] == "iamlint/check/"
    res = {(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in run["results"]}
    assert ("IAM207", 33) in res and ("IAM104", 70) in res
    for r in run["results"]:
        phys = r["locations"][0]["physicalLocation"]
        assert phys["artifactLocation"] == {"uri": STACK, "uriBaseId": "%SRCROOT%"}
        assert phys["region"]["startColumn"] >= 1
        assert len(r["partialFingerprints"]["iamlintFingerprint/v1"]) == 32


def test_sarif_with_context_and_suppressions_validates(tmp_path):
    schema = json.loads(SARIF_SCHEMA.read_text())
    doc = _sarif([STACK, "--context", CONTEXT])
    jsonschema.validate(doc, schema)
    states = {(r["ruleId"], r["properties"]["principalName"]): r["baselineState"] for r in doc["runs"][0]["results"]}
    assert states[("ESC001", "support-agent-runtime")] == "new"
    # what only the deployed account holds is not a code-scanning result; it is counted
    assert ("IAM201", "legacy-partner-access") not in states
    assert doc["runs"][0]["properties"]["preexistingOutsideCode"] == 2
    # a deployed role the code redefines without fixing it: pre-existing, in code, "unchanged"
    keep = (ROOT / "fixtures/iac/cfn/fix-deployed-trust.yaml").read_text().replace(
        "AWS: arn:aws:iam::999988887777:role/report-reader", 'AWS: "*"').replace(
        "            Condition:\n              StringEquals:\n                sts:ExternalId: partner-7f3a\n", "")
    tmp = tmp_path / "keep-trust.yaml"
    tmp.write_text(keep)
    doc = _sarif([str(tmp), "--context", CONTEXT])
    jsonschema.validate(doc, schema)
    states = {(r["ruleId"], r["properties"]["principalName"]): r["baselineState"] for r in doc["runs"][0]["results"]}
    assert states[("IAM201", "legacy-partner-access")] == "unchanged"
    doc = _sarif(["fixtures/iac/suppressed"])
    jsonschema.validate(doc, schema)
    sup = [r for r in doc["runs"][0]["results"] if "suppressions" in r]
    assert len(sup) == 2 and {s["suppressions"][0]["kind"] for s in sup} == {"inSource"}


def test_junit_is_one_case_per_rule_and_file():
    clean = "fixtures/iac/policies/scoped-identity.yaml"
    res = cli(STACK, clean, "--format", "junit")
    root = ET.fromstring(res.output)
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {STACK, clean}
    n_rules = len(suites[STACK].findall("testcase"))
    assert n_rules == len(suites[clean].findall("testcase")) and int(root.get("tests")) == 2 * n_rules
    failed = {c.get("name").split()[0] for c in suites[STACK].findall("testcase") if c.find("failure") is not None}
    assert failed == {"IAM101", "IAM104", "IAM106", "IAM204", "IAM207"}
    assert not [c for c in suites[clean].findall("testcase") if c.find("failure") is not None]
    assert root.get("failures") == "5"
    assert f"{STACK}:33:13" in next(c for c in suites[STACK] if c.get("name").startswith("IAM207")).find("failure").text


def test_every_format_renders():
    for fmt in ("text", "json", "sarif", "markdown", "junit", "html"):
        res = cli(STACK, "--format", fmt)
        assert res.exit_code == 1 and res.output.strip(), fmt


# ------------------------------------------------------------------ CI packaging

def _venv_env():
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def test_action_runs_check_and_writes_sarif(tmp_path):
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    assert {"path", "format", "fail-on", "output"} <= set(action["inputs"])
    steps = action["runs"]["steps"]
    install = next(s for s in steps if s["name"] == "Install iamlint")
    assert '"$GITHUB_ACTION_PATH"' in install["run"] and "pip install" in install["run"]
    assert "GITHUB_PATH" in install["run"]           # later steps find the installed iamlint
    run = next(s for s in steps if s.get("id") == "check")
    values = {k: str(v.get("default", "")) for k, v in action["inputs"].items()}
    values.update({"path": f"{STACK} fixtures/iac/policies", "output": str(tmp_path / "out.sarif"),
                   "args": "--rules IAM --rules ESC --base-dir " + str(ROOT)})

    def expand(v: str) -> str:
        for k, x in values.items():
            v = v.replace("${{ inputs.%s }}" % k, x)
        return v

    out = tmp_path / "github_output"
    env = _venv_env()
    env.update({k: expand(v) for k, v in run["env"].items()})
    env.update({"GITHUB_ACTION_PATH": str(ROOT), "GITHUB_OUTPUT": str(out)})
    proc = subprocess.run(["bash", "-e", "-c", run["run"]], env=env, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr          # fail-on high: the broken stack fails
    doc = json.loads((tmp_path / "out.sarif").read_text())
    jsonschema.validate(doc, json.loads(SARIF_SCHEMA.read_text()))
    assert "exit-code=1" in out.read_text() and f"report={tmp_path / 'out.sarif'}" in out.read_text()
    values["path"] = FIXED
    env.update({k: expand(v) for k, v in run["env"].items()})
    proc = subprocess.run(["bash", "-e", "-c", run["run"]], env=env, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_pre_commit_hook_entry_runs_on_staged_files(tmp_path):
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "iamlint-check")
    assert hook["language"] == "python"
    import re
    files = [STACK, "fixtures/iac/cdk.out/manifest.json", "README.md"]
    matched = [f for f in files if re.search(hook["files"], f)]
    assert matched == [STACK, "fixtures/iac/cdk.out/manifest.json"]
    cmd = hook["entry"].split() + list(hook.get("args", [])) + matched
    proc = subprocess.run(cmd, env=_venv_env(), cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 1 and f"{STACK}:33:13" in proc.stdout
    proc = subprocess.run(hook["entry"].split() + [FIXED, "fixtures/iac/cdk.out/tree.json"], env=_venv_env(),
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_template_level_metadata_and_checkov_style_spelling(tmp_path):
    text = (ROOT / STACK).read_text().replace(
        "Parameters:\n",
        "Metadata:\n  iamlint:\n    skip:\n      - id: IAM1\n        reason: break-glass stack, reviewed by security\n\n"
        "Parameters:\n", 1)
    p = tmp_path / "stack.yaml"
    p.write_text(text)
    r = check([p], base_dir=str(tmp_path))
    assert sorted(f.rule_id for f in r.findings) == ["IAM204", "IAM207"]
    assert sorted(f.rule_id for f, _ in r.suppressed) == ["IAM101", "IAM104", "IAM106"]
    assert {w.line for _, w in r.suppressed} == {9}


def test_a_policy_added_to_a_deployed_role_is_judged_and_located():
    r = check(["fixtures/iac/cfn/attach-to-deployed.yaml"], context=[CONTEXT])
    by = {(f.rule_id, f.principal.rsplit("/", 1)[-1]): f for f in r.findings}
    esc = by[("ESC001", "legacy-partner-access")]
    assert not esc.preexisting
    assert (esc.location.file, esc.location.line, esc.location.column) == \
        ("fixtures/iac/cfn/attach-to-deployed.yaml", 13, 13)
    assert by[("IAM201", "legacy-partner-access")].preexisting
    assert by[("IAM201", "legacy-partner-access")].location is None
    who = {(c.source, c.target.rsplit("/", 1)[-1]) for c in r.check.changes}
    assert ("*", "ops-automation") in who       # the role trusts "*": anyone newly reaches the admin role
    assert any(c.sentence(str).startswith("with this change, any AWS principal (*) newly reaches")
               for c in r.check.changes)


def test_unused_inline_suppressions_are_reported(tmp_path):
    text = (ROOT / FIXED).read_text().replace(
        "  AgentRuntimeRole:\n    Type: AWS::IAM::Role\n",
        "  AgentRuntimeRole:\n    Type: AWS::IAM::Role\n    Metadata:\n      iamlint:\n        ignore:\n"
        "          - rule: IAM204\n            reason: no longer needed\n", 1)
    p = tmp_path / "stack.yaml"
    p.write_text(text)
    r = check([p], base_dir=str(tmp_path))
    assert r.findings == [] and [(w.rule, w.file) for w in r.check.unused] == [("IAM204", "stack.yaml")]
    res = runner.invoke(app, ["check", "--base-dir", str(tmp_path), "--rules", "IAM", str(p)])
    assert "unused inline suppression: stack.yaml:" in res.output and res.exit_code == 0


def test_a_change_that_fixes_a_deployed_role_is_credited():
    r = check(["fixtures/iac/cfn/fix-deployed-trust.yaml"], context=[CONTEXT])
    assert [(f.rule_id, f.principal.rsplit("/", 1)[-1]) for f in r.check.resolved] == \
        [("IAM201", "legacy-partner-access")]
    assert not [f for f in r.findings if f.principal.endswith("/legacy-partner-access")]
    assert all(f.preexisting for f in r.findings)          # only ops-automation's admin remains
    res = cli("fixtures/iac/cfn/fix-deployed-trust.yaml", "--context", CONTEXT)
    assert "resolved by this change: IAM201 legacy-partner-access" in res.output and res.exit_code == 0


def test_markdown_comment_stays_bounded(monkeypatch):
    from iamlint.reporters import markdown
    monkeypatch.setattr(markdown, "MAX_ROWS", 2)
    md = cli(STACK, "--format", "markdown").output
    assert md.count("| fixtures") == 0 and md.count("`fixtures/iac/cfn/agent-stack.yaml:") == 2
    assert "... and 3 more: see the SARIF or JSON report." in md


def test_deploy_time_parameters_stay_symbolic_until_given():
    path = "fixtures/iac/cfn/partner-role.yaml"
    unknown = check([path])
    assert [(f.rule_id, f.location.line) for f in unknown.findings] == [("IAM202", 15)]
    assert any("Ref:PartnerAccountId" in c for c in unknown.findings[0].conditions)
    other = check([path], parameters={"PartnerAccountId": "999988887777"})
    assert sorted(f.rule_id for f in other.findings) == ["IAM203", "IAM206"]
    same = check([path], parameters={"PartnerAccountId": "000000000000"})
    assert same.findings == []
    res = cli(path, "--parameter", "PartnerAccountId=999988887777", "--fail-on", "medium")
    assert res.exit_code == 1
    assert cli(path, "--parameter", "oops").exit_code == 2


def test_exclusions_file_matches_the_finding_file(tmp_path):
    ex = tmp_path / "exclusions.yaml"
    ex.write_text("exclusions:\n  - rule: IAM1\n    file: fixtures/iac/cfn/agent-*.yaml\n    reason: reviewed stack\n")
    res = cli(STACK, "--exclusions", str(ex), "--format", "json")
    doc = json.loads(res.output)
    assert sorted(f["rule_id"] for f in doc["findings"]) == ["IAM204", "IAM207"]
    assert sorted(f["rule_id"] for f in doc["suppressed"]) == ["IAM101", "IAM104", "IAM106"]
