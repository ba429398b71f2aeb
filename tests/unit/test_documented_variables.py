"""Every environment variable the package reads is documented in docs/."""

from __future__ import annotations

from pathlib import Path

import otel_alerting.environment_variables as ev

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_variable_is_in_the_docs() -> None:
    text = "".join(page.read_text(encoding="utf-8") for page in DOCS.glob("*.md"))
    names = [value for name, value in vars(ev).items() if name.startswith("OTEL_") and isinstance(value, str)]
    assert len(names) > 50  # the module's constants were found
    assert [name for name in names if name not in text] == []
