"""A readable line per notification on standard error, coloured on a terminal.

Every control character of the line is written as an escape (``render.visible``): a
label value cannot start a line of its own, clear the screen or set the window title,
with colour or without. Lines are at most ``render.SUMMARY_LIMIT`` characters before
escaping (values clipped, with a marker)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ..notify.channel import Channel, DeliveryResult
from ..notify.model import Batch, Status
from ..notify.render import summary_line, visible
from ..rules.model import Severity

__all__ = ["ConsoleChannel"]

_COLOURS = {
    Severity.LOW: "\033[36m",  # cyan
    Severity.MEDIUM: "\033[33m",  # yellow
    Severity.HIGH: "\033[31m",  # red
    Severity.CRITICAL: "\033[1;41;97m",  # bold white on red
}
_GREEN = "\033[32m"
_RESET = "\033[0m"


class ConsoleChannel(Channel):
    name = "console"

    def __init__(self, stream: TextIO | None = None, colour: str = "auto") -> None:
        self._stream = stream
        self._colour = colour

    def _use_colour(self, stream: TextIO) -> bool:
        if self._colour == "always":
            return True
        if self._colour == "never":
            return False
        isatty = getattr(stream, "isatty", None)
        return bool(isatty and isatty())

    async def send(self, batch: Batch) -> DeliveryResult:
        stream = self._stream or sys.stderr
        colour = self._use_colour(stream)
        lines = []
        for n in batch.notifications:
            stamp = time.strftime("%H:%M:%S", time.localtime(n.at))
            text = f"{stamp} otel-alerting {visible(summary_line(n))}"
            if colour:
                code = _GREEN if n.status is Status.RESOLVED else _COLOURS[n.severity]
                text = f"{code}{text}{_RESET}"
            lines.append(text + "\n")
        try:
            stream.write("".join(lines))
            stream.flush()
        except (OSError, ValueError) as exc:
            return DeliveryResult.failed(f"cannot write to console: {exc}", retryable=False)
        return DeliveryResult.delivered()
