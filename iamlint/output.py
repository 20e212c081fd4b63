"""Writing output: atomic files, and colour only on a terminal."""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Iterable

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
    emit_parts((text[i:i + _SLICE] for i in range(0, len(text), _SLICE)), output)


_SLICE = 1 << 20


def emit_parts(parts: Iterable[str], output: str | None) -> None:
    """The parts joined, to `output` (atomically) or to stdout, ending in a newline; each part is written
    while the next is made: a thread writes (the write itself leaves the interpreter free), this one makes
    the parts. The file is replaced only once every part is written; an error on either side leaves the
    previous file."""
    if not output:
        last = ""
        for part in parts:
            if part:
                sys.stdout.write(part)
                last = part
        if not last.endswith("\n"):
            sys.stdout.write("\n")
        return
    import queue
    import threading

    def fill(fh) -> None:
        todo: queue.Queue = queue.Queue(maxsize=4)
        failed: list[BaseException] = []

        def writer() -> None:
            while True:
                part = todo.get()
                if part is None:
                    return
                if not failed:
                    try:
                        fh.write(part)
                    except BaseException as exc:   # noqa: BLE001 - handed to the caller below
                        failed.append(exc)

        t = threading.Thread(target=writer, name="iamlint-writer", daemon=True)
        t.start()
        last = ""
        try:
            for part in parts:
                if failed:
                    break
                if part:
                    todo.put(part)
                    last = part
            if not last.endswith("\n"):
                todo.put("\n")
        finally:
            todo.put(None)
            t.join()
        if failed:
            raise failed[0]

    write_atomic_with(output, fill)


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
