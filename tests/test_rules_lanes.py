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
from iamlint.rules.run import CHILD_LANE, EARLY_LANE, EITHER_LANE, default_jobs  # noqa: E402

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="two lanes need fork")


def _scan(jobs, **kw):
    r = scan(load_data(generate_account(900, seed=4), "gen.json"), jobs=jobs, **kw)
    return [json.dumps(f.to_json(), sort_keys=True) for f in r.findings], r


def test_two_lanes_give_the_findings_of_one():
    one, r1 = _scan(1)
    two, r2 = _scan(2)
    assert one == two
    assert {k for k in r1.timings if k.startswith("rule:")} == {k for k in r2.timings if k.startswith("rule:")}
    lanes = {(r.match["matcher"] in CHILD_LANE) + 2 * (r.match["matcher"] in EARLY_LANE)
             + 3 * (r.match["matcher"] in EITHER_LANE) for r in r2.rules}
    assert lanes == {0, 1, 2, 3}                       # each lane had rules, and the queue
    assert any(f.rule_id.startswith("ESC") for f in r2.findings)   # child-lane rules reported


@pytest.mark.parametrize("matcher,rule_id,lane", [("agent_no_boundary", "AGT009", CHILD_LANE),
                                                  ("agent_action_set", "AGT006", EITHER_LANE),
                                                  ("service_wildcard", "IAM105", EARLY_LANE)])
def test_a_failing_lane_is_run_here(monkeypatch, matcher, rule_id, lane):
    assert matcher in lane
    one, _ = _scan(1)
    parent = os.getpid()
    real = matchers.MATCHERS[matcher]

    def dies_in_child(rule, ctx):
        if os.getpid() != parent:
            raise RuntimeError("lane broken")
        return real(rule, ctx)

    monkeypatch.setitem(matchers.MATCHERS, matcher, dies_in_child)
    two, r = _scan(2)
    assert two == one
    assert any(f.rule_id == rule_id for f in r.findings)


def test_one_lane_for_small_models():
    assert default_jobs(load_data(generate_account(100, seed=1), "gen.json")) == 1


def _early_vs_whole(model, config=None):
    """Each early-lane rule's findings on the levels-only graph (which raises on any read of a step) and
    on the whole graph."""
    from iamlint.graph.build import Builder
    from iamlint.rules.load import all_rules
    from iamlint.rules.matchers import RuleContext
    b = Builder(model)
    b.levels()
    levels = RuleContext(b.levels_only(), config or {})
    whole = RuleContext(b.edges(), config or {})
    out = []
    for rule in all_rules():
        if rule.match["matcher"] not in EARLY_LANE:
            continue
        fn = matchers.MATCHERS[rule.match["matcher"]]
        a = [json.dumps(f.to_json(), sort_keys=True) for f in fn(rule, levels)]
        b_ = [json.dumps(f.to_json(), sort_keys=True) for f in fn(rule, whole)]
        out.append((rule.id, a, b_))
    return out


@pytest.mark.parametrize("source", ["example", "gen-700", "gen-500-dense"])
def test_early_lane_rules_read_no_step(source):
    from iamlint.loaders import load_paths
    if source == "example":
        model = load_paths([str(ROOT / "fixtures" / "example" / "account.json")])
    else:
        n, dense = int(source.split("-")[1]), source.endswith("dense")
        model = load_data(generate_account(n, seed=7, dense=0.3 if dense else 0.0), "gen.json")
    rows = _early_vs_whole(model)
    assert rows and all(a == b for _, a, b in rows), [rid for rid, a, b in rows if a != b]
    assert sum(len(a) for _, a, _ in rows) > 0


def test_early_lane_rules_read_no_step_on_every_rule_fixture():
    """The rule fixtures (a failing and a passing account per rule, fixtures/rules/) hold the odd cases."""
    from iamlint.loaders import load_paths
    found = 0
    for folder in sorted((ROOT / "fixtures" / "rules").iterdir()):
        cfg = folder / "config.json"
        config = json.loads(cfg.read_text()) if cfg.exists() else None
        for f in sorted(folder.glob("*.json")):
            if f.name == "config.json":
                continue
            rows = _early_vs_whole(load_paths([str(f)]), config)
            assert all(a == b for _, a, b in rows), (f, [rid for rid, a, b in rows if a != b])
            found += sum(len(a) for _, a, _ in rows)
    assert found > 50


def test_early_lane_is_the_step_free_matcher_families():
    from iamlint.rules import agents, agents_trust, hygiene
    assert EARLY_LANE == set(hygiene.MATCHERS) | set(agents_trust.MATCHERS)
    assert not EARLY_LANE & set(agents.MATCHERS) and not EARLY_LANE & CHILD_LANE


def test_jobs_other_than_one_or_two_is_a_usage_error():
    import subprocess
    example = str(ROOT / "fixtures" / "example" / "account.json")
    r = subprocess.run([sys.executable, "-m", "iamlint", "scan", "--input", example, "--jobs", "3"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.strip() == "iamlint: error: --jobs must be 1 or 2, not 3"
    r = subprocess.run([sys.executable, "-m", "iamlint", "scan", "--input", example, "--jobs", "2", "-q",
                        "--format", "json"], capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout)["findings"]


def _levels_and_whole(model):
    from iamlint.graph.build import Builder
    from iamlint.rules.matchers import RuleContext
    b = Builder(model)
    b.levels()
    levels = RuleContext(b.levels_only(), {})
    return levels, RuleContext(b.edges(), {})


def _action_set_rules():
    from iamlint.rules.load import all_rules
    return [r for r in all_rules() if r.match["matcher"] == "agent_action_set"]


def test_early_set_hits_are_the_rules_own_answers():
    from iamlint.rules.agents import _set_hits_of, early_set_hits
    levels, whole = _levels_and_whole(load_data(generate_account(600, seed=11, dense=0.2), "gen.json"))
    early_set_hits(_action_set_rules(), levels, lambda: False)
    memo = levels._cache["agents:set-hits"]
    assert len(memo) > 1000 and any(v[0] or v[1] or v[2] for v in memo.values())
    assert any(k[3] == "some" for k in memo)          # any_resource rules ask again on some resources
    for (arn, actions, scoping, mode), got in memo.items():
        assert got == _set_hits_of(whole, whole.model.principal(arn), actions, list(scoping), mode)


@pytest.mark.parametrize("after", [0, 700, 10**9])
def test_early_set_hits_stopped_anywhere_change_no_finding(after):
    """The early lane hands over whatever it computed when the steps are done: any prefix of the work."""
    from iamlint.rules.agents import early_set_hits
    model = load_data(generate_account(600, seed=12), "gen.json")
    rules = _action_set_rules()
    _, plain = _levels_and_whole(model)
    want = [json.dumps(f.to_json(), sort_keys=True) for r in rules
            for f in matchers.MATCHERS[r.match["matcher"]](r, plain)]
    levels, whole = _levels_and_whole(model)
    calls = iter(range(10**12))
    early_set_hits(rules, levels, lambda: next(calls) >= after // 32)
    whole._cache["agents:set-hits"] = dict(levels._cache.get("agents:set-hits", {}))
    got = [json.dumps(f.to_json(), sort_keys=True) for r in rules
           for f in matchers.MATCHERS[r.match["matcher"]](r, whole)]
    assert got == want and want


def test_the_queue_deals_each_rule_to_one_lane_only():
    from iamlint.rules.run import _Queue
    items = [f"r{i}" for i in range(200)]
    q = _Queue(items)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child takes what it can, slowly, and reports what it took
        took = []
        for x in q.drain():
            took.append(x)
            for _ in range(2000):
                pass
        os.write(w, ",".join(took).encode())
        os._exit(0)
    mine = []
    for x in q.drain():
        mine.append(x)
        for _ in range(2000):
            pass
    os.waitpid(pid, 0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    theirs = [x for x in data.decode().split(",") if x]
    q.close()
    assert sorted(mine + theirs, key=lambda s: int(s[1:])) == items   # each rule once, none lost
    assert mine == sorted(mine, key=lambda s: int(s[1:]))              # each lane in queue order


def test_lane_tables_name_known_matchers_once():
    from iamlint.rules.run import READ_NO_REACH
    assert READ_NO_REACH <= CHILD_LANE
    assert len(set(EITHER_LANE)) == len(EITHER_LANE)
    assert not set(EITHER_LANE) & (CHILD_LANE | EARLY_LANE)
    assert set(EITHER_LANE) | CHILD_LANE | EARLY_LANE <= set(matchers.MATCHERS)
