"""The alerting reader as a plugin of OpenTelemetry's declarative configuration.

Under ``OTEL_CONFIG_FILE`` the SDK's configurator hands the file to the
``opentelemetry-configuration`` package, which builds every reader the file names and
nothing else (``OTEL_METRICS_EXPORTER`` is not read). A reader written as

    pull:
      exporter:
        otel_alerting: {...properties...}

is built by calling the ``opentelemetry_pull_metric_exporter`` entry point named
``otel_alerting`` with the properties as keyword arguments: ``pull_exporter`` below.
The reader reads its settings from the environment as usual; each property is one
``OTEL_PYTHON_ALERTING_*`` setting (``interval: 500`` is ``OTEL_PYTHON_ALERTING_INTERVAL``)
and wins over the variable. Nothing raises into the bootstrap but strict mode's stop.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from opentelemetry.sdk.metrics.export import MetricReader

from . import environment_variables as ev
from .config import Settings
from .errors import ConfigurationProblems

__all__ = ["PREFIX", "built_readers", "properties_as_environment", "pull_exporter"]

_logger = logging.getLogger("otel_alerting")

PREFIX = "OTEL_PYTHON_ALERTING_"

#: the variable-name prefixes of settings named after a rule or a channel
_NAME_PREFIXES = tuple(
    value for name, value in vars(ev).items() if name.endswith("_PREFIX") and value.startswith(PREFIX)
)
_KNOWN = frozenset(value for name, value in vars(ev).items() if name.startswith(PREFIX))

_built = 0


def built_readers() -> int:
    """How many alerting readers the configuration file built in this process."""
    return _built


def pull_exporter(**properties: object) -> MetricReader:
    """The reader ``pull: exporter: otel_alerting`` names in a configuration file."""
    global _built
    from .reader import AlertingMetricReader

    _built += 1
    try:
        environ = {**os.environ, **properties_as_environment(properties)}
        return AlertingMetricReader(environ=environ)
    except ConfigurationProblems:
        raise
    except Exception:
        # the file's other readers and exporters must still be built
        _logger.exception("otel-alerting: cannot build the alerting reader from the configuration file")
        return AlertingMetricReader(Settings(enabled=False))


def properties_as_environment(properties: Mapping[str, object]) -> dict[str, str]:
    """The properties of the file's ``otel_alerting`` entry as the variables they set;
    a property that names no setting, or has no scalar (or list) value, is a warning."""
    environ: dict[str, str] = {}
    for key, value in properties.items():
        name = key.upper() if key.upper().startswith(PREFIX) else PREFIX + key.upper()
        text = _as_text(value)
        if name not in _KNOWN and not name.startswith(_NAME_PREFIXES):
            _logger.warning("otel-alerting: configuration file property %r names no setting (%s); ignored", key, name)
        elif text is None:
            _logger.warning("otel-alerting: configuration file property %r is not a value or a list; ignored", key)
        else:
            environ[name] = text
    return environ


def _as_text(value: object) -> str | None:
    """A property's value as its environment variable would spell it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
        return ",".join(str(v) for v in value)
    return None
