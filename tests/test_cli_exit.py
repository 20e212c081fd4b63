"""The command's own process: `scan` ends without the interpreter's teardown once it has written everything,
so what it printed, the file it wrote and its exit code must be exactly what the in-process command gives."""

import json
import subprocess
import sys

from typer.testing import CliRunner

from conftest import ROOT
from iamlint.cli import app

EXAMPLE = str(ROOT / "fixtures" / "example" / "account.json")


def _run(*args):
    return subprocess.run([sys.executable, "-m", "iamlint", *args], capture_output=True, text=True)


def test_scan_to_stdout_is_complete_and_exit_code_kept():
    inproc = CliRunner().invoke(app, ["scan", "--input", EXAMPLE, "--format", "json", "-q", "--fail-on", "high"])
    r = _run("scan", "--input", EXAMPLE, "--format", "json", "-q", "--fail-on", "high")
    assert inproc.exit_code == 1 and r.returncode == 1
    assert json.loads(r.stdout) == json.loads(inproc.stdout)
    assert r.stdout.endswith("}\n") and r.stderr == ""


def test_scan_text_to_stdout_flushed_before_exit():
    inproc = CliRunner().invoke(app, ["scan", "--input", EXAMPLE, "--no-color"])
    r = _run("scan", "--input", EXAMPLE, "--no-color")
    assert r.returncode == inproc.exit_code == 0
    assert r.stdout == inproc.stdout and r.stdout.rstrip().endswith("1 info)")


def test_scan_output_file_written_whole(tmp_path):
    out = tmp_path / "f.json"
    r = _run("scan", "--input", EXAMPLE, "--format", "json", "-q", "-o", str(out))
    assert r.returncode == 0 and r.stdout == ""
    assert json.loads(out.read_text())["summary"]["findings"] > 0
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_errors_still_exit_two_with_one_line():
    r = _run("scan", "--input", str(ROOT / "no-such-file.json"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


def test_small_output_still_reaches_a_pipe():
    # a few hundred bytes stay in the stream's buffer until flushed: the quick exit must flush them
    r = _run("scan", "--input", EXAMPLE, "--format", "json", "-q", "--rules", "IAM208")
    assert r.returncode == 0 and json.loads(r.stdout)["summary"]["findings"] == 0


def test_simulate_lines_and_exit_code_kept(tmp_path):
    cases = tmp_path / "cases.jsonl"
    good = (ROOT / "fixtures" / "simulate" / "example.jsonl").read_text().splitlines()[0]
    wrong = json.loads(good)
    wrong["expected"] = {"decision": "ExplicitlyDenied" if wrong["expected"]["decision"] != "ExplicitlyDenied"
                         else "Allowed"}
    cases.write_text(good + "\n" + json.dumps(wrong) + "\n")
    inproc = CliRunner().invoke(app, ["simulate", "--cases", str(cases)])
    r = _run("simulate", "--cases", str(cases))
    assert inproc.exit_code == r.returncode == 1
    assert r.stdout.splitlines() == inproc.stdout.splitlines()[:2] and len(r.stdout.splitlines()) == 2
    assert "1 case(s) did not match" in r.stderr
