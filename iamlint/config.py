"""Configuration: `.iamlint.yaml` in the working directory, `[tool.iamlint]` in pyproject.toml, or --config FILE."""

from __future__ import annotations

import os

from .errors import InputError


def load_config(path: str | None = None) -> dict:
    """The configuration as a dict ({} when there is none)."""
    import yaml

    from .yaml_safe import safe_load

    if path is None:
        if os.path.exists(".iamlint.yaml"):
            path = ".iamlint.yaml"
        elif os.path.exists("pyproject.toml"):
            try:
                import tomllib
            except ImportError:  # Python 3.10
                return {}
            with open("pyproject.toml", "rb") as fh:
                try:
                    data = tomllib.load(fh)
                except tomllib.TOMLDecodeError as exc:
                    raise InputError(f"invalid TOML: {exc}", source="pyproject.toml") from None
            cfg = data.get("tool", {}).get("iamlint", {}) or {}
            validate_config(cfg, "pyproject.toml", "/tool/iamlint")
            return dict(cfg)
        else:
            return {}
    try:
        with open(path, encoding="utf-8") as fh:
            data = safe_load(fh)
    except OSError as exc:
        raise InputError(f"cannot read configuration ({exc.strerror})", source=path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"invalid YAML: {getattr(exc, 'problem', exc)}", source=path,
                         place=f"line {mark.line + 1}" if mark else None) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError("configuration must be a mapping", source=path, place="line 1")
    validate_config(data, path)
    return data


def validate_config(data, source: str = "<config>", prefix: str = "") -> None:
    """Check a configuration against iamlint/schemas/config.schema.json: one error, with its JSON pointer."""
    import json

    import jsonschema

    from .paths_data import schema_path

    schema = json.loads(schema_path("config.schema.json").read_text())
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(data),
                    key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if errors:
        e = errors[0]
        place = prefix + "".join(f"/{p}" for p in e.absolute_path)
        msg = e.message
        if e.validator == "additionalProperties":
            msg = f"{msg} (see iamlint/schemas/config.schema.json)"
        raise InputError(msg, source=source, place=place or "/")
