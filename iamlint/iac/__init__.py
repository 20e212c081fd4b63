"""Infrastructure-as-code front doors: each loader turns one parsed file into the one model.

A loader is two functions: `detect(data) -> bool` (is this parsed JSON/YAML document mine?) and
`load(data, positions, source, model, opts, index)` (put its principals and policies into `model`,
their positions and inline suppressions into `index`). `LOADERS` is tried in order; the first whose
`detect` accepts the document loads it. Adding a loader is one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..model.account import Model
from .cloudformation import load_cloudformation, looks_like_cloudformation
from .index import Index, Options
from .positions import Positions
from .terraform import load_terraform_plan, looks_like_terraform_plan


@dataclass(frozen=True)
class IacLoader:
    kind: str                                   # cloudformation | terraform | ...
    detect: Callable[[Any], bool]
    load: Callable[[Any, Positions, str, Model, Options, Index], Model]


LOADERS: list[IacLoader] = [
    IacLoader("cloudformation", looks_like_cloudformation, load_cloudformation),
    IacLoader("terraform", looks_like_terraform_plan, load_terraform_plan),
]


def detect(data: Any) -> IacLoader | None:
    """The loader that recognises `data`, or None."""
    for loader in LOADERS:
        if loader.detect(data):
            return loader
    return None


def load(data: Any, positions: Positions, source: str, model: Model, opts: Options, index: Index) -> str | None:
    """Load `data` with the loader that recognises it; -> its kind, or None when no loader does."""
    loader = detect(data)
    if loader is None:
        return None
    loader.load(data, positions, source, model, opts, index)
    return loader.kind


__all__ = ["IacLoader", "LOADERS", "Index", "Options", "detect", "load"]
