"""Values known only at deploy time, as people read them: names in reports show `<known after apply: X>`
or `<Ref X>`, while ARNs, fingerprints and the JSON fields machines match on keep the raw marker."""

import html
import json

from iamlint.check import CheckOptions, run_check
from iamlint.graph.edges import Edge
from iamlint.graph.paths import render_chain
from iamlint.iac.symbolic import display, marker
from iamlint.reporters import CHECK_REPORTERS

from conftest import ROOT

PLAN = "fixtures/iac/terraform/agent-plan.json"
RAW = "agentcore-runtime-${iamlint:unresolved:known-after-apply:module.agent.aws_iam_role.runtime.name}"
SHOWN = "agentcore-runtime-<known after apply: module.agent.aws_iam_role.runtime.name>"


def test_display_renders_each_kind_of_marker():
    assert display(RAW) == SHOWN
    assert display(marker("Ref:TrustedAccount")) == "<Ref TrustedAccount>"
    assert display(f"arn:aws:iam::{marker('Ref:AWS::AccountId')}:root") == "arn:aws:iam::<Ref AWS::AccountId>:root"
    assert display(marker("GetAtt:AgentRuntimeRole.Arn")) == "<GetAtt AgentRuntimeRole.Arn>"
    assert display(marker("var.boundary") + "/" + marker("region")) == "<var.boundary>/<region>"
    assert display("github-deploy") == "github-deploy"          # nothing to do: the same string
    assert display("${not:a:marker}") == "${not:a:marker}"


def test_render_chain_shows_names_readably():
    arn = f"arn:aws:iam::123456789012:role/{RAW}"
    e = Edge("arn:aws:iam::123456789012:user/dev", arn, "sts-assume-role")
    assert render_chain([e], lambda a: a.rsplit("/", 1)[-1]) == f"dev --sts-assume-role--> {SHOWN}"


def render(report, fmt):
    return CHECK_REPORTERS[fmt](report)


def _report():
    return run_check([PLAN], CheckOptions(base_dir=str(ROOT)))


def test_reports_for_people_show_readable_names(monkeypatch):
    monkeypatch.chdir(ROOT)
    report = _report()
    for fmt in ("text", "markdown", "html", "junit"):
        out = render(report, fmt)
        assert (html.escape(SHOWN) if fmt in ("html", "junit") else SHOWN) in out, fmt
        assert "agentcore-runtime-${iamlint:unresolved" not in out.replace(f"role/{RAW}", ""), fmt
    sarif = json.loads(render(report, "sarif"))
    texts = [r["message"]["text"] for r in sarif["runs"][0]["results"]]
    assert any(SHOWN in t for t in texts) and not any(RAW in t for t in texts)


def test_machine_fields_keep_the_marker(monkeypatch):
    monkeypatch.chdir(ROOT)
    report = _report()
    doc = json.loads(render(report, "json"))
    runtime = [f for f in doc["findings"] if f["principal"] and RAW in f["principal"]]
    assert runtime and all(f["principal"].endswith(f"role/{RAW}") for f in runtime)
    # the fingerprint is computed from the raw ARN: the display helper never reaches it
    by_fp = {f.fingerprint: f for f in report.findings}
    assert {f["fingerprint"] for f in runtime} <= set(by_fp)
    assert all(RAW in by_fp[f["fingerprint"]].principal for f in runtime)
    sarif = json.loads(render(report, "sarif"))
    props = [r["properties"]["principal"] for r in sarif["runs"][0]["results"]
             if RAW in (r["properties"]["principal"] or "")]
    assert props
