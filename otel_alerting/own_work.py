"""The context the plugin's own work runs in: instrumentation suppressed, no span.

Its collections, evaluations and self-measurements must make no telemetry (a traced
Redis call in an observable callback would report on itself), and they belong to no
request of the application. One context, built once, is attached rather than a copy of
the current one with the suppression flag added: that costs a copy on every collection.
"""

from __future__ import annotations

from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, Context, set_value

__all__ = ["OWN_WORK"]

OWN_WORK: Context = set_value(_SUPPRESS_INSTRUMENTATION_KEY, True, Context())
