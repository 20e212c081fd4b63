"""Rules in two lanes (a forked child) give the findings of one lane, in the same order, whatever the child does."""

import json
import os
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

from generate import generate_account  # noqa: E402

from iamlint.loaders import load_data  # noqa: E402
from iamlint.pipeline import scan  # noqa: E402
from iamlint.rules import matchers  # noqa: E402
from iamlint.rules.run import CHILD_LANE, default_jobs  # noqa: E402

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="two lanes need fork")


def _scan(jobs, **kw):
    r = scan(load_data(generate_account(900, seed=4), "gen.json"), jobs=jobs, **kw)
    return [json.dumps(f.to_json(), sort_keys=True) for f in r.findings], r


def test_two_lanes_give_the_findings_of_one():
    one, r1 = _scan(1)
    two, r2 = _scan(2)
    assert one == two
    assert {k for k in r1.timings if k.startswith("rule:")} == {k for k in r2.timings if k.startswith("rule:")}
    lanes = {r.match["matcher"] in CHILD_LANE for r in r2.rules}
    assert lanes == {True, False}                      # both lanes had rules
    assert any(f.rule_id.startswith("ESC") for f in r2.findings)   # child-lane rules reported


def test_a_failing_child_lane_is_run_here(monkeypatch):
    one, _ = _scan(1)
    parent = os.getpid()
    real = matchers.MATCHERS["agent_admin"]

    def dies_in_child(rule, ctx):
        if os.getpid() != parent:
            raise RuntimeError("child lane broken")
        return real(rule, ctx)

    monkeypatch.setitem(matchers.MATCHERS, "agent_admin", dies_in_child)
    two, r = _scan(2)
    assert two == one
    assert any(f.rule_id == "AGT001" for f in r.findings) == any('"AGT001"' in x for x in one)


def test_one_lane_for_small_models():
    from iamlint.rules.matchers import RuleContext
    from iamlint.graph.build import build_graph
    g = build_graph(load_data(generate_account(100, seed=1), "gen.json"), None)
    assert default_jobs(RuleContext(g, {})) == 1


def test_jobs_other_than_one_or_two_is_a_usage_error():
    import subprocess
    example = str(ROOT / "fixtures" / "example" / "account.json")
    r = subprocess.run([sys.executable, "-m", "iamlint", "scan", "--input", example, "--jobs", "3"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.strip() == "iamlint: error: --jobs must be 1 or 2, not 3"
    r = subprocess.run([sys.executable, "-m", "iamlint", "scan", "--input", example, "--jobs", "2", "-q",
                        "--format", "json"], capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout)["findings"]
