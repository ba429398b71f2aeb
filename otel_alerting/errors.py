"""Exceptions the plugin lets through, kept apart so importing them costs nothing."""

from __future__ import annotations

__all__ = ["ConfigurationProblems"]


class ConfigurationProblems(SystemExit):
    """Raised in strict mode: stops the process at start-up with every problem listed."""
