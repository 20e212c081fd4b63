"""Reporters: one module each, one interface `render(report, style) -> str`, one table."""

from __future__ import annotations

from .html import render as render_html
from .json_report import render as render_json, render_parts as render_json_parts
from .markdown import render as render_markdown
from .sarif import render as render_sarif, render_parts as render_sarif_parts
from .text import render as render_text

REPORTERS = {
    "text": render_text,
    "json": render_json,
    "markdown": render_markdown,
    "sarif": render_sarif,
    "html": render_html,
}

# reporters that can give their text in parts (output.emit_parts writes one while the next is made)
PARTS = {"json": render_json_parts, "sarif": render_sarif_parts}

# `iamlint check` adds JUnit XML for CI dashboards
CHECK_REPORTERS = {**REPORTERS, "junit": lambda report, style=None: _junit(report, style)}


def _junit(report, style=None) -> str:
    from .junit import render
    return render(report, style)
