"""Deliver what is due when a process that does not handle SIGTERM receives one.

A plain script killed by SIGTERM runs no ``atexit`` hook, so the SDK's shutdown (the
final evaluation, the final export, the notifications still queued) never happens. So the
configurator installs a handler, only where the process has none (the signal's
disposition is still the default): it shuts the global providers down on a thread of its
own, waits for them at most the shutdown timeout plus a margin, then puts the default
disposition back and raises SIGTERM again. The process still ends by SIGTERM, as it would
have, a bounded time later.

A handler the application (gunicorn, uvicorn, the script itself) installs later replaces
this one. Uvicorn puts back the handler it found when it has shut down and raises the
signal again; then this one runs and the SDK's shutdown happens. A second SIGTERM during
the shutdown ends the process at once, and a forked child (which inherits the handler, but
not the reason for it) ends at once as well.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Protocol

__all__ = ["SIGTERM_MARGIN_S", "flush_on_sigterm", "global_providers"]

_logger = logging.getLogger("otel_alerting")

#: what the handler waits beyond the shutdown timeout: the other providers' share, and
#: the start of the threads that shut them down
SIGTERM_MARGIN_S = 1.0


class _Provider(Protocol):
    def shutdown(self) -> object: ...


def global_providers() -> list[_Provider]:
    """The global meter, logger and tracer providers that can be shut down (the SDK's,
    not the API's proxies), the meter provider first: it holds the alerts."""
    from opentelemetry import metrics, trace
    from opentelemetry._logs import get_logger_provider

    found = (metrics.get_meter_provider(), get_logger_provider(), trace.get_tracer_provider())
    return [p for p in found if callable(getattr(p, "shutdown", None))]  # type: ignore[misc]


def flush_on_sigterm(timeout_s: float, providers: Callable[[], Iterable[_Provider]] = global_providers) -> bool:
    """Install the handler if SIGTERM has none and this is the main thread; whether it
    was installed. Never raises."""
    try:
        if threading.current_thread() is not threading.main_thread():
            return False
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return False
        installed_in = os.getpid()

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            if os.getpid() == installed_in:
                _shut_down(providers, timeout_s + SIGTERM_MARGIN_S)
            signal.raise_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, on_sigterm)
        return True
    except Exception:
        _logger.exception("otel-alerting: cannot install the SIGTERM handler; what is due at a SIGTERM is lost")
        return False


def _shut_down(providers: Callable[[], Iterable[_Provider]], timeout_s: float) -> None:
    """Shut the providers down on a thread of its own, waiting for it at most
    ``timeout_s``: the main thread, interrupted here, may hold a lock the shutdown needs
    (an instrument's, while it recorded a measurement), so the wait must end."""

    def shut() -> None:
        for provider in providers():
            try:
                provider.shutdown()
            except Exception:
                _logger.exception("otel-alerting: shutting %s down at SIGTERM failed", type(provider).__name__)

    thread = threading.Thread(target=shut, name="otel-alerting-sigterm", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        _logger.warning(
            "otel-alerting: the shutdown at SIGTERM took more than %gs; the process ends without waiting for it",
            timeout_s,
        )
