"""Writing output: atomic files, and colour only on a terminal."""

from __future__ import annotations

import os
import sys
import tempfile

from .errors import InputError


def write_atomic(path: str, text: str) -> None:
    """Write `text` to `path` so that an interrupted write leaves the previous file intact."""
    write_atomic_with(path, lambda fh: fh.write(text))


def write_atomic_with(path: str, fill) -> None:
    """`fill(fh)` writes the file's text: into a temporary file beside `path`, synced, then renamed over it,
    so that an interrupted write leaves the previous file intact (and no temporary file behind)."""
    directory = os.path.dirname(os.path.abspath(path)) or "."
    try:
        fd, tmp = tempfile.mkstemp(prefix=".iamlint-", dir=directory)
    except OSError as exc:
        raise InputError(f"cannot write output ({exc.strerror})", source=path) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fill(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def emit(text: str, output: str | None) -> None:
    """A report to `output` (atomically) or to stdout, ending in a newline. A big report (a JSON report of
    20,000 roles is over 100 MB) is written in slices: never a second copy of it whole, nor a whole
    encoded one, in a process that already holds the model and the graph (most of a second at that size)."""
    end = "" if text.endswith("\n") else "\n"

    def fill(fh) -> None:
        for i in range(0, len(text), _SLICE):
            fh.write(text[i:i + _SLICE])
        fh.write(end)

    if output:
        write_atomic_with(output, fill)
    else:
        fill(sys.stdout)


_SLICE = 1 << 20


class Style:
    """ANSI styles, active only when writing to a terminal and NO_COLOR is unset."""

    CODES = {"red": "31", "green": "32", "yellow": "33", "blue": "34", "magenta": "35", "cyan": "36",
             "bold": "1", "dim": "2"}

    def __init__(self, enabled: bool | None = None, stream=None):
        if enabled is None:
            stream = stream or sys.stdout
            enabled = hasattr(stream, "isatty") and stream.isatty() and "NO_COLOR" not in os.environ
        self.enabled = enabled

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles:
            return text
        codes = ";".join(self.CODES[s] for s in styles)
        return f"\033[{codes}m{text}\033[0m"
