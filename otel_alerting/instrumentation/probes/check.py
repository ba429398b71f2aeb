"""The one interface every probe implements."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from opentelemetry.util.types import AttributeValue

__all__ = ["Check", "CheckFailed"]


class CheckFailed(Exception):
    """The dependency answered, but not as a healthy one does (an HTTP 503, an
    unexpected reply). ``error_type`` is the ``error.type`` to record."""

    def __init__(self, message: str, error_type: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class Check(Protocol):
    def run(self) -> Mapping[str, AttributeValue]:
        """Check once, within the probe timeout, on the calling thread.

        Returns attributes for the check's span; raises when unhealthy.
        """

    def reset_after_fork(self) -> None:
        """Forget connections inherited from the parent, without closing them."""

    def close(self) -> None: ...
