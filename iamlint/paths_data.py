"""Where the bundled data lives: `policies/` in a checkout, `iamlint/policies` when installed."""

from __future__ import annotations

from pathlib import Path


def policies_dir() -> Path:
    here = Path(__file__).resolve().parent
    checkout = here.parent / "policies"
    if (checkout / "escalation").is_dir():
        return checkout
    import importlib.resources

    return Path(str(importlib.resources.files("iamlint.policies")))


def schema_path(name: str) -> Path:
    return Path(__file__).resolve().parent / "schemas" / name
