"""Classic IAM hygiene matchers (the IAM rule family)."""

from __future__ import annotations

MATCHERS: dict = {}
