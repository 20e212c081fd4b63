"""JUnit XML for CI dashboards: one test suite per input file, one test case per rule and file.

A case fails when the rule has findings in that file (one <failure> listing them); it is skipped when
its only findings there are suppressed, pre-existing or baselined; it passes otherwise. Findings
without a file (about the deployed account only) go to the suite named "account".
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..markers import display

ACCOUNT = "account"


def _where(f) -> str:
    loc = f.location
    if loc is None:
        return ACCOUNT
    return ":".join([loc.file] + [str(x) for x in (loc.line, loc.column) if x])


def render(report, style=None) -> str:
    m = report.model

    def name(arn):
        p = m.principal(arn) if arn else None
        return display(p.name) if p is not None else (arn or "")

    chk = getattr(report, "check", None)
    files = [s for s, _ in chk.inputs] if chk is not None else \
        list(dict.fromkeys(s for a in sorted(m.accounts) for s in m.accounts[a].sources))
    failing: dict[tuple[str, str], list] = {}
    quiet: dict[tuple[str, str], list] = {}
    for f in report.findings:
        key = (f.location.file if f.location else ACCOUNT, f.rule_id)
        (quiet if f.preexisting else failing).setdefault(key, []).append(f)
    for f, e in report.suppressed:
        quiet.setdefault((f.location.file if f.location else ACCOUNT, f.rule_id), []).append(f)
    extra = sorted({k[0] for k in list(failing) + list(quiet)} - set(files))
    root = ET.Element("testsuites", name="iamlint")
    total = fails = skips = 0
    for file in files + extra:
        suite = ET.SubElement(root, "testsuite", name=file)
        n = nf = ns = 0
        for rule in report.rules:
            case = ET.SubElement(suite, "testcase", name=f"{rule.id} {rule.title}", classname=file)
            n += 1
            hits = failing.get((file, rule.id), [])
            if hits:
                nf += 1
                worst = hits[0].severity
                fail = ET.SubElement(case, "failure", type=worst,
                                     message=f"{len(hits)} finding(s) of {rule.id} ({worst})")
                fail.text = "\n".join(f"{_where(f)}: {name(f.principal)}: {f.message}" for f in hits)
            elif (file, rule.id) in quiet:
                ns += 1
                q = quiet[(file, rule.id)]
                ET.SubElement(case, "skipped", message=f"{len(q)} finding(s) suppressed, baselined or pre-existing")
        suite.set("tests", str(n))
        suite.set("failures", str(nf))
        suite.set("errors", "0")
        suite.set("skipped", str(ns))
        total, fails, skips = total + n, fails + nf, skips + ns
    root.set("tests", str(total))
    root.set("failures", str(fails))
    root.set("errors", "0")
    root.set("skipped", str(skips))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
