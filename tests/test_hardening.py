"""Issue 8: faults and hostile input never break a run or lose data (through the real CLI)."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from conftest import EXAMPLE

CLI = [sys.executable, "-m", "iamlint"]


def _one_error_line(r):
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert r.returncode == 2, r.stderr
    assert len(lines) == 1 and lines[0].startswith("iamlint: error:"), r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


def test_killed_while_writing_leaves_previous_output_intact(tmp_path):
    """SIGKILL between writing the new report and renaming it over the old one: the old file stays whole."""
    out = tmp_path / "findings.json"
    out.write_text('{"previous": true}\n')
    child = textwrap.dedent(f"""
        import os, sys, time
        real_replace = os.replace
        def slow_replace(src, dst):
            print("ready", flush=True)
            time.sleep(60)
            real_replace(src, dst)
        os.replace = slow_replace
        sys.argv = ["iamlint", "scan", "--input", {str(EXAMPLE)!r}, "--format", "json", "-o", {str(out)!r}]
        from iamlint.cli import main
        main()
    """)
    p = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
    assert json.loads(out.read_text()) == {"previous": True}
    # and an uninterrupted run replaces it with a complete report
    r = subprocess.run(CLI + ["scan", "--input", str(EXAMPLE), "--format", "json", "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode in (0, 1), r.stderr
    assert json.loads(out.read_text())["schema_version"] == 1


def test_input_over_the_size_limit_is_refused(tmp_path):
    env = dict(os.environ, IAMLINT_MAX_INPUT_BYTES="1000")
    r = subprocess.run(CLI + ["scan", "--input", str(EXAMPLE)], capture_output=True, text=True, env=env)
    line = _one_error_line(r)
    assert str(EXAMPLE) in line and "input limit" in line


def test_deeply_nested_json_is_one_error(tmp_path):
    p = tmp_path / "deep.json"
    p.write_text("[" * 100000 + "]" * 100000)
    r = subprocess.run(CLI + ["scan", "--input", str(p)], capture_output=True, text=True)
    assert str(p) in _one_error_line(r)


@pytest.mark.parametrize("text", ["", "{", "null", "[]", '{"RoleDetailList": 5}', "\ufeff{}", "\x00\x01"])
def test_junk_files_are_one_error(tmp_path, text):
    p = tmp_path / "junk.json"
    p.write_text(text)
    r = subprocess.run(CLI + ["scan", "--input", str(p)], capture_output=True, text=True)
    assert str(p) in _one_error_line(r)


def test_a_policy_over_aws_size_limits_is_still_evaluated(tmp_path):
    """AWS caps managed policies at 6,144 characters; a bigger one (hand-made input) is read, not refused."""
    data = json.loads(EXAMPLE.read_text())
    stmts = [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::bucket-{i}/*"} for i in range(3000)]
    stmts.append({"Effect": "Allow", "Action": "*", "Resource": "*"})
    data["UserDetailList"].append({"UserName": "big", "UserId": "AIDABIG", "Path": "/",
                                   "Arn": "arn:aws:iam::123456789012:user/big", "GroupList": [],
                                   "AttachedManagedPolicies": [],
                                   "UserPolicyList": [{"PolicyName": "huge", "PolicyDocument": {
                                       "Version": "2012-10-17", "Statement": stmts}}]})
    p = tmp_path / "big.json"
    p.write_text(json.dumps(data))
    r = subprocess.run(CLI + ["can", "big", "iam:CreateUser", "*", "--input", str(p), "--format", "json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["decision"] == "Allowed"


def test_canary_credentials_never_reach_output(tmp_path, monkeypatch):
    """Live scan and snapshot with canary credentials in the environment: no canary in any output."""
    pytest.importorskip("moto")
    from moto import mock_aws
    from typer.testing import CliRunner

    from iamlint.cli import app

    canaries = {"AWS_ACCESS_KEY_ID": "AKIACANARY0000000001", "AWS_SECRET_ACCESS_KEY": "canarySecretKey/0123456789abcdefXYZ",
                "AWS_SESSION_TOKEN": "canarySessionToken0123456789"}
    for k, v in canaries.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for k in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(k, raising=False)
    with mock_aws():
        import boto3
        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_user(UserName="ci-bot")
        key = iam.create_access_key(UserName="ci-bot")["AccessKey"]
        iam.create_login_profile(UserName="ci-bot", Password="Canary-Login-Pw-42!")
        runner = CliRunner()
        snap = tmp_path / "snap.json"
        r1 = runner.invoke(app, ["snapshot", "-o", str(snap), "--region", "us-east-1", "-q"])
        r2 = runner.invoke(app, ["scan", "--region", "us-east-1", "--format", "json", "-q"])
    texts = [r1.output, r2.output, snap.read_text() if snap.exists() else ""]
    assert snap.exists(), r1.output
    secrets = list(canaries.values()) + [key["SecretAccessKey"], "Canary-Login-Pw-42!"]
    for text in texts:
        for s in secrets:
            assert s not in text


# ------------------------------------------------------------------ fast JSON, standard-library behaviour
@pytest.mark.parametrize("value", [
    {"a": [1, 2.5, None, True, "x"], "b": {"c": "d"}},
    {"name": "rôle-été", "tag": "\u2603"},          # non-ASCII: json escapes it, so json writes it
    {"n": 2 ** 70},                                  # beyond 64 bits: orjson refuses, json writes it
    [],
])
def test_pretty_json_is_exactly_the_standard_librarys(value):
    import json

    from iamlint.jsonio import dumps_pretty
    assert dumps_pretty(value) == json.dumps(value, indent=2)



def test_pretty_json_keeps_every_float():
    import json

    from iamlint.jsonio import dumps_pretty
    values = [1e16, 0.1, 1.5e-7, 123456789.123, 1e300, -0.0, 3.0, 2.5e-310]
    assert json.loads(dumps_pretty(values)) == values



def test_a_scan_hands_what_it_froze_back_to_the_collector():
    """The model and graph are kept out of the cyclic collector only while a scan runs: a long-lived
    process (an audit) must still be able to free them, and garbage made during the scan is collected."""
    import gc
    import weakref

    from iamlint.loaders import load_paths
    from iamlint.pipeline import scan
    from iamlint.settle import settle, settled

    class Node:
        pass

    gc.unfreeze()
    with settled():
        assert gc.get_freeze_count() > 0
        with settled():
            settle()
        assert gc.get_freeze_count() > 0          # the inner block does not thaw the outer one
        a, b = Node(), Node()
        a.other, b.other = b, a                     # a cycle made inside is still collected
        ref = weakref.ref(a)
        del a, b
        gc.collect()
        assert ref() is None
    assert gc.get_freeze_count() == 0
    scan(load_paths([str(EXAMPLE)]))
    assert gc.get_freeze_count() == 0
