"""Exclusions: a reason is mandatory, expiry is honoured, suppressed findings stay visible."""

import datetime as dt
import json
import subprocess
import sys

import pytest

from iamlint.errors import InputError
from iamlint.loaders import load_paths
from iamlint.pipeline import scan
from iamlint.suppress import load_exclusions

from conftest import EXAMPLE


def test_suppressed_findings_are_counted_and_listed(tmp_path):
    ex = tmp_path / "ex.yaml"
    ex.write_text("exclusions:\n  - rule: ESC001\n    principal: 'arn:aws:iam::123456789012:role/deploy-*'\n"
                  "    reason: reviewed\n")
    full = scan(load_paths([str(EXAMPLE)]), only=["ESC001"])
    report = scan(load_paths([str(EXAMPLE)]), only=["ESC001"], exclusions=load_exclusions(str(ex)))
    assert len(report.findings) == len(full.findings) - 1
    assert [f.principal for f, _ in report.suppressed] == ["arn:aws:iam::123456789012:role/deploy-role"]
    r = subprocess.run([sys.executable, "-m", "iamlint", "scan", "-i", str(EXAMPLE), "--rules", "ESC001",
                        "--exclusions", str(ex), "--format", "json"], capture_output=True, text=True)
    doc = json.loads(r.stdout)
    assert doc["summary"]["suppressed"] == 1 and doc["suppressed"][0]["suppressed_by"]["reason"] == "reviewed"


def test_expired_exclusion_does_not_suppress(tmp_path):
    ex = tmp_path / "ex.yaml"
    ex.write_text("exclusions:\n  - rule: ESC\n    reason: old\n    expires: 2020-01-01\n")
    report = scan(load_paths([str(EXAMPLE)]), only=["ESC001"], exclusions=load_exclusions(str(ex)))
    assert not report.suppressed and report.findings and report.expired_exclusions


@pytest.mark.parametrize("text,place", [
    ("exclusions:\n  - rule: ESC001\n", "/exclusions/0/reason"),
    ("exclusions:\n  - rule: ESC001\n    reason: x\n    expires: soon\n", "/exclusions/0/expires"),
    ("exclusions:\n  - reason: x\n", "/exclusions/0"),
    ("exclusions: [\n", "line"),
])
def test_bad_exclusions_one_line(tmp_path, text, place):
    ex = tmp_path / "ex.yaml"
    ex.write_text(text)
    with pytest.raises(InputError) as exc:
        load_exclusions(str(ex))
    assert place in exc.value.line() and str(ex) in exc.value.line()
