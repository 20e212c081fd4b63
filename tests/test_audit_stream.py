"""The audit streams its findings (units -> staging on disk -> store -> reports) and gives the same bytes
as rendering the whole run in memory; an interrupted report write leaves the previous report intact."""

import json
import os
import random
import signal
import subprocess
import sys
import textwrap

import pytest
from typer.testing import CliRunner

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

from generate import write_org  # noqa: E402

from iamlint.audit import collect as C  # noqa: E402
from iamlint.audit import report as R  # noqa: E402
from iamlint.audit import store as S  # noqa: E402
from iamlint.audit.run import Plan, audit  # noqa: E402
from iamlint.audit.stage import Staged, row  # noqa: E402
from iamlint.cli import app  # noqa: E402
from iamlint.jsonio import dumps_pretty  # noqa: E402

FORMATS = ("json", "text", "markdown", "html")


def _in_memory(doc: dict, fmt: str) -> str:
    """What the audit wrote before it streamed: the whole document rendered at once, newline added."""
    text = dumps_pretty(doc) if fmt == "json" else R.render(doc, fmt)
    return text if text.endswith("\n") else text + "\n"


def _dump(path: str) -> list[str]:
    import sqlite3
    c = sqlite3.connect(path)
    try:
        return list(c.iterdump())
    finally:
        c.close()


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """A generated organization audited twice: the second time one account is gone, one file is broken and
    one account lost half its roles (new, resolved, open and unverified findings, and an error)."""
    tmp = tmp_path_factory.mktemp("stream")
    folder = tmp / "org"
    write_org(5, 80, seed=3, folder=str(folder), cross=0.5)
    db = str(tmp / "a.db")
    store = S.Store(db)
    first = audit(Plan("input", C.input_targets(str(folder))), store, analysis_workers=2)
    files = sorted(p for p in folder.iterdir() if p.name.startswith("account-"))
    files[-1].unlink()
    files[-2].write_text('{"broken": ')
    d = json.loads(files[1].read_text())
    d["RoleDetailList"] = d["RoleDetailList"][: len(d["RoleDetailList"]) // 2]
    files[1].write_text(json.dumps(d))
    files[0].write_text(files[0].read_text().replace('"RoleName": "', '"RoleName": "x'))   # renamed: new findings
    second = audit(Plan("input", C.input_targets(str(folder))), store, analysis_workers=2)
    return tmp, db, store, first, second


def test_the_second_run_has_every_state(two_runs):
    _, _, store, first, second = two_runs
    s = store.document(second.run_id)["summary"]
    assert s["new"] and s["resolved"] and s["open"] and s["unverified"]
    assert second.view["summary"] == s and len(second.view["open"]) == s["open"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_streamed_reports_equal_the_in_memory_rendering(two_runs, fmt):
    tmp, _, store, first, second = two_runs
    for out in (first, second):
        path = tmp / f"run-{out.run_id}.{fmt}"
        R.write(store.view(out.run_id), fmt, str(path))
        assert path.read_text(encoding="utf-8") == _in_memory(store.document(out.run_id), fmt)
        # the lazy lists read alike on every pass, and as the document's
        view = store.view(out.run_id)
        for k in ("new", "resolved", "open", "unverified"):
            assert list(view[k]) == list(view[k]) == store.document(out.run_id)[k]


def test_html_agent_reach_is_the_per_source_summary(two_runs):
    """The reach table counts in one pass what the in-memory rendering read from per-source lists."""
    _, _, store, _, second = two_runs
    doc = store.document(second.run_id)
    present = doc["new"] + doc["open"] + doc["unverified"]
    by: dict[str, list] = {}
    for f in present:
        if f.get("source"):
            by.setdefault(f["source"], []).append(f)
    html = R.render(store.view(second.run_id), "html")
    assert by
    for src, fs in by.items():
        worst = min(fs, key=lambda f: S.SEVERITY_RANK.get(f["severity"], 9))["severity"]
        ends = sorted({R.short(f["path"][-1]["target"]) for f in fs if f.get("path")})
        assert (f'<tr><td class="mono">{R.esc(R.short(src))}</td><td>{len(fs)}</td><td>{R._severity(worst)}</td>'
                f"<td>{R._list(ends)}</td></tr>") in html


def test_cli_run_and_show_print_the_same_bytes(two_runs, tmp_path):
    tmp, db, store, _, second = two_runs
    for fmt in FORMATS:
        res = CliRunner().invoke(app, ["audit", "show", str(second.run_id), "--db", db, "-f", fmt, "--no-color"])
        assert res.exit_code == 0, res.output
        assert res.stdout == _in_memory(store.document(second.run_id), fmt)
    # a whole run through the CLI: its -o report, its --output-dir reports and `show` agree
    folder = tmp / "org"
    db2 = str(tmp_path / "b.db")
    out = tmp_path / "run.json"
    res = CliRunner().invoke(app, ["audit", "--input", str(folder), "--db", db2, "-f", "json", "-o", str(out),
                                   "--output-dir", str(tmp_path / "reports"), "--report-formats",
                                   "json,html,markdown,text", "-q"])
    assert res.exit_code == 0, res.output
    doc = S.Store(db2).document(1)
    assert out.read_text() == _in_memory(doc, "json")
    for fmt, ext in R.EXTENSIONS.items():
        assert (tmp_path / "reports" / f"audit-run-000001.{ext}").read_text() == _in_memory(doc, fmt)


def test_models_are_freed_after_the_analysis(two_runs):
    _, _, _, first, second = two_runs
    assert first.results and all(r.model is None for r in first.results + second.results)


# ----------------------------------------------------------------------------------- JSON encoders


def _store_with(tmp_path, findings):
    st = S.Store(str(tmp_path / "x.db"))
    st.record(S.RunRecord(started_at="2026-01-01T00:00:00Z", source="input", findings=findings,
                          accounts=[{"account": "111111111111", "status": "read"}], rules=["R1"]))
    return st


def _finding(i: int, **kw) -> dict:
    f = {"rule_id": "R1", "severity": ["high", "low", "critical"][i % 3], "title": f"finding {i}",
         "principal": f"arn:aws:iam::111111111111:role/r{i % 4}", "message": "m", "path": [], "evidence": [],
         "remediation": "fix", "fingerprint": f"{i:032x}", "source": None, "potential": False, "conditions": [],
         "location": None, "score": 0.00001 * i}
    f.update(kw)
    return f


@pytest.mark.parametrize("extra", [{}, {"title": "r\u00f4le \u00e9trange"}, {"evidence": [2 ** 70]}])
def test_streamed_json_is_the_whole_documents_encoding(tmp_path, extra):
    """ASCII and encodable: orjson's text; non-ASCII or beyond orjson (a huge integer): json.dumps' text for
    the whole document, as dumps_pretty chooses (the streamed writer starts over)."""
    st = _store_with(tmp_path, [_finding(i) for i in range(7)] + [_finding(9, **extra)])
    doc = st.document(1)
    want = dumps_pretty(doc) + "\n"
    if extra:
        assert want == json.dumps(doc, indent=2) + "\n"
    path = tmp_path / "r.json"
    R.write(st.view(1), "json", str(path))
    assert path.read_text(encoding="utf-8") == want
    assert R.render(st.view(1), "json") == want[:-1]


# ----------------------------------------------------------------------------------- interrupted writes


def test_a_failed_render_leaves_the_previous_report_and_no_temporary_file(tmp_path, monkeypatch):
    st = _store_with(tmp_path, [_finding(i) for i in range(20)])
    out = tmp_path / "reports"
    out.mkdir()
    path = out / "run.json"
    path.write_text('{"previous": true}\n')
    real = S.Findings.__iter__

    def failing(self):
        for n, f in enumerate(real(self)):
            if n == 5:
                raise OSError(28, "No space left on device")
            yield f

    monkeypatch.setattr(S.Findings, "__iter__", failing)
    for fmt in FORMATS:
        with pytest.raises(OSError):
            R.write(st.view(1), fmt, str(path))
        assert path.read_text() == '{"previous": true}\n'
        assert sorted(os.listdir(out)) == ["run.json"]


def test_killed_while_streaming_a_report_leaves_the_previous_one_intact(tmp_path):
    """SIGKILL half way through the findings: the target still holds the previous report, whole."""
    st = _store_with(tmp_path, [_finding(i) for i in range(50)])
    st.close()
    path = tmp_path / "run.json"
    path.write_text('{"previous": true}\n')
    child = textwrap.dedent(f"""
        import sys, time
        from iamlint.audit import store as S
        real = S.Findings.__iter__
        def slow(self):
            for n, f in enumerate(real(self)):
                if n == 10:
                    print("ready", flush=True)
                    time.sleep(60)
                yield f
        S.Findings.__iter__ = slow
        sys.argv = ["iamlint", "audit", "show", "1", "--db", {str(tmp_path / "x.db")!r}, "-f", "json",
                    "-o", {str(path)!r}]
        from iamlint.cli import main
        main()
    """)
    p = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
        assert [n for n in os.listdir(tmp_path) if n.startswith(".iamlint-")]     # the new one, half written
        os.kill(p.pid, signal.SIGKILL)
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
    assert path.read_text() == '{"previous": true}\n'
    res = CliRunner().invoke(app, ["audit", "show", "1", "--db", str(tmp_path / "x.db"), "-f", "json", "-o", str(path)])
    assert res.exit_code == 0 and json.loads(path.read_text())["summary"]["new"] == 50


# ----------------------------------------------------------------------------------- staging


def _merged(units: list[tuple[int, list[tuple], list[tuple]]]) -> tuple[list[dict], set[str]]:
    """The in-memory merge the staging replaces: units in index order, a finding outside every unit kept
    once (the first seen, findings before suppressed ones), then a stable sort by the finding's key."""
    seen, out, gone = set(), [], []
    for _, findings, suppressed in sorted(units, key=lambda u: u[0]):
        for key, fp, ours, body in findings:
            if not ours:
                if fp in seen:
                    continue
                seen.add(fp)
            out.append((key, body))
        for fp, ours in suppressed:
            if not ours:
                if fp in seen:
                    continue
                seen.add(fp)
            gone.append(fp)
    out.sort(key=lambda x: x[0])
    return [b for _, b in out], set(gone)


def test_staged_findings_record_what_the_merged_list_records(tmp_path, monkeypatch):
    """Units arriving in any order, findings outside every unit seen by several (with different bodies, to
    tell which one is kept), duplicates within a unit, suppressed ones: the store is the same, row for row."""
    monkeypatch.setattr(S, "now", lambda: "2026-02-02T00:00:00Z")
    rnd = random.Random(5)
    units = []
    for u in range(4):
        fs = []
        for i in range(30):
            f = _finding(u * 100 + i, severity=rnd.choice(["high", "low", "medium"]),
                         rule_id=rnd.choice(["R1", "R2", "IAM0"]))
            fs.append(f)
        for j in range(3):                                  # the same outside finding in every unit
            fs.append(_finding(900 + j, principal=None, title=f"outside as unit {u} saw it"))
        fs.append(dict(fs[0]))                              # a fingerprint twice in one unit
        key = lambda f: (S.SEVERITY_RANK.get(f["severity"], 9), f["rule_id"], f["principal"] or "", "",  # noqa: E731
                         f["fingerprint"])
        findings = [(key(f), f["fingerprint"], f["principal"] is not None, f) for f in fs]
        suppressed = [(f"{u:02d}" + "s" * 30, True), ("9" * 32, False)]
        units.append((u, findings, suppressed))
    merged, gone = _merged(units)
    accounts = [{"account": "111111111111", "status": "read"}]
    a = S.Store(str(tmp_path / "a.db"))
    a.record(S.RunRecord(started_at="t", source="input", findings=merged, accounts=accounts,
                         rules=["R1", "R2", "IAM0"], suppressed=sorted(gone)))
    staged = Staged()
    for u, findings, suppressed in [units[2], units[0], units[3], units[1]]:
        staged.add(u, [(k, fp, ours, row(f)) for k, fp, ours, f in findings], suppressed)
    b = S.Store(str(tmp_path / "b.db"))
    b.record(S.RunRecord(started_at="t", source="input", findings=[], accounts=accounts, rules=["R1", "R2", "IAM0"],
                         suppressed=staged.fingerprints_suppressed(), rows=staged))
    assert set(staged.fingerprints_suppressed()) == gone
    staged.close()
    assert _dump(str(tmp_path / "a.db")) == _dump(str(tmp_path / "b.db"))
    titles = [f["title"] for f in b.document(1)["new"] if f["principal"] is None]
    assert titles == ["outside as unit 0 saw it"] * 3
