"""Files a test changes while an application under test reads them."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["replace_text"]


def replace_text(path: Path, text: str) -> None:
    """Give ``path`` the content ``text`` in one step: a reader sees the old content or the
    new one, never the empty file that ``write_text`` leaves for a moment."""
    written = path.with_name(path.name + ".new")
    written.write_text(text)
    os.replace(written, path)
