"""The audit's use of the cyclic collector (no timings): files are loaded with it off, the loaded accounts
frozen out of it during the analysis, each forked unit worker runs with it off, and the process is handed
back as it was (collector on, nothing frozen), whatever the path: forked units, units in this process,
one model, or an error before any analysis."""

import gc
import json
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

from generate import write_org  # noqa: E402

from iamlint.audit import collect as C  # noqa: E402
from iamlint.audit import per_account as PA  # noqa: E402
from iamlint.audit import run as R  # noqa: E402
from iamlint.audit.run import Plan, audit  # noqa: E402
from iamlint.audit.store import Store  # noqa: E402
from iamlint.errors import UsageError  # noqa: E402


@pytest.fixture
def org(tmp_path):
    folder = tmp_path / "org"
    write_org(4, 60, seed=3, folder=str(folder), cross=0.0)       # four accounts, four units
    return folder


def _run(folder, tmp_path, **kw):
    return audit(Plan("input", C.input_targets(str(folder))), Store(str(tmp_path / "a.db")), **kw)


@pytest.mark.parametrize("kw", [{"analysis_workers": 2}, {"analysis_workers": 1}, {"whole_org_graph": True}])
def test_the_collector_is_handed_back_as_it_was(org, tmp_path, monkeypatch, kw):
    seen = {}
    real = R._collect_local

    def collect(*a, **k):
        seen["collecting"] = gc.isenabled()
        return real(*a, **k)

    monkeypatch.setattr(R, "_collect_local", collect)
    real_prepare = R.prepare

    def prepare(*a, **k):
        seen["frozen after collecting"] = gc.get_freeze_count()
        return real_prepare(*a, **k)

    monkeypatch.setattr(R, "prepare", prepare)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    out = _run(org, tmp_path, **kw)
    assert out.view["summary"]["new"] > 0
    assert seen["collecting"] is False                  # saved files: loaded with the collector off
    if not kw.get("whole_org_graph"):
        assert seen["frozen after collecting"] > 0      # the loaded accounts out of the collector's passes
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_forked_unit_workers_run_with_the_collector_off(org, tmp_path, monkeypatch):
    real = PA.analyse

    def analyse(spec, *results):
        o = real(spec, *results)
        o.timings["gc_enabled"] = float(gc.isenabled())
        return o

    monkeypatch.setattr(PA, "analyse", analyse)
    flags = []
    real_run = PA.run_local

    def run_local(specs, results, workers, on_unit=None):
        outs = real_run(specs, results, workers, on_unit)
        flags.extend(o.timings["gc_enabled"] for o in outs)
        return outs

    monkeypatch.setattr(PA, "run_local", run_local)
    _run(org, tmp_path, analysis_workers=2)
    assert flags == [0.0] * 4                           # in each worker
    assert gc.isenabled() and gc.get_freeze_count() == 0   # and this process as it was


def test_an_error_before_the_analysis_unfreezes(org, tmp_path):
    for name in ("org-a.json", "org-b.json"):           # two organization files: refused once both are read
        (org / name).write_text(json.dumps({"format": "iamlint-organization", "schema_version": 1, "id": "o-abcdefghij",
                                            "management_account": "100000000000", "policy_types": [],
                                            "policies": [], "nodes": []}))
    with pytest.raises(UsageError, match="second organization file"):
        _run(org, tmp_path)
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_the_same_findings_as_with_the_collector_on(org, tmp_path, monkeypatch):
    """The collector changes when memory is freed, never what is found: the run's document with the
    collector's pauses and freezes made no-ops is the same."""
    def bare(doc):
        return {k: [{x: v for x, v in f.items() if x != "audit"} for f in doc[k]] for k in ("new", "open", "resolved")}

    one = _run(org, tmp_path / "one", analysis_workers=2).document
    monkeypatch.setattr(gc, "disable", lambda: None)
    monkeypatch.setattr(gc, "freeze", lambda: None)
    two = _run(org, tmp_path / "two", analysis_workers=2).document
    assert bare(one) == bare(two) and one["errors"] == two["errors"]
    assert one["summary"] == two["summary"] and len(one["new"]) > 0
