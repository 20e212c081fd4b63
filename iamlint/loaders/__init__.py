"""Loaders: every input becomes the one Model. Files are classified by content, not by name."""

from __future__ import annotations

from typing import Iterable

from ..errors import InputError
from ..model.account import Model
from ..settle import settle
from .common import read_json
from .gaad import load_gaad, looks_like_gaad
from .snapshot import load_snapshot, looks_like_snapshot


def load_data(data, source: str, model: Model | None = None) -> Model:
    if looks_like_snapshot(data):
        return load_snapshot(data, source, model)
    if looks_like_gaad(data):
        return load_gaad(data, source, model)
    raise InputError("not an iamlint snapshot or an authorization-details document", source=source, place="/")


def load_paths(paths: Iterable[str]) -> Model:
    """Load one or more snapshot / authorization-details files into one model (several accounts)."""
    model = Model()
    for path in paths:
        data = read_json(path)
        settle()        # the parsed document lives until its model is built: keep the collector off it
        load_data(data, path, model)
        del data
    return model


__all__ = ["load_data", "load_paths", "read_json"]
