"""Loaders: every input becomes the one Model. Files are classified by content, not by name."""

from __future__ import annotations

from typing import Iterable

from ..errors import InputError
from ..model.account import Model
from ..settle import settle
from .common import Batch, read_json
from .gaad import finish, load_gaad, looks_like_gaad
from .snapshot import load_snapshot, looks_like_snapshot


def load_data(data, source: str, model: Model | None = None, batch: Batch | None = None) -> Model:
    """Load one parsed document. With a `batch`, the caller calls `finish(model, batch)` after the last one."""
    if looks_like_snapshot(data):
        return load_snapshot(data, source, model, batch)
    if looks_like_gaad(data):
        return load_gaad(data, source, model, batch)
    raise InputError("not an iamlint snapshot or an authorization-details document", source=source, place="/")


def load_paths(paths: Iterable[str]) -> Model:
    """Load one or more snapshot / authorization-details files into one model (several accounts). A file named
    twice is read once; a principal in two files is an error naming both (see `Batch`)."""
    model = Model()
    batch = Batch()
    done: set[str] = set()
    for path in paths:
        key = _file_key(path)
        if key in done:
            continue
        done.add(key)
        data = read_json(path)
        settle()        # the parsed document lives until its model is built: keep the collector off it
        load_data(data, path, model, batch)
        del data
    finish(model, batch)
    return model


def _file_key(path: str):
    """The same file however it is spelled (a pipe is never the same twice)."""
    import os
    import stat
    try:
        st = os.stat(path)
    except OSError:
        return path                 # read_json says what is wrong with it
    if not stat.S_ISREG(st.st_mode):
        return ("not a regular file", path, object())
    return (st.st_dev, st.st_ino)


__all__ = ["Batch", "finish", "load_data", "load_paths", "read_json"]
