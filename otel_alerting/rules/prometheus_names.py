"""OpenTelemetry names as Prometheus writes them.

The translation is the one of ``opentelemetry-exporter-prometheus`` (its ``_mapping.py``)
together with ``prometheus_client``, which it hands the metric families to:

- a metric name keeps ``[a-zA-Z0-9:]``; every run of other characters becomes ``_``;
- an attribute (label) name keeps ``[a-zA-Z0-9]``; every run of other characters,
  ``_`` included, becomes ``_``;
- a leading digit is replaced by ``_``;
- the unit is mapped (``s`` -> ``seconds``, ``By`` -> ``bytes``, ``1`` -> nothing,
  ``{request}`` -> nothing, ``m/s`` -> ``meters_per_second``) and appended as
  ``_<unit>`` unless the name already ends with it;
- a monotonic counter loses a trailing ``_total``, gets its unit, then ``_total``;
  an up-down counter is a gauge and gets no ``_total``; a histogram is exposed as
  ``_bucket``, ``_count`` and ``_sum`` after the unit.

Exporters differ on the suffixes (the Collector's Prometheus exporter writes ``1`` as
``_ratio`` on gauges, and both suffixes can be turned off there), hence ``NameOptions``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "EXPORTER_VARIANTS",
    "KNOWN_METRICS",
    "Exposed",
    "Kind",
    "MetricInfo",
    "NameOptions",
    "exposed_names",
    "label_name",
    "map_unit",
    "metric_name",
]

Kind = Literal["counter", "gauge", "histogram"]

_NAME_RUN = re.compile(r"[^a-zA-Z0-9:]+")
_LABEL_RUN = re.compile(r"[^a-zA-Z0-9]+")
_ANNOTATION = re.compile(r"{.*}")

_UNITS: Mapping[str, str] = {
    "d": "days",
    "h": "hours",
    "min": "minutes",
    "s": "seconds",
    "ms": "milliseconds",
    "us": "microseconds",
    "ns": "nanoseconds",
    "By": "bytes",
    "KiBy": "kibibytes",
    "MiBy": "mebibytes",
    "GiBy": "gibibytes",
    "TiBy": "tibibytes",
    "KBy": "kilobytes",
    "MBy": "megabytes",
    "GBy": "gigabytes",
    "TBy": "terabytes",
    "m": "meters",
    "V": "volts",
    "A": "amperes",
    "J": "joules",
    "W": "watts",
    "g": "grams",
    "Cel": "celsius",
    "Hz": "hertz",
    "1": "",
    "%": "percent",
}
_PER_UNITS: Mapping[str, str] = {
    "s": "second",
    "m": "minute",
    "h": "hour",
    "d": "day",
    "w": "week",
    "mo": "month",
    "y": "year",
}


@dataclass(frozen=True)
class MetricInfo:
    """What the translation needs to know of an instrument besides its name."""

    kind: Kind
    unit: str = ""


#: the instruments the plugin itself creates (docs/metrics.md)
KNOWN_METRICS: Mapping[str, MetricInfo] = {
    "otel_alerting.alerts": MetricInfo("gauge", "{alert}"),
    "otel_alerting.notifications": MetricInfo("counter", "{notification}"),
    "otel_alerting.notification.latency": MetricInfo("histogram", "s"),
    "otel_alerting.evaluation.duration": MetricInfo("histogram", "s"),
    "otel_alerting.rule.errors": MetricInfo("counter", "{error}"),
    "otel_alerting.cardinality.overflow": MetricInfo("gauge", "1"),
    "otel_alerting.export.dropped": MetricInfo("counter", "{batch}"),
    "otel_alerting.export.failures": MetricInfo("counter", "{export}"),
    "otel_alerting.cache.requests": MetricInfo("counter", "{request}"),
    "otel_alerting.dependency.up": MetricInfo("gauge", "1"),
    "otel_alerting.dependency.downtime": MetricInfo("gauge", "s"),
    "otel_alerting.dependency.check.duration": MetricInfo("histogram", "s"),
    "otel_alerting.memory.utilization": MetricInfo("gauge", "1"),
    "otel_alerting.memory.limit": MetricInfo("gauge", "By"),
}


@dataclass(frozen=True)
class NameOptions:
    """How the exporter in front of Prometheus names things, and what the rules
    cannot tell: the kind and unit of the application's own instruments."""

    unit_suffix: bool = True
    total_suffix: bool = True
    #: the Collector's exporter writes unit ``1`` as ``_ratio`` on gauges
    ratio_suffix: bool = False
    metrics: Mapping[str, MetricInfo] = field(default_factory=dict)

    def info(self, name: str, guess: Kind) -> MetricInfo:
        """The user's declaration, else the plugin's own table, else ``guess``."""
        return self.metrics.get(name) or KNOWN_METRICS.get(name) or MetricInfo(guess)


def map_unit(unit: str) -> str:
    """The suffix a unit becomes (empty for none)."""
    unit = _ANNOTATION.sub("", unit)
    if unit in _UNITS:
        return _UNITS[unit]
    top, slash, bottom = unit.partition("/")
    if slash and _NAME_RUN.sub("_", bottom):
        mapped_top = _UNITS.get(_NAME_RUN.sub("_", top), _NAME_RUN.sub("_", top))
        per = _PER_UNITS.get(_NAME_RUN.sub("_", bottom), _NAME_RUN.sub("_", bottom))
        return f"{mapped_top}_per_{per}" if mapped_top else f"per_{per}"
    return _NAME_RUN.sub("_", unit).strip("_")


def _leading_digit(name: str) -> str:
    return "_" + name[1:] if name and name[0].isdigit() else name


def label_name(key: str) -> str:
    """An attribute key as a Prometheus label name."""
    return _LABEL_RUN.sub("_", _leading_digit(key))


def metric_name(name: str, info: MetricInfo, options: NameOptions) -> str:
    """The exposed name of the series of a counter or gauge, or the base name of a
    histogram (before ``_bucket``/``_count``/``_sum``)."""
    exposed = _NAME_RUN.sub("_", _leading_digit(name))
    counter = info.kind == "counter"
    if counter and exposed.endswith("_total"):
        exposed = exposed[: -len("_total")]
    suffix = _unit_suffix(info, options)
    if suffix and not exposed.endswith("_" + suffix):
        exposed += "_" + suffix
    if counter and options.total_suffix:
        exposed += "_total"
    return exposed


def _unit_suffix(info: MetricInfo, options: NameOptions) -> str:
    if not options.unit_suffix:
        return ""
    if info.unit == "1" and info.kind == "gauge" and options.ratio_suffix:
        return "ratio"
    return map_unit(info.unit)


# --- the way back: Prometheus names to OpenTelemetry metrics ------------------------------
#
# The translation loses information (``.`` and ``_`` both become ``_``; the unit and the
# kind are suffixes that a name of its own may also end with), so it is not inverted by
# rules: each known metric (the plugin's own, and those the user declares) is translated
# forward, under each exporter's suffix options, and a Prometheus name is looked up among
# the results. A name that no known metric is exposed as, or that several are, has no
# answer.

#: the exporters' suffix options a Prometheus name may have been written with
EXPORTER_VARIANTS: tuple[NameOptions, ...] = (
    NameOptions(),
    NameOptions(ratio_suffix=True),
    NameOptions(total_suffix=False),
    NameOptions(unit_suffix=False),
    NameOptions(unit_suffix=False, total_suffix=False),
)


@dataclass(frozen=True)
class Exposed:
    """One series name as an exporter writes it: which metric, and which part of it
    (``value`` for a counter or gauge; ``bucket``, ``count`` or ``sum`` of a histogram)."""

    metric: str
    kind: Kind
    part: Literal["value", "bucket", "count", "sum"]


def exposed_names(declared: Mapping[str, MetricInfo]) -> dict[str, tuple[Exposed, ...]]:
    """Each Prometheus name the known metrics (``KNOWN_METRICS``, then ``declared``,
    which replaces an entry of the same name) are exposed as, with what it stands for
    (several entries: the name is ambiguous)."""
    found: dict[str, dict[Exposed, None]] = {}
    for name, info in {**KNOWN_METRICS, **declared}.items():
        for options in EXPORTER_VARIANTS:
            base = metric_name(name, info, options)
            if info.kind == "histogram":
                for part in ("bucket", "count", "sum"):
                    found.setdefault(f"{base}_{part}", {})[Exposed(name, "histogram", part)] = None
            else:
                found.setdefault(base, {})[Exposed(name, info.kind, "value")] = None
    return {key: tuple(value) for key, value in found.items()}
