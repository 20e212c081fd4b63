"""Reporters: golden files, SARIF and findings schemas, HTML escaping, and a real headless-browser render.

The golden files in fixtures/golden/ are the outputs of a scan of fixtures/example/account.json, one per
reporter (example.txt, .json, .md, .sarif, .html). When the output changes on purpose (a new rule, a
reporter change), regenerate them and review the diff:

    cd /work/main && IAMLINT_REGEN_GOLDEN=1 /tmp/v/bin/python -m pytest tests/test_reporters.py -q
    git diff --stat fixtures/golden/

(any Python with the test dependencies works: `IAMLINT_REGEN_GOLDEN=1 python -m pytest tests/test_reporters.py`).
Absolute paths of the checkout are normalized to relative ones before comparing and writing, so the
goldens do not depend on where the repository lives.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from iamlint.findings import Finding, Location
from iamlint.graph.edges import Edge
from iamlint.loaders import load_data, load_paths
from iamlint.paths_data import schema_path
from iamlint.pipeline import scan
from iamlint.reporters import REPORTERS
from iamlint.reporters import html as html_reporter
from iamlint.reporters import sarif as sarif_reporter
from iamlint.suppress import Exclusion

from conftest import EXAMPLE, ROOT

GOLDEN = ROOT / "fixtures" / "golden"
REGEN = os.environ.get("IAMLINT_REGEN_GOLDEN") == "1"
SARIF_SCHEMA = ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
CHROMIUM = "/usr/bin/chromium"
EXTENSIONS = {"text": "txt", "json": "json", "markdown": "md", "sarif": "sarif", "html": "html"}

ACCT = "123456789012"
HOSTILE_IMG = "<img src=x onerror=\"document.title='pwned'\">"
HOSTILE_SCRIPT = "<script>alert(1)</script>"


def normalize(text: str) -> str:
    """Absolute paths of this checkout -> relative (as file: URIs, JSON-escaped and plain)."""
    root = str(ROOT)
    for prefix in (ROOT.as_uri() + "/", json.dumps(root + os.sep)[1:-1], root + os.sep):
        text = text.replace(prefix, "")
    return text


@pytest.fixture(scope="module")
def in_root():
    old = os.getcwd()
    os.chdir(ROOT)
    try:
        yield ROOT
    finally:
        os.chdir(old)


@pytest.fixture(scope="module")
def report(in_root):
    # an absolute input path on purpose: outputs must come out the same as for the relative one
    return scan(load_paths([str(EXAMPLE)]))


def hostile_report():
    """The example account with a role named like an <img onerror> injection, a policy named <script>,
    a hostile alias, tag and collection error."""
    text = EXAMPLE.read_text()
    text = text.replace("support-agent", json.dumps(HOSTILE_IMG)[1:-1])
    text = text.replace("agent-tools", json.dumps(HOSTILE_SCRIPT)[1:-1])
    data = json.loads(text)
    data["AccountAlias"] = HOSTILE_SCRIPT
    data.setdefault("CollectionErrors", []).append(
        {"service": "iam", "operation": "ListRoles", "region": None, "error_code": "<b>AccessDenied</b>",
         "message": HOSTILE_SCRIPT})
    for r in data["RoleDetailList"]:
        r.setdefault("Tags", []).append({"Key": "owner", "Value": HOSTILE_SCRIPT})
    rep = scan(load_data(data, "hostile.json"))
    assert any(HOSTILE_IMG in (f.principal or "") for f in rep.findings), "the hostile role must have a finding"
    return rep


def synthetic(report):
    """The example report plus what the example lacks: an IaC finding with a location (absolute path under
    the checkout, and one outside it), a finding of a rule outside the run, an agent source, a suppressed
    finding, an expired exclusion and an input gap."""
    f0 = report.findings[0]
    pathy = next(f for f in report.findings[1:] if f.path and f.principal)
    iac = Finding("ESC001", "critical", "Principal can escalate to admin-equivalence", None,
                  "a role in main.tf can escalate", "scope it",
                  location=Location(str(ROOT / "infra" / "main tf" / "main.tf"), 12, 5, "/resource/aws_iam_role/x"))
    outside = Finding("XYZ999", "low", "Some hygiene thing", None, "outside the checkout", "fix it",
                      location=Location("/elsewhere/stack.json", None, None, None))
    agent = dataclasses.replace(pathy, source=pathy.principal)
    stranger = Finding("ESC002", "high", "Principal can escalate to every secret or every KMS key",
                       "arn:aws:iam::999999999999:role/elsewhere", "elsewhere can reach", "scope it")
    exc = Exclusion(reason="reviewed <quarterly>", rule=f0.rule_id, principal=f0.principal,
                    expires=dt.date(2030, 1, 1), source="exclusions.yaml", index=0)
    old = Exclusion(reason="old one", rule="ESC002", expires=dt.date(2020, 1, 1), source="exclusions.yaml", index=1)
    return dataclasses.replace(
        report, findings=[iac, agent, stranger, outside] + [f for f in report.findings[1:] if f is not pathy],
        suppressed=[(f0, exc)], expired_exclusions=[old],
        errors=[{"service": "iam", "operation": "ListRoles", "region": None, "error_code": "AccessDenied",
                 "message": "no", "account": ACCT}])


# --- golden files ---------------------------------------------------------------------------------

def test_reporters_table():
    assert set(EXTENSIONS) <= set(REPORTERS)


@pytest.mark.parametrize("fmt", sorted(EXTENSIONS))
def test_golden(report, fmt):
    out = normalize(REPORTERS[fmt](report, None))
    out = out if out.endswith("\n") else out + "\n"
    path = GOLDEN / f"example.{EXTENSIONS[fmt]}"
    if REGEN or not path.exists():
        GOLDEN.mkdir(parents=True, exist_ok=True)
        path.write_text(out, encoding="utf-8")
        if not REGEN:
            pytest.fail(f"{path} was missing and has been written; review it and run again")
    want = path.read_text(encoding="utf-8")
    if out != want:
        diff = "".join(list(difflib.unified_diff(want.splitlines(True), out.splitlines(True),
                                                 str(path), f"{fmt} output"))[:80])
        pytest.fail(f"{fmt} output differs from {path.relative_to(ROOT)}; if intended, regenerate with "
                    f"IAMLINT_REGEN_GOLDEN=1 python -m pytest tests/test_reporters.py\n{diff}")


def test_relative_and_absolute_inputs_render_the_same(report, in_root):
    rel = scan(load_paths([os.path.relpath(EXAMPLE, ROOT)]))
    for fmt in EXTENSIONS:
        assert normalize(REPORTERS[fmt](rel)) == normalize(REPORTERS[fmt](report)), fmt


def test_outputs_are_deterministic(report):
    again = scan(load_paths([str(EXAMPLE)]))
    for fmt in EXTENSIONS:
        assert REPORTERS[fmt](again) == REPORTERS[fmt](report), fmt


# --- SARIF ------------------------------------------------------------------------------------------

def _sarif_validator():
    if not SARIF_SCHEMA.exists():
        pytest.skip(f"{SARIF_SCHEMA} not present")
    schema = json.loads(SARIF_SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_sarif_validates_against_the_schema(report, in_root):
    v = _sarif_validator()
    for rep in (report, synthetic(report), hostile_report()):
        doc = json.loads(REPORTERS["sarif"](rep))
        errors = sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def test_sarif_run_driver_and_rules(report, in_root):
    doc = json.loads(REPORTERS["sarif"](report))
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    from iamlint import __version__
    assert driver["name"] == "iamlint" and driver["version"] == __version__
    assert driver["informationUri"].startswith("https://")
    assert [r["id"] for r in driver["rules"]] == [r.id for r in report.rules]
    sev = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
    level = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
    for rd, rule in zip(driver["rules"], report.rules):
        assert rd["shortDescription"]["text"] == rule.title
        assert rd["fullDescription"]["text"] == rule.rationale
        assert rule.remediation in rd["help"]["text"] and rule.remediation in rd["help"]["markdown"]
        assert all(ref in rd["help"]["text"] and ref in rd["help"]["markdown"] for ref in rule.references)
        assert rd["helpUri"] == rule.references[0]
        assert rd["properties"]["security-severity"] == sev[rule.severity]
        assert rd["properties"]["tags"][:2] == ["security", rule.family]
        assert rd["properties"]["precision"] in ("very-high", "high", "medium", "low")
        assert rd["defaultConfiguration"]["level"] == level[rule.severity]
        assert re.fullmatch(r"[A-Za-z0-9]+", rd["name"])
    assert "startTimeUtc" not in json.dumps(doc)


def test_sarif_results_of_account_findings(report, in_root):
    doc = json.loads(REPORTERS["sarif"](report))
    run = doc["runs"][0]
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert len(run["results"]) == len(report.findings)
    for res, f in zip(run["results"], report.findings):
        assert res["ruleId"] == f.rule_id and ids[res["ruleIndex"]] == f.rule_id
        assert res["level"] in ("error", "warning", "note")
        assert res["partialFingerprints"] == {"iamlintFingerprint/v1": f.fingerprint}
        chain = res["properties"]["chain"]
        assert bool(chain) == bool(f.path) and chain in res["message"]["text"]
        assert len(res["properties"]["path"]) == len(f.path)
        assert res["properties"]["potential"] == f.potential
        assert res["properties"]["conditions"] == list(f.conditions)
        (loc,) = res["locations"]
        # GitHub code scanning needs a physical location: the account's input file, line 1
        assert loc["physicalLocation"] == {"artifactLocation": {"uri": "fixtures/example/account.json",
                                                                "uriBaseId": "%SRCROOT%"},
                                           "region": {"startLine": 1}}
        (logical,) = loc["logicalLocations"]
        assert logical["fullyQualifiedName"] == f.principal and logical["kind"] == "resource"
    potential = [r for r, f in zip(run["results"], report.findings) if f.potential]
    assert potential and all("Assumes:" in r["message"]["text"] for r in potential)


def test_sarif_iac_locations_suppressions_and_notifications(report, in_root):
    rep = synthetic(report)
    run = json.loads(REPORTERS["sarif"](rep))["runs"][0]
    by_msg = {r["message"]["text"].split(" Path:")[0]: r for r in run["results"]}
    iac = by_msg["a role in main.tf can escalate"]
    assert iac["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "infra/main%20tf/main.tf", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 12, "startColumn": 5}}
    outside = by_msg["outside the checkout"]
    assert outside["locations"][0]["physicalLocation"] == {"artifactLocation": {"uri": "file:///elsewhere/stack.json"}}
    rules = run["tool"]["driver"]["rules"]
    assert rules[outside["ruleIndex"]]["id"] == "XYZ999"
    stranger = by_msg["elsewhere can reach"]       # principal of no loaded account: all inputs
    assert stranger["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "fixtures/example/account.json"
    sup = [r for r in run["results"] if "suppressions" in r]
    assert len(sup) == 1 and sup[0]["suppressions"][0]["kind"] == "external"
    assert "reviewed <quarterly>" in sup[0]["suppressions"][0]["justification"]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert any("AccessDenied" in n["message"]["text"] for n in notes)
    assert any("expired exclusion" in n["message"]["text"] for n in notes)


def test_sarif_several_accounts_point_at_their_own_input(tmp_path, in_root):
    data = json.loads(EXAMPLE.read_text())
    other = json.loads(EXAMPLE.read_text().replace(ACCT, "210987654321"))
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(data))
    b.write_text(json.dumps(other))
    rep = scan(load_paths([str(a), str(b)]))
    run = json.loads(sarif_reporter.render(rep))["runs"][0]
    seen = set()
    for res, f in zip(run["results"], rep.findings):
        uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        seen.add(uri)
        assert uri.endswith("/a.json" if f":{ACCT}:" in f.principal else "/b.json")
    assert len(seen) == 2


def test_artifact_location():
    loc = sarif_reporter.artifact_location
    assert loc("fixtures/x.json", "/repo") == {"uri": "fixtures/x.json", "uriBaseId": "%SRCROOT%"}
    assert loc("/repo/sub/a b.json", "/repo") == {"uri": "sub/a%20b.json", "uriBaseId": "%SRCROOT%"}
    assert loc("./sub/../c.json", "/repo") == {"uri": "c.json", "uriBaseId": "%SRCROOT%"}
    assert loc("/other/c.json", "/repo") == {"uri": "file:///other/c.json"}


# --- JSON findings schema ---------------------------------------------------------------------------

def _findings_validator():
    schema = json.loads(schema_path("findings.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_json_findings_validate_against_their_schema(report, in_root):
    v = _findings_validator()
    for rep in (report, synthetic(report), hostile_report()):
        doc = json.loads(REPORTERS["json"](rep))
        errors = sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def test_findings_schema_rejects_drift(report):
    v = _findings_validator()
    doc = json.loads(REPORTERS["json"](report))
    bad = json.loads(json.dumps(doc))
    bad["findings"][0]["severity"] = "severe"
    assert not v.is_valid(bad)
    bad = json.loads(json.dumps(doc))
    bad["findings"][0]["surprise"] = 1
    assert not v.is_valid(bad)
    bad = json.loads(json.dumps(doc))
    with_path = next(f for f in bad["findings"] if f["path"])
    del with_path["path"][0]["method"]
    assert not v.is_valid(bad)


# --- HTML -------------------------------------------------------------------------------------------

def test_html_escapes_everything_from_the_account():
    out = REPORTERS["html"](hostile_report())
    assert "<script" not in out.lower()
    assert "<img" not in out.lower()
    assert "<b>" not in out
    assert html_reporter.esc(HOSTILE_IMG) in out            # shown, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    # inside SVG text and <title> too
    svg = out[out.index("<svg"):]
    assert "&lt;img src=x onerror=&quot;document.title=&#x27;pwned&#x27;&quot;&gt;" in svg


def test_html_is_self_contained(report):
    out = REPORTERS["html"](report)
    low = out.lower()
    assert out.startswith("<!DOCTYPE html>")
    assert "<script" not in low and "<link" not in low and "<iframe" not in low and "@import" not in low
    assert not re.search(r"\ssrc\s*=", low)
    assert all(u.startswith("#") for u in re.findall(r"url\(([^)]*)\)", out))      # only SVG markers
    assert "Content-Security-Policy" in out and "default-src 'none'" in out
    hrefs = re.findall(r'href="([^"]*)"', out)
    assert all(h.startswith("#") or h.startswith("https://") for h in hrefs)   # anchors, rule references


def test_html_summary_table_and_diagrams(report):
    out = REPORTERS["html"](report)
    counts = report.counts()
    for sev, n in counts.items():
        assert f'<div class="card sev-{sev}"><div class="n">{n}</div>' in out
    assert ACCT in out
    rows = re.findall(r'<tr id="finding-\d+"', out)
    assert len(rows) == len(report.findings)
    with_path = [f for f in report.findings if f.path]
    assert out.count('<tr class="diagram-row') == len(with_path)
    for f in report.findings:
        assert html_reporter.esc(f.message) in out and html_reporter.esc(f.remediation) in out
        for ev in f.evidence:
            assert html_reporter.esc(ev) in out
    # one arrow per step, one box per node
    table = out[out.index('<section id="findings">'):]
    first = table[table.index("<svg"):table.index("</svg>")]
    f = with_path[0]
    assert first.count('<g class="edge') == len(f.path)
    assert first.count('<g class="node') == len({n for e in f.path for n in (e.source, e.target)})


def test_html_agent_reach_and_cycles(report):
    rep = synthetic(report)
    out = REPORTERS["html"](rep)
    assert 'id="reach"' in out and "Reach of" in out
    assert 'id="suppressed"' in out and "reviewed &lt;quarterly&gt;" in out
    assert 'id="gaps"' in out and 'id="expired"' in out
    # a path that comes back to its start (a rewrite of an earlier node) and a self-loop, through a hub
    a, b, c = (f"arn:aws:iam::{ACCT}:role/{n}" for n in ("support-agent", "deploy-role", "lambda-admin"))
    hub = f"hub:assume-any-role-trusting-the-account@{ACCT}"
    p1 = [Edge(a, b, "sts-assume-role"), Edge(b, c, "lambda-create-invoke", potential=True, assumes="x"),
          Edge(c, a, "iam-put-role-policy", rewrite=True)]
    p2 = [Edge(a, hub, "sts-assume-role", conditions=("Bool aws:MultiFactorAuthPresent [true]",)),
          Edge(hub, c, "sts-assume-role"), Edge(c, c, "iam-attach-role-policy", rewrite=True)]
    svg = html_reporter.svg_diagram([p1, p2], html_reporter._Namer(report.model), "t", [a], "test")
    assert svg.count('<g class="edge') == 6 and svg.count('<g class="node') == 4
    assert 'class="edge potential"' in svg and 'class="edge conditional"' in svg and 'class="edge rewrite"' in svg
    assert "assume any role trusting the account" in svg
    assert not re.search(r'\s(?:x|y|d|width|height|viewBox)="[^"]*nan', svg, re.I)   # coordinates are numbers


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} not installed (apt-get install chromium)")
def test_html_renders_in_a_headless_browser(tmp_path):
    rep = hostile_report()
    page = tmp_path / "report.html"
    page.write_text(REPORTERS["html"](rep), encoding="utf-8")
    profile = tmp_path / "profile"
    profile.mkdir()
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--dump-dom", page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    dom = proc.stdout
    assert proc.returncode == 0 and "</html>" in dom, proc.stderr[-2000:]
    title = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert title and title.group(1) == "iamlint report"       # the onerror handler did not run
    assert "pwned" != title.group(1)
    assert "<img" not in dom.lower() and "<script" not in dom.lower()
    # the hostile name is there, as text (serialized DOM escapes < and > in text nodes)
    assert "&lt;img src=x onerror=\"document.title='pwned'\"&gt;" in dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    for f in rep.findings:
        assert f.rule_id in dom
        p = rep.model.principal(f.principal) if f.principal else None
        if p is not None:
            assert p.name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in dom
    assert dom.count('<tr class="diagram-row') == sum(1 for f in rep.findings if f.path)
    assert dom.count("<svg") >= sum(1 for f in rep.findings if f.path)
    assert len(re.findall(r'<tr id="finding-\d+"', dom)) == len(rep.findings)
    shutil.rmtree(profile, ignore_errors=True)
