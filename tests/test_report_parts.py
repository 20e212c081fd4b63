"""The JSON report given in parts (reporters/json_report.py `render_parts`) and written part by part while
the next is made (output.py `emit_parts`): the same bytes as the whole document dumped at once, and a
failure midway leaves the file that was there."""

from __future__ import annotations

import dataclasses
import json

import pytest

from iamlint.jsonio import dumps_pretty
from iamlint.loaders import load_paths
from iamlint.output import emit, emit_parts
from iamlint.pipeline import scan
from iamlint.reporters import PARTS, REPORTERS
from iamlint.reporters import json_report, sarif

from conftest import EXAMPLE


@pytest.fixture(scope="module")
def report():
    rep = scan(load_paths([str(EXAMPLE)]))
    assert len(rep.findings) > 10
    return rep


def _whole(rep) -> str:
    """What the reporter wrote before it had parts: the whole document, dumped once."""
    return dumps_pretty(json_report.document(rep))


@pytest.mark.parametrize("part", [1, 2, 7, 2000])
def test_parts_join_to_the_whole_document(report, monkeypatch, part):
    monkeypatch.setattr(json_report, "PART", part)
    parts = list(json_report.render_parts(report))
    assert len(parts) == 2 + -(-len(report.findings) // part)   # the batches, and what is around them
    assert "".join(parts) == _whole(report)
    json.loads("".join(parts))


def test_parts_with_text_outside_ascii_and_no_findings(report, monkeypatch):
    monkeypatch.setattr(json_report, "PART", 3)
    odd = [dataclasses.replace(f, message=f.message + " — é ☃ \ud83d\ude00" if i % 4 == 1 else f.message)
           for i, f in enumerate(report.findings)]
    rep = dataclasses.replace(report, findings=odd)
    assert "".join(json_report.render_parts(rep)) == _whole(rep)
    assert "\\u2014" in "".join(json_report.render_parts(rep))      # written escaped, as json.dumps does
    empty = dataclasses.replace(report, findings=[])
    assert list(json_report.render_parts(empty)) == [_whole(empty)]
    assert json.loads(_whole(empty))["findings"] == []


def test_emit_parts_writes_what_emit_writes(report, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(json_report, "PART", 4)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    emit(REPORTERS["json"](report), str(a))
    emit_parts(PARTS["json"](report), str(b))
    assert a.read_bytes() == b.read_bytes() and a.read_text().endswith("}\n")
    emit_parts(PARTS["json"](report), None)
    assert capsys.readouterr().out == a.read_text()
    emit_parts(iter(["x", "", "y\n"]), None)
    assert capsys.readouterr().out == "xy\n"


def test_a_failure_midway_leaves_the_previous_file(report, tmp_path):
    out = tmp_path / "report.json"
    out.write_text("previous\n")

    def parts():
        yield "{\n"
        yield "x" * 100000
        raise RuntimeError("renderer broke")

    with pytest.raises(RuntimeError):
        emit_parts(parts(), str(out))
    assert out.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]   # no temporary file left


def test_a_write_failure_is_raised_and_leaves_the_previous_file(report, tmp_path, monkeypatch):
    out = tmp_path / "report.json"
    out.write_text("previous\n")
    import iamlint.output as output

    real = output.write_atomic_with

    def flaky(path, fill):
        class Broken:
            def __init__(self):
                self.n = 0

            def write(self, text):
                self.n += 1
                if self.n == 2:
                    raise OSError(28, "No space left on device")

        def fill_broken(fh):
            fill(Broken())
        return real(path, fill_broken)

    monkeypatch.setattr(output, "write_atomic_with", flaky)
    with pytest.raises(OSError):
        emit_parts(PARTS["json"](report), str(out))
    assert out.read_text() == "previous\n"


@pytest.mark.parametrize("part", [1, 3, 2000])
def test_sarif_parts_join_to_the_whole_document(report, monkeypatch, part):
    from iamlint.suppress import Exclusion
    monkeypatch.setattr(sarif, "PART", part)
    e = Exclusion(rule="AGT001", principal=None, reason="accepted — risk owner said so", expires=None,
                  source="exclusions.yaml", index=0)
    rep = dataclasses.replace(report, suppressed=[(report.findings[0], e)], findings=report.findings[1:])
    for r in (report, rep, dataclasses.replace(report, findings=[], suppressed=[])):
        whole = dumps_pretty(sarif.document(r))
        parts = list(sarif.render_parts(r))
        assert "".join(parts) == whole
        n = len(json.loads(whole)["runs"][0]["results"])
        assert len(parts) == (2 + -(-n // part) if n else 1)


def test_several_lists_at_their_depth_and_an_encoder_that_refuses():
    from iamlint.jsonio import dumps_pretty_parts
    doc = {"a": 1, "new": [], "x": {"new": [], "n": [1.5, "é"]}, "open": [], "gone": [], "z": None}
    items = {"open": [{"k": i, "v": [i, {"w": "é" if i == 3 else "x"}], "s": "[\n  ]\n]", "e": [], "l": [[i]]}
                      for i in range(7)],
             "new": ({"k": i} for i in range(3)), "gone": []}
    whole = dict(doc, new=[{"k": i} for i in range(3)], open=items["open"])
    for part in (1, 2, 7, 50):
        items["new"] = ({"k": i} for i in range(3))
        assert "".join(dumps_pretty_parts(doc, items, 1, part)) == dumps_pretty(whole)

    class Refused(Exception):
        pass

    def ascii_only(obj):
        text = dumps_pretty(obj)
        if "é" in json.dumps(obj, ensure_ascii=False):
            raise Refused()
        return text

    items["new"] = iter(())
    with pytest.raises(Refused):
        list(dumps_pretty_parts({"new": [], "open": []}, {"new": [], "open": items["open"]}, 1, 2, ascii_only))
