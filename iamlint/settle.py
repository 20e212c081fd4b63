"""Keeping the cyclic garbage collector off what a scan builds to keep (the model, the graph)."""

from __future__ import annotations

import gc
from contextlib import contextmanager

_depth = 0


@contextmanager
def settled():
    """While a scan runs, the model and graph live as long as it: the cyclic collector need not walk their
    millions of objects each time later stages allocate (a fifth of the rules' time and two thirds of the
    JSON report's at 20,000 roles). What exists on entry, and at each `settle()`, is frozen out of the
    collector; on leaving the outermost block everything is handed back to it, so a long-lived process
    (an audit, a server) still frees it. Garbage made meanwhile is collected as usual."""
    global _depth
    _depth += 1
    gc.freeze()
    try:
        yield
    finally:
        _depth -= 1
        if not _depth:
            gc.unfreeze()


def settle() -> None:
    """Inside `settled()`: what was built so far (the model, the graph) lives to the end; freeze it too."""
    if _depth:
        gc.freeze()


@contextmanager
def paused():
    """The collector off for a build that allocates hundreds of thousands of objects (edges, decisions,
    graph dicts) and frees next to no cycles: each allocation burst made it walk the model and the growing
    graph again (a sixth of the graph build at 20,000 roles). Restored after; cyclic garbage the build
    left is found by its next run as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
