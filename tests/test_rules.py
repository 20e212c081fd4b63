"""Every rule has a failing and a passing fixture (fixtures/rules/<ID>/{fail,pass}.json), run here."""

import json
from pathlib import Path

import pytest

from iamlint.loaders import load_paths
from iamlint.pipeline import scan
from iamlint.rules.load import all_rules

from conftest import FIXTURES

RULES_DIR = FIXTURES / "rules"
RULE_IDS = [r.id for r in all_rules()]


def _config(folder: Path) -> dict:
    cfg = folder / "config.json"
    return json.loads(cfg.read_text()) if cfg.exists() else {}


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_fails_on_fail_fixture(rule_id):
    folder = RULES_DIR / rule_id
    for f in sorted(folder.glob("fail*.json")):
        report = scan(load_paths([str(f)]), only=[rule_id], config=_config(folder))
        hits = [x for x in report.findings if x.rule_id == rule_id]
        assert hits, f"{rule_id}: no finding on {f.name}"


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_passes_on_pass_fixture(rule_id):
    folder = RULES_DIR / rule_id
    for f in sorted(folder.glob("pass*.json")):
        report = scan(load_paths([str(f)]), only=[rule_id], config=_config(folder))
        hits = [x for x in report.findings if x.rule_id == rule_id]
        assert not hits, f"{rule_id}: unexpected finding on {f.name}: {hits[0].message}"


def test_every_rule_has_fixtures():
    missing = [rid for rid in RULE_IDS
               if not list((RULES_DIR / rid).glob("fail*.json")) or not list((RULES_DIR / rid).glob("pass*.json"))]
    assert not missing, f"rules without a fail and a pass fixture: {missing}"


def test_rule_ids_unique_and_well_formed():
    import re
    assert len(RULE_IDS) == len(set(RULE_IDS))
    assert all(re.fullmatch(r"[A-Z]{3}\d{3}", r) for r in RULE_IDS)


def test_every_fixture_folder_names_a_rule():
    assert sorted(p.name for p in RULES_DIR.iterdir() if p.is_dir()) == sorted(RULE_IDS)
