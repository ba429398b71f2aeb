"""The plugin's error values and exceptions, kept apart so importing them costs nothing
(this module imports no other part of the package).

    ConfigError            one configuration problem: a value, where it stands
    ConfigurationProblems  raised in strict mode (a ``SystemExit``): stops the process
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ConfigError", "ConfigurationProblems"]


@dataclass(frozen=True)
class ConfigError:
    """One configuration problem, located for the user.

    ``source`` is where the bad value stands: the environment variable it was read
    from (the ``ALERT_*`` alias when that is the one set), or a rules file, with the
    ``line`` and ``field`` when they are known. ``str()`` reads ``VARIABLE: message``
    or ``file:line: field: message``. The message never holds a secret.
    """

    source: str
    message: str
    line: int | None = None
    field: str | None = None

    @property
    def variable(self) -> str:
        """The variable (or other source) holding the bad value: the same as ``source``."""
        return self.source

    def __str__(self) -> str:
        where = self.source + (f":{self.line}" if self.line else "")
        what = f" {self.field}:" if self.field else ""
        return f"{where}:{what} {self.message}"


class ConfigurationProblems(SystemExit):
    """Raised in strict mode: stops the process at start-up with every problem listed."""
