"""The distro and configurator ``opentelemetry-instrument`` loads.

The distro only sets defaults (``os.environ.setdefault``), so anything the user set
wins. The configurator is the SDK's, plus the plan of the metric readers: the
alerting reader is on the MeterProvider unless ``OTEL_PYTHON_ALERTING_ENABLED=false``,
and, the mode unset, it is the one reader that forwards to the push exporters
(``export`` mode) wherever that leaves what the collector receives unchanged.
Under ``OTEL_CONFIG_FILE`` the file names the readers (``declarative``): the plan is
left out, and a file without the alerting reader is a warning.
Once the SDK is set up, a process with no SIGTERM handler of its own gets one (``sigterm``).
Neither raises: one exception here would silently turn off all telemetry of the process.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

from opentelemetry.environment_variables import (
    OTEL_LOGS_EXPORTER,
    OTEL_METRICS_EXPORTER,
    OTEL_TRACES_EXPORTER,
)
from opentelemetry.instrumentation.distro import BaseDistro  # type: ignore[attr-defined]
from opentelemetry.instrumentation.environment_variables import OTEL_PYTHON_CONFIGURATOR
from opentelemetry.sdk._configuration import _OTelSDKConfigurator
from opentelemetry.sdk.environment_variables import (
    OTEL_CONFIG_FILE,
    OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE,
    OTEL_EXPORTER_OTLP_PROTOCOL,
)

from . import environment_variables as ev
from .config import MODES, EnvReader, Settings, load_settings, plugin_enabled
from .errors import ConfigurationProblems
from .export_mode import NO_EXPORTER, export_interval_s

__all__ = [
    "ENTRY_POINT_NAME",
    "AlertingConfigurator",
    "AlertingDistro",
    "apply_distro_defaults",
    "default_mode",
    "plan_metric_exporters",
]

_logger = logging.getLogger("otel_alerting")

ENTRY_POINT_NAME = "otel_alerting"


#: set by the distro when it turned the OTLP logs exporter on (the user named none):
#: the configurator then gives it a processor that does not retry at exit a collector
#: that is down (``logs_exit``); one the user named keeps the SDK's behaviour
_logs_exporter_defaulted = False


class AlertingDistro(BaseDistro):  # type: ignore[misc]
    def _configure(self, **kwargs: Any) -> None:
        global _logs_exporter_defaulted
        try:
            _logs_exporter_defaulted = OTEL_LOGS_EXPORTER not in os.environ
            apply_distro_defaults(os.environ)
        except Exception:
            _logger.exception("otel-alerting: distro defaults could not be set")


def apply_distro_defaults(environ: MutableMapping[str, str]) -> None:
    """The defaults the distro sets (``setdefault`` only: what the user set wins);
    ``otel-alerting check`` applies them to a copy of the environment."""
    environ.setdefault(OTEL_TRACES_EXPORTER, "otlp")
    environ.setdefault(OTEL_METRICS_EXPORTER, f"otlp,{ENTRY_POINT_NAME}")
    environ.setdefault(OTEL_LOGS_EXPORTER, "otlp")
    # the package depends on the OTLP/HTTP exporter, not on gRPC
    environ.setdefault(OTEL_EXPORTER_OTLP_PROTOCOL, "http/protobuf")
    environ.setdefault(OTEL_PYTHON_CONFIGURATOR, ENTRY_POINT_NAME)
    # Stable HTTP and database conventions: without them the httpx instrumentation does
    # not record http.client.request.duration with server.address, so no rule can tell
    # the embeddings service from another host. Read once, at the first instrument().
    environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http,database")


def plan_metric_exporters(environ: MutableMapping[str, str]) -> None:
    """Make ``OTEL_METRICS_EXPORTER`` carry the alerting reader as the settings ask.

    * disabled: remove it, so the SDK does not aggregate everything a second time;
    * ``reader`` mode: add it if missing;
    * ``export`` mode (the default here, see ``default_mode``): it replaces the push
      exporters, which it forwards to (they move to ``OTEL_PYTHON_ALERTING_EXPORTERS``
      unless that is set; ``none`` when there is none, so that it forwards to exactly
      the exporters ``OTEL_METRICS_EXPORTER`` names, as in ``reader`` mode).
    """
    names = _exporter_names(environ.get(OTEL_METRICS_EXPORTER, ""))
    others = [n for n in names if n != ENTRY_POINT_NAME]
    if not plugin_enabled(environ):
        planned = others
    elif _mode(environ) == "export":
        planned = [ENTRY_POINT_NAME, *_fold_push_exporters(others, environ)]
    else:
        planned = [*others, ENTRY_POINT_NAME]
    if planned != names:
        environ[OTEL_METRICS_EXPORTER] = ",".join(planned) if planned else "none"


def _exporter_names(raw: str) -> list[str]:
    return [n.strip() for n in raw.split(",") if n.strip() and n.strip().lower() != "none"]


def _fold_push_exporters(names: list[str], environ: MutableMapping[str, str]) -> list[str]:
    """The exporters the alerting reader does not forward to (pull exporters, such as
    ``prometheus``, stay readers of their own); the others become its exporters."""
    push = [n for n in names if _is_push_exporter(n)]
    if EnvReader(environ).text(ev.OTEL_PYTHON_ALERTING_EXPORTERS) is None:
        environ[ev.OTEL_PYTHON_ALERTING_EXPORTERS] = ",".join(push) or NO_EXPORTER
    return [n for n in names if n not in push]


def _mode(environ: MutableMapping[str, str]) -> str:
    """The mode the alerting reader is to run in. When unset, the one ``default_mode``
    chooses, written to the environment: the SDK builds the reader with no arguments,
    and it reads its mode there. A value that is no mode is read as the reader reads
    it (``reader``, the problem reported by ``load_settings``), so the plan matches."""
    env = EnvReader(environ)
    if env.text(ev.OTEL_PYTHON_ALERTING_MODE) is None:
        mode = default_mode(environ)
        environ[ev.OTEL_PYTHON_ALERTING_MODE] = mode
        return mode
    return env.choice(ev.OTEL_PYTHON_ALERTING_MODE, Settings.mode, MODES)


def default_mode(environ: Mapping[str, str]) -> str:
    """``export`` (one aggregation: every measurement is recorded once) unless it would
    change what the collector receives, then ``reader``:

    * a delta (or low-memory) OTLP temporality preference: every collection carries
      data of its own, so export mode would export each evaluation interval's (every
      second by default) rather than every ``OTEL_METRIC_EXPORT_INTERVAL``;
    * an alerting interval longer than ``OTEL_METRIC_EXPORT_INTERVAL``: export mode
      exports at evaluation ticks, so the exports would come less often.
    """
    temporality = EnvReader(environ).text(OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE) or ""
    if temporality.lower() in ("delta", "lowmemory"):
        return "reader"
    if load_settings(environ).interval_ms > export_interval_s(environ) * 1000:
        return "reader"
    return "export"


def _is_push_exporter(name: str) -> bool:
    if name.startswith("otlp"):
        return True
    try:
        from opentelemetry.sdk.metrics.export import MetricExporter
        from opentelemetry.util._importlib_metadata import entry_points

        for entry_point in entry_points(group="opentelemetry_metrics_exporter", name=name):
            loaded = entry_point.load()
            return isinstance(loaded, type) and issubclass(loaded, MetricExporter)
    except Exception:
        return False
    return False


class AlertingConfigurator(_OTelSDKConfigurator):
    def _configure(self, **kwargs: Any) -> None:
        from_file = bool(os.environ.get(OTEL_CONFIG_FILE))
        if not from_file:
            # Under a configuration file the file names the readers: the plan would only
            # set variables that make the file's alerting reader forward a second time.
            try:
                plan_metric_exporters(os.environ)
            except Exception:
                _logger.exception("otel-alerting: cannot plan the metric exporters; using them as set")
        if not from_file and _logs_exporter_defaulted and os.environ.get(OTEL_LOGS_EXPORTER) == "otlp":
            from .logs_exit import PromptExitLogRecordProcessor

            kwargs.setdefault("export_log_record_processor", PromptExitLogRecordProcessor)
        try:
            # the file is the SDK's only source then: the SDK warns about any argument
            super()._configure(**({} if from_file else kwargs))  # type: ignore[no-untyped-call]
        except ConfigurationProblems:
            _stop_during_start_up()
            raise
        except Exception:
            # The SDK's own errors (a bad OTLP protocol, a missing exporter) would end
            # all telemetry silently; say so once, loudly.
            _logger.exception("otel-alerting: the OpenTelemetry SDK could not be configured")
            return
        if from_file:
            _warn_if_file_has_no_reader()
        _handle_sigterm()


def _stop_during_start_up() -> None:
    """Strict mode's stop, when it comes while Python's ``site`` imports
    ``sitecustomize`` (``opentelemetry-instrument``): an exception raised there ends in
    ``Fatal Python error: init_import_site`` and a traceback of the whole start-up under
    the problems already logged, so the process ends here, with status 1. Anywhere else
    (``initialize()`` called by the application) the exception goes on."""
    frame = sys._getframe()
    while frame is not None and frame.f_code.co_name != "execsitecustomize":
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(1)


def _handle_sigterm() -> None:
    """The SIGTERM handler of ``sigterm``, where the settings ask for it (never raises)."""
    try:
        settings = load_settings(os.environ)
        if settings.enabled and settings.handle_sigterm:
            from .sigterm import flush_on_sigterm

            flush_on_sigterm(settings.shutdown_timeout_s)
    except Exception:
        _logger.exception("otel-alerting: cannot install the SIGTERM handler")


def _warn_if_file_has_no_reader() -> None:
    try:
        from .declarative import built_readers

        if built_readers() == 0 and plugin_enabled(os.environ):
            _logger.warning(
                "otel-alerting: %s names no otel_alerting reader, so no alert is evaluated; add "
                "'pull: {exporter: {otel_alerting: {}}}' to meter_provider.readers (docs/configuration.md)",
                OTEL_CONFIG_FILE,
            )
    except Exception:
        _logger.exception("otel-alerting: cannot check the configuration file's readers")
