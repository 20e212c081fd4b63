"""The one YAML loader for user files: PyYAML's safe loader, where a value its constructors cannot
build (a date like 2030-13-45, `!!int 0x`, `!!timestamp x`) is a marked YAML error with its line,
not a ValueError escaping as an internal error."""

from __future__ import annotations

import yaml

_BAD_VALUE = (ValueError, TypeError, AttributeError, OverflowError)


class SafeLoader(yaml.SafeLoader):
    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except _BAD_VALUE as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read the value {node.value!r} as {node.tag.rsplit(':', 1)[-1]} ({exc})"
                if isinstance(node, yaml.ScalarNode) else f"cannot read a value ({exc})", node.start_mark) from None


def safe_load(stream):
    """yaml.safe_load, with unreadable values raised as yaml.MarkedYAMLError (problem_mark = their line)."""
    return yaml.load(stream, Loader=SafeLoader)  # noqa: S506 - a SafeLoader subclass


def load_bundled(path) -> object:
    """One of iamlint's own data files (policies/): libyaml's safe loader where PyYAML has it (the same
    values, about ten times faster: the rule packs and catalogs are read by every scan)."""
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - safe loaders
