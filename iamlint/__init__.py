"""iamlint: which roles can an agent end up holding, what can it do with them, and how to fix it."""

__version__ = "0.1.0"
