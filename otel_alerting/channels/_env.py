"""The channel loaders' environment reader: ``config.EnvReader``, the package's one
reader (aliases, parsing and error wording live there)."""

from __future__ import annotations

from ..config import EnvReader

__all__ = ["EnvReader"]
