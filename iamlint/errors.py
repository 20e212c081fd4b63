"""iamlint's exceptions.

    IamlintError
    ├── InputError        bad input: one line naming the file and the place (exit code 2)
    │   └── PolicyError   a policy document that AWS would not accept
    └── UsageError        a bad command-line or configuration choice (exit code 2)

Every error that reaches the CLI is printed as one line and exits 2; no traceback.
"""

from __future__ import annotations

import re

# control characters (a YAML block scalar's line break, a tab, an escape) would split or garble the one line;
# a lone surrogate (JSON "\ud800") cannot even be written to a UTF-8 terminal
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def one_line(text: str) -> str:
    """`text` with every control character written as an escape (\\n, \\t, \\x1b ...): always one line."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda m: {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(
        m.group(0), f"\\x{ord(m.group(0)):02x}" if ord(m.group(0)) < 0x100 else f"\\u{ord(m.group(0)):04x}"), text)


class IamlintError(Exception):
    """Base class of every error iamlint raises on purpose."""

    exit_code = 2


class InputError(IamlintError):
    """Bad input. `source` is a file name (or '<stdin>', '<case 3>'); `place` a JSON pointer or 'line N'."""

    def __init__(self, message: str, source: str | None = None, place: str | None = None):
        self.message = message
        self.source = source
        self.place = place
        super().__init__(self.line())

    def line(self) -> str:
        where = self.source or "<input>"
        if self.place not in (None, ""):
            where += f": {self.place}"
        return one_line(f"{where}: {self.message}")

    def at(self, source: str | None = None, prefix: str = "") -> "InputError":
        """The same error located in `source`, with `prefix` (a JSON pointer) put before the place."""
        place = prefix + (self.place or "") if prefix else self.place
        err = type(self)(self.message, source or self.source, place)
        return err


class PolicyError(InputError):
    """A policy document that AWS would refuse (bad Effect, no Action, wrong type...)."""


class UsageError(IamlintError):
    """A bad option or configuration."""
