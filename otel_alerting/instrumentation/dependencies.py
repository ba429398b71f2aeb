"""DependencyHealthInstrumentor: probes Redis, ChromaDB and the embeddings service.

Registered under ``opentelemetry_instrumentor`` as ``otel_alerting_dependencies``, so
``opentelemetry-instrument`` runs it with no arguments: targets and timings come from
the environment (see ``probes.targets``). It instruments no library and imports none:
redis-py and httpx are imported by the probe thread at its first check. A dependency
outage is then an ordinary metric rule on ``otel_alerting.dependency.downtime``.

Tests and manual setups may pass ``tracer_provider``, ``meter_provider``, ``board``
(a ``HealthBoard`` with its own clock), ``environ`` and ``start=False`` (no thread;
drive ``runner.check_now()`` instead).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from ..config import plugin_enabled
from .probes.metrics import HealthMetrics, health_metrics
from .probes.runner import ProbeRunner, set_active_runner
from .probes.state import default_board
from .probes.targets import load_probe_settings

__all__ = ["DependencyHealthInstrumentor"]

_logger = logging.getLogger("otel_alerting.dependencies")


class DependencyHealthInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    _runner: ProbeRunner | None = None
    _metrics: HealthMetrics | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return ()

    @property
    def runner(self) -> ProbeRunner | None:
        return self._runner

    def _instrument(self, **kwargs: Any) -> None:
        if not plugin_enabled(kwargs.get("environ")):
            return
        try:
            board = kwargs.get("board") or default_board()
            environ = kwargs.get("environ")
            settings = load_probe_settings(os.environ if environ is None else environ)
            for error in settings.errors:
                _logger.error("otel-alerting: %s", error)
            self._metrics = health_metrics(board, kwargs.get("meter_provider"))
            runner = ProbeRunner(
                settings.targets,
                board,
                interval=settings.interval_s,
                timeout=settings.timeout_s,
                tracer_provider=kwargs.get("tracer_provider"),
                metrics=self._metrics,
            )
            self._runner = runner
            set_active_runner(runner)
            _import_clients({t.kind for t in settings.targets})
            if kwargs.get("start", True):
                runner.start()
            if settings.targets:
                _logger.debug(
                    "otel-alerting: probing %s every %gs",
                    ", ".join(f"{t.name} at {t.display}" for t in settings.targets),
                    settings.interval_s,
                )
        except Exception:
            _logger.exception("otel-alerting: dependency probes could not start")

    def _uninstrument(self, **kwargs: Any) -> None:
        try:
            runner, self._runner = self._runner, None
            set_active_runner(None)
            if self._metrics is not None:
                self._metrics.board = None
            if runner is not None and not runner.stop(kwargs.get("timeout", 5.0)):
                _logger.warning("otel-alerting: the dependency probe thread did not stop in time")
        except Exception:
            _logger.exception("otel-alerting: dependency probes could not be stopped")


def _import_clients(kinds: set[str]) -> None:
    """Import the client libraries here, on the bootstrapping thread. Imported first
    on the probe thread, while the application's thread imports the same package
    (redis-py's submodules import each other), a module can be seen half-initialised
    and the import fails in one of the two threads."""
    for kind, module in (("redis", "redis"), ("http", "httpx")):
        if kind in kinds:
            try:
                __import__(module)
            except ImportError:
                _logger.warning("otel-alerting: %s is not installed; the %s probe cannot run", module, kind)
