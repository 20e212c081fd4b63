"""Agent blast-radius matchers (the AGT rule family)."""

from __future__ import annotations

MATCHERS: dict = {}
