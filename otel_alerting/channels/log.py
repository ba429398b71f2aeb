"""Notifications as records of the stdlib logger ``otel_alerting.alerts``.

The message is one logfmt line (``render.logfmt``): every control character escaped,
values clipped with a marker, at most ``render.LOGFMT_LIMIT`` characters. The
structured fields hold the same clipped values."""

from __future__ import annotations

import logging

from ..notify.channel import Channel, DeliveryResult
from ..notify.model import Batch, Status
from ..notify.render import bounded, logfmt
from ..rules.model import Severity

__all__ = ["LogChannel"]

ALERTS_LOGGER = "otel_alerting.alerts"

_LEVELS = {
    Severity.LOW: logging.WARNING,
    Severity.MEDIUM: logging.WARNING,
    Severity.HIGH: logging.ERROR,
    Severity.CRITICAL: logging.CRITICAL,
}


class LogChannel(Channel):
    """One logfmt record per notification; the structured fields are also attached
    as ``record.otel_alerting`` for JSON formatters and the OTel logging handler."""

    name = "log"

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger or logging.getLogger(ALERTS_LOGGER)

    async def send(self, batch: Batch) -> DeliveryResult:
        for n in map(bounded, batch.notifications):
            level = logging.WARNING if n.status is Status.RESOLVED else _LEVELS[n.severity]
            fields = {
                "alert": n.alert,
                "state": n.status.value,
                "severity": n.severity.name,
                "change": n.change.value,
                "value": n.value,
                "threshold": n.threshold,
                "previous_severity": n.previous_severity.name if n.previous_severity else None,
                "labels": n.group_labels,
                "annotations": dict(n.annotations),
                "fingerprint": n.fingerprint,
                "fired_for_s": n.fired_for,
                "reason": n.reason,
                "last_firing_value": n.last_firing_value,
            }
            self._logger.log(level, "%s", logfmt(n), extra={"otel_alerting": fields})
        return DeliveryResult.delivered()
