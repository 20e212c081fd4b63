"""Unknown values in names, as people read them.

An IaC value the linter cannot know is carried as a marker `${iamlint:unresolved:WHAT}` (iac/symbolic.py
writes them); reports show each as `<known after apply: ADDRESS>`, `<Ref NAME>` ... Kept apart from the
IaC package so that a scan, its rules and reporters read markers without loading the IaC front doors.
"""

from __future__ import annotations

import re

MARKER_RE = re.compile(r"\$\{iamlint:unresolved:([^}]*)\}")


def display(text: str) -> str:
    """`text` as people read it: each marker becomes `<known after apply: ADDRESS>`, `<Ref NAME>`,
    `<GetAtt ID.ATTR>` ... For names shown in reports only: ARNs, fingerprints and the JSON fields
    machines match on keep the marker."""
    if not isinstance(text, str) or "${iamlint:unresolved:" not in text:
        return text
    return MARKER_RE.sub(_displayed, text)


def _displayed(m: re.Match) -> str:
    what = m.group(1)
    kind, sep, rest = what.partition(":")
    if sep and kind == "known-after-apply":
        return f"<known after apply: {rest}>"
    if sep and kind and rest:
        return f"<{kind} {rest}>"
    return f"<{what}>"
