"""An outside review of the escalation methods on unseen accounts (fixtures/review-esc/).

Each case is a small account written from privesc-catalog.md / iam-semantics.md with its expected answer:
reachable or not (what `iamlint paths --to admin` says), the methods a way to admin uses, whether that step
is potential / conditional, and whether ESC001 / ESC002 report the start. The accounts and the table are
written by fixtures/review-esc/generate.py; fixtures/review-esc/REPORT.md lists the verdicts.
"""

import json

import pytest

from conftest import FIXTURES

from iamlint.graph.build import build_graph
from iamlint.graph.paths import paths_to_admin
from iamlint.loaders import load_paths
from iamlint.pipeline import scan

ROOT = FIXTURES / "review-esc"
CASES = json.loads((ROOT / "cases.json").read_text())


def _answer(case):
    """What the `paths --to admin` command answers: (reachable, already admin, paths)."""
    model = load_paths([str(ROOT / f) for f in case["files"]])
    g = build_graph(model)
    already = g.admin.get(case["start"]) in ("admin", "iam-write")
    found = [] if already else paths_to_admin(g, case["start"], limit=10)
    return model, already, found


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_review_escalation_case(case):
    if case.get("disagree"):
        pytest.xfail(case["disagree"])
    exp = case["expect"]
    model, already, found = _answer(case)
    show = " | ".join(" -> ".join(f"{e.method}{'?' if e.potential else ''}:{e.target.rsplit(':', 1)[-1]}"
                                  for e in p) for p in found)
    assert not already, f"the start is already admin: the case is mis-written ({case['why']})"
    assert bool(found) is exp["reachable"], f"{case['why']} -- got: {show or 'no path'}"
    if not exp["reachable"]:
        return
    wanted = exp["methods"]
    ways = [p for p in found if all(any(e.method == m for e in p) for m in wanted)]
    assert ways, f"no way to admin uses {wanted}: {show}"
    if exp["potential"] is not None:
        assert any(e.potential for e in ways[0]) is exp["potential"], f"potential: {show}"
    if exp["conditional"] is not None:
        step = next(e for e in ways[0] if e.method == wanted[0])
        assert step.conditional is exp["conditional"], f"{wanted[0]} conditions: {step.conditions}"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_review_escalation_rules(case):
    if case.get("disagree"):
        pytest.xfail(case["disagree"])
    model = load_paths([str(ROOT / f) for f in case["files"]])
    rules = case["expect"]["rules"]
    report = scan(model, only=sorted(rules))
    for rid, fires in rules.items():
        hit = [f for f in report.findings if f.rule_id == rid and f.principal == case["start"]]
        assert bool(hit) is fires, f"{rid} {'missed' if fires else 'flagged'} the start ({case['why']}): " + \
            "; ".join(f.message for f in hit)
        if hit and rid == "ESC001" and case["expect"]["potential"] is not None:
            assert hit[0].potential is case["expect"]["potential"], hit[0].message
        if hit and rid == "ESC001" and case["expect"]["conditional"] is not None:
            assert bool(hit[0].conditions) is case["expect"]["conditional"], (hit[0].message, hit[0].conditions)


def test_review_fixtures_are_what_the_generator_writes(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location("review_esc_generate", ROOT / "generate.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    gen.write(root=tmp_path)
    for p in tmp_path.glob("*.json"):
        assert (ROOT / p.name).read_text() == p.read_text(), \
            f"stale: run python fixtures/review-esc/generate.py ({p.name})"
    assert len(json.loads((tmp_path / "cases.json").read_text())) >= 60
