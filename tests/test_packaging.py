"""The installed package must carry every module and all bundled data (`pip install .`, not only a checkout)."""

import sys
from pathlib import Path

import pytest

from conftest import ROOT

tomllib = pytest.importorskip("tomllib") if sys.version_info >= (3, 11) else pytest.importorskip("tomli")


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_is_listed():
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "iamlint").rglob("__init__.py")}
    listed = set(_setuptools()["packages"])
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert listed - found == {"iamlint.policies"}


def test_bundled_data_is_declared():
    st = _setuptools()
    assert st["package-dir"]["iamlint.policies"] == "policies"
    globs = st["package-data"]["iamlint.policies"]
    data = [p.relative_to(ROOT / "policies") for p in (ROOT / "policies").rglob("*")
            if p.is_file() and p.suffix in (".yaml", ".json", ".md")]
    assert data
    for rel in data:
        assert any(rel.match(g) or (g.startswith("**/") and rel.match(g[3:])) for g in globs), rel
