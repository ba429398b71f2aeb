"""The environment as the plugin sees it under ``opentelemetry-instrument``.

``opentelemetry-instrument`` runs the package's distro (``setdefault`` of the exporters,
the protocol, the configurator) and then its configurator (``plan_metric_exporters``:
the mode and the exporters it forwards to) before the reader reads any setting. The
commands that describe or use the configuration (``check``, ``test-notify``) apply both
to a copy of the environment, so that they show what the plugin will really run; the
process's own ``os.environ`` is never changed.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.instrumentation.environment_variables import OTEL_PYTHON_CONFIGURATOR, OTEL_PYTHON_DISTRO

from . import distro

__all__ = ["instrumented_environ"]


def instrumented_environ(environ: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """A copy of ``environ`` with the distro's defaults and the configurator's plan
    applied, and the variables that this set or changed (name to new value)."""
    planned = dict(environ)
    # another distro or configurator named explicitly runs instead of the package's
    if planned.get(OTEL_PYTHON_DISTRO, distro.ENTRY_POINT_NAME) == distro.ENTRY_POINT_NAME:
        distro.apply_distro_defaults(planned)
    if planned.get(OTEL_PYTHON_CONFIGURATOR) == distro.ENTRY_POINT_NAME:
        distro.plan_metric_exporters(planned)
    changed = {name: value for name, value in planned.items() if environ.get(name) != value}
    return planned, changed
