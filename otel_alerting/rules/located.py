"""Where a value stands in a rules file: the line numbers the loader attaches to the
mappings and lists it reads, looked up without depending on the loader's types."""

from __future__ import annotations

from typing import Any

__all__ = ["item_line", "line_of", "located"]


def line_of(node: Any, key: str | None = None) -> int | None:
    """The line of ``key`` in a mapping the loader read (else of the mapping itself);
    None for a value that did not come from a file (a dict built in code)."""
    key_lines = getattr(node, "key_lines", None)
    if key_lines is None:
        return None
    if key is not None and key in key_lines:
        return int(key_lines[key])
    return getattr(node, "line", None) or None


def item_line(node: Any, index: int) -> int | None:
    """The line of item ``index`` of a list the loader read."""
    lines = getattr(node, "item_lines", None)
    return lines[index] if lines is not None and index < len(lines) else None


def located(source: str, line: int | None, field: str) -> str:
    """``file:line: field`` (``file: field`` without a line), as rule errors read."""
    return f"{source}:{line}: {field}" if line else f"{source}: {field}"
